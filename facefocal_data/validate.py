"""Check a build directory end to end: manifest, file hashes, row counts, ids, every row's schema.

`Build(path).validate()` runs this; `validate_dir(path)` is the same for callers holding a path.
A folder that is no build at all raises `NotABuildError` (one line, exit 2 on the command line)
rather than being reported as one more problem: there is nothing to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .layout import Manifest, ShardEntry, TableEntry, require_manifest
from .models.store import sha256_file
from .schema import row_problems

MAX_PROBLEMS = 50


@dataclass
class ValidationReport:
    out: str
    shards: int = 0
    rows: int = 0
    error_rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def validate_dir(out: str | Path) -> ValidationReport:
    """Everything a consumer relies on, re-checked from the bytes on disk."""
    return check_build(Path(out), require_manifest(out))


def check_build(out: Path, manifest: Manifest) -> ValidationReport:
    """The checks of `validate_dir` on a manifest already read (what `Build.validate` holds)."""
    report = ValidationReport(str(out))
    for problem in manifest.problems():
        report.add(f"manifest.json: {problem}")
    seen: set[str] = set()
    for part in manifest.parts:
        if part.shard is not None:
            _check_shard(out, part.shard, seen, report)
        if part.errors is not None:
            _check_errors(out, part.errors, report)
    return report


def _check_file(out: Path, entry: TableEntry, report: ValidationReport) -> Path | None:
    path = out / entry.file
    if not path.is_file():
        report.add(f"{entry.file}: listed in the manifest but missing")
        return None
    if sha256_file(path) != entry.sha256:
        report.add(f"{entry.file}: sha256 differs from the manifest (file changed after writing)")
    return path


def _check_shard(out: Path, shard: ShardEntry, seen: set[str], report: ValidationReport) -> None:
    path = _check_file(out, shard, report)
    if path is None:
        return
    report.shards += 1
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        report.add(f"{shard.file}: unreadable Parquet ({exc})")
        return
    if table.num_rows != shard.rows:
        report.add(f"{shard.file}: {table.num_rows} rows, manifest says {shard.rows}")
    ids = table.column("record_id").to_pylist()
    if ids != shard.record_ids:
        report.add(f"{shard.file}: record ids differ from the manifest")
    for row in table.to_pylist():
        report.rows += 1
        rid = row.get("record_id")
        if rid in seen:
            report.add(f"{shard.file}: duplicate record_id {rid}")
        seen.add(rid)
        for problem in row_problems(row):
            report.add(f"{shard.file} record {rid}: {problem}")


def _check_errors(out: Path, table_entry: TableEntry, report: ValidationReport) -> None:
    path = _check_file(out, table_entry, report)
    if path is None:
        return
    try:
        report.error_rows += pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as exc:
        report.add(f"{table_entry.file}: unreadable Parquet ({exc})")
