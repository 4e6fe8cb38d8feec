"""A manifest file (CSV or JSONL) listing images with optional subject, split and ground truth.

Columns / keys: `path` (required, relative to the root), `subject_id`, `split`, `emotion`,
`age`, AU columns named like `AU12` / `au12` (or, in JSONL, an `aus` object), and
`au_value_type` (`binary`, default, or `intensity_0_5`), and `boxes`: region boxes in source
pixels, ``[[x1, y1, x2, y2], …]`` (JSON text in a CSV cell), which become `box_source_NN` regions
of the faces they fall on. The root is `source.root` or the
manifest's folder; a row whose path would leave it is an error row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import SourceConfig
from ..textfiles import csv_records, lines, parse_json
from .base import SOURCES, SourceItem, UnsafePathError, confined, item_with_truth, parse_boxes

AU_COLUMN = re.compile(r"^au\s?_?(\d{1,2})$", re.IGNORECASE)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) for each row; a row that cannot be parsed comes back as its error text."""
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        yield from csv_records(path)
        return
    for number, line, bad in lines(path):
        if bad:
            yield number, f"line {number} {bad}"
            continue
        try:
            row = parse_json(line)
        except ValueError as exc:
            yield number, f"line {number} is not JSON: {str(exc)[:200]}"
            continue
        yield number, row if isinstance(row, dict) else f"line {number} is not a JSON object"


def truth_of(row: dict[str, Any]) -> dict[str, Any]:
    aus = row.get("aus") or {}
    if not isinstance(aus, dict):
        return {"aus": aus}  # clean_truth reports it
    aus = dict(aus)
    for column, value in row.items():
        if (match := AU_COLUMN.match(str(column))) and value not in (None, ""):
            aus[match.group(1)] = value
    truth: dict[str, Any] = {"emotion": row.get("emotion"), "age": row.get("age"), "aus": aus}
    if row.get("au_value_type"):
        truth["au_value_type"] = row["au_value_type"]
    return truth


@SOURCES.register("manifest")
class ManifestSource:
    """Rows of a CSV/JSONL manifest, in file order."""

    def __init__(self, manifest: str | Path, config: SourceConfig) -> None:
        self.manifest = Path(manifest)
        if not self.manifest.is_file():
            raise FileNotFoundError(f"manifest {self.manifest} does not exist")
        self.root = Path(config.root) if config.root else self.manifest.parent
        self.dataset = config.dataset or self.manifest.stem
        self.ignored: list[Path] = []

    def __iter__(self) -> Iterator[SourceItem]:
        seen: set[str] = set()
        for number, row in read_rows(self.manifest):
            if isinstance(row, str):
                yield SourceItem(
                    f"{self.manifest.name}:{number}", self.manifest, self.dataset, error=row, code="E_BAD_ROW"
                )
                continue
            yield self._item(number, row, seen)

    def _item(self, number: int, row: dict[str, Any], seen: set[str]) -> SourceItem:
        raw = str(row.get("path") or "").strip()
        key = raw or f"{self.manifest.name}:{number}"
        if not raw:
            return SourceItem(
                key, self.manifest, self.dataset, error=f"row {number} has no path", code="E_BAD_ROW"
            )
        if raw in seen:
            return SourceItem(
                f"{key}#row{number}",
                self.manifest,
                self.dataset,
                error=f"row {number} repeats {raw}",
                code="E_DUPLICATE_ROW",
            )
        seen.add(raw)
        try:
            path = confined(self.root, raw)
        except UnsafePathError as exc:
            return SourceItem(key, self.manifest, self.dataset, error=exc.reason, code=exc.code)
        subject = str(row["subject_id"]) if row.get("subject_id") not in (None, "") else None
        split = str(row["split"]) if row.get("split") not in (None, "") else None
        try:
            boxes = parse_boxes(row.get("boxes"))
        except (TypeError, ValueError) as exc:
            return SourceItem(
                key, path, self.dataset, error=f"row {number}: bad boxes: {exc}", code="E_BAD_BOXES"
            )
        return item_with_truth(
            key, path, self.dataset, truth_of(row), subject_id=subject, split=split, boxes=boxes
        )
