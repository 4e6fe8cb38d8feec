"""Exports: boxes in each model's coordinates, image tokens that match, curriculum stages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.coords import norm1000_box, qwen25_box, smart_resize
from facefocal_data.exporters.prompts import PROMPT_POOLS

from .conftest import ASTRONAUT, TEMPLATE_RECIPE

BOX = re.compile(r"\[(\d+), (\d+), (\d+), (\d+)\]")
BUDGETS = [
    (56 * 56, 14 * 14 * 4 * 1280),
    (56 * 56, 200 * 200),
    (16 * 28 * 28, 576 * 28 * 28),
    (600 * 600, 2000 * 2000),
]


def _processor_size(side: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(height, width) transformers' own Qwen2-VL image processor resizes a side x side image to."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    grid = processor(images=Image.new("RGB", (side, side)), return_tensors="np")["image_grid_thw"][0]
    return int(grid[1]) * 14, int(grid[2]) * 14


@pytest.mark.parametrize("side", [224, 448, 500, 1000])
@pytest.mark.parametrize(("min_pixels", "max_pixels"), BUDGETS)
def test_qwen25_boxes_follow_the_processors_resize(side: int, min_pixels: int, max_pixels: int) -> None:
    new_h, new_w = _processor_size(side, min_pixels, max_pixels)
    assert smart_resize(side, side, min_pixels, max_pixels) == (new_h, new_w)
    box = [side * 0.1, side * 0.25, side * 0.6, side]
    expected = [
        round(box[0] * new_w / side),
        round(box[1] * new_h / side),
        round(box[2] * new_w / side),
        new_h,
    ]
    assert qwen25_box(box, side, side, min_pixels, max_pixels) == expected
    assert norm1000_box(box, side, side) == [100, 250, 600, 1000]


@pytest.fixture(scope="module")
def small_crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build with 224-pixel crops, so a small pixel budget really resizes them."""
    out = tmp_path_factory.mktemp("build") / "b224"
    recipe = Recipe.model_validate({**TEMPLATE_RECIPE, "crop": {"size": 224}})
    build(ASTRONAUT, out, recipe=recipe)
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rows(folder: Path) -> list[dict]:
    """Every row of every split file an export wrote into `folder`."""
    rows: list[dict] = []
    for path in sorted(folder.glob("face_focal_*.json*")):
        rows += json.loads(path.read_text()) if path.suffix == ".json" else _jsonl(path)
    return rows


def test_qwen25_export_writes_boxes_for_the_trainers_pixel_budget(small_crops: Path, tmp_path: Path) -> None:
    options = ExportOptions(stage="region", min_pixels=56 * 56, max_pixels=112 * 112)
    summary = export(small_crops, "qwen2.5-vl", tmp_path / "q", options)
    rows = _rows(tmp_path / "q")
    assert summary.samples == len(rows) > 10 and summary.images == 1
    new_h, new_w = _processor_size(224, 56 * 56, 112 * 112)
    assert (new_h, new_w) == (112, 112)
    from facefocal_data.exporters.base import iter_records

    [record] = iter_records(small_crops)
    boxes = {tuple(r.bbox_xyxy) for r in record.regions if r.description is not None}
    for row in rows:
        first = row["conversations"][0]["value"]
        assert (
            first.startswith("<image>\n")
            and sum(t["value"].count("<image>") for t in row["conversations"]) == 1
        )
        (x1, y1, x2, y2) = map(int, BOX.search(first).groups())  # type: ignore[union-attr]
        assert any(
            [x1, y1, x2, y2] == [round(b[0] / 2), round(b[1] / 2), round(b[2] / 2), round(b[3] / 2)]
            for b in boxes
        )
        assert (tmp_path / "q" / row["image"]).is_file()
    assert "--max_pixels 12544" in (tmp_path / "q" / "REGISTER.md").read_text()


@pytest.mark.parametrize("fmt", ["qwen2-vl", "qwen3-vl"])
def test_qwen2_and_qwen3_boxes_are_0_to_1000(mixed_build, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    export(out, fmt, tmp_path / fmt, ExportOptions(stage="au"))
    rows = _rows(tmp_path / fmt)
    numbers = [int(v) for row in rows for v in BOX.search(row["conversations"][0]["value"]).groups()]  # type: ignore[union-attr]
    assert numbers and all(0 <= v <= 1000 for v in numbers) and max(numbers) > 448  # not pixels


def test_llamafactory_rows_have_one_image_token_per_image_and_load_with_datasets(
    mixed_build, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import datasets

    out, _ = mixed_build
    export(out, "llamafactory", tmp_path / "lf", ExportOptions(stage="dialogue", split="train"))
    rows = json.loads((tmp_path / "lf" / "face_focal_train.json").read_text())
    assert rows
    for row in rows:
        tokens = sum(m["content"].count("<image>") for m in row["messages"])
        assert tokens == len(row["images"]) == 1
        assert [m["role"] for m in row["messages"]][:3] == ["system", "user", "assistant"]
    info = json.loads((tmp_path / "lf" / "dataset_info.json").read_text())
    assert info["face_focal_train"]["file_name"] == "face_focal_train.json"
    assert info["face_focal_train"]["columns"] == {"messages": "messages", "images": "images"}
    ds = datasets.load_dataset(
        "json",
        data_files=str(tmp_path / "lf" / "face_focal_train.json"),
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert len(ds) == len(rows) and ds[0]["images"] == rows[0]["images"]


def test_swift_rows_fill_every_bbox_placeholder(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    export(out, "swift", tmp_path / "sw", ExportOptions(stage="dialogue"))
    rows = _rows(tmp_path / "sw")
    assert rows
    for row in rows:
        text = "".join(m["content"] for m in row["messages"] if m["role"] == "user")
        assert text.count("<image>") == len(row["images"]) == 1
        assert row["images"][0].startswith("images/") and (tmp_path / "sw" / row["images"][0]).is_file()
        assert text.count("<bbox>") == len(row["objects"]["bbox"]) > 1
        assert row["objects"]["bbox_type"] == "real"
        assert all(0 <= v <= 448 for box in row["objects"]["bbox"] for v in box)


def test_each_curriculum_stage_holds_only_its_kind_of_sample(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, summary = mixed_build
    firsts: dict[str, list[dict]] = {}
    for stage in ("au", "emotion", "age", "region", "dialogue"):
        export(out, "qwen2-vl", tmp_path / stage, ExportOptions(stage=stage))
        firsts[stage] = _rows(tmp_path / stage)

    def prompt(row: dict) -> str:
        return row["conversations"][0]["value"].removeprefix("<image>\n")

    def answer(row: dict) -> str:
        return row["conversations"][1]["value"]

    def from_pool(text: str, task: str) -> bool:
        patterns = [re.escape(p).replace(re.escape("<bbox>"), r"\[[\d, ]+\]") for p in PROMPT_POOLS[task]]
        return any(re.fullmatch(p, text) for p in patterns)

    assert all(
        from_pool(prompt(r), "au") and answer(r).startswith(("Active action units", "None of"))
        for r in firsts["au"]
    )
    assert all(
        from_pool(prompt(r), "emotion") and answer(r).startswith("The face shows") for r in firsts["emotion"]
    )
    assert all(from_pool(prompt(r), "age") and "years old" in answer(r) for r in firsts["age"])
    assert all(from_pool(prompt(r), "region") and len(r["conversations"]) == 2 for r in firsts["region"])
    assert all(
        len(r["conversations"]) > 2 and from_pool(prompt(r), "dialogue_first") for r in firsts["dialogue"]
    )
    assert len(firsts["emotion"]) == len(firsts["age"]) == len(firsts["dialogue"]) == summary.faces
    assert len(firsts["au"]) > len(firsts["emotion"])
    pools = json.loads((tmp_path / "au" / "prompts.json").read_text())
    assert pools["pools"]["au"] == list(PROMPT_POOLS["au"])


def test_llava_landmarks_are_what_face_llavas_loader_expects(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Face-LLaVA crops faces to 256x256 and its loader reads `np.load(path) / 256.`, flattened to
    136 values: after that division a point must be its fraction of the image."""
    from facefocal_data.exporters.base import iter_records

    out, summary = mixed_build
    export(out, "llava", tmp_path / "lv", ExportOptions(stage="au"))
    rows = _rows(tmp_path / "lv")
    assert [r["id"] for r in rows] == list(range(len(rows)))
    images = {r["image"]: r["landmarks_2d"] for r in rows}
    assert len(set(images.values())) == summary.faces
    records = {f"images/{r.image_path}": r for r in iter_records(out)}
    for image, rel in images.items():
        record = records[image]
        loaded = np.load(tmp_path / "lv" / rel)
        assert loaded.shape == (68, 2) and loaded.dtype == np.float32
        as_loader_reads = (loaded / 256.0).reshape(-1)  # Face-LLaVA: landmark / 256., view(-1)
        assert as_loader_reads.size == 136
        fractions = np.asarray(record.landmarks_68) / [record.width, record.height]
        assert np.allclose(as_loader_reads.reshape(68, 2), fractions, atol=1e-5)
    first = rows[0]["conversations"][0]["value"]
    assert first.startswith("<image>\n") and re.search(r"\[0\.\d+, 0\.\d+, [01]\.\d+, [01]\.\d+\]", first)
    assert "256-pixel frame" in (tmp_path / "lv" / "REGISTER.md").read_text()
    export(out, "llava", tmp_path / "px", ExportOptions(stage="au", landmark_side=0))
    crop = _rows(tmp_path / "px")[0]
    record = records[crop["image"]]
    assert np.allclose(np.load(tmp_path / "px" / crop["landmarks_2d"]), record.landmarks_68, atol=1e-3)


def test_label_studio_round_trip_keeps_the_edit_and_every_other_field(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from facefocal_data.cli import app
    from facefocal_data.exporters.base import iter_records
    from facefocal_data.validate import validate_dir

    out, summary = mixed_build
    export(out, "labelstudio", tmp_path / "ls", ExportOptions())
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    assert len(tasks) == summary.faces
    assert 'perRegion="true"' in (tmp_path / "ls" / "labeling_config.xml").read_text()
    rect = next(r for r in tasks[0]["predictions"][0]["result"] if r["type"] == "rectanglelabels")
    assert 0 <= rect["value"]["x"] <= 100 and rect["original_width"] == 448
    # an annotator accepts the predictions and rewrites the mouth's text (Label Studio's export shape)
    edited = "Lips pulled up at the corners (AU12 Lip Corner Puller); reviewed by a human."
    result = [dict(r) for r in tasks[0]["predictions"][0]["result"]]
    for r in result:
        if r["id"] == "mouth" and r["type"] == "textarea":
            r["value"] = {**r["value"], "text": [edited]}
    tasks[0]["annotations"] = [{"id": 1, "result": result, "was_cancelled": False}]
    tasks.append({"data": {"record_id": "f" * 20}, "annotations": [{"result": []}]})
    export_file = tmp_path / "project-export.json"
    export_file.write_text(json.dumps(tasks))

    res = CliRunner().invoke(
        app, ["import-labelstudio", str(export_file), "--data", str(out), "--out", str(tmp_path / "edited")]
    )
    assert res.exit_code == 0, res.output
    assert "1 region texts edited, 1 unknown ids" in res.output
    before = {r.record_id: r.to_row() for r in iter_records(out)}
    after = {r.record_id: r.to_row() for r in iter_records(tmp_path / "edited")}
    assert before.keys() == after.keys()
    target = tasks[0]["data"]["record_id"]
    for record_id, row in after.items():
        old = before[record_id]
        if record_id != target:
            assert row == old
            continue
        for new_region, old_region in zip(row["regions"], old["regions"], strict=True):
            if new_region["region_id"] == "mouth":
                assert new_region["description"]["text"] == edited
                assert new_region["description"]["describer"] == "human"
                assert {**new_region, "description": None} == {**old_region, "description": None}
            else:
                assert new_region == old_region
        assert {k: v for k, v in row.items() if k != "regions"} == {
            k: v for k, v in old.items() if k != "regions"
        }
    assert validate_dir(tmp_path / "edited").ok
    runs = json.loads((tmp_path / "edited" / "manifest.json").read_text())["runs"]
    assert "Label Studio import" in runs[-1]["note"]


def test_card_has_hub_yaml_statistics_licences_and_plots(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from typer.testing import CliRunner

    from facefocal_data.cli import app

    out, summary = mixed_build
    res = CliRunner().invoke(app, ["card", str(out), "--out", str(tmp_path / "card")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "card" / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["configs"][0]["data_files"][0]["path"] == "shards/*.parquet"
    assert {"record_id", "image", "regions", "split"} <= {
        f["name"] for f in front["dataset_info"]["features"]
    }
    stats = json.loads((tmp_path / "card" / "stats.json").read_text())
    assert stats["faces"] == summary.faces and sum(stats["splits"].values()) == summary.faces
    assert stats["describers"] == {"template": summary.regions} and stats["fallback_rate"] == 0.0
    assert 0 < stats["au_frequency"]["AU12"] <= 1
    for name in ("au_frequency.png", "emotions.png", "ages.png"):
        assert f"![{name}]({name})" in text
        with Image.open(tmp_path / "card" / name) as image:
            assert image.size[0] > 300
    assert "| faceapi_expr | MIT |" in text and "| faceapi_age | MIT |" in text


def test_stats_command_prints_a_table_and_json(mixed_build) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from facefocal_data.cli import app

    out, summary = mixed_build
    runner = CliRunner()
    table = runner.invoke(app, ["stats", str(out)], terminal_width=160)
    assert table.exit_code == 0 and "faces" in table.output and "AU present / observable" in table.output
    numbers = json.loads(runner.invoke(app, ["stats", str(out), "--json"]).stdout)
    assert numbers["faces"] == summary.faces and numbers["regions"] == summary.regions
    assert set(numbers["age"]) == {"min", "median", "max"} and numbers["fallback_rate"] == 0.0


def test_show_draws_a_contact_sheet_and_highlights_one_region(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from facefocal_data.cli import app
    from facefocal_data.exporters.base import iter_records

    out, _ = mixed_build
    ids = [r.record_id for r in iter_records(out)][:5]
    runner = CliRunner()
    sheet = tmp_path / "sheet.png"
    res = runner.invoke(
        app, ["show", str(out), *ids, "-o", str(sheet), "--columns", "3", "--highlight", "mouth"]
    )
    assert res.exit_code == 0, res.output
    with Image.open(sheet) as image:
        assert image.size == (3 * 320, 2 * 320)
    one = tmp_path / "one.png"
    res = runner.invoke(
        app, ["show", str(out), ids[0], "-o", str(one), "--highlight", "mouth", "--scale", "1"]
    )
    assert res.exit_code == 0 and "mouth" in res.output
    with Image.open(one) as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    [record] = [r for r in iter_records(out) if r.record_id == ids[0]]
    x1, y1, x2, y2 = next(r.bbox_xyxy for r in record.regions if r.region_id == "mouth")
    inside, outside = pixels[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].mean(), pixels[: y1 - 10].mean()
    assert inside > outside  # the rest of the face is dimmed
    bad = runner.invoke(app, ["show", str(out), ids[0], "-o", str(one), "--highlight", "elbow"])
    assert bad.exit_code == 2 and "no region 'elbow'" in bad.output


@pytest.mark.parametrize("fmt", ["llamafactory", "llava", "labelstudio", "swift"])
def test_streamed_files_are_valid_for_no_one_and_many_rows(mixed_build, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """Exports are written a row at a time; the JSON (or JSONL) must hold for 0, 1 and many rows."""
    out, summary = mixed_build
    for split, expected in (("no-such-split", 0), (None, None)):
        target = tmp_path / f"{fmt}-{split}"
        result = export(out, fmt, target, ExportOptions(split=split))
        data = next(Path(f) for f in result.files if f.endswith((".json", ".jsonl")) and "info" not in f)
        text = data.read_text()
        rows = json.loads(text) if data.suffix == ".json" else [json.loads(x) for x in text.splitlines()]
        assert len(rows) == (expected if expected is not None else result.samples)
        if expected is None:
            assert len(rows) > 1 and result.images == summary.faces
