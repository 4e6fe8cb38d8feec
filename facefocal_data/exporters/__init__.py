"""Exporters: a build's records as a trainer's (or an annotation tool's) dataset.

One module per format, registered by name; each gets the stage's samples and the records.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from ..registry import Registry
from .base import ExportOptions, ExportSummary, iter_records
from .prompts import PROMPT_POOLS
from .samples import STAGES, samples

EXPORTERS: Registry[Any] = Registry("export format")


def _lazy(module: str, function: str, *leading: str) -> Callable[..., list[Path]]:
    """A registered writer that imports its module only when that format is asked for."""

    def write(items: list, out: Path, options: ExportOptions, records: list) -> list[Path]:
        writer = getattr(importlib.import_module(f".{module}", __name__), function)
        data = records if module == "labelstudio" else items  # Label Studio: one task per face
        return writer(data, out, *leading, options)

    return write


for _name, _module, _function, *_leading in (
    ("qwen2.5-vl", "qwen", "export_qwen", "qwen2.5-vl"),
    ("qwen2-vl", "qwen", "export_qwen", "qwen2-vl"),
    ("qwen3-vl", "qwen", "export_qwen", "qwen3-vl"),
    ("llamafactory", "llamafactory", "export_llamafactory"),
    ("swift", "swift", "export_swift"),
    ("llava", "llava", "export_llava"),
    ("labelstudio", "labelstudio", "export_labelstudio"),
):
    EXPORTERS.register(_name)(_lazy(_module, _function, *_leading))


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
