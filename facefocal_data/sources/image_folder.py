"""A folder of images (searched recursively), a single image, or a text file listing paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from ..errors import RecipeError
from .base import SOURCES, SourceItem

LIST_SUFFIXES = {".txt", ".lst"}


@SOURCES.register("image_folder")
class ImageFolderSource:
    """Yields image files in sorted order; files with other extensions are counted, not read."""

    def __init__(self, root: str | Path, config: SourceConfig) -> None:
        self.root = Path(root)
        if not self.root.exists() and not self.root.is_symlink():
            raise FileNotFoundError(f"input {self.root} does not exist")
        if self.root.suffix.lower() in (".csv", ".jsonl", ".ndjson"):
            raise RecipeError(f"{self.root} is a manifest, not an image: use --source manifest (source.kind)")
        self.extensions = {e.lower() for e in config.extensions}
        base = self.root if self.root.is_dir() else self.root.parent
        self.dataset = config.dataset or base.resolve().name or "images"
        self.ignored: list[Path] = []

    def _paths(self) -> list[tuple[str, Path]]:
        if self.root.is_dir():
            found = []
            for path in sorted(self.root.rglob("*")):
                rel = path.relative_to(self.root)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if path.is_dir() and path.suffix.lower() not in self.extensions:
                    continue
                if path.suffix.lower() in self.extensions:
                    found.append((rel.as_posix(), path))
                else:
                    self.ignored.append(path)
            return found
        if self.root.suffix.lower() in LIST_SUFFIXES:
            lines = [ln.strip() for ln in self.root.read_text().splitlines()]
            paths = [Path(ln) for ln in lines if ln and not ln.startswith("#")]
            return [(p.as_posix(), p if p.is_absolute() else self.root.parent / p) for p in paths]
        return [(self.root.name, self.root)]

    def __iter__(self) -> Iterator[SourceItem]:
        for key, path in self._paths():
            yield SourceItem(key=key, path=path, dataset=self.dataset)
