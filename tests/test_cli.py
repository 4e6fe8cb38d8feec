"""The command line's contract without models: docs/CLI.md's tables match the code, every
command that reports takes `--json`, and a failure is one line with the documented exit code
(and, under `--json`, one JSON object on stdout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from facefocal_data.cli import EXIT_CODES, ExitCode, app

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[1] / "docs" / "CLI.md"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"
# commands that only serve or write nothing to report
NO_JSON = {"llm serve"}


def _commands(group: Any = None, prefix: str = "") -> dict[str, Any]:
    """Every command by its full name ("models list"), from typer's own command tree."""
    out: dict[str, Any] = {}
    group = typer.main.get_command(app) if group is None else group
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out[f"{prefix}{name}"] = command
    return out


def _takes_json(command: Any) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in command.params)


def commands_table() -> str:
    """docs/CLI.md's command table, from the commands themselves."""
    rows = ["| command | `--json` | what it does |", "|---|---|---|"]
    for name, command in _commands().items():
        summary = " ".join((command.help or "").strip().split("\n\n")[0].split())
        rows.append(f"| `facefocal {name}` | {'yes' if _takes_json(command) else 'no'} | {summary} |")
    return "\n".join(rows)


def exit_codes_table() -> str:
    """docs/CLI.md's exit code table, from `EXIT_CODES`."""
    rows = ["| exit code | name | meaning |", "|---|---|---|"]
    rows += [f"| {int(code)} | `{code.name}` | {meaning} |" for code, meaning in EXIT_CODES.items()]
    return "\n".join(rows)


def test_docs_tables_are_the_codes_own() -> None:
    text = DOC.read_text()
    assert exit_codes_table() in text, "docs/CLI.md: exit codes differ:\n" + exit_codes_table()
    assert commands_table() in text, "docs/CLI.md: commands differ from the CLI:\n" + commands_table()
    assert set(EXIT_CODES) == set(ExitCode)


def test_every_command_that_reports_takes_json() -> None:
    without = {name for name, command in _commands().items() if not _takes_json(command)}
    assert without == NO_JSON


def test_help_lists_the_baselines_evaluate_knows() -> None:
    from facefocal_data.evaluate import BASELINES

    result = CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert f"Score a baseline instead: {', '.join(BASELINES)}." in " ".join(result.output.split())


def test_a_failure_is_one_line_and_under_json_one_object(tmp_path: Path) -> None:
    nope = str(tmp_path / "nope")
    for args in (["validate", nope], ["records", nope], ["stats", nope], ["card", nope]):
        plain = CliRunner().invoke(app, args)
        assert plain.exit_code == ExitCode.USAGE and plain.output.count("\n") == 1, plain.output
        assert plain.output.startswith("error: ") and "does not exist" in plain.output
        as_json = CliRunner().invoke(app, [*args, "--json"])
        assert as_json.exit_code == ExitCode.USAGE
        said = json.loads(as_json.stdout)
        assert said["exit_code"] == 2 and "does not exist" in said["error"], as_json.stdout


def test_not_a_build_and_a_bad_export_format_exit_2(tmp_path: Path) -> None:
    not_build = CliRunner().invoke(app, ["validate", str(EXAMPLES), "--json"])
    assert not_build.exit_code == 2 and "not a build" in json.loads(not_build.stdout)["error"]
    args = ["export", str(tmp_path), "--format", "nosuch", "--out", str(tmp_path / "x"), "--json"]
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 2 and json.loads(bad.stdout)["exit_code"] == 2, bad.output


def test_check_json_and_strict_exit_1_keep_stdout_one_object(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes((EXAMPLES / "astronaut.png").read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    result = CliRunner().invoke(app, ["check", str(folder), "--json", "--strict"])
    assert result.exit_code == ExitCode.FAILED
    report = json.loads(result.stdout)  # the report only, no error object after it
    assert report["inputs"] == 2 and report["problems"] == 1, report
    assert "--strict: 1 input(s)" in result.stderr


def test_models_list_json_names_every_model() -> None:
    from facefocal_data.models.manifest import MODELS

    result = CliRunner().invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["models"]
    assert [m["name"] for m in listed] == [spec.name for spec in MODELS]
    assert all(m["state"] in ("ok", "missing", "corrupt") and len(m["sha256"]) == 64 for m in listed)


def test_models_verify_json_reports_missing_models_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["models", "verify", "--json"])
    assert result.exit_code == ExitCode.FAILED
    said = json.loads(result.stdout)
    assert said["ok"] is False and {m["state"] for m in said["models"]} == {"missing"}
    assert "facefocal models fetch" in result.stderr
