"""The system prompt, the format list in `export --help`, and which regions a dialogue covers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.errors import FacefocalError
from facefocal_data.exporters import EXPORTERS, ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.exporters.prompts import DEFAULT_SYSTEM

from .test_export_boxes import _rows


def _system_of(fmt: str, row: dict) -> str | None:
    if fmt in ("llamafactory", "swift"):
        first = row["messages"][0]
        return first["content"] if first["role"] == "system" else None
    return row.get("system")


@pytest.mark.parametrize("fmt", ["qwen2.5-vl", "llamafactory", "swift", "llava"])
def test_every_sample_carries_the_system_prompt_asked_for(mixed_build, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    for name, system in (("default", DEFAULT_SYSTEM), ("own", "Answer like a FACS coder."), ("none", None)):
        export(out, fmt, tmp_path / name, ExportOptions(stage="emotion", system=system))
        rows = list(_rows(tmp_path / name))
        assert rows and all(_system_of(fmt, row) == system for row in rows), (fmt, name)
    assert (
        json.loads((tmp_path / "own" / "prompts.json").read_text())["system"] == "Answer like a FACS coder."
    )
    with pytest.raises(FacefocalError, match="system prompt holds a box"):
        export(out, fmt, tmp_path / "bad", ExportOptions(system="Look at [10, 20, 30, 40] first."))


def test_export_help_lists_every_registered_format() -> None:
    res = CliRunner().invoke(app, ["export", "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = re.sub(r"[\s│]+", " ", res.output)
    assert len(EXPORTERS.names()) == 7 and all(name in text for name in EXPORTERS.names())
    assert "--system" in text and "--name" in text and "--landmark-side" in text


def test_cli_system_option_and_empty_for_none(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    runner = CliRunner()
    args = ["export", str(out), "-f", "swift", "--stage", "age"]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "a"), "--system", "Be brief."]).exit_code == 0
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "b"), "--system", ""]).exit_code == 0
    assert {_system_of("swift", r) for r in _rows(tmp_path / "a")} == {"Be brief."}
    assert {_system_of("swift", r) for r in _rows(tmp_path / "b")} == {None}


def test_dialogues_cover_the_regions_with_active_action_units_first(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The qwen2.5-vl export at the default budget keeps crop pixels (448 is not resized), so the
    box in each question names its region."""
    out, _ = mixed_build
    records = {Path(r.image_path).name: r for r in iter_records(out)}
    export(out, "qwen2.5-vl", tmp_path / "d", ExportOptions(stage="dialogue"))
    openings = set()
    for row in _rows(tmp_path / "d"):
        record = records[Path(row["image"]).name]
        named = {tuple(r.bbox_xyxy): r for r in record.regions if r.kind == "named"}
        asked = [
            named[tuple(int(v) for v in re.search(r"\[(\d+), (\d+), (\d+), (\d+)\]", t["value"]).groups())]  # type: ignore[union-attr]
            for t in row["conversations"]
            if t["from"] == "human"
        ]
        active = [{a.au for a in r.aus if a.present} for r in asked]
        face_active = {a.au for r in named.values() for a in r.aus if a.present}
        if face_active:
            assert active[0], "a face that moves: the dialogue opens on a region that moves"
        assert all(a or not any(active[i + 1 :]) for i, a in enumerate(active)), "regions at rest come last"
        covering = _min_regions_to_cover(named.values())
        if covering <= len(asked):
            assert set().union(*active) == face_active  # every active AU of the face is talked about
        openings.add(tuple(r.region_id for r in asked))
    assert len(openings) > 1  # not the same regions for every face


def _min_regions_to_cover(regions) -> int:  # type: ignore[no-untyped-def]
    """How many regions, smallest first, it takes to name every active AU (an upper bound)."""
    covered: set[str] = set()
    count = 0
    for region in sorted(
        regions, key=lambda r: (r.bbox_xyxy[2] - r.bbox_xyxy[0]) * (r.bbox_xyxy[3] - r.bbox_xyxy[1])
    ):
        new = {a.au for a in region.aus if a.present} - covered
        if new:
            covered |= new
            count += 1
    return count
