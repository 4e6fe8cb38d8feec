"""RAF-DB basic emotion: ``EmoLabel/list_patition_label.txt`` (sic) + ``Image/original|aligned``.

Each line is ``train_00001.jpg 5`` with labels 1-7 = surprise, fear, disgust, happiness,
sadness, anger, neutral; the split is the name's prefix. Aligned images carry ``_aligned`` in
their names; the original images are used when present (the detector finds the face itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from ..textfiles import lines
from .base import SOURCES, SourceItem, UnsafePathError, confined, item_with_truth

RAF_EMOTIONS = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
LABELS = {str(n) for n in range(1, len(RAF_EMOTIONS) + 1)}
LIST_FILE = Path("EmoLabel") / "list_patition_label.txt"


@SOURCES.register("rafdb")
class RafDbSource:
    def __init__(self, root: str | Path, config: SourceConfig) -> None:
        self.root = Path(root)
        self.list_file = self.root / LIST_FILE
        if not self.list_file.is_file():
            raise FileNotFoundError(f"RAF-DB list file {self.list_file} does not exist")
        original = self.root / "Image" / "original"
        self.images, self.aligned = (
            (original, False) if original.is_dir() else (self.root / "Image" / "aligned", True)
        )
        self.dataset = config.dataset or "rafdb"
        self.ignored: list[Path] = []

    def __iter__(self) -> Iterator[SourceItem]:
        for number, line, bad in lines(self.list_file):
            parts = line.split()
            name = Path(parts[0]).name  # names only: nothing in the list can point elsewhere
            if bad or len(parts) != 2 or parts[1] not in LABELS:
                why = f"line {number} {bad}" if bad else f"line {number}: expected 'name label(1-7)'"
                yield SourceItem(
                    name or f"line {number}", self.list_file, self.dataset, error=why, code="E_BAD_ROW"
                )
                continue
            file = f"{Path(name).stem}_aligned{Path(name).suffix}" if self.aligned else name
            try:
                path = confined(self.images, file)
            except UnsafePathError as exc:
                yield SourceItem(name, self.list_file, self.dataset, error=exc.reason, code=exc.code)
                continue
            split = "train" if name.startswith("train") else "test" if name.startswith("test") else None
            truth = {"emotion": RAF_EMOTIONS[int(parts[1]) - 1]}
            yield item_with_truth(name, path, self.dataset, truth, split=split)
