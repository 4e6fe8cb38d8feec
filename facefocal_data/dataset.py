"""A build folder read back as one object: `Build(path)`, the one reader of a build.

Every command that reads a build goes through it (validate, records, show, stats, card, report,
export, evaluate, audit, calibrate, review apply, import-labelstudio), so "is this a build?" is
asked in one place (`NotABuildError`), rejected faces are left out in one place, and records are
streamed a batch at a time in one place (an export of a large build holds one batch, not the
build). The manifest is `layout.Manifest`; writing is `shards.py` (`Build.rewrite` included).

    import facefocal_data as ff
    build = ff.Build("data/v1")
    faces = build.to_pandas()                   # one row per face: emotion, age, head pose, ...
    regions = build.to_pandas(level="regions")  # one row per region: box, text, AU columns
    record = build.find("3f2a")                 # a FaceRecord, by a unique id prefix
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from .errors import AmbiguousRecordError, RecordNotFoundError
from .frames import records_frame
from .layout import ErrorEvent, Manifest, require_manifest
from .record import FaceRecord
from .shards import rewrite_build
from .validate import ValidationReport, check_build

if TYPE_CHECKING:
    import pandas as pd

READ_BATCH = 64  # rows decoded at a time when reading a build


class Build:
    """The build at `path`: its manifest, records, errors table, checks and rewrites.

    Opening reads only `manifest.json` (NotABuildError if the folder is not a build); shards are
    read when records are asked for, in manifest order, and only the shards the manifest lists
    count: a file a crashed run left behind is not part of the dataset."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: Manifest = require_manifest(self.path)

    def __repr__(self) -> str:
        rows = sum(shard.rows for shard in self.manifest.shards)
        return f"Build({str(self.path)!r}, {rows} records in {len(self.manifest.shards)} shard(s))"

    @property
    def rejected(self) -> frozenset[str]:
        """Record ids a reviewer rejected: kept in the shards, left out of what reads records."""
        return frozenset(self.manifest.rejected)

    def rows(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Stored rows as Parquet holds them, rejected ones included, a batch at a time; `columns`
        reads only those columns (a listing of ids never reads the image bytes)."""
        for shard in self.manifest.shards:
            parquet = pq.ParquetFile(self.path / shard.file)
            for batch in parquet.iter_batches(batch_size=READ_BATCH, columns=columns):
                yield from batch.to_pylist()

    def records(
        self, split: str | None = None, pixels: bool = True, include_rejected: bool = False
    ) -> Iterator[FaceRecord]:
        """The records, streamed in manifest order; faces a reviewer rejected are left out unless
        asked for. `pixels=False` drops each crop's bytes (most of a record's memory) for callers
        that keep many records, e.g. scoring."""
        rejected = frozenset() if include_rejected else self.rejected
        for row in self.rows():
            if (split is None or row["split"] == split) and row["record_id"] not in rejected:
                record = FaceRecord.from_row(row)
                yield record if pixels else replace(record, image_bytes=b"")

    def __iter__(self) -> Iterator[FaceRecord]:
        return self.records()

    def find(self, prefix: str) -> FaceRecord:
        """The one record whose id starts with `prefix` (rejected or not), reading only its shard;
        RecordNotFoundError when none does, AmbiguousRecordError when several do."""
        matches = [
            (shard.file, rid)
            for shard in self.manifest.shards
            for rid in shard.record_ids
            if rid.startswith(prefix)
        ]
        if not matches:
            raise RecordNotFoundError(f"record {prefix!r} is not in {self.path}")
        if len(matches) > 1:
            raise AmbiguousRecordError(f"{prefix!r} matches {len(matches)} records; give more characters")
        file, rid = matches[0]
        table = pq.read_table(self.path / file, filters=[("record_id", "=", rid)])
        return FaceRecord.from_row(table.to_pylist()[0])

    def errors(self) -> list[ErrorEvent]:
        """The errors table: each source item (or face) that gave no row, and why, in commit order."""
        return [
            ErrorEvent.from_row(row)
            for table in self.manifest.error_tables
            for row in pq.read_table(self.path / table.file).to_pylist()
        ]

    def validate(self) -> ValidationReport:
        """Hashes, row counts, record ids and every row's schema, re-checked from the bytes on disk."""
        return check_build(self.path, self.manifest)

    def rewrite(
        self, out: str | Path, records: Iterable[FaceRecord], note: str, rejected: Iterable[str] = ()
    ) -> Build:
        """A copy of this build in the new folder `out` with `records` replacing the rows of the
        same ids and `rejected` added to the rejected faces; `note` says what changed (a `runs`
        entry). Atomic: `out` appears whole or not at all, and this build is never written to."""
        rewrite_build(self.path, self.manifest, Path(out), records, note, rejected)
        return Build(out)

    def to_pandas(
        self, level: str = "faces", split: str | None = None, include_rejected: bool = False
    ) -> pd.DataFrame:
        """A flat table: `level="faces"`, one row per face (ids, geometry, emotion and age columns);
        `level="regions"`, one row per region (box, text, and for each AU a value column `AU12`
        and a `AU12_present` column). Rows follow `records()`, with a `rejected` column."""
        records = self.records(split, pixels=False, include_rejected=include_rejected)
        return records_frame(records, level, self.rejected)


def as_build(data: Build | str | Path) -> Build:
    """`data` as a Build: the API functions take a path or a Build already open."""
    return data if isinstance(data, Build) else Build(data)
