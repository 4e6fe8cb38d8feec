"""Boxes written inside texts: found, checked against the record, turned into `<bbox>` placeholders.

A description of a `box_*` region names its box in crop pixels ("The region [139, 252, 294, 330]
shows …"); an LLM describer may mention another region's box. An exporter must write every
coordinate in the target model's convention, in answers as in questions, so each such box becomes
a `<bbox>` placeholder with its crop-pixel box beside it, and each exporter renders placeholders
one way (or leaves them to a trainer that fills them, ms-swift). Only boxes the record holds are
known crop-pixel boxes; any other box-like group of four numbers (a hallucinated box, a box
already in some other convention) cannot be converted, so the text is refused, not written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..record import FaceRecord

PLACEHOLDER = "<bbox>"
_NUMBER = r"(-?\d+(?:\.\d+)?)"
# four numbers separated by commas, in square or round brackets: "[1, 2, 3, 4]", "(1,2,3,4)"
BOX_LIKE = re.compile(r"[\[(]\s*" + r"\s*,\s*".join([_NUMBER] * 4) + r"\s*[\])]")


class UnknownBoxError(ValueError):
    """A text holds a box-like group of numbers that is none of the record's region boxes."""


def templated(text: str, record: FaceRecord) -> tuple[str, list[list[int]]]:
    """`text` with each box the record holds replaced by `<bbox>`, and those boxes (crop pixels) in
    order. Raises UnknownBoxError for a box-like group the record does not hold, and for a literal
    `<bbox>` (its box would be unknown), so no unconverted coordinate reaches an export."""
    if PLACEHOLDER in text:
        raise UnknownBoxError(f"the text already holds a {PLACEHOLDER} placeholder")
    held = {tuple(float(v) for v in region.bbox_xyxy): list(region.bbox_xyxy) for region in record.regions}
    found: list[list[int]] = []

    def replace(match: re.Match[str]) -> str:
        box = held.get(tuple(float(v) for v in match.groups()))
        if box is None:
            raise UnknownBoxError(f"{match.group(0)} is not a box of record {record.record_id}")
        found.append(box)
        return PLACEHOLDER

    return BOX_LIKE.sub(replace, text), found


def has_box_like(text: str) -> bool:
    """Whether `text` holds a box-like group (texts that belong to no record, e.g. a system prompt)."""
    return BOX_LIKE.search(text) is not None


def render(text: str, boxes: Sequence[Sequence[float]], write: Callable[[Sequence[float]], list]) -> str:
    """Fill `<bbox>` placeholders in order with `write(box)`, printed `[x1, y1, x2, y2]`; a count
    that does not match is a bug upstream, never a half-converted text."""
    if text.count(PLACEHOLDER) != len(boxes):
        raise ValueError(f"{text.count(PLACEHOLDER)} placeholders for {len(boxes)} boxes")
    filled = iter(boxes)
    return re.sub(re.escape(PLACEHOLDER), lambda _m: str(write(next(filled))), text)
