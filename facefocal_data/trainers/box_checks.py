"""Box checks on a trainer's encoded sample: the size the model sees comes from its image grid,
and every box in the decoded tokens must be the row's crop-pixel box in the model's convention for
that size. Plain arithmetic, independent of the exporter's code; `loader_checks` runs it inside
a trainer's venv, and each trainer's loader module feeds it that trainer's samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

PATCH, MERGE = 14, 2  # Qwen2/2.5-VL: 14-pixel patches, 2x2 merged into one image token
# a box as the text shows it: "[x1, y1, x2, y2]" (our exports, ms-swift's new format) or
# "(x1,y1),(x2,y2)" inside <|box_start|>…<|box_end|> (ms-swift's legacy Qwen format)
SQUARE = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]")
POINTS = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
REPORT = "FACEFOCAL_LOADER "


def text_boxes(text: str) -> list[list[int]]:
    """Every box in a decoded sample, in the order it appears, whichever way it is written."""
    found = [(m.start(), [int(v) for v in m.groups()]) for m in SQUARE.finditer(text)]
    found += [(m.start(), [int(v) for v in m.groups()]) for m in POINTS.finditer(text)]
    return [box for _, box in sorted(found)]


def expected_box(
    box: Sequence[int], key: dict[str, Any], seen: tuple[int, int], convention: str
) -> list[Fraction]:
    """A crop-pixel box as the model must read it, exactly (a fraction): `resized`, pixels of the
    image it sees (`seen`: height, width, from the trainer's own image grid; Qwen2.5-VL), or
    `norm1000` (Qwen2/3-VL)."""
    height, width = (1000, 1000) if convention == "norm1000" else seen
    x1, y1, x2, y2 = (Fraction(v) for v in box)
    sx, sy = Fraction(width, key["width"]), Fraction(height, key["height"])
    return [x1 * sx, y1 * sy, x2 * sx, y2 * sy]


def rounds_to(value: int, exact: Fraction) -> bool:
    """`value` is `exact` rounded: the nearest integer, or either neighbour of an exact half (the
    exporter rounds halves to even; ms-swift's `x / w * new` in floating point may land below)."""
    if exact.denominator == 2:
        return value in (exact.numerator // 2, exact.numerator // 2 + 1)
    return value == round(exact)


def check_sample(
    text: str, grid: Sequence[int], image_tokens: int, key: dict[str, Any], convention: str
) -> list[str]:
    """Problems with one encoded sample: its image-token count against its grid, a leftover
    `<image>` tag, and each box against the row's boxes converted for the size the model sees."""
    problems = []
    t, h, w = (int(v) for v in grid)
    if image_tokens != t * h * w // MERGE**2:
        problems.append(f"{image_tokens} image tokens for a {t}x{h}x{w} grid")
    if "<image>" in text or text.count("<|vision_start|>") != 1:
        problems.append("the image is not exactly one <|vision_start|> block (or an <image> tag is left)")
    seen = (h * PATCH, w * PATCH)
    want = [expected_box(box, key, seen, convention) for box in key["boxes"]]
    got = text_boxes(text)
    pairs = zip(got, want, strict=False)
    same = len(got) == len(want) and all(rounds_to(v, e) for g, w in pairs for v, e in zip(g, w, strict=True))
    if not same:
        shown = [[float(v) for v in box] for box in want]
        problems.append(f"boxes {got} for a {seen[1]}x{seen[0]} image; expected {shown}")
    return problems


def report(dataset: str, problems: Iterator[list[str]], extra: dict[str, Any]) -> dict[str, Any]:
    """One dataset's result: how many samples were checked, and the first problems found."""
    rows, bad = 0, []
    for row, found in enumerate(problems):
        rows += 1
        bad += [f"row {row}: {p}" for p in found]
    return {"dataset": dataset, "rows": rows, "problems": bad[:20], "problem_count": len(bad), **extra}


def read_keys(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
