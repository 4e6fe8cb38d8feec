"""A folder of images (searched recursively), a single image, or a text file listing paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from ..errors import RecipeError
from ..textfiles import lines
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

    def _paths(self) -> list[tuple[str, Path, str | None]]:
        """(key, path, error) per input."""
        if self.root.is_dir():
            found: list[tuple[str, Path, str | None]] = []
            for path in sorted(self.root.rglob("*")):
                rel = path.relative_to(self.root)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if path.is_dir() and path.suffix.lower() not in self.extensions:
                    continue
                if path.suffix.lower() in self.extensions:
                    found.append((rel.as_posix(), path, None))
                else:
                    self.ignored.append(path)
            return found
        if self.root.suffix.lower() in LIST_SUFFIXES:
            return [
                self._listed(n, line.strip(), bad)
                for n, line, bad in lines(self.root)
                if not line.strip().startswith("#")
            ]
        return [(self.root.name, self.root, None)]

    def _listed(self, number: int, line: str, bad: str | None) -> tuple[str, Path, str | None]:
        """A path from the user's own list file: absolute paths are fine here (not a dataset's)."""
        if bad:
            return f"{self.root.name}:{number}", self.root, f"line {number} {bad}"
        path = Path(line)
        return path.as_posix(), path if path.is_absolute() else self.root.parent / path, None

    def __iter__(self) -> Iterator[SourceItem]:
        for key, path, error in self._paths():
            code = None if error is None else "E_BAD_ROW"  # the only error here: a bad line in a list
            yield SourceItem(key=key, path=path, dataset=self.dataset, error=error, code=code)
