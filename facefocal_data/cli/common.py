"""What every command shares: the consoles, `--json`, and the one way to fail with its exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeElapsedColumn

from ..errors import FacefocalError
from ..registry import Registry

console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


class ExitCode(IntEnum):
    """The only exit statuses a command returns (click's own usage errors are 2 as well)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


# what each exit code means; docs/CLI.md's table is pinned to this by tests/test_cli.py
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "done (with `--strict`: nothing failed)",
    ExitCode.FAILED: (
        "ran to the end, but what it checks failed: `build --strict` items that gave no row,"
        " `validate` problems, `check --strict` inputs that would fail, `evaluate --strict`"
        " skipped prediction lines, `models verify` models missing or altered"
    ),
    ExitCode.USAGE: (
        "usage or setup error, nothing (more) done: a bad option, recipe or name, a missing or"
        " unwritable path, not a build, models not fetched; one red line, no traceback"
    ),
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM): what was written is kept; rerun to resume",
}

_PREFIX = {ExitCode.INTERRUPTED: "[yellow]interrupted:[/]"}

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]


@dataclass
class _Output:
    """What this invocation promised stdout: one JSON object (`--json`), and whether it was printed."""

    json: bool = False
    reported: bool = False


_output: ContextVar[_Output] = ContextVar("facefocal_cli_output")


def start_invocation() -> None:
    """A fresh output state for each command run (the app's callback calls it)."""
    _output.set(_Output())


def _state() -> _Output:
    try:
        return _output.get()
    except LookupError:  # a command function called without the app
        state = _Output()
        _output.set(state)
        return state


def use_json(on: bool) -> bool:
    """Mark this invocation as `--json`, so a failure is reported as JSON on stdout too."""
    _state().json = on
    return on


def emit_json(obj: Any) -> None:
    """The command's one JSON object on stdout (a str is taken as JSON text already)."""
    out_console.print_json(obj if isinstance(obj, str) else json.dumps(obj, default=str))
    _state().reported = True


def say_done(obj: Any, *lines: str) -> None:
    """What a command did: `obj` as its one JSON object under `--json`, else `lines` as text."""
    if _state().json:
        emit_json(obj)
        return
    for line in lines:
        out_console.print(line, highlight=False)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """The one way a command fails: one line on stderr and `code`; under `--json`, when nothing
    was printed yet, also `{"error": …, "exit_code": …}` on stdout so a script reads one object."""
    prefix = _PREFIX.get(code, "[bold red]error:[/]")
    console.print(f"{prefix} {message}", highlight=False)
    state = _state()
    if state.json and not state.reported:
        emit_json({"error": message, "exit_code": int(code)})
    raise typer.Exit(int(code))


def reason(exc: BaseException) -> str:
    """The error as one line; an OSError is about a path the user gave (missing, not writable,
    a file where a folder goes), so it is said as the reason and the path."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


@contextmanager
def setup_errors(*more: type[Exception]) -> Iterator[None]:
    """A user-fixable problem becomes one red line and exit code 2, never a traceback."""
    caught: tuple[type[Exception], ...] = (FacefocalError, OSError, *more)
    try:
        yield
    except caught as exc:
        fail(reason(exc))


def quiet_native_logs() -> None:
    """MediaPipe's C++ logging floods stderr; keep warnings and errors only (set before it loads)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def choices(registry: Registry[Any], *extra: str) -> str:
    """The names a registry holds, for help text that lists what exists."""
    return ", ".join([*registry.names(), *extra])


def bar_columns(name: str) -> list[ProgressColumn]:
    return [
        TextColumn(f"[bold]{name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    ]
