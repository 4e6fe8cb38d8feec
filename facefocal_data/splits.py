"""Assign train/val/test: by subject when the source knows subjects, else by the source image.

The split is a pure function of (seed, dataset, subject or image key), so it never changes
between runs or machines, every face of one image lands together, and one subject can never
appear in two splits.
"""

from __future__ import annotations

import dataclasses
import hashlib

from .config import SplitConfig
from .sources import SourceItem


def unit_of(item: SourceItem) -> str:
    """What must not be split apart: the subject if known, else the source image."""
    return f"subject:{item.subject_id}" if item.subject_id else f"image:{item.key}"


def split_for(dataset: str, unit: str, config: SplitConfig) -> str:
    digest = hashlib.sha256(f"{config.seed}:{dataset}:{unit}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    names = list(config.ratios)
    for name in names:
        cumulative += config.ratios[name]
        if u < cumulative:
            return name
    return names[-1]


def assign_split(item: SourceItem, config: SplitConfig) -> SourceItem:
    if item.split and config.keep_source_split:
        return item
    return dataclasses.replace(item, split=split_for(item.dataset, unit_of(item), config))
