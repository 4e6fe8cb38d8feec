"""`export`: a build as a trainer's dataset."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..exporters import EXPORTERS, STAGES, ExportOptions, ExportSummary
from .common import JsonOption, choices, console, emit_json, out_console, setup_errors, use_json

_EXPORT = ExportOptions()  # the export command's defaults
MinPixelsOption = Annotated[int, typer.Option(help="Qwen2.5-VL processor min_pixels (as in training).")]
MaxPixelsOption = Annotated[int, typer.Option(help="Qwen2.5-VL processor max_pixels (as in training).")]
LandmarkSideOption = Annotated[
    int,
    typer.Option(help="llava: landmarks in this pixel frame (Face-LLaVA divides by 256); 0: crop pixels."),
]


def export(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {choices(EXPORTERS)}.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Export directory (images/ + the trainer's files).")
    ],
    split: Annotated[
        str | None,
        typer.Option(help="Only this split (default: every split, each to its own file, never mixed)."),
    ] = None,
    stage: Annotated[
        str, typer.Option(help=f"Curriculum stage: {', '.join(STAGES)} (au, emotion, age: single attribute).")
    ] = _EXPORT.stage,
    seed: Annotated[int, typer.Option(help="Picks the prompt paraphrases.")] = _EXPORT.seed,
    min_pixels: MinPixelsOption = _EXPORT.min_pixels,
    max_pixels: MaxPixelsOption = _EXPORT.max_pixels,
    model: Annotated[
        str, typer.Option(help="Box convention for llamafactory text: qwen2.5-vl, qwen2-vl, qwen3-vl.")
    ] = _EXPORT.model,
    system: Annotated[
        str,
        typer.Option(help="System prompt of every sample ('' for none)."),
    ] = _EXPORT.system or "",
    name: Annotated[str, typer.Option(help="Dataset name: files are NAME_<split>.")] = _EXPORT.name,
    landmark_side: LandmarkSideOption = _EXPORT.landmark_side,
    image_url_prefix: Annotated[
        str, typer.Option(help="labelstudio: task image URL = this + the image's path in the export folder.")
    ] = _EXPORT.image_url_prefix,
    json_out: JsonOption = False,
) -> None:
    """Write a build as a trainer's dataset (a file per split), with the notes that register it."""
    from ..exporters import export as run_export

    use_json(json_out)
    options = ExportOptions(
        split,
        stage,
        seed,
        min_pixels,
        max_pixels,
        model,
        name,
        landmark_side=landmark_side,
        image_url_prefix=image_url_prefix,
        system=system or None,
    )
    with setup_errors():
        summary = run_export(data, format, out, options)
    if json_out:
        emit_json({**asdict(summary), "stage": stage})
    else:
        _print_export(summary, stage)


def _print_export(summary: ExportSummary, stage: str) -> None:
    """What an export wrote, and the texts it had to leave out (their boxes could not be converted)."""
    out_console.print(
        f"{summary.samples} {stage} samples from {summary.images} faces → {summary.out}", highlight=False
    )
    for file in summary.files:
        out_console.print(f"  {file}", highlight=False)
    if summary.skipped:
        console.print(
            f"{len(summary.skipped)} region texts left out: they hold a box that is none of the record's"
            " region boxes, so it cannot be written in the model's coordinates:"
            f" {', '.join(summary.skipped[:5])}",
            highlight=False,
        )
