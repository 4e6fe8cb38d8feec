"""Splits in exports: a file per split, one registration for a folder, settings that match the boxes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from PIL import Image

from facefocal_data.errors import FacefocalError
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.base import iter_records

from .conftest import EXAMPLES, TEMPLATE_RECIPE
from .test_export_boxes import _check_row, _processor_size, _resized, _rows


@pytest.fixture(scope="module")
def split_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example images built: their faces fall into train, validation and test."""
    from facefocal_data import build
    from facefocal_data.config import Recipe

    out = tmp_path_factory.mktemp("splits") / "build"
    build(EXAMPLES, out, recipe=Recipe.model_validate(TEMPLATE_RECIPE))
    assert {r.split for r in iter_records(out)} == {"train", "validation", "test"}
    return out


def _split_of_rows(folder: Path, suffix: str) -> dict[str, set[str]]:
    """file split -> the splits of the records its rows come from (read from the build, by image)."""
    found: dict[str, set[str]] = {}
    for path in folder.glob(f"face_focal_*{suffix}"):
        text = path.read_text()
        rows = json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines()]
        found[path.stem.removeprefix("face_focal_")] = {_image(row) for row in rows}
    return found


def _image(row: dict) -> str:
    return Path(row["images"][0] if "images" in row else row["image"]).name


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("qwen2.5-vl", ".jsonl"), ("llamafactory", ".json"), ("llava", ".json")]
)
def test_an_export_without_split_never_mixes_splits_in_one_file(
    split_build: Path, tmp_path: Path, fmt: str, suffix: str
) -> None:
    out = split_build
    split_by_image = {Path(r.image_path).name: r.split for r in iter_records(out)}
    export(out, fmt, tmp_path / fmt, ExportOptions(stage="au"))
    files = _split_of_rows(tmp_path / fmt, suffix)
    assert set(files) == set(split_by_image.values())  # every split of the build, each in its own file
    for split, images in files.items():
        assert images and {split_by_image[i] for i in images} == {split}


def test_llamafactory_splits_exported_one_by_one_share_one_dataset_info(
    split_build: Path, tmp_path: Path
) -> None:
    import datasets

    out = split_build
    folder = tmp_path / "lf"
    present = sorted({r.split for r in iter_records(out)})
    for split in ("train", "validation", "test"):
        export(out, "llamafactory", folder, ExportOptions(split=split, max_pixels=300 * 300))
    info = json.loads((folder / "dataset_info.json").read_text())
    assert set(info) == {"face_focal_train", "face_focal_validation", "face_focal_test"}
    register = (folder / "REGISTER.md").read_text()
    assert f"dataset_dir: {folder.resolve()}" in register and "dataset: face_focal_train" in register
    assert "eval_dataset: face_focal_validation" in register
    assert "image_max_pixels: 90000" in register and "image_min_pixels: 3136" in register
    for name, entry in info.items():
        rows = datasets.load_dataset(
            "json", data_files=str(folder / entry["file_name"]), split="train", cache_dir=str(tmp_path / "hf")
        )
        assert len(rows) > 0 and name.removeprefix("face_focal_") in present
        assert all(
            (folder / image).is_file() for row in rows for image in row["images"]
        )  # relative to dataset_dir


def test_a_folder_refuses_an_export_whose_boxes_would_mean_something_else(  # type: ignore[no-untyped-def]
    mixed_build, tmp_path: Path
) -> None:
    out, _ = mixed_build
    export(out, "llamafactory", tmp_path / "lf", ExportOptions(split="train"))
    before = (tmp_path / "lf" / "face_focal_train.json").read_text()
    with pytest.raises(FacefocalError, match="max_pixels 1003520 there, 90000 here"):
        export(out, "llamafactory", tmp_path / "lf", ExportOptions(split="test", max_pixels=300 * 300))
    with pytest.raises(FacefocalError, match="format llamafactory there, swift here"):
        export(out, "swift", tmp_path / "lf", ExportOptions(split="test"))
    assert (tmp_path / "lf" / "face_focal_train.json").read_text() == before
    assert not (tmp_path / "lf" / "face_focal_test.json").exists()


def _llamafactory_size(side: int, image_min_pixels: int, image_max_pixels: int) -> tuple[int, int]:
    """What LLaMA-Factory does to an image before Qwen2.5-VL sees it (its `_preprocess_image`),
    then transformers' processor with the budget of Qwen2.5-VL's preprocessor_config.json."""
    image = Image.new("RGB", (side, side))
    if image.width * image.height > image_max_pixels:
        factor = math.sqrt(image_max_pixels / (image.width * image.height))
        image = image.resize((int(image.width * factor), int(image.height * factor)))
    if image.width * image.height < image_min_pixels:
        factor = math.sqrt(image_min_pixels / (image.width * image.height))
        image = image.resize((int(image.width * factor), int(image.height * factor)))
    return _processor_size(image.height, image.width, 56 * 56, 28 * 28 * 16384)


@pytest.mark.parametrize("max_pixels", [1003520, 210 * 210, 200 * 200, 150 * 150])
def test_llamafactory_qwen25_boxes_follow_llamafactorys_own_resize(  # type: ignore[no-untyped-def]
    mixed_build, tmp_path: Path, max_pixels: int
) -> None:
    out, _ = mixed_build
    records = {Path(r.image_path).name: r for r in iter_records(out)}
    side = next(iter(records.values())).width
    convert = _resized(*_llamafactory_size(side, 56 * 56, max_pixels))
    export(out, "llamafactory", tmp_path / "lf", ExportOptions(stage="region", max_pixels=max_pixels))
    rows = list(_rows(tmp_path / "lf"))
    assert rows and sum(_check_row("llamafactory", row, records, convert) for row in rows) >= len(rows)
    assert f"image_max_pixels: {max_pixels}" in (tmp_path / "lf" / "REGISTER.md").read_text()


def test_swift_paths_are_relative_to_the_folder_and_every_split_is_registered(  # type: ignore[no-untyped-def]
    mixed_build, tmp_path: Path
) -> None:
    out, _ = mixed_build
    folder = tmp_path / "sw"
    export(out, "swift", folder, ExportOptions(stage="dialogue"))
    entries = json.loads((folder / "custom_dataset_info.json").read_text())
    assert {e["dataset_path"] for e in entries} == {p.name for p in folder.glob("face_focal_*.jsonl")}
    for row in _rows(folder):
        assert not Path(row["images"][0]).is_absolute() and (folder / row["images"][0]).is_file()
    register = (folder / "REGISTER.md").read_text()
    assert f"cd {folder.resolve()}" in register and re.search(r"--dataset face_focal_\w+", register)


def test_load_dataset_of_a_carded_build_gives_train_rows_only(split_build: Path, tmp_path: Path) -> None:
    """`facefocal card BUILD` writes the Hub YAML into the build: `datasets.load_dataset(BUILD,
    split="train")` then returns train rows only (shards mix splits; each split is a filtered
    config), rejected faces never, and the features declared in the card are the real ones."""
    import datasets

    from facefocal_data.card import write_card
    from facefocal_data.dataset import Build

    out = split_build
    records = list(iter_records(out))
    rejected = next(r.record_id for r in records if r.split == "train")
    build = tmp_path / "build"
    Build(out).rewrite(build, [], "test: one face rejected", rejected=[rejected])
    write_card(build)
    cache = str(tmp_path / "hf")
    splits = sorted({r.split for r in records})
    assert datasets.get_dataset_config_names(str(build)) == [
        *[s for s in ("train", "validation", "test") if s in splits],
        "all",
    ]
    train = datasets.load_dataset(str(build), split="train", cache_dir=cache)
    expected = sorted(r.record_id for r in records if r.split == "train" and r.record_id != rejected)
    assert sorted(train["record_id"]) == expected and set(train["split"]) == {"train"}
    assert train[0]["image"].size == (records[0].width, records[0].height)  # decoded as an image
    for split in splits:
        if split != "train":
            rows = datasets.load_dataset(str(build), split, split=split, cache_dir=cache)
            assert sorted(rows["record_id"]) == sorted(r.record_id for r in records if r.split == split)
    every = datasets.load_dataset(str(build), "all", split="full", cache_dir=cache)
    assert len(every) == len(records) - 1 and rejected not in every["record_id"]
