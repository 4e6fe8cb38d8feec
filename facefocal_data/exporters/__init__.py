"""Exporters: a build's records as a trainer's (or an annotation tool's) dataset.

One module per format, registered by name; each gets the stage's samples and the records.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from ..record import FaceRecord
from ..registry import Registry
from .base import ExportOptions, ExportSummary, iter_records
from .prompts import PROMPT_POOLS
from .samples import STAGES, Sample, samples

EXPORTERS: Registry[Any] = Registry("export format")


def _lazy(module: str, function: str, *leading: str) -> Callable[..., list[Path]]:
    """A registered writer that imports its module only when that format is asked for."""

    def write(stream: _Stream, out: Path, options: ExportOptions) -> list[Path]:
        writer = getattr(importlib.import_module(f".{module}", __name__), function)
        # Label Studio gets one task per face; the trainers' formats one row per sample
        data = stream.records() if module == "labelstudio" else stream.samples()
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
    stream = _Stream(iter_records(data_dir, options.split), options)
    out.mkdir(parents=True, exist_ok=True)
    files = writer(stream, out, options)
    (out / "prompts.json").write_text(json.dumps({"seed": options.seed, "pools": PROMPT_POOLS}, indent=1))
    summary = ExportSummary(str(out), fmt, stream.sample_count, stream.image_count)
    summary.files = [str(f) for f in files]
    summary.skipped = stream.skipped
    return summary


class _Stream:
    """The build's records (or their samples) read once, as the writer consumes them, and counted:
    an export holds one batch of records in memory, not the whole build."""

    def __init__(self, records: Iterator[FaceRecord], options: ExportOptions) -> None:
        self._records, self.options = records, options
        self.sample_count = self.image_count = 0
        self.skipped: list[str] = []  # record/region whose text holds a box the record does not have

    def records(self) -> Iterator[FaceRecord]:
        for record in self._records:
            self.sample_count += 1
            self.image_count += 1
            yield record

    def samples(self) -> Iterator[Sample]:
        for record in self._records:
            before = self.sample_count
            for sample in samples(record, self.options.stage, self.options.seed, self.skipped):
                self.sample_count += 1
                yield sample
            self.image_count += self.sample_count > before


__all__ = ["EXPORTERS", "ExportOptions", "ExportSummary", "export"]
