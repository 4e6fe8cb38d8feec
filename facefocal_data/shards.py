"""Write validated records as Parquet shards, in parts that commit atomically.

Commits run on one background thread, in order, one at a time.

A part is: the shard file renamed into place, its errors table renamed into place, then the
manifest rewritten (temp file + rename). A crash leaves at most files the manifest does not
list; the next run deletes them and redoes those source items. Rows already listed are never
rewritten. The format itself (folder names, the errors table, the typed manifest and its one
validated save) is `layout.py`; reading a build back is `dataset.Build`.

`rewrite_build` is the other writer: a copy of a build with some records replaced (review apply,
Label Studio import), staged beside the new folder and renamed into place whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ._version import __version__
from .config import OutputConfig
from .errors import OutputConflictError, OutputWriteError
from .layout import (
    ERROR_DIR,
    ERROR_SCHEMA,
    MANIFEST,
    SHARD_DIR,
    STAGED,
    ErrorEvent,
    Manifest,
    ModelEntry,
    Part,
    RunRecord,
    ShardEntry,
    StagedPart,
    TableEntry,
    now_iso,
    part_files,
    read_manifest,
    tmp_name,
    write_atomic,
)
from .models.manifest import ModelSpec
from .models.store import sha256_file
from .record import FaceRecord, arrow_schema_with_metadata
from .schema import row_problems

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
    content hash of each image it labelled (for duplicates across runs); or parts workers wrote
    (`staged`), committed together in one manifest save."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[ErrorEvent] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    staged: list[StagedPart] = field(default_factory=list)

    def add(
        self, key: str, records: list[FaceRecord], events: list[ErrorEvent], digest: str | None
    ) -> list[ErrorEvent]:
        """Validate one source item's rows into this part; an invalid row becomes an error event
        (returned too)."""
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
                self.rows.append(row)
        self.events.extend(events + rejected)
        self.sources.append(key)
        if digest is not None:
            self.digests[digest] = key
        return rejected

    def all_sources(self) -> list[str]:
        return self.sources + [key for part in self.staged for key in part.sources]


@dataclass(frozen=True)
class RecipeStamp:
    """What the files of a build keep of its recipe: name and hash in the manifest, the hash in every
    shard (how a leftover part is known to be ours), the whole recipe (`settings`) in the manifest;
    its `output:` section says how parts are cut and encoded."""

    name: str
    hash: str
    output: OutputConfig
    settings: dict[str, Any] = field(default_factory=dict)


class ShardWriter:
    """Buffers validated rows and error events; commits a part every `shard_rows` rows."""

    def __init__(
        self, out: Path, recipe: RecipeStamp, models: Iterable[ModelSpec], overwrite: bool = False
    ) -> None:
        self.out = Path(out)
        self._lock = OutputLock(self.out)  # before reading or cleaning anything in the folder
        self.recipe = recipe
        self.recipe_hash = recipe.hash
        self.pending = PendingPart()
        self.last_flush = time.monotonic()
        self.commit_seconds = 0.0
        self.commit_cpu_seconds = 0.0  # the committer thread's CPU time (its wall time waits on fsync)
        try:
            self.manifest = self._open(overwrite, list(models))
        except BaseException:
            self._lock.release()
            raise
        # Parquet encoding, fsync and the manifest update overlap with the next images' inference.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-commit")
        self._commit_job: Future[None] | None = None
        self.done = self.manifest.sources()

    # -- opening and resuming ------------------------------------------------------------
    def _open(self, overwrite: bool, models: list[ModelSpec]) -> Manifest:
        existing = read_manifest(self.out)
        if existing is not None and (overwrite or existing.recipe_hash != self.recipe_hash):
            if not overwrite and existing.parts:
                raise OutputConflictError(
                    f"{self.out} holds a build of another recipe ({existing.recipe_name},"
                    f" hash {existing.recipe_hash[:12]}…); use a new --out, or --force to replace it"
                )
            # a manifest listing no parts holds no data (older versions wrote one for a run that
            # failed before its first commit): a build of another recipe replaces it without --force
            _remove_listed(self.out, existing)
            existing = None
        for folder in (SHARD_DIR, ERROR_DIR):
            (self.out / folder).mkdir(parents=True, exist_ok=True)
        if existing is None:
            existing = Manifest(
                recipe_name=self.recipe.name,
                recipe_hash=self.recipe_hash,
                recipe=self.recipe.settings,
                models=[ModelEntry(m.name, m.sha256, m.source, m.licence) for m in models],
                created=now_iso(),
                updated=now_iso(),
                toolkit_version=__version__,
            )
        _remove_unlisted(self.out, existing)
        return existing

    # -- adding ----------------------------------------------------------------------------
    def is_done(self, key: str) -> bool:
        return key in self.done

    def digests(self) -> dict[str, str]:
        """Content hash -> source key of every image labelled by the runs committed so far."""
        return self.manifest.digests()

    def add(
        self, key: str, records: list[FaceRecord], events: list[ErrorEvent], digest: str | None = None
    ) -> list[ErrorEvent]:
        """Queue one source item's results; invalid rows become (and are returned as) errors.
        `digest` (the bytes' sha256) is kept for duplicate detection across runs."""
        rejected = self.pending.add(key, records, events, digest)
        if len(self.pending.rows) >= self.recipe.output.shard_rows or (
            time.monotonic() - self.last_flush >= self.recipe.output.flush_seconds
        ):
            self.flush()
        return rejected

    def add_staged(self, parts: list[StagedPart]) -> None:
        """Queue parts workers wrote, in input order. They commit when no commit is in flight;
        those that arrive meanwhile wait and commit together, in one manifest save."""
        self.pending.staged.extend(parts)
        idle = self._commit_job is None or self._commit_job.done()
        if idle or time.monotonic() - self.last_flush >= self.recipe.output.flush_seconds:
            self.flush()

    # -- committing ------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the buffered part to the committer thread; at most one commit is in flight."""
        if not self.pending.all_sources():
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
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            self._commit_part(pending)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot write to {self.out}: {exc.strerror or exc}; the parts committed before are kept"
                " — free space (or fix the folder) and rerun the same command to resume"
            ) from None
        finally:
            self.commit_seconds += time.perf_counter() - started
            self.commit_cpu_seconds += time.thread_time() - cpu

    def _commit_part(self, pending: PendingPart) -> None:
        index = max((p.index for p in self.manifest.parts), default=-1) + 1
        parts = []
        if pending.sources:
            shard_file, errors_file = part_files(index)
            shard = _write_shard(self.out, shard_file, pending.rows, self.recipe) if pending.rows else None
            errors = _write_errors(self.out, errors_file, pending.events) if pending.events else None
            parts.append(Part(index, pending.sources, shard, errors, pending.digests))
        parts += [staged.commit(self.out, index + len(parts) + i) for i, staged in enumerate(pending.staged)]
        manifest = self.manifest.with_parts(parts)
        manifest.save(self.out)
        self.manifest = manifest
        self.done.update(pending.all_sources())

    def close(self, run: RunRecord | None = None) -> None:
        """Commit what is buffered and wait until it is on disk; then record the run's accounting.

        A run that committed nothing into a folder with no parts writes no manifest: one holding
        only the run record would claim the folder for this recipe and refuse the corrected one."""
        try:
            self.flush()
            self._wait()
            _remove_staged(self.out)  # what a worker wrote but no commit took (a retried task's first try)
            if run is not None and self.manifest.parts:
                with contextlib.suppress(OSError):  # accounting only: a write failure is reported already
                    self._record_run(run)
        finally:
            self._committer.shutdown(wait=True)
            self._lock.release()

    def _record_run(self, run: RunRecord) -> None:
        commit = round(self.commit_seconds, 4)
        run = replace(run, stage_seconds={**run.stage_seconds, "commit": commit}, finished=now_iso())
        manifest = self.manifest.with_run(run)
        manifest.save(self.out)
        self.manifest = manifest


def _write_table(path: Path, table: pa.Table, **options: Any) -> tuple[str, int]:
    """One Parquet file, written atomically; the sha256 and size its manifest entry records."""
    write_atomic(path, lambda p: pq.write_table(table, p, **options))
    return sha256_file(path), path.stat().st_size


def _write_shard(out: Path, rel: str, rows: list[dict[str, Any]], recipe: RecipeStamp) -> ShardEntry:
    """A shard at `rel`, with the recipe hash in its schema metadata (how a leftover is known
    to be ours), in the recipe's compression and row groups."""
    stamp = {"recipe_hash": recipe.hash, "toolkit_version": __version__}
    table = pa.Table.from_pylist(
        rows, schema=arrow_schema_with_metadata({b"facefocal": json.dumps(stamp).encode()})
    )
    settings = recipe.output
    compression = None if settings.compression == "none" else settings.compression
    sha256, size = _write_table(
        out / rel, table, compression=compression, row_group_size=settings.row_group_rows
    )
    splits = dict(Counter(row["split"] or "none" for row in rows))
    return ShardEntry(rel, table.num_rows, sha256, size, [row["record_id"] for row in rows], splits)


def _write_errors(out: Path, rel: str, events: list[ErrorEvent]) -> TableEntry:
    table = pa.Table.from_pylist([e.__dict__ for e in events], schema=ERROR_SCHEMA)
    sha256, _ = _write_table(out / rel, table)
    return TableEntry(rel, table.num_rows, sha256)


def stage_part(out: Path, recipe: RecipeStamp, pending: PendingPart) -> StagedPart:
    """Write a part under hidden staged names, as a worker does; the driver commits it (or a rerun
    deletes it). Names are unique per call, so a retried task never writes over its first try."""
    nonce = uuid.uuid4().hex
    shard = errors = None
    if pending.rows:
        shard = _write_shard(out, f"{SHARD_DIR}/{STAGED}{nonce}.parquet.tmp", pending.rows, recipe)
    if pending.events:
        errors = _write_errors(out, f"{ERROR_DIR}/{STAGED}{nonce}.parquet.tmp", pending.events)
    return StagedPart(pending.sources, pending.digests, shard, errors)


def restage_without(
    out: Path, recipe: RecipeStamp, staged: StagedPart, drop: dict[str, ErrorEvent]
) -> StagedPart:
    """The staged part again without the rows of the source keys in `drop`, each of which gets its
    error event instead (a duplicate found only by the driver, across workers: rare)."""
    rows = [] if staged.shard is None else pq.read_table(out / staged.shard.file).to_pylist()
    events = [] if staged.errors is None else pq.read_table(out / staged.errors.file).to_pylist()
    pending = PendingPart(
        rows=[row for row in rows if row["source_path"] not in drop],
        events=[ErrorEvent.from_row(e) for e in events] + list(drop.values()),
        sources=staged.sources,
        digests={d: key for d, key in staged.digests.items() if key not in drop},
    )
    again = stage_part(out, recipe, pending)
    for rel in staged.files():
        (out / rel).unlink(missing_ok=True)
    return again


class PartStager:
    """A worker's writer: validates each item's rows and writes them as staged parts of at most
    `shard_rows` rows (as the driver's writer would cut them), for the driver to commit."""

    def __init__(self, out: Path, recipe: RecipeStamp) -> None:
        self.out, self.recipe = out, recipe
        self.pending = PendingPart()
        self.ready: list[PendingPart] = []

    def add(
        self, key: str, records: list[FaceRecord], events: list[ErrorEvent], digest: str | None
    ) -> list[ErrorEvent]:
        rejected = self.pending.add(key, records, events, digest)
        if len(self.pending.rows) >= self.recipe.output.shard_rows:
            self.ready.append(self.pending)
            self.pending = PendingPart()
        return rejected

    def write(self) -> list[StagedPart]:
        """Write every part (encode, fsync); the pending ones are handed on and forgotten here."""
        parts = self.ready + ([self.pending] if self.pending.sources else [])
        self.ready, self.pending = [], PendingPart()
        return [stage_part(self.out, self.recipe, part) for part in parts]


def _remove_staged(out: Path) -> None:
    """Staged parts left at the end of a run: written by a task whose result the driver never took
    (a retry's first try on a lost node). Never listed; deleted so the folder holds only the build."""
    for folder in (SHARD_DIR, ERROR_DIR):
        for path in (out / folder).glob(f"{STAGED}*"):
            with contextlib.suppress(OSError):
                path.unlink()


def _remove_listed(out: Path, manifest: Manifest) -> None:
    """A replaced build: its listed files and its manifest."""
    for rel in manifest.files():
        (out / rel).unlink(missing_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)


def _remove_unlisted(out: Path, manifest: Manifest) -> None:
    """Files from a run that died before its manifest update: not part of the dataset.

    Only our own leftovers are deleted; a file we did not write is left alone, and one that
    sits where we would write stops the build instead of being overwritten."""
    listed = manifest.files()
    tmp_name(out / MANIFEST).unlink(missing_ok=True)
    for folder in (SHARD_DIR, ERROR_DIR):
        for path in (out / folder).iterdir():
            if f"{folder}/{path.name}" in listed:
                continue
            if _our_leftover(path):
                path.unlink()
            elif OUR_NAMES.fullmatch(path.name):
                raise OutputConflictError(
                    f"{path} was not written by facefocal and would be overwritten;"
                    " build into an empty folder (--out)"
                )


def rewrite_build(
    source: Path,
    manifest: Manifest,
    out: Path,
    records: Iterable[FaceRecord],
    note: str,
    rejected: Iterable[str] = (),
) -> Manifest:
    """A copy of the build at `source` in the new folder `out`, `records` replacing the rows of the
    same ids (what review apply and the Label Studio import write; `Build.rewrite` calls this).

    Shards keep their parts, order and row groups; errors tables are copied; the manifest gets the
    new hashes, the `rejected` ids and a `runs` entry saying what changed (`note`). Every row is
    validated again. All of it is written into a hidden folder beside `out`, renamed to `out` only
    when whole: a failure part-way (an invalid row, a full disk) leaves no `out`, and `source` is
    never written to."""
    out = Path(out)
    _check_new_folder(source, out)
    by_id = {record.record_id: record for record in records}
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.{os.getpid()}-{time.monotonic_ns()}.tmp"
    stage.mkdir()
    try:
        parts = [_rewrite_part(source, stage, part, by_id) for part in manifest.parts]
        kept = sorted(set(manifest.rejected) | set(rejected))
        new = replace(manifest, parts=parts, rejected=kept).with_run(RunRecord.rewrite(note))
        new.save(stage)
        os.replace(stage, out)  # an empty `out` folder is replaced; any other was refused above
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return new


def _check_new_folder(source: Path, out: Path) -> None:
    if out.resolve() == Path(source).resolve():
        raise OutputConflictError("write the edited dataset to a new folder; the original stays as it is")
    if (out / MANIFEST).exists():
        raise OutputConflictError(f"{out} already holds a build; choose a new folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputConflictError(f"{out} is not empty; write the edited dataset to a new folder")


def _rewrite_part(source: Path, stage: Path, part: Part, by_id: dict[str, FaceRecord]) -> Part:
    if part.errors is not None:
        (stage / part.errors.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / part.errors.file, stage / part.errors.file)
    if part.shard is None:
        return part
    return replace(part, shard=_rewrite_shard(source, stage, part.shard, by_id))


def _rewrite_shard(source: Path, stage: Path, shard: ShardEntry, by_id: dict[str, FaceRecord]) -> ShardEntry:
    table = pq.read_table(source / shard.file)
    rows = [
        by_id[row["record_id"]].to_row() if row["record_id"] in by_id else row for row in table.to_pylist()
    ]
    for row in rows:
        reasons = row_problems(row)
        if reasons:
            raise ValueError(f"record {row['record_id']} would be invalid: {'; '.join(reasons)}")
    path = stage / shard.file
    path.parent.mkdir(parents=True, exist_ok=True)
    row_group = max(1, pq.read_metadata(source / shard.file).row_group(0).num_rows)
    sha256, size = _write_table(
        path, pa.Table.from_pylist(rows, schema=table.schema), row_group_size=row_group
    )
    return replace(shard, sha256=sha256, bytes=size)
