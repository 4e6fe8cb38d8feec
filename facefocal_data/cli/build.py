"""`build` and its pre-flight `check`."""

from __future__ import annotations

import signal
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ..config import Recipe, load_recipe, with_settings
from ..describe import DESCRIBERS
from ..errors import FacefocalError
from ..sources import SOURCES
from .common import (
    ExitCode,
    JsonOption,
    bar_columns,
    choices,
    console,
    emit_json,
    fail,
    out_console,
    quiet_native_logs,
    reason,
    setup_errors,
    use_json,
)

if TYPE_CHECKING:
    from ..pipeline import BuildSummary

# the build command's options (module-level so its signature reads as a list of names)
InputArg = Annotated[
    Path, typer.Argument(help="Image folder (recursive), one image, or a .txt list of paths.")
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output directory (shards, errors, manifest).")]
RecipeOption = Annotated[
    Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: pipelines/default.yaml).")
]
LimitOption = Annotated[int | None, typer.Option(help="Process at most N new source images.", min=1)]
StrictOption = Annotated[bool, typer.Option(help="Exit 1 if any item failed.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", "--force", help="Replace a build of another recipe in --out.")
]
DescriberOption = Annotated[
    str | None,
    typer.Option(help=f"Override the recipe's describer: {choices(DESCRIBERS, 'none')}. llm: the templater."),
]
LLMUrlOption = Annotated[
    str | None,
    typer.Option(help="OpenAI-compatible base URL (vLLM, Ollama, an API); default: embedded server."),
]
LLMModelOption = Annotated[str | None, typer.Option(help="Model name to ask at --llm-url.")]
WorkersOption = Annotated[
    int,
    typer.Option(help="Processes (or Ray actors) for faces and labels; each loads the models once.", min=1),
]
EngineOption = Annotated[
    str, typer.Option(help="local, processes (--workers of them), or ray (needs the [ray] extra).")
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(help="Ray cluster to join, e.g. head:6379 (default: $RAY_ADDRESS, else a local Ray)."),
]
RayTokenOption = Annotated[
    Path | None,
    typer.Option(help="File holding the cluster's token (default: $RAY_AUTH_TOKEN, else ~/.ray/auth_token)."),
]
SourceOption = Annotated[str | None, typer.Option(help=f"Input format: {choices(SOURCES)}.")]


def build(
    input: InputArg,
    out: OutOption,
    recipe: RecipeOption = None,
    limit: LimitOption = None,
    strict: StrictOption = False,
    overwrite: OverwriteOption = False,
    json_summary: JsonOption = False,
    describer: DescriberOption = None,
    llm_url: LLMUrlOption = None,
    llm_model: LLMModelOption = None,
    workers: WorkersOption = 1,
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
    ray_token_file: RayTokenOption = None,
    source: SourceOption = None,
) -> None:
    """Detect faces, propose regions, label and describe them, and write validated Parquet shards.

    Reruns into the same --out resume (also after Ctrl-C, a crash or kill -9): images already
    written are skipped, nothing is written twice, and a half-written part is discarded. The LLM describer
    starts a local server unless --llm-url (or describe.llm.base_url) names one; the API key is
    read from $OPENAI_API_KEY (or the variable named by describe.llm.api_key_env).
    """
    use_json(json_summary)
    quiet_native_logs()
    from ..pipeline import build as run_build

    with setup_errors():
        recipe_obj = with_overrides(load_recipe(recipe), describer, llm_url, llm_model, source)
    run = partial(
        run_build,
        input,
        out,
        recipe_obj,
        limit=limit,
        overwrite=overwrite,
        workers=workers,
        engine=engine,
        ray_address=ray_address,
        ray_token_file=ray_token_file,
    )
    summary = _with_progress(run, out, quiet=json_summary)
    if json_summary:
        emit_json(summary.to_dict())
    else:
        _print_summary(summary)
    if strict and (summary.errors or summary.no_face):
        fail(f"--strict: {summary.errors + summary.no_face} item(s) gave no row", ExitCode.FAILED)


def _with_progress(run: Callable[..., BuildSummary], out: Path, quiet: bool) -> BuildSummary:
    """`run(on_progress=...)` under a progress bar on the real stderr (native chatter filtered);
    Ctrl-C or SIGTERM stops it cleanly with exit 130, a setup error with one red line."""
    from ..native_logs import filtered_stderr

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops cleanly, like Ctrl-C
    try:
        with filtered_stderr() as real_stderr:
            bar_console = Console(file=real_stderr, stderr=True)
            with Progress(*bar_columns("build"), console=bar_console, transient=True, disable=quiet) as bar:
                task = bar.add_task("build", total=None, info="loading models")

                def on_progress(done: int, total: int, summary: BuildSummary) -> None:
                    bar.update(task, completed=done, total=total, info=_progress_info(summary))

                return run(on_progress=on_progress)
    except (FacefocalError, OSError) as exc:
        fail(reason(exc))
    except KeyboardInterrupt:
        message = f"what was written to {out} is kept; rerun the same command to resume"
        fail(message, ExitCode.INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress_info(summary: BuildSummary) -> str:
    info = (
        f"faces {summary.faces} ({summary.faces_per_second:.1f}/s) · errors {summary.errors}"
        f" · no-face {summary.no_face}"
    )
    if summary.describe_live is not None:
        stats = summary.describe_live
        info += f" · texts {stats.texts} (fallback {stats.fallbacks})"
    return info


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def with_overrides(
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


def _print_summary(summary: BuildSummary) -> None:
    table = Table(title=f"facefocal build → {summary.out}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows: list[tuple[str, object]] = [
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
    stats = summary.describe
    if stats:
        rows += [
            ("LLM texts (passed the fact check)", stats["texts"] - stats["fallbacks"]),
            ("template fallbacks", f"{stats['fallbacks']} ({100 * (stats['fallback_rate'] or 0):.0f} %)"),
            ("LLM requests / cache hits", f"{stats['requests']} / {stats['cache_hits']}"),
        ]
        if stats.get("grammar_gate"):  # the templater: link-grammar on every text, or why not
            rows.append(("templater grammar check", stats["grammar_gate"]))
    for name, value in rows:
        table.add_row(name, str(value))
    out_console.print(table)
    for why, count in (stats or {}).get("fallback_reasons", {}).items():
        out_console.print(f"  fallback: {count} × {why}", highlight=False)
    for why, count in sorted(summary.error_reasons.items(), key=lambda kv: -kv[1]):
        out_console.print(f"  {count} × {why}", highlight=False)
    if summary.errors or summary.no_face:
        out_console.print(f"  details: {summary.out}/errors/*.parquet", highlight=False)


def check(
    input: Annotated[
        Path, typer.Argument(help="What you would build: a folder, an image, a list or a source file.")
    ],
    recipe: RecipeOption = None,
    source: Annotated[str | None, typer.Option(help=f"Override source.kind: {choices(SOURCES)}.")] = None,
    json_summary: JsonOption = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any input would fail.")] = False,
) -> None:
    """Pre-flight: read every input as a build would, without the models, and list what would fail.

    Paths, rows and ground truth of the source, then each image's bytes (empty, truncated, corrupt,
    too large, unsupported, duplicate), with the error codes a build writes. Only "no face" needs
    the models and is left to the build. Nothing is written.
    """
    from ..preflight import check as run_check

    use_json(json_summary)
    with setup_errors():
        recipe_obj = with_overrides(load_recipe(recipe), None, None, None, source)
        with Progress(*bar_columns("check"), console=console, transient=True, disable=json_summary) as bar:
            task = bar.add_task("check", total=None, info="")
            report = run_check(
                input, recipe_obj, lambda done, total: bar.update(task, completed=done, total=total)
            )
    if json_summary:
        emit_json(report.to_dict())
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
        fail(f"--strict: {report.problems} input(s) would be error rows", ExitCode.FAILED)
