"""Check a build directory end to end: manifest, file hashes, row counts, ids, every row's schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .models.store import sha256_file
from .schema import problems, row_problems
from .shards import read_manifest

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
    out = Path(out)
    report = ValidationReport(str(out))
    manifest = read_manifest(out)
    if manifest is None:
        report.add(f"no manifest.json in {out}: not a facefocal build directory")
        return report
    for problem in problems(manifest, "shard_manifest"):
        report.add(f"manifest.json: {problem}")
    seen: set[str] = set()
    for part in manifest.get("parts", []):
        if part.get("shard"):
            _check_shard(out, part["shard"], seen, report)
        if part.get("errors"):
            _check_errors(out, part["errors"], report)
    return report


def _check_file(out: Path, entry: dict, report: ValidationReport) -> Path | None:
    path = out / entry["file"]
    if not path.is_file():
        report.add(f"{entry['file']}: listed in the manifest but missing")
        return None
    if sha256_file(path) != entry["sha256"]:
        report.add(f"{entry['file']}: sha256 differs from the manifest (file changed after writing)")
    return path


def _check_shard(out: Path, shard: dict, seen: set[str], report: ValidationReport) -> None:
    path = _check_file(out, shard, report)
    if path is None:
        return
    report.shards += 1
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        report.add(f"{shard['file']}: unreadable Parquet ({exc})")
        return
    if table.num_rows != shard["rows"]:
        report.add(f"{shard['file']}: {table.num_rows} rows, manifest says {shard['rows']}")
    ids = table.column("record_id").to_pylist()
    if ids != shard["record_ids"]:
        report.add(f"{shard['file']}: record ids differ from the manifest")
    for row in table.to_pylist():
        report.rows += 1
        rid = row.get("record_id")
        if rid in seen:
            report.add(f"{shard['file']}: duplicate record_id {rid}")
        seen.add(rid)
        for problem in row_problems(row):
            report.add(f"{shard['file']} record {rid}: {problem}")


def _check_errors(out: Path, table_entry: dict, report: ValidationReport) -> None:
    path = _check_file(out, table_entry, report)
    if path is None:
        return
    try:
        report.error_rows += pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as exc:
        report.add(f"{table_entry['file']}: unreadable Parquet ({exc})")
