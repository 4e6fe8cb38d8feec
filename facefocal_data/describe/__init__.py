"""Describers: turn a record's labels into text. Registered by name, chosen in the recipe.

A describer is built from the recipe's `describe` section and offers `describe_batch(records)`
and `close()`; `llm` (the templater, or free rewriting) also has `stats` and an `on_text` hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..config import DescribeConfig
from ..registry import Registry

if TYPE_CHECKING:
    from ..record import FaceRecord


class Describer(Protocol):
    """Writes the descriptions of a batch of records in place (a failure falls back per record)."""

    def describe_batch(self, records: list[FaceRecord]) -> None: ...

    def close(self) -> None: ...


DESCRIBERS: Registry[Describer] = Registry("describer")


@DESCRIBERS.register("template")
def _template(config: DescribeConfig) -> Describer:
    from .template import TemplateDescriber

    return TemplateDescriber(config.seed)


@DESCRIBERS.register("llm")
def _llm(config: DescribeConfig) -> Describer:
    """`llm.mode: template` (default): the templater; `region` / `face`: free rewriting."""
    if config.llm.mode == "template":
        from .templater import TemplaterDescriber

        return TemplaterDescriber(config)
    from .llm import LLMDescriber

    return LLMDescriber(config)


@DESCRIBERS.register("phrases")
def _phrases(config: DescribeConfig) -> Describer:
    from .compose import PhraseDescriber

    return PhraseDescriber(config.seed, config.au_naming)
