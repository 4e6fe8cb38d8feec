"""Write validated records as Parquet shards, in parts that commit atomically.

Commits run on one background thread, in order, one at a time.

A part is: the shard file renamed into place, its errors table renamed into place, then the
manifest rewritten (temp file + rename). A crash leaves at most files the manifest does not
list; the next run deletes them and redoes those source items. Rows already listed are never
rewritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .config import Recipe
from .error_codes import error_code
from .errors import OutputConflictError, OutputWriteError
from .models.manifest import ModelSpec
from .models.store import sha256_file
from .record import RECORD_SCHEMA_VERSION, FaceRecord, arrow_schema_with_metadata
from .schema import problems, row_problems

MANIFEST = "manifest.json"
SHARD_DIR = "shards"
ERROR_DIR = "errors"

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
    """A source item (or one of its faces) that gave no row, and why."""

    source_dataset: str
    source_path: str
    kind: str
    stage: str
    reason: str
    record_id: str | None = None
    time: str = field(default_factory=now_iso)
    code: str = ""  # stable, from error_codes.RULES; filled from stage and reason when not given

    def __post_init__(self) -> None:
        if not self.code:
            self.code = error_code(self.stage, self.reason)


def _tmp_name(path: Path) -> Path:
    """Where `path` is written before its rename: hidden, and cleaned by the next run if left."""
    return path.with_name(f".{path.name}.tmp")


def _fsync_write(path: Path, writer: Any) -> None:
    """Write to a temporary name, fsync, rename: a reader sees the old file or the new one, and a
    failed write (disk full) leaves no temporary file behind."""
    tmp = _tmp_name(path)
    try:
        writer(tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a folder made read-only mid-write: the next run cleans it
            tmp.unlink(missing_ok=True)
        raise


OUR_NAMES = re.compile(r"(part|errors)-\d{5}\.parquet")


def _our_leftover(path: Path) -> bool:
    """A temporary file of ours, or a whole part of ours (our name and our schema metadata)."""
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        return True
    if not OUR_NAMES.fullmatch(path.name):
        return False
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return False
    return b"facefocal" in (schema.metadata or {}) or schema.names == ERROR_SCHEMA.names


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def read_error_rows(out: Path, columns: list[str]) -> list[dict[str, Any]]:
    """The build's error rows (the listed errors tables), with `columns` of ERROR_SCHEMA."""
    rows: list[dict[str, Any]] = []
    for part in (read_manifest(out) or {"parts": []})["parts"]:
        if part.get("errors"):
            rows += pq.read_table(out / part["errors"]["file"], columns=columns).to_pylist()
    return rows


LOCK = ".facefocal.lock"


class OutputLock:
    """One build per output folder: an exclusive `flock` held while the build runs.

    The kernel drops the lock when the process ends, however it ends, so a crash or `kill -9`
    never leaves a lock that blocks the next run; a clean stop also removes the file.
    """

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / LOCK
        while True:  # the file we locked must still be the one at the path (a finishing run unlinks it)
            self._handle: Any = self.path.open("a+")
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._handle.seek(0)
                holder = self._handle.read().strip() or "another process"
                self._handle.close()
                raise OutputConflictError(
                    f"another build is writing to {out} ({holder}); wait for it, or use a new --out"
                ) from None
            if self.path.exists() and os.fstat(self._handle.fileno()).st_ino == self.path.stat().st_ino:
                break
            self._handle.close()
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"pid {os.getpid()} since {now_iso()}")
        self._handle.flush()

    def release(self) -> None:
        if self._handle is not None and not self._handle.closed:
            with contextlib.suppress(OSError):  # a read-only folder keeps the file, never the lock
                self.path.unlink(missing_ok=True)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


@dataclass
class PendingPart:
    """What the next commit writes: valid rows, error events, the source keys it completes and the
    content hash of each image it labelled (for duplicates across runs)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[ErrorEvent] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)


class ShardWriter:
    """Buffers validated rows and error events; commits a part every `shard_rows` rows."""

    def __init__(
        self, out: Path, recipe: Recipe, models: Iterable[ModelSpec], overwrite: bool = False
    ) -> None:
        self.out = Path(out)
        self._lock = OutputLock(self.out)  # before reading or cleaning anything in the folder
        self.recipe = recipe
        self.recipe_hash = recipe.content_hash()
        self.pending = PendingPart()
        self.last_flush = time.monotonic()
        self.commit_seconds = 0.0
        try:
            self.manifest = self._open(overwrite, list(models))
        except BaseException:
            self._lock.release()
            raise
        # Parquet encoding, fsync and the manifest update overlap with the next images' inference.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-commit")
        self._commit_job: Future[None] | None = None
        self.done = {key for part in self.manifest["parts"] for key in part["sources"]}

    # -- opening and resuming ------------------------------------------------------------
    def _open(self, overwrite: bool, models: list[ModelSpec]) -> dict[str, Any]:
        existing = read_manifest(self.out)
        if existing is not None and (overwrite or existing.get("recipe_hash") != self.recipe_hash):
            if not overwrite and existing.get("parts"):
                raise OutputConflictError(
                    f"{self.out} holds a build of another recipe ({existing.get('recipe_name')},"
                    f" hash {str(existing.get('recipe_hash'))[:12]}…);"
                    " use a new --out, or --force to replace it"
                )
            # a manifest listing no parts holds no data (older versions wrote one for a run that
            # failed before its first commit): a build of another recipe replaces it without --force
            self._remove_listed(existing)
            existing = None
        for folder in (SHARD_DIR, ERROR_DIR):
            (self.out / folder).mkdir(parents=True, exist_ok=True)
        if existing is None:
            existing = {
                "format_version": 1,
                "toolkit_version": __version__,
                "record_schema_version": RECORD_SCHEMA_VERSION,
                "recipe_name": self.recipe.name,
                "recipe_hash": self.recipe_hash,
                "recipe": self.recipe.model_dump(mode="json"),
                "models": [
                    {"name": m.name, "sha256": m.sha256, "source": m.source, "licence": m.licence}
                    for m in models
                ],
                "created": now_iso(),
                "updated": now_iso(),
                "parts": [],
            }
        self._remove_unlisted(existing)
        return existing

    def _listed_files(self, manifest: dict[str, Any]) -> set[str]:
        files = set()
        for part in manifest["parts"]:
            for key in ("shard", "errors"):
                if part.get(key):
                    files.add(part[key]["file"])
        return files

    def _remove_listed(self, manifest: dict[str, Any]) -> None:
        for rel in self._listed_files(manifest):
            (self.out / rel).unlink(missing_ok=True)
        (self.out / MANIFEST).unlink(missing_ok=True)

    def _remove_unlisted(self, manifest: dict[str, Any]) -> None:
        """Files from a run that died before its manifest update: not part of the dataset.

        Only our own leftovers are deleted; a file we did not write is left alone, and one that
        sits where we would write stops the build instead of being overwritten."""
        listed = self._listed_files(manifest)
        _tmp_name(self.out / MANIFEST).unlink(missing_ok=True)
        for folder in (SHARD_DIR, ERROR_DIR):
            for path in (self.out / folder).iterdir():
                if f"{folder}/{path.name}" in listed:
                    continue
                if _our_leftover(path):
                    path.unlink()
                elif OUR_NAMES.fullmatch(path.name):
                    raise OutputConflictError(
                        f"{path} was not written by facefocal and would be overwritten;"
                        " build into an empty folder (--out)"
                    )

    # -- adding ----------------------------------------------------------------------------
    def is_done(self, key: str) -> bool:
        return key in self.done

    def digests(self) -> dict[str, str]:
        """Content hash -> source key of every image labelled by the runs committed so far."""
        return {d: key for part in self.manifest["parts"] for d, key in part.get("digests", {}).items()}

    def add(
        self, key: str, records: list[FaceRecord], events: list[ErrorEvent], digest: str | None = None
    ) -> list[ErrorEvent]:
        """Queue one source item's results; invalid rows become (and are returned as) errors.
        `digest` (the bytes' sha256) is kept for duplicate detection across runs."""
        rejected = []
        for record in records:
            row = record.to_row()
            reasons = row_problems(row)
            if reasons:
                rejected.append(
                    ErrorEvent(
                        record.source_dataset,
                        record.source_path,
                        "error",
                        "validate",
                        "; ".join(reasons),
                        record.record_id,
                    )
                )
            else:
                self.pending.rows.append(row)
        self.pending.events.extend(events + rejected)
        self.pending.sources.append(key)
        if digest is not None:
            self.pending.digests[digest] = key
        if len(self.pending.rows) >= self.recipe.output.shard_rows or (
            time.monotonic() - self.last_flush >= self.recipe.output.flush_seconds
        ):
            self.flush()
        return rejected

    # -- committing ------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the buffered part to the committer thread; at most one commit is in flight."""
        if not self.pending.sources:
            return
        part, self.pending = self.pending, PendingPart()
        self.last_flush = time.monotonic()
        self._wait()
        self._commit_job = self._committer.submit(self._commit, part)

    def _wait(self) -> None:
        """Block until the previous commit is on disk; re-raise its failure here."""
        if self._commit_job is not None:
            job, self._commit_job = self._commit_job, None
            job.result()

    def _commit(self, pending: PendingPart) -> None:
        started = time.perf_counter()
        try:
            self._commit_part(pending)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot write to {self.out}: {exc.strerror or exc}; the parts committed before are kept"
                " — free space (or fix the folder) and rerun the same command to resume"
            ) from None
        finally:
            self.commit_seconds += time.perf_counter() - started

    def _commit_part(self, pending: PendingPart) -> None:
        index = max((p["index"] for p in self.manifest["parts"]), default=-1) + 1
        part = {
            "index": index,
            "sources": pending.sources,
            "shard": self._write_shard(index, pending.rows) if pending.rows else None,
            "errors": self._write_errors(index, pending.events) if pending.events else None,
            **({"digests": pending.digests} if pending.digests else {}),
        }
        manifest = {**self.manifest, "parts": [*self.manifest["parts"], part], "updated": now_iso()}
        manifest_problems = problems(manifest, "shard_manifest")
        if manifest_problems:  # a bug, not bad input: stop before writing a broken manifest
            raise RuntimeError(f"internal error, manifest invalid: {manifest_problems}")
        _fsync_write(self.out / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1)))
        self.manifest = manifest
        self.done.update(pending.sources)

    def _write_shard(self, index: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        rel = f"{SHARD_DIR}/part-{index:05d}.parquet"
        meta = {
            b"facefocal": json.dumps(
                {"recipe_hash": self.recipe_hash, "toolkit_version": __version__}
            ).encode()
        }
        table = pa.Table.from_pylist(rows, schema=arrow_schema_with_metadata(meta))
        out = self.recipe.output
        compression = None if out.compression == "none" else out.compression
        _fsync_write(
            self.out / rel,
            lambda p: pq.write_table(table, p, compression=compression, row_group_size=out.row_group_rows),
        )
        path = self.out / rel
        return {
            "file": rel,
            "rows": table.num_rows,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
            "record_ids": [row["record_id"] for row in rows],
            "splits": dict(Counter(row["split"] or "none" for row in rows)),
        }

    def _write_errors(self, index: int, events: list[ErrorEvent]) -> dict[str, Any]:
        rel = f"{ERROR_DIR}/errors-{index:05d}.parquet"
        table = pa.Table.from_pylist([e.__dict__ for e in events], schema=ERROR_SCHEMA)
        _fsync_write(self.out / rel, lambda p: pq.write_table(table, p))
        return {"file": rel, "rows": table.num_rows, "sha256": sha256_file(self.out / rel)}

    def close(self, run: dict[str, Any] | None = None) -> None:
        """Commit what is buffered and wait until it is on disk; then record the run's accounting.

        A run that committed nothing into a folder with no parts writes no manifest: one holding
        only the run record would claim the folder for this recipe and refuse the corrected one."""
        try:
            self.flush()
            self._wait()
            if run is not None and self.manifest["parts"]:
                with contextlib.suppress(OSError):  # accounting only: a write failure is reported already
                    self._record_run(run)
        finally:
            self._committer.shutdown(wait=True)
            self._lock.release()

    def _record_run(self, run: dict[str, Any]) -> None:
        run = {**run, "stage_seconds": {**run["stage_seconds"], "commit": round(self.commit_seconds, 4)}}
        run["finished"] = now_iso()
        manifest = {**self.manifest, "runs": [*self.manifest.get("runs", []), run], "updated": now_iso()}
        manifest_problems = problems(manifest, "shard_manifest")
        if manifest_problems:
            raise RuntimeError(f"internal error, manifest invalid: {manifest_problems}")
        _fsync_write(self.out / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1)))
        self.manifest = manifest


def rewrite_records(
    source: Path, out: Path, records: list[FaceRecord], note: str, rejected: list[str] | None = None
) -> dict[str, Any]:
    """A copy of the build at `source` in `out` with `records` replacing the rows of the same ids.

    Shards keep their parts, order and row groups; errors tables are copied; the manifest gets
    the new hashes and a `runs` entry saying what changed (`note`). Every row is validated again.
    """
    manifest = read_manifest(source)
    if manifest is None:
        raise FileNotFoundError(f"{source} is not a build (no {MANIFEST})")
    if out.resolve() == source.resolve():
        raise OutputConflictError("write the edited dataset to a new folder; the original stays as it is")
    if read_manifest(out) is not None:
        raise OutputConflictError(f"{out} already holds a build; choose a new folder")
    by_id = {record.record_id: record for record in records}
    parts = []
    for part in manifest["parts"]:
        part = dict(part)
        if part.get("shard"):
            part["shard"] = _rewrite_shard(source, out, part["shard"], by_id)
        if part.get("errors"):
            (out / part["errors"]["file"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / part["errors"]["file"], out / part["errors"]["file"])
        parts.append(part)
    run = {"engine": "rewrite", "workers": 1, "seconds": 0.0, "counts": {}, "stage_seconds": {}, "splits": {}}
    run["finished"], run["note"] = now_iso(), note
    new = {**manifest, "parts": parts, "runs": [*manifest.get("runs", []), run], "updated": now_iso()}
    if rejected:  # faces a reviewer rejected: kept in the shards, left out of exports and statistics
        new["rejected"] = sorted(set(manifest.get("rejected", [])) | set(rejected))
    _fsync_write(out / MANIFEST, lambda p: p.write_text(json.dumps(new, indent=1)))
    return new


def _rewrite_shard(
    source: Path, out: Path, shard: dict[str, Any], by_id: dict[str, FaceRecord]
) -> dict[str, Any]:
    table = pq.read_table(source / shard["file"])
    rows = [
        by_id[row["record_id"]].to_row() if row["record_id"] in by_id else row for row in table.to_pylist()
    ]
    for row in rows:
        reasons = row_problems(row)
        if reasons:
            raise ValueError(f"record {row['record_id']} would be invalid: {'; '.join(reasons)}")
    new_table = pa.Table.from_pylist(rows, schema=table.schema)
    path = out / shard["file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = pq.read_metadata(source / shard["file"])
    _fsync_write(
        path, lambda p: pq.write_table(new_table, p, row_group_size=max(1, metadata.row_group(0).num_rows))
    )
    return {**shard, "sha256": sha256_file(path), "bytes": path.stat().st_size}
