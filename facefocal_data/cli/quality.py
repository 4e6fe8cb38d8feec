"""How good a build is and bringing review back: `evaluate`, `audit`, `calibrate`, `report`,
`review apply`, `import-labelstudio`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..evaluate import BASELINES
from ..sources import SOURCES
from .common import (
    ExitCode,
    JsonOption,
    choices,
    console,
    emit_json,
    fail,
    out_console,
    quiet_native_logs,
    say_done,
    setup_errors,
    use_json,
)

review_app = typer.Typer(help="Bring a reviewer's decisions back into a build.", no_args_is_help=True)
ResamplesOption = Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % intervals.", min=0)]


def evaluate(
    data: Annotated[Path, typer.Argument(help="A build directory (the gold labels and reference texts).")],
    pred: Annotated[
        Path | None, typer.Option("--pred", help="Predictions, JSONL (schemas/prediction.schema.json).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Score only this split, e.g. test.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write results.json, results.md and plots here.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help=f"Score a baseline instead: {', '.join(BASELINES)}.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail (exit 1) if any prediction line was skipped.")] = False,
    resamples: ResamplesOption = 1000,
    json_out: JsonOption = False,
) -> None:
    """Score region descriptions and predictions: AUs, emotion, age, text overlap and faithfulness."""
    from ..evaluate import evaluate as run_evaluate
    from ..evaluate import write_outputs
    from ..evaluate.report import summary_lines

    use_json(json_out)
    with setup_errors():
        evaluation = run_evaluate(data, pred, split, baseline, resamples)
        written = write_outputs(evaluation, out) if out is not None else []
    report = evaluation.report
    if json_out:
        loaded = {**asdict(report), "skipped": report.skipped}
        emit_json({"predictions": loaded, "results": evaluation.results, "wrote": [str(p) for p in written]})
    else:
        out_console.print(
            f"scored {report.valid} of {report.lines} lines; skipped {report.skipped}", highlight=False
        )
        for kind, count in report.problems.items():
            out_console.print(f"  {count} × {kind}", highlight=False)
        for line in report.examples[:5]:
            out_console.print(f"    {line}", highlight=False)
        for line in summary_lines(evaluation):
            out_console.print(line, highlight=False)
        for path in written:
            out_console.print(f"wrote {path}", highlight=False)
    if strict and report.skipped:
        fail(f"--strict: {report.skipped} prediction line(s) skipped", ExitCode.FAILED)


def audit(
    data: Annotated[
        Path, typer.Argument(help="A build directory, or an input to build first (with --source).")
    ],
    source: Annotated[
        str | None,
        typer.Option(help=f"Build DATA first with this source kind ({choices(SOURCES)}) into --out."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write audit.json and audit.png here (with --source: the build too)."
        ),
    ] = None,
    recipe: Annotated[
        Path | None, typer.Option("--recipe", "-r", help="Recipe for the build (--source).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the plot (PNG) to this file.")] = None,
    json_out: JsonOption = False,
    resamples: ResamplesOption = 1000,
) -> None:
    """How each estimator agrees with ground truth, per source dataset and pooled.

    Emotion accuracy, UAR, recall per class, confusion and calibration (ECE; accuracy and coverage
    of labels not marked uncertain); age MAE and its 80 % interval's coverage and width; AU
    precision / recall / F1 at face level; images where no face was found. 95 % bootstrap intervals.
    """
    from ..truth.audit import audit as run_audit
    from ..truth.plot import write_plot

    use_json(json_out)
    quiet_native_logs()
    with setup_errors():
        if source is not None and out is not None:
            console.print(f"building {data} into {out} (descriptions off)", highlight=False)
        report = run_audit(data, source, out, recipe, resamples)
        written = report.write(out, plot) if out is not None else []
        if plot is not None and out is None:
            written.append(write_plot(report, plot))
    if json_out:
        emit_json(report.to_json())
    else:
        from ..truth.table import audit_table

        out_console.print(audit_table(report.results))
    for path in written:
        console.print(f"wrote {path}", highlight=False)


def calibrate(
    data: Annotated[Path, typer.Argument(help="A build whose source carried ground truth.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the calibrated recipe (YAML).")],
    recipe: Annotated[
        Path | None, typer.Option("--recipe", "-r", help="Recipe to calibrate (default: the build's own).")
    ] = None,
    target_accuracy: Annotated[
        float, typer.Option(help="Accuracy that labels not marked uncertain must reach.", min=0.01, max=1.0)
    ] = 0.8,
    age_coverage: Annotated[
        float, typer.Option(help="Share of true ages the age interval must hold.", min=0.01, max=1.0)
    ] = 0.8,
    min_half_width: Annotated[
        float,
        typer.Option(help="Years: the age interval's smallest half-width (the fit may raise it).", min=0),
    ] = 1.0,
    json_out: JsonOption = False,
) -> None:
    """Fit emotion temperature and uncertain_below, AU thresholds and the age interval to ground truth,
    and write a recipe to build unlabelled images with."""
    from ..truth.calibration import calibrate as run_calibrate
    from ..truth.calibration import summary_lines

    use_json(json_out)
    with setup_errors():
        calibration = run_calibrate(data, recipe, target_accuracy, age_coverage, min_half_width)
        path = calibration.write(out)
    if json_out:
        emit_json(json.dumps({**calibration.fits, "notes": calibration.notes}))
    else:
        for line in summary_lines(calibration.fits):
            out_console.print(line, highlight=False)
        for note in calibration.notes:
            out_console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(
        f"wrote {path}; build with: facefocal build IMAGES --out DIR --recipe {path}", highlight=False
    )


def report(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the static site (open index.html).")],
    json_out: JsonOption = False,
) -> None:
    """Write a static HTML review report: filterable cards with overlays, statistics, decisions."""
    from ..review import write_report

    use_json(json_out)
    with setup_errors():
        index = write_report(data, out)
    if json_out:
        emit_json({"wrote": str(index)})
    else:
        out_console.print(f"wrote {index} (open it in a browser; no server needed)", highlight=False)


@review_app.command("apply")
def review_apply(
    data: Annotated[Path, typer.Argument(help="The build that was reviewed.")],
    decisions: Annotated[Path, typer.Argument(help="decisions.json exported from the report.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the reviewed dataset.")],
    json_out: JsonOption = False,
) -> None:
    """Apply accept / reject / edit decisions: edits become `describer: human`, rejections leave exports."""
    from ..review import apply_decisions

    use_json(json_out)
    with setup_errors(ValueError):
        summary = apply_decisions(data, decisions, out)
    say_done(
        {**asdict(summary), "out": str(out)},
        f"{summary.decisions} decisions: {summary.accepted} accepted, {summary.rejected} rejected,"
        f" {summary.edited} texts edited → {out}",
        *(f"  not applied, unknown id: {unknown}" for unknown in summary.unknown),
    )


def import_labelstudio(
    export_file: Annotated[
        Path, typer.Argument(help="A Label Studio project export: JSON, JSON_MIN or a JSON snapshot.")
    ],
    data: Annotated[Path, typer.Option("--data", help="The build the tasks were exported from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the edited dataset.")],
    json_out: JsonOption = False,
) -> None:
    """Bring reviewed region text back: edits become `describer: human`, all else is kept."""
    from ..dataset import Build
    from ..review.labelstudio import import_labelstudio as run_import

    use_json(json_out)
    with setup_errors(ValueError):
        build = Build(data)
        records, summary = run_import(export_file, build.records())
        note = f"Label Studio import of {export_file.name}: {summary.edited} texts edited"
        build.rewrite(out, records, note)
    say_done(
        {**asdict(summary), "out": str(out)},
        f"{summary.tasks} tasks, {summary.annotated} faces annotated, {summary.edited} region texts edited,"
        f" {summary.unknown} unknown ids → {out}",
    )
