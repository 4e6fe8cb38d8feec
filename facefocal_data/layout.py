"""The on-disk build, as types: folder names, the errors table, and the manifest.

A build folder holds `shards/part-NNNNN.parquet` (face records), `errors/errors-NNNNN.parquet`
(items that gave no row) and `manifest.json`, which lists them. `Manifest`, `Part` and
`RunRecord` are that JSON as dataclasses (the shape of datasets' `DatasetInfo` / `SplitInfo`):
`read_manifest` is the one place it is parsed and `Manifest.save` the one place it is written,
checked against `schemas/shard_manifest.schema.json` first and renamed into place atomically.
The JSON they write is the JSON earlier versions wrote (same keys, same order, optional keys
left out when empty), so builds made before these types read and validate unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from .error_codes import stage_code
from .errors import NotABuildError
from .record import RECORD_SCHEMA_VERSION
from .schema import problems

MANIFEST = "manifest.json"
SHARD_DIR = "shards"
ERROR_DIR = "errors"
STAGED = ".staged-"  # a worker's part before the driver commits it: hidden, and `.tmp` until then

ERROR_SCHEMA = pa.schema(
    [
        ("source_dataset", pa.string()),
        ("source_path", pa.string()),
        ("kind", pa.string()),  # "error" | "no_face"
        ("stage", pa.string()),  # read | decode | detect | landmarks | regions | validate | ...
        ("reason", pa.string()),
        ("record_id", pa.string()),
        ("time", pa.string()),
        ("code", pa.string()),  # stable error code (error_codes.py); `reason` is for people
    ]
)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class ErrorEvent:
    """A source item (or one of its faces) that gave no row, and why: one row of the errors table."""

    source_dataset: str
    source_path: str
    kind: str
    stage: str
    reason: str
    record_id: str | None = None
    time: str = field(default_factory=now_iso)
    code: str = ""  # stable, from error_codes.CODES; given by the raiser, else fixed by the stage

    def __post_init__(self) -> None:
        # raisers check their codes (ItemError, SourceItem); a stored code is kept as it is, so a
        # table written by a newer version with codes this one lacks still reads
        self.code = self.code or stage_code(self.stage, self.kind)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ErrorEvent:
        """A stored row back; a table from before codes were stored gets its stage's code."""
        return cls(**{f.name: row[f.name] for f in fields(cls) if row.get(f.name) is not None})


def tmp_name(path: Path) -> Path:
    """Where `path` is written before its rename: hidden, and cleaned by the next run if left."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, writer: Callable[[Path], Any]) -> None:
    """Write to a temporary name, fsync, rename: a reader sees the old file or the new one, and a
    failed write (disk full) leaves no temporary file behind."""
    tmp = tmp_name(path)
    try:
        writer(tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a folder made read-only mid-write: the next run cleans it
            tmp.unlink(missing_ok=True)
        raise


def _to_dict(entry: Any) -> dict[str, Any]:
    """A dataclass as its JSON object, in field order; an optional field (default None) that is
    None is left out, as the manifests written before these types left it out."""
    return {
        f.name: value
        for f in fields(entry)
        if (value := getattr(entry, f.name)) is not None or f.default is not None
    }


@dataclass(frozen=True)
class TableEntry:
    """A listed errors table: its file (relative to the build), row count and content hash."""

    file: str
    rows: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True)
class ShardEntry(TableEntry):
    """A listed shard: also its size, its record ids in row order and rows per split (builds made
    before splits existed have none)."""

    bytes: int
    record_ids: list[str]
    splits: dict[str, int] | None = None


@dataclass(frozen=True)
class ModelEntry:
    """A weights file the build's labels came from (name, pinned hash, where from, licence)."""

    name: str
    sha256: str
    source: str
    licence: str


@dataclass(frozen=True)
class Part:
    """One commit: the source items it completed, its shard and errors table (either may be None)
    and the content hash of each image it labelled (for duplicates across runs)."""

    index: int
    sources: list[str]
    shard: ShardEntry | None
    errors: TableEntry | None
    digests: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        part = {
            "index": self.index,
            "sources": self.sources,
            "shard": None if self.shard is None else self.shard.to_dict(),
            "errors": None if self.errors is None else self.errors.to_dict(),
        }
        return {**part, "digests": self.digests} if self.digests else part

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Part:
        shard, errors = raw.get("shard"), raw.get("errors")
        return cls(
            int(raw["index"]),
            list(raw["sources"]),
            None if shard is None else ShardEntry(**shard),
            None if errors is None else TableEntry(**errors),
            dict(raw.get("digests") or {}),
        )


def part_files(index: int) -> tuple[str, str]:
    """Where part `index`'s shard and errors table live, relative to the build."""
    return f"{SHARD_DIR}/part-{index:05d}.parquet", f"{ERROR_DIR}/errors-{index:05d}.parquet"


@dataclass(frozen=True)
class StagedPart:
    """A part a worker wrote under hidden temporary names (`.staged-*.tmp`): no reader sees it and
    no manifest lists it until the driver commits it (`commit`: renamed to the next part's names,
    then the manifest saved). A run that dies first leaves only hidden `.tmp` files, which the
    next run deletes like any temporary file of ours, and redoes those source items."""

    sources: list[str]
    digests: dict[str, str]
    shard: ShardEntry | None
    errors: TableEntry | None

    def commit(self, out: Path, index: int) -> Part:
        """Rename the files into part `index`'s places (a rename: no bytes are copied)."""
        shard_file, errors_file = part_files(index)
        shard = errors = None
        if self.shard is not None:
            os.replace(out / self.shard.file, out / shard_file)
            shard = replace(self.shard, file=shard_file)
        if self.errors is not None:
            os.replace(out / self.errors.file, out / errors_file)
            errors = replace(self.errors, file=errors_file)
        return Part(index, self.sources, shard, errors, self.digests)

    def files(self) -> list[str]:
        return [entry.file for entry in (self.shard, self.errors) if entry is not None]


@dataclass(frozen=True)
class RunRecord:
    """One run into the folder: a build (engine, workers, counts, per-stage seconds, rows per split)
    or a rewrite (review apply, Label Studio import: engine "rewrite" and a `note` of what changed).
    A build's record gets `finished` and its commit seconds when the writer closes."""

    engine: str
    workers: int
    seconds: float
    counts: dict[str, int]
    stage_seconds: dict[str, float]
    splits: dict[str, int]
    finished: str = ""
    note: str | None = None

    @classmethod
    def rewrite(cls, note: str) -> RunRecord:
        return cls("rewrite", 1, 0.0, {}, {}, {}, now_iso(), note)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True)
class Manifest:
    """What a build folder holds: the recipe and models it was made with, its parts (a file not
    listed is not part of the dataset), its runs, and the faces a reviewer rejected.

    Frozen: a writer makes the next manifest (`with_part`, `with_run`) and keeps the old one until
    the new one is saved, so a failed save never leaves it believing what is not on disk."""

    recipe_name: str
    recipe_hash: str
    recipe: dict[str, Any]
    models: list[ModelEntry]
    created: str
    updated: str
    toolkit_version: str
    parts: list[Part] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    format_version: int = 1
    record_schema_version: int = RECORD_SCHEMA_VERSION

    @property
    def shards(self) -> list[ShardEntry]:
        """The listed shards, in commit order (the order records are read)."""
        return [part.shard for part in self.parts if part.shard is not None]

    @property
    def error_tables(self) -> list[TableEntry]:
        return [part.errors for part in self.parts if part.errors is not None]

    def files(self) -> set[str]:
        """Every listed file, relative to the build."""
        return {entry.file for entry in [*self.shards, *self.error_tables]}

    def sources(self) -> set[str]:
        """Source keys already handled: a rerun skips them."""
        return {key for part in self.parts for key in part.sources}

    def digests(self) -> dict[str, str]:
        """Content hash -> source key of every image labelled by the parts committed so far."""
        return {d: key for part in self.parts for d, key in part.digests.items()}

    def with_part(self, part: Part) -> Manifest:
        return replace(self, parts=[*self.parts, part], updated=now_iso())

    def with_parts(self, parts: list[Part]) -> Manifest:
        """Several commits in one manifest save (the driver's group commit of worker parts)."""
        return replace(self, parts=[*self.parts, *parts], updated=now_iso())

    def with_run(self, run: RunRecord) -> Manifest:
        return replace(self, runs=[*self.runs, run], updated=now_iso())

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order earlier versions wrote them."""
        data = {name: getattr(self, name) for name in _HEAD}
        data["models"] = [_to_dict(m) for m in self.models]
        data |= {"created": self.created, "updated": self.updated}
        data["parts"] = [part.to_dict() for part in self.parts]
        if self.runs:
            data["runs"] = [run.to_dict() for run in self.runs]
        return {**data, "rejected": self.rejected} if self.rejected else data

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        """Parse a manifest; a key or type that is wrong raises KeyError / TypeError / ValueError."""
        return cls(
            **{name: raw[name] for name in _HEAD},
            models=[ModelEntry(**m) for m in raw["models"]],
            created=raw["created"],
            updated=raw["updated"],
            parts=[Part.from_dict(p) for p in raw["parts"]],
            runs=[RunRecord(**r) for r in raw.get("runs", [])],
            rejected=list(raw.get("rejected", [])),
        )

    def problems(self) -> list[str]:
        """Where it breaks `shard_manifest.schema.json`; empty when valid."""
        return problems(self.to_dict(), "shard_manifest")

    def save(self, out: Path) -> None:
        """The one way a manifest reaches disk: checked against the schema (a manifest that breaks
        it is a bug, never written), then written to a temporary name and renamed into place."""
        data = self.to_dict()
        found = problems(data, "shard_manifest")
        if found:
            raise RuntimeError(f"internal error, manifest invalid: {found}")
        write_atomic(Path(out) / MANIFEST, lambda p: p.write_text(json.dumps(data, indent=1)))


_HEAD = ("format_version", "toolkit_version", "record_schema_version", "recipe_name", "recipe_hash", "recipe")


def read_manifest(out: str | Path) -> Manifest | None:
    """The manifest of the build at `out`; None when there is none. One that cannot be parsed is
    not ours to read or overwrite: NotABuildError, saying why."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotABuildError(f"{out} is not a build: its {MANIFEST} is unreadable ({exc})") from None
    try:
        return Manifest.from_dict(raw)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        found = problems(raw, "shard_manifest") if isinstance(raw, dict) else ["not a JSON object"]
        why = "; ".join(found[:2]) or f"{type(exc).__name__}: {exc}"
        raise NotABuildError(
            f"{out} is not a build: its {MANIFEST} is not a build manifest ({why})"
        ) from None


def require_manifest(out: str | Path) -> Manifest:
    """The manifest of the build at `out`, or NotABuildError naming what is missing."""
    path = Path(out)
    if not path.exists():
        raise NotABuildError(f"{path} is not a build: it does not exist")
    if not path.is_dir():
        raise NotABuildError(f"{path} is not a build: it is a file, not a folder")
    manifest = read_manifest(path)
    if manifest is None:
        raise NotABuildError(f"{path} is not a build (no {MANIFEST})")
    return manifest
