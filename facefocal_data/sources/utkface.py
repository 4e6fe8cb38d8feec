"""UTKFace: age (and gender, race) in the file name, ``[age]_[gender]_[race]_[date&time].jpg``.

Only the age is carried as ground truth (the records have no gender or race fields). Names that
do not follow the pattern are error rows; ``*.chip.jpg`` (the aligned crops) work the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from .base import SOURCES, SourceItem, item_with_truth

NAME = re.compile(r"^(\d{1,3})_(\d)_(\d)_(\d+)")


@SOURCES.register("utkface")
class UTKFaceSource:
    def __init__(self, root: str | Path, config: SourceConfig) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"UTKFace folder {self.root} does not exist")
        self.extensions = {e.lower() for e in config.extensions}
        self.dataset = config.dataset or "utkface"
        self.ignored: list[Path] = []

    def __iter__(self) -> Iterator[SourceItem]:
        for path in sorted(self.root.rglob("*")):
            if path.suffix.lower() not in self.extensions or path.is_dir():
                if path.is_file():
                    self.ignored.append(path)
                continue
            key = path.relative_to(self.root).as_posix()
            match = NAME.match(path.name)
            if match is None:
                yield SourceItem(
                    key,
                    path,
                    self.dataset,
                    error="name is not age_gender_race_date (UTKFace)",
                    code="E_BAD_ROW",
                )
                continue
            yield item_with_truth(key, path, self.dataset, {"age": int(match.group(1))})
