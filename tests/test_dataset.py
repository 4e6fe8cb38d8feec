"""`Build(path)`: the one reader of a build, on real builds of examples/images.

The manifest read back as types and written back byte for byte; records streamed in manifest
order; `find` by id prefix; the errors table; `to_pandas` tables whose every value is the
record's; one `NotABuildError` (one line, exit 2) from every command that reads a build; and a
rewrite that appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import facefocal_data as ff
from facefocal_data.cli import app
from facefocal_data.config import Recipe
from facefocal_data.errors import AmbiguousRecordError, OutputConflictError, RecordNotFoundError
from facefocal_data.layout import MANIFEST, Manifest, read_manifest
from facefocal_data.record import Description

from .conftest import EXAMPLES, EXPECTED_BAD, TEMPLATE_RECIPE, note_case


@pytest.fixture(scope="module")
def parts_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/images built with the template describer, a part per image with faces."""
    out = tmp_path_factory.mktemp("dataset") / "v1"
    recipe = Recipe.model_validate({**TEMPLATE_RECIPE, "output": {"shard_rows": 1}})
    ff.build(EXAMPLES, out, recipe=recipe)
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_records_stream_in_manifest_order_and_the_manifest_is_typed(parts_build: Path) -> None:
    build = ff.Build(parts_build)
    manifest = build.manifest
    assert len(manifest.shards) >= 3 and manifest.runs[-1].engine == "local"
    listed = [rid for shard in manifest.shards for rid in shard.record_ids]
    records = list(build.records())
    assert [r.record_id for r in records] == listed == [r.record_id for r in build]
    assert len(records) == sum(shard.rows for shard in manifest.shards) == 8
    assert all(r.image_bytes for r in records)
    assert all(r.image_bytes == b"" for r in build.records(pixels=False))
    train = [r.record_id for r in build.records(split="train")]
    assert train == [r.record_id for r in records if r.split == "train"] and 0 < len(train) < 8
    assert manifest.sources() == {p.name for p in EXAMPLES.iterdir() if p.is_file()}
    assert build.validate().ok and build.validate().rows == 8


def test_the_manifest_is_written_back_byte_for_byte_also_an_old_one(
    parts_build: Path, tmp_path: Path
) -> None:
    """Typed reading changes nothing on disk: the JSON it writes is the JSON it read, for a
    current manifest and for one from before runs, split counts, digests and rejections."""
    text = (parts_build / MANIFEST).read_text()
    manifest = read_manifest(parts_build)
    assert manifest is not None and json.dumps(manifest.to_dict(), indent=1) == text
    old = tmp_path / "old"
    shutil.copytree(parts_build, old)
    raw = json.loads(text)
    raw.pop("runs")
    for part in raw["parts"]:
        part.pop("digests", None)
        if part["shard"]:
            part["shard"].pop("splits")
    (old / MANIFEST).write_text(json.dumps(raw, indent=1))
    build = ff.Build(old)
    assert build.manifest.runs == [] and all(s.splits is None for s in build.manifest.shards)
    assert build.manifest.to_dict() == raw and build.validate().ok
    assert [r.record_id for r in build] == [r.record_id for r in ff.Build(parts_build)]
    build.manifest.save(old)
    assert json.loads((old / MANIFEST).read_text()) == raw


def test_a_manifest_that_breaks_the_schema_is_never_saved(parts_build: Path, tmp_path: Path) -> None:
    manifest = ff.Build(parts_build).manifest
    broken = replace(manifest, recipe_hash="not a hash")
    with pytest.raises(RuntimeError, match="manifest invalid"):
        broken.save(tmp_path)
    assert not (tmp_path / MANIFEST).exists() and list(tmp_path.iterdir()) == []


def test_to_pandas_faces_has_a_row_per_face_with_the_records_values(parts_build: Path) -> None:
    build = ff.Build(parts_build)
    records = list(build.records())
    faces = build.to_pandas()
    assert faces.shape[0] == len(records) and list(faces["record_id"]) == [r.record_id for r in records]
    assert faces["emotion_uncertain"].dtype == "boolean" and not faces["rejected"].any()
    for record, row in zip(records, faces.to_dict("records"), strict=True):
        assert row["source_path"] == record.source_path and row["face_index"] == record.face_index
        assert row["split"] == record.split and row["detection_score"] == record.detection_score
        assert record.emotion is not None and record.age is not None
        assert row["emotion"] == record.emotion.label
        assert row["emotion_confidence"] == record.emotion.confidence
        assert row["emotion_uncertain"] == record.emotion.uncertain
        assert {k: row[f"emotion_p_{k}"] for k in record.emotion.probs} == record.emotion.probs
        assert (row["age"], row["age_bin"]) == (record.age.years, record.age.bin)
        assert [row["age_low"], row["age_high"]] == record.age.interval
        assert {k: row[f"head_{k}"] for k in record.head_pose} == record.head_pose
        assert row["regions"] == len(record.regions)
        present = {a.au for g in record.regions for a in g.aus if a.present}
        assert set(filter(None, row["aus_present"].split(","))) == present
        assert record.face_description is not None and row["face_description"] == record.face_description.text


def test_to_pandas_regions_has_a_row_per_region_and_a_column_per_au(parts_build: Path) -> None:
    build = ff.Build(parts_build)
    records = list(build.records())
    regions = build.to_pandas(level="regions")
    assert regions.shape[0] == sum(len(r.regions) for r in records)
    aus = sorted({a.au for r in records for g in r.regions for a in g.aus})
    assert [c for c in regions.columns if c.startswith("AU")] == [
        n for au in aus for n in (au, f"{au}_present")
    ]
    table = regions.set_index(["record_id", "region_id"])
    for record in records:
        for region in record.regions:
            row = table.loc[(record.record_id, region.region_id)]
            assert [row.x1, row.y1, row.x2, row.y2] == region.bbox_xyxy and row.kind == region.kind
            assert region.description is not None and row.description == region.description.text
            labels = {a.au: a for a in region.aus}
            for au in aus:
                if au in labels:
                    assert row[au] == labels[au].value and row[f"{au}_present"] == labels[au].present
                else:  # an AU this region does not list is missing, not 0 / False
                    assert pd.isna(row[au]) and pd.isna(row[f"{au}_present"])
    assert regions["AU12_present"].dtype == "boolean" and regions["AU12"].dtype == "float64"
    with pytest.raises(ff.FacefocalError, match="choose faces or regions"):
        build.to_pandas(level="pixels")


def test_find_takes_a_unique_prefix_and_says_when_none_or_several_match(parts_build: Path) -> None:
    build = ff.Build(parts_build)
    records = {r.record_id: r for r in build.records()}
    rid = next(iter(records))
    assert build.find(rid[:8]).to_row() == records[rid].to_row()
    with pytest.raises(RecordNotFoundError, match="is not in"):
        build.find("zzzz")
    with pytest.raises(AmbiguousRecordError, match="matches 8 records; give more characters"):
        build.find("")  # the empty prefix: every id starts with it
    res = CliRunner().invoke(app, ["show", str(parts_build), rid[:8], "", "--out", "x.png"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "give more characters" in res.output


def test_errors_is_the_errors_table_as_events(mixed_build) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    events = ff.Build(out).errors()
    assert len(events) == summary.errors + summary.no_face
    rows = [r for p in sorted((out / "errors").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert [e.__dict__ for e in events] == rows
    by_file = {e.source_path: e for e in events}
    assert set(EXPECTED_BAD) <= set(by_file) and all(e.code.startswith("E_") for e in events)


# (command line with DIR where the build goes) for every command that reads a build
READERS = [
    ["validate", "DIR"],
    ["records", "DIR"],
    ["show", "DIR", "abc", "--out", "OUT/x.png"],
    ["stats", "DIR"],
    ["card", "DIR", "--out", "OUT"],
    ["report", "DIR", "--out", "OUT"],
    ["export", "DIR", "-f", "qwen2.5-vl", "-o", "OUT"],
    ["evaluate", "DIR", "--baseline", "majority"],
    ["audit", "DIR"],
    ["calibrate", "DIR", "--out", "OUT/r.yaml"],
    ["review", "apply", "DIR", "DECISIONS", "--out", "OUT"],
    ["import-labelstudio", "DECISIONS", "--data", "DIR", "--out", "OUT"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0] if c[0] != "review" else "review-apply")
def test_every_command_says_not_a_build_in_one_line_with_exit_2(command: list[str], tmp_path: Path) -> None:
    plain = tmp_path / "plain"  # a folder of files, but no build
    plain.mkdir()
    (plain / "notes.txt").write_text("not a build\n")
    broken = tmp_path / "broken"  # a manifest that is not JSON
    broken.mkdir()
    (broken / MANIFEST).write_text('{"parts": [')
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": []}))
    cases = {plain: "(no manifest.json)", tmp_path / "nope": "does not exist", broken: "unreadable"}
    for folder, why in cases.items():
        out = tmp_path / "out"
        names = {"DIR": str(folder), "DECISIONS": str(decisions)}
        args = [names.get(a, a.replace("OUT", str(out))) for a in command]
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "is not a build" in res.output and why in res.output
        assert not out.exists()  # nothing written before the build was opened
    note_case("misuse", "a folder that is not a build, to each command reading one", "one line, exit 2")


def test_not_a_build_is_one_error_type_in_python(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"parts": []}))
    with pytest.raises(ff.NotABuildError, match="not a build manifest"):
        ff.Build(tmp_path)
    for folder in (tmp_path / "nope", EXAMPLES, EXAMPLES / "astronaut.png"):
        with pytest.raises(ff.NotABuildError) as caught:
            ff.Build(folder)
        assert isinstance(caught.value, ff.FacefocalError) and isinstance(caught.value, FileNotFoundError)


def test_rewrite_replaces_records_and_keeps_everything_else(parts_build: Path, tmp_path: Path) -> None:
    build = ff.Build(parts_build)
    before = _hashes(parts_build)
    first, second = list(build.records())[:2]
    first.face_description = Description("Edited by a person.", "human", None, "human")
    (tmp_path / "new").mkdir()  # an empty folder is as good as a new one
    edited = build.rewrite(tmp_path / "new", [first], "test: one text edited", rejected=[second.record_id])
    assert edited.validate().ok and _hashes(parts_build) == before
    assert edited.manifest.runs[-1].note == "test: one text edited" and edited.rejected == {second.record_id}
    after = {r.record_id: r for r in edited.records(include_rejected=True)}
    for record in build.records():
        expected = first if record.record_id == first.record_id else record
        assert after[record.record_id].to_row() == expected.to_row()
    assert second.record_id not in {r.record_id for r in edited.records()}
    assert list(edited.to_pandas(include_rejected=True).query("rejected")["record_id"]) == [second.record_id]
    assert len(edited.to_pandas()) == len(after) - 1
    for target, error in ((parts_build, "new folder"), (tmp_path / "new", "already holds a build")):
        with pytest.raises(OutputConflictError, match=error):
            build.rewrite(target, [], "again")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(OutputConflictError, match="not empty"):
        build.rewrite(tmp_path / "busy", [], "again")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]


def test_a_rewrite_that_fails_part_way_leaves_no_output_and_the_old_build_valid(
    parts_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = ff.Build(parts_build)
    before = _hashes(parts_build)
    last = list(build.records())[-1]  # in the last shard: the earlier shards are written first
    invalid = replace(last, width=450)  # not a multiple of 28
    with pytest.raises(ValueError, match="would be invalid"):
        build.rewrite(tmp_path / "a", [invalid], "bad record")
    real_write = pq.write_table
    calls = {"n": 0}

    def disk_fills(table, where, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(28, "No space left on device")
        return real_write(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", disk_fills)
    with pytest.raises(OSError, match="No space left"):
        build.rewrite(tmp_path / "b", [last], "disk full")
    assert calls["n"] == 2  # one shard was written before the failure
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # no output, no staging folder left beside it
    assert _hashes(parts_build) == before and ff.Build(parts_build).validate().ok
    note_case("fault", "rewrite fails part-way (invalid row, disk full)", "no output; source untouched")


def test_a_manifest_round_trip_of_the_dataclasses(parts_build: Path) -> None:
    manifest = ff.Build(parts_build).manifest
    assert Manifest.from_dict(manifest.to_dict()) == manifest and manifest.problems() == []


def test_to_pandas_without_pandas_says_how_to_get_it(
    parts_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    with pytest.raises(ff.FacefocalError, match=r"pip install 'facefocal-data\[pandas\]'"):
        ff.Build(parts_build).to_pandas()
