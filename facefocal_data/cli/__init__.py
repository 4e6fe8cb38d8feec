"""`facefocal`: a thin shell over the Python API (`facefocal_data.build`, `.validate`, …).

Each command lives in the module of its kind (build, inspect, models, export, quality, llm);
every one fails through `common.fail` with the exit codes in `common.EXIT_CODES`."""

from __future__ import annotations

from typing import Annotated

import typer

from .._version import __version__
from . import build, export, inspect, quality
from .common import EXIT_CODES, ExitCode, out_console, start_invocation
from .llm import llm_app
from .models import models_app

app = typer.Typer(
    help="Build region-level face understanding data: faces → regions → labels → validated Parquet shards.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    start_invocation()


app.command("build")(build.build)
app.command("check")(build.check)
app.command("validate")(inspect.validate)
app.command("show")(inspect.show)
app.command("records")(inspect.records)
app.add_typer(models_app, name="models")
app.command("export")(export.export)
app.command("evaluate")(quality.evaluate)
app.command("audit")(quality.audit)
app.command("calibrate")(quality.calibrate)
app.command("report")(quality.report)
app.add_typer(quality.review_app, name="review")
app.command("stats")(inspect.stats)
app.command("card")(inspect.card)
app.command("import-labelstudio")(quality.import_labelstudio)
app.add_typer(llm_app, name="llm")


def main() -> None:
    app()


__all__ = ["EXIT_CODES", "ExitCode", "app", "main"]
