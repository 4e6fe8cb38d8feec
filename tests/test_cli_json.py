"""`--json` on a real build: each command's one object on stdout holds what its table says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from facefocal_data.cli import app


def _json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_build_readers_print_one_object(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    valid = _json("validate", str(out))
    assert valid["ok"] is True and valid["rows"] == summary.faces and valid["problems"] == []
    records = _json("records", str(out))["records"]
    assert len(records) == summary.faces and {"record_id", "source_path"} <= records[0].keys()
    assert _json("records", str(out), "--limit", "2")["records"] == records[:2]
    png = tmp_path / "sheet.png"
    shown = _json("show", str(out), records[0]["record_id"], records[1]["record_id"], "-o", str(png))
    assert shown == {"wrote": str(png), "records": [records[0]["record_id"], records[1]["record_id"]]}
    assert png.stat().st_size > 0
    assert _json("stats", str(out))["faces"] == summary.faces


def test_export_and_evaluate_print_one_object(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    exported = _json("export", str(out), "--format", "llamafactory", "--out", str(tmp_path / "lf"))
    assert exported["format"] == "llamafactory" and exported["images"] == summary.faces
    assert exported["samples"] > 0 and exported["files"] and exported["stage"] == "region"
    scored = _json(
        "evaluate", str(out), "--baseline", "template", "--resamples", "0", "-o", str(tmp_path / "ev")
    )
    assert scored["predictions"]["skipped"] == 0 and scored["predictions"]["valid"] > 0
    assert scored["results"] == json.loads((tmp_path / "ev" / "results.json").read_text())
    assert str(tmp_path / "ev" / "results.json") in scored["wrote"]
