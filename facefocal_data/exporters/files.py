"""Export folders: one data file per split, and a manifest so several exports can share a folder.

A trainer must never train on validation or test rows by accident, so an export without
`--split` writes every split to its own file (`face_focal_train.jsonl`, `…_validation`, `…_test`)
instead of one mixed file; with `--split` only that one. Exports into the same folder add their
files (another split, another `--name`) and one registration lists all of them; `export.json`
remembers what the folder holds and with which conventions, and an export whose coordinates
would mean something else (another format, model or pixel budget) is refused before it writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FacefocalError
from ..record import FaceRecord
from .base import ExportOptions

EXPORT_MANIFEST = "export.json"
UNSPLIT = "unsplit"  # records a build gave no split (older builds)


def split_of(record: FaceRecord) -> str:
    return record.split or UNSPLIT


@dataclass
class SplitFile:
    path: Path
    rows: int = 0


class _RowWriter:
    """One data file written a row at a time: a JSON array (`.json`) or JSON lines (`.jsonl`)."""

    def __init__(self, path: Path) -> None:
        self.file = SplitFile(path)
        self.array = path.suffix == ".json"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle: IO[str] = path.open("w", encoding="utf-8")
        if self.array:
            self.handle.write("[")

    def add(self, row: dict[str, Any]) -> None:
        text = json.dumps(row, ensure_ascii=False)
        if self.array:
            self.handle.write(("," if self.file.rows else "") + "\n" + text)
        else:
            self.handle.write(text + "\n")
        self.file.rows += 1

    def close(self) -> None:
        if self.array:
            self.handle.write("\n]\n")
        self.handle.close()


def write_splits(
    out: Path, options: ExportOptions, suffix: str, rows: Iterable[tuple[str, dict[str, Any]]]
) -> dict[str, SplitFile]:
    """`(split, row)` pairs into `{name}_{split}{suffix}`, a file per split, as the rows come (an
    export never sits whole in memory). The asked split gets its file even when it has no rows."""
    writers: dict[str, _RowWriter] = {}
    if options.split is not None:
        writers[options.split] = _RowWriter(out / f"{options.name}_{options.split}{suffix}")
    try:
        for split, row in rows:
            if split not in writers:
                writers[split] = _RowWriter(out / f"{options.name}_{split}{suffix}")
            writers[split].add(row)
    finally:
        for writer in writers.values():
            writer.close()
    return {split: writer.file for split, writer in sorted(writers.items(), key=lambda item: _order(item[0]))}


def _order(split: str) -> tuple[int, str]:
    known = ["train", "validation", "test"]
    return (known.index(split) if split in known else len(known), split)


def conventions(fmt: str, options: ExportOptions) -> dict[str, Any]:
    """What the folder's coordinates mean: exports that differ here cannot share a folder."""
    return {
        "format": fmt,
        "model": options.model,
        "min_pixels": options.min_pixels,
        "max_pixels": options.max_pixels,
        "landmark_side": options.landmark_side,
    }


def _read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / EXPORT_MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
        if isinstance(manifest, dict) and isinstance(manifest.get("datasets"), dict):
            return manifest
    except (OSError, ValueError):
        pass
    raise FacefocalError(f"{path} is unreadable; export into a new folder")


def check_folder(out: Path, fmt: str, options: ExportOptions) -> None:
    """Refuse, before anything is written, to add files whose boxes mean something else."""
    manifest = _read_manifest(out)
    if manifest is None:
        return
    held, wanted = manifest.get("conventions") or {}, conventions(fmt, options)
    differ = [
        f"{key} {held.get(key)} there, {value} here"
        for key, value in wanted.items()
        if held.get(key) != value
    ]
    if differ:
        raise FacefocalError(
            f"{out} holds an export whose coordinates mean something else ({'; '.join(differ)});"
            " export into a new folder"
        )


def record_datasets(
    out: Path, fmt: str, options: ExportOptions, written: dict[str, SplitFile]
) -> dict[str, dict[str, Any]]:
    """Add this export's files to `export.json`; returns every dataset the folder now holds."""
    manifest = _read_manifest(out) or {"conventions": conventions(fmt, options), "datasets": {}}
    for split, file in written.items():
        manifest["datasets"][file.path.stem] = {
            "file": file.path.name,
            "split": split,
            "stage": options.stage,
            "samples": file.rows,
        }
    (out / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=1))
    return dict(manifest["datasets"])


def names_by_split(datasets: dict[str, dict[str, Any]]) -> dict[str, str]:
    """split -> dataset name (the last export of a split wins), for notes that name the train set."""
    return {d["split"]: name for name, d in datasets.items()}
