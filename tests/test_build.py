"""End to end: folders with good and bad files in, validated shards and error rows out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from typer.testing import CliRunner

from facefocal_data import build
from facefocal_data.cli import app
from facefocal_data.config import Recipe
from facefocal_data.errors import OutputConflictError
from facefocal_data.models.manifest import MODELS
from facefocal_data.record import (
    AGE_LATER_FIELDS,
    ARROW_SCHEMA,
    DESCRIPTION_LATER_FIELDS,
    ESTIMATE_DETAIL_FIELDS,
    json_view,
)
from facefocal_data.schema import load_schema
from facefocal_data.shards import ShardWriter
from facefocal_data.staging import recipe_stamp
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, EXPECTED_BAD, TEMPLATE_RECIPE

TEMPLATE = Recipe.model_validate(TEMPLATE_RECIPE)


def _rows(out: Path) -> list[dict]:
    return [
        row for path in sorted((out / "shards").glob("*.parquet")) for row in pq.read_table(path).to_pylist()
    ]


def _errors(out: Path) -> list[dict]:
    return [r for p in sorted((out / "errors").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_bad_files_become_error_rows_and_good_images_still_give_rows(mixed_build) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    errors = {e["source_path"]: e for e in _errors(out)}
    for name, reason in EXPECTED_BAD.items():
        assert name in errors, f"no error row for {name}"
        assert errors[name]["kind"] == "error" and errors[name]["stage"] == "decode"
        assert errors[name]["reason"].startswith(reason), errors[name]["reason"]
    assert errors["i_cat.png"]["kind"] == "no_face"
    assert errors["i_cat.png"]["reason"] == "no face found"
    codes = {name: e["code"] for name, e in errors.items()}
    assert codes == {
        "c_truncated.jpg": "E_TRUNCATED",
        "d_corrupt.png": "E_CORRUPT",
        "e_empty.jpg": "E_EMPTY_FILE",
        "f_notes.jpg": "E_NOT_AN_IMAGE",
        "g_folder.png": "E_IS_DIRECTORY",
        "h_dangling.jpg": "E_MISSING_FILE",
        "i_cat.png": "E_NO_FACE",
    }
    rows = _rows(out)
    by_source: dict[str, int] = {}
    for row in rows:
        by_source[row["source_path"]] = by_source.get(row["source_path"], 0) + 1
    assert by_source == {"a_astronaut.png": 1, "b_group.png": 6}
    assert (summary.images, summary.faces, summary.errors, summary.no_face) == (9, 7, 6, 1)
    assert summary.ignored_files == 1  # readme.md
    assert json.loads((out / "summary.json").read_text())["faces"] == 7


def test_every_written_row_validates(mixed_build) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    report = validate_dir(out)
    assert report.ok, report.problems
    assert report.rows == 7 and report.error_rows == 7
    # cross-check with the reference (pure Python) validator as well
    validator = jsonschema.Draft202012Validator(load_schema("face_record"))
    for row in _rows(out):
        validator.validate(json_view(row))
        assert row["width"] == row["height"] == 448
        assert row["image"]["path"].endswith(".jpg")
    manifest = json.loads((out / "manifest.json").read_text())
    jsonschema.Draft202012Validator(load_schema("shard_manifest")).validate(manifest)


def test_a_broken_row_is_quarantined_with_its_reason(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from facefocal_data.engines import open_builder
    from facefocal_data.faces import FaceAnalyzer
    from facefocal_data.sources import SourceItem
    from facefocal_data.stages import WorkItem, stage_decode, stage_faces

    recipe = TEMPLATE
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    work = WorkItem(SourceItem("astronaut.png", ASTRONAUT, "examples"))
    stage_decode([work])
    stage_faces([work], analyzer)
    open_builder(recipe, analyzer.geometry_source, describe=True)([work])
    analyzer.close()
    good = work.records[0]
    broken = WorkItem(work.item).records
    bad = good.__class__(**{**good.__dict__, "record_id": "b" * 20, "width": 450})
    bad.regions = [good.regions[0].__class__(**{**good.regions[0].__dict__, "observable_aus": ["AU1"]})]
    writer = ShardWriter(tmp_path / "out", recipe_stamp(recipe), MODELS)
    rejected = writer.add("astronaut.png", [good, bad], broken)
    writer.close()
    assert [e.record_id for e in rejected] == ["b" * 20]
    assert "width" in rejected[0].reason and "450" in rejected[0].reason
    assert "AU1" in rejected[0].reason
    errors = _errors(tmp_path / "out")
    assert errors[0]["stage"] == "validate" and errors[0]["record_id"] == "b" * 20
    assert [r["record_id"] for r in _rows(tmp_path / "out")] == [good.record_id]


def test_arrow_schema_and_json_schema_describe_the_same_record() -> None:
    schema = load_schema("face_record")

    def walk(arrow_type, js, path):  # type: ignore[no-untyped-def]
        import pyarrow as pa

        if "$ref" in js:
            js = schema["$defs"][js["$ref"].split("/")[-1]]
        if "oneOf" in js:  # nullable struct or list: compare with its non-null branch
            js = next(branch for branch in js["oneOf"] if branch.get("type") in ("object", "array"))
        if pa.types.is_struct(arrow_type):
            names = {arrow_type.field(i).name for i in range(arrow_type.num_fields)}
            assert names == set(js["properties"]), path
            # an estimate's detail fields, the age's range edge and a text's origin came later:
            # optional, so older builds still validate
            optional = set(ESTIMATE_DETAIL_FIELDS) if path.endswith("estimate") else set()
            optional |= set(AGE_LATER_FIELDS) if path == "record.age" else set()
            optional |= set(DESCRIPTION_LATER_FIELDS) if path.endswith("description") else set()
            assert set(js["required"]) == names - optional, path
            for i in range(arrow_type.num_fields):
                f = arrow_type.field(i)
                walk(f.type, js["properties"][f.name], f"{path}.{f.name}")
        elif (pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)) and js.get("items"):
            walk(arrow_type.value_type, js["items"], f"{path}[]")

    import pyarrow as pa

    walk(pa.struct(list(ARROW_SCHEMA)), schema, "record")


def test_rerun_resumes_and_unlisted_files_are_discarded(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build(mixed_folder, out, limit=3, recipe=TEMPLATE)
    assert first.images == 3
    parts_before = json.loads((out / "manifest.json").read_text())["parts"]
    # a run that died after writing a shard but before the manifest: leaves an unlisted file
    stray = out / "shards" / "part-09999.parquet"
    shutil.copy(next((out / "shards").glob("*.parquet")), stray)
    second = build(mixed_folder, out, recipe=TEMPLATE)
    assert second.skipped_done == 3 and second.images == 6
    assert not stray.exists()
    third = build(mixed_folder, out, recipe=TEMPLATE)
    assert third.images == 0 and third.skipped_done == 9
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parts"][: len(parts_before)] == parts_before
    ids = [r["record_id"] for r in _rows(out)]
    assert len(ids) == len(set(ids)) == 7
    assert validate_dir(out).ok


def test_another_recipe_into_the_same_output_is_refused(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o"
    build(ASTRONAUT, out, recipe=TEMPLATE)
    other = Recipe.model_validate({**TEMPLATE_RECIPE, "crop": {"size": 224}})
    with pytest.raises(OutputConflictError, match="--force"):
        build(ASTRONAUT, out, recipe=other)
    summary = build(ASTRONAUT, out, recipe=other, overwrite=True)
    assert summary.faces == 1 and _rows(out)[0]["width"] == 224


def test_record_ids_are_stable_across_runs(tmp_path: Path) -> None:
    a = build(ASTRONAUT, tmp_path / "a", recipe=TEMPLATE)
    b = build(ASTRONAUT, tmp_path / "b", recipe=TEMPLATE)
    assert a.faces == b.faces == 1
    ra, rb = _rows(tmp_path / "a")[0], _rows(tmp_path / "b")[0]
    assert ra["record_id"] == rb["record_id"]
    assert ra["regions"] == rb["regions"]


def test_hf_datasets_loads_the_image_column_as_pil(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datasets

    out, _ = mixed_build
    files = sorted(str(p) for p in (out / "shards").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert isinstance(ds.features["image"], datasets.Image)
    image = ds[0]["image"]
    assert isinstance(image, Image.Image) and image.size == (448, 448)
    assert len(ds[0]["regions"]) >= 14 and len(ds[0]["landmarks_478"]) == 478


def test_cli_build_exit_codes_and_strict(mixed_folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app, ["build", str(mixed_folder), "--out", str(tmp_path / "a"), "--json", "--describer", "template"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["faces"] == 7
    strict = runner.invoke(
        app, ["build", str(mixed_folder), "--out", str(tmp_path / "b"), "--strict", "--describer", "template"]
    )
    assert strict.exit_code == 1
    assert "errors" in strict.output and "faces" in strict.output
    missing = runner.invoke(app, ["build", str(tmp_path / "nope"), "--out", str(tmp_path / "c")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_recipe = tmp_path / "bad.yaml"
    bad_recipe.write_text("crop:\n  size: 450\n")
    res = runner.invoke(
        app, ["build", str(mixed_folder), "--out", str(tmp_path / "d"), "-r", str(bad_recipe)]
    )
    assert res.exit_code == 2 and "multiple of 28" in res.output


def test_cli_validate_catches_a_tampered_shard(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    build(ASTRONAUT, out, recipe=TEMPLATE)
    runner = CliRunner()
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    shard = next((out / "shards").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    result = runner.invoke(app, ["validate", str(out)], terminal_width=200)
    assert result.exit_code == 1 and "sha256" in result.output


def test_show_draws_the_record(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    row = next(r for r in _rows(out) if r["source_path"] == "a_astronaut.png")
    png = tmp_path / "show.png"
    result = CliRunner().invoke(app, ["show", str(out), row["record_id"][:10], "--out", str(png)])
    assert result.exit_code == 0, result.output
    picture = np.asarray(Image.open(png))
    assert picture.shape == (896, 896, 3)
    crop = np.asarray(Image.open(__import__("io").BytesIO(row["image"]["bytes"])).convert("RGB"))
    # boxes and labels were drawn: the picture differs from the plain upscaled crop
    plain = np.asarray(Image.fromarray(crop).resize((896, 896)))
    assert np.abs(picture.astype(int) - plain.astype(int)).mean() > 1.0
    missing = CliRunner().invoke(app, ["show", str(out), "ffffffff", "--out", str(png)])
    assert missing.exit_code == 2 and "not in" in missing.output


def test_every_label_in_a_built_dataset_has_type_confidence_and_provenance(mixed_build) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    manifest = json.loads((out / "manifest.json").read_text())
    model_ids = [f"{m['name']}@sha256:{m['sha256'][:12]}" for m in manifest["models"]]
    expected = {"faceapi_expr", "faceapi_age", "face_landmarker", "blazeface_short_range"}
    assert {m["name"] for m in manifest["models"]} >= expected
    labels = 0
    for row in _rows(out):
        assert row["emotion"]["label"] and row["emotion"]["confidence"] is not None
        assert row["age"]["years"] is not None and row["age"]["confidence"] is not None
        sources = [row["emotion"]["source"], row["age"]["source"]]
        for region in row["regions"]:
            assert region["description"]["text"]
            for au in region["aus"]:
                assert au["value_type"] and au["confidence"] is not None
                sources.append(au["source"])
                labels += 1
        assert all(any(mid in s for mid in model_ids) for s in sources)
        assert row["face_description"]["describer"] == "template"
    assert labels > 100
