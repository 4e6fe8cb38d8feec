"""Describers: turn a record's labels into text. Registered by name, chosen in the recipe."""

from __future__ import annotations

from typing import Any

from ..registry import Registry

DESCRIBERS: Registry[Any] = Registry("describer")


@DESCRIBERS.register("template")
def _template(seed: int = 0) -> Any:
    from .template import TemplateDescriber

    return TemplateDescriber(seed)
