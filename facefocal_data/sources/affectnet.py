"""AffectNet-style CSV: ``subDirectory_filePath, …, expression, valence, arousal``.

Expression codes 0-7 = neutral, happiness, sadness, surprise, fear, disgust, anger, contempt;
8-10 (none, uncertain, no face) carry no emotion label. Paths resolve under `source.root` (or the
CSV's folder) and may not leave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from ..textfiles import csv_records
from .base import SOURCES, SourceItem, UnsafePathError, confined, item_with_truth

AFFECTNET_EMOTIONS = ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt")


CODES = {str(n) for n in range(len(AFFECTNET_EMOTIONS))}


@SOURCES.register("affectnet")
class AffectNetSource:
    def __init__(self, csv_path: str | Path, config: SourceConfig) -> None:
        self.csv = Path(csv_path)
        if not self.csv.is_file():
            raise FileNotFoundError(f"AffectNet CSV {self.csv} does not exist")
        self.root = Path(config.root) if config.root else self.csv.parent
        self.dataset = config.dataset or "affectnet"
        self.ignored: list[Path] = []

    def __iter__(self) -> Iterator[SourceItem]:
        for number, row in csv_records(self.csv):
            if isinstance(row, str):
                yield SourceItem(
                    f"{self.csv.name}:{number}", self.csv, self.dataset, error=row, code="E_BAD_ROW"
                )
                continue
            raw = (row.get("subDirectory_filePath") or "").strip()
            key = raw or f"{self.csv.name}:{number}"
            try:
                path = confined(self.root, raw) if raw else None
            except UnsafePathError as exc:
                yield SourceItem(key, self.csv, self.dataset, error=exc.reason, code=exc.code)
                continue
            if path is None:
                yield SourceItem(
                    key,
                    self.csv,
                    self.dataset,
                    error=f"row {number} has no subDirectory_filePath",
                    code="E_BAD_ROW",
                )
                continue
            yield item_with_truth(key, path, self.dataset, self._truth(row.get("expression") or ""))

    @staticmethod
    def _truth(code: str) -> dict[str, object]:
        code = code.strip()
        if code in CODES:
            return {"emotion": AFFECTNET_EMOTIONS[int(code)]}
        if code in ("8", "9", "10"):
            return {}  # none / uncertain / no face: no label, the image is still processed
        return {"emotion": code}  # anything else is reported as an unknown emotion
