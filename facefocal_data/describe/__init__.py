"""Describers: turn a record's labels into text. Registered by name, chosen in the recipe.

A describer is built from the recipe's `describe` section and offers `describe_batch(records)`
and `close()`; `llm` (the templater, or free rewriting) also has `stats` and an `on_text` hook.
"""

from __future__ import annotations

from typing import Any

from ..config import DescribeConfig
from ..registry import Registry

DESCRIBERS: Registry[Any] = Registry("describer")


@DESCRIBERS.register("template")
def _template(config: DescribeConfig) -> Any:
    from .template import TemplateDescriber

    return TemplateDescriber(config.seed)


@DESCRIBERS.register("llm")
def _llm(config: DescribeConfig) -> Any:
    """`llm.mode: template` (default): the templater; `region` / `face`: free rewriting."""
    if config.llm.mode == "template":
        from .templater import TemplaterDescriber

        return TemplaterDescriber(config)
    from .llm import LLMDescriber

    return LLMDescriber(config)


@DESCRIBERS.register("phrases")
def _phrases(config: DescribeConfig) -> Any:
    from .compose import PhraseDescriber

    return PhraseDescriber(config.seed, config.au_naming)
