"""What a source adapter yields: items that name a file and any ground truth it carries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..registry import Registry


@dataclass(frozen=True)
class SourceItem:
    """One input image. ``key`` is stable across runs and unique within the dataset."""

    key: str
    path: Path
    dataset: str
    subject_id: str | None = None
    split: str | None = None
    ground_truth: dict[str, object] = field(default_factory=dict)


class Source(Protocol):
    dataset: str
    ignored: list[Path]

    def __iter__(self) -> Iterator[SourceItem]: ...


SOURCES: Registry[Source] = Registry("source")
