"""Exporters: a build's records as a trainer's (or an annotation tool's) dataset.

One module per format, registered by name; each gets the stage's samples and the records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from ..registry import Registry
from .base import ExportOptions, ExportSummary, iter_records
from .prompts import PROMPT_POOLS
from .samples import STAGES, samples

EXPORTERS: Registry[Any] = Registry("export format")


@EXPORTERS.register("qwen2.5-vl")
def _qwen25(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .qwen import export_qwen

    return export_qwen(items, out, "qwen2.5-vl", options)


@EXPORTERS.register("qwen2-vl")
def _qwen2(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .qwen import export_qwen

    return export_qwen(items, out, "qwen2-vl", options)


@EXPORTERS.register("qwen3-vl")
def _qwen3(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .qwen import export_qwen

    return export_qwen(items, out, "qwen3-vl", options)


@EXPORTERS.register("llamafactory")
def _llamafactory(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .llamafactory import export_llamafactory

    return export_llamafactory(items, out, options)


@EXPORTERS.register("swift")
def _swift(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .swift import export_swift

    return export_swift(items, out, options)


@EXPORTERS.register("llava")
def _llava(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .llava import export_llava

    return export_llava(items, out, options)


@EXPORTERS.register("labelstudio")
def _labelstudio(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
    from .labelstudio import export_labelstudio

    return export_labelstudio(records, out, options)


def export(
    data_dir: str | Path, fmt: str, out: str | Path, options: ExportOptions | None = None
) -> ExportSummary:
    """Write the build at `data_dir` as format `fmt` into `out` (one stage, one split or all)."""
    options = options or ExportOptions()
    if options.stage not in STAGES:
        raise FacefocalError(f"unknown stage {options.stage!r}; choose one of {', '.join(STAGES)}")
    writer = EXPORTERS.get(fmt)
    data_dir, out = Path(data_dir), Path(out)
    records = list(iter_records(data_dir, options.split))
    items = [s for record in records for s in samples(record, options.stage, options.seed)]
    out.mkdir(parents=True, exist_ok=True)
    files = writer(items, out, options, records)
    (out / "prompts.json").write_text(json.dumps({"seed": options.seed, "pools": PROMPT_POOLS}, indent=1))
    summary = ExportSummary(str(out), fmt, len(items), len({s.record.record_id for s in items}))
    summary.files = [str(f) for f in files]
    return summary


__all__ = ["EXPORTERS", "ExportOptions", "ExportSummary", "export"]
