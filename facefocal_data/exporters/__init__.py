"""Exporters: a build's records as a trainer's (or an annotation tool's) dataset.

One module per format, registered by name; each gets the stage's samples and the records.
Importing this package is light (no pyarrow): the CLI reads the format names from `EXPORTERS`
for its help; the build is read, and a format's module imported, only when exporting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import FacefocalError
from ..registry import Registry
from .options import STAGES, ExportOptions, ExportSummary
from .prompts import PROMPT_POOLS

if TYPE_CHECKING:
    from ..dataset import Build
    from ..record import FaceRecord
    from .samples import Sample


class TrainerFormat(Protocol):
    """A trainer's format (a module: qwen, llamafactory, swift, llava): the rows of each split file,
    then the files that register those splits with the trainer."""

    SUFFIX: str

    def rows(
        self, samples: Iterable[Sample], out: Path, options: ExportOptions
    ) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def register(
        self, out: Path, options: ExportOptions, datasets: dict[str, dict[str, Any]]
    ) -> list[Path]: ...


# a format's writer: the build's stream into `out`, returning the files written
EXPORTERS: Registry[list[Path]] = Registry("export format")


def _qwen() -> TrainerFormat:
    from . import qwen

    return qwen


def _llamafactory() -> TrainerFormat:
    from . import llamafactory

    return llamafactory


def _swift() -> TrainerFormat:
    from . import swift

    return swift


def _llava() -> TrainerFormat:
    from . import llava

    return llava


def _trainer(
    name: str, load: Callable[[], TrainerFormat], model: str | None = None
) -> Callable[..., list[Path]]:
    """A trainer's writer: rows into a file per split, the folder's manifest, then the notes that
    register every split file in the folder. The format module is imported only when asked for."""

    def write(stream: _Stream, out: Path, options: ExportOptions) -> list[Path]:
        from .files import record_datasets, write_splits

        fmt = load()
        options = replace(options, model=model) if model else options
        written = write_splits(out, options, fmt.SUFFIX, fmt.rows(stream.samples(), out, options))
        datasets = record_datasets(out, name, options, written)
        return [*(f.path for f in written.values()), *fmt.register(out, options, datasets)]

    return write


def _labelstudio(stream: _Stream, out: Path, options: ExportOptions) -> list[Path]:
    """Label Studio gets one task per face (annotation, not training: splits stay together)."""
    from .labelstudio import export_labelstudio

    return export_labelstudio(stream.records(), out, options)


for _name, _load, _model in (
    ("qwen2.5-vl", _qwen, "qwen2.5-vl"),
    ("qwen2-vl", _qwen, "qwen2-vl"),
    ("qwen3-vl", _qwen, "qwen3-vl"),
    ("llamafactory", _llamafactory, None),
    ("swift", _swift, None),
    ("llava", _llava, None),
):
    EXPORTERS.register(_name)(_trainer(_name, _load, _model))
EXPORTERS.register("labelstudio")(_labelstudio)


def export(
    data_dir: Build | str | Path, fmt: str, out: str | Path, options: ExportOptions | None = None
) -> ExportSummary:
    """Write the build at `data_dir` as format `fmt` into `out`: every split to its own file (or
    only `options.split`), added to what the folder already holds."""
    from ..dataset import as_build
    from .files import check_folder
    from .textboxes import has_box_like

    options = options or ExportOptions()
    if options.stage not in STAGES:
        raise FacefocalError(f"unknown stage {options.stage!r}; choose one of {', '.join(STAGES)}")
    if options.system and has_box_like(options.system):
        raise FacefocalError("the system prompt holds a box; coordinates belong to a record's regions")
    writer = EXPORTERS.get(fmt)
    out = Path(out)
    stream = _Stream(as_build(data_dir).records(options.split), options)
    out.mkdir(parents=True, exist_ok=True)
    check_folder(out, fmt, options)
    files = writer(stream, out, options)
    (out / "prompts.json").write_text(
        json.dumps({"seed": options.seed, "system": options.system, "pools": PROMPT_POOLS}, indent=1)
    )
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
        from .samples import samples

        for record in self._records:
            before = self.sample_count
            for sample in samples(record, self.options.stage, self.options.seed, self.skipped):
                self.sample_count += 1
                yield sample
            self.image_count += self.sample_count > before


__all__ = ["EXPORTERS", "STAGES", "ExportOptions", "ExportSummary", "export"]
