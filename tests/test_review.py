"""Review: the static report's data, and decisions applied back into a build."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.exporters import EXPORTERS, ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.validate import validate_dir


def _js_payload(path: Path, name: str) -> object:
    for line in path.read_text().splitlines():
        if line.startswith(f"window.{name} = "):
            return json.loads(line.removeprefix(f"window.{name} = ").removesuffix(";"))
    raise AssertionError(f"{name} not in {path}")


def test_report_writes_cards_in_chunks_with_images_and_statistics(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    res = CliRunner().invoke(app, ["report", str(out), "-o", str(tmp_path / "site")])
    assert res.exit_code == 0, res.output
    site = tmp_path / "site"
    index = _js_payload(site / "data" / "index.js", "FF_INDEX")
    errors = _js_payload(site / "data" / "index.js", "FF_ERRORS")
    assert len(index) == summary.faces and len(errors) == summary.errors + summary.no_face
    cards = _js_payload(site / "data" / "cards-000.js", "FF_CHUNK_0")
    assert [c["id"] for c in cards] == [c["id"] for c in index]
    first = cards[0]
    assert (site / first["img"]).is_file() and len(first["points"]) == 68
    assert any(r["text"] for r in first["regions"]) and all(len(r["box"]) == 4 for r in first["regions"])
    page = (site / "index.html").read_text()
    assert 'src="data/index.js"' in page and "export decisions" in page
    assert (
        "<h1>Statistics</h1>" in (site / "stats.html").read_text() and (site / "au_frequency.png").is_file()
    )


def test_review_apply_edits_rejects_and_reports_unknown_ids(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    records = list(iter_records(out))
    keep, drop = records[0], records[1]
    decisions = {
        "decisions": [
            {
                "record_id": keep.record_id,
                "decision": "accept",
                "edits": {"mouth": "A broad smile (AU12 Lip Corner Puller)."},
            },
            {"record_id": drop.record_id, "decision": "reject", "edits": {}},
            {"record_id": "0" * 20, "decision": "accept", "edits": {}},
        ]
    }
    file = tmp_path / "decisions.json"
    file.write_text(json.dumps(decisions))
    res = CliRunner().invoke(app, ["review", "apply", str(out), str(file), "-o", str(tmp_path / "reviewed")])
    assert res.exit_code == 0, res.output
    assert "3 decisions: 1 accepted, 1 rejected, 1 texts edited" in res.output and "0" * 20 in res.output
    reviewed = tmp_path / "reviewed"
    assert validate_dir(reviewed).ok
    kept = {r.record_id: r for r in iter_records(reviewed)}
    assert drop.record_id not in kept and len(kept) == len(records) - 1
    mouth = next(r for r in kept[keep.record_id].regions if r.region_id == "mouth")
    assert mouth.description.describer == "human" and mouth.description.text.startswith("A broad smile")
    for fmt in EXPORTERS.names():
        target = tmp_path / f"export-{fmt}"
        export(reviewed, fmt, target, ExportOptions(stage="region"))
        written = "".join(p.read_text() for p in target.rglob("*.json*"))
        assert drop.record_id not in written, fmt
        assert keep.record_id in written, fmt
    stats = json.loads(CliRunner().invoke(app, ["stats", str(reviewed), "--json"]).stdout)
    assert stats["faces"] == len(records) - 1
