"""Every coordinate of every exported string is in the target's convention: questions and answers.

The expected boxes are computed here, independently of the exporter: Qwen2.5-VL's resized size
from transformers' own image processor, 0-1000 and 0-1 by plain arithmetic; every box-like group
of four numbers in a text must be one of the record's boxes so converted, and each answer must be
a build description with exactly its boxes converted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.dataset import Build
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.record import Description, FaceRecord

# any four numbers in brackets, whatever the spacing: what a reader (or a trainer's parser) sees
ANY_BOX = re.compile(r"[\[(]\s*-?[\d.]+\s*,\s*-?[\d.]+\s*,\s*-?[\d.]+\s*,\s*-?[\d.]+\s*[\])]")
BUDGETS = [14 * 14 * 4 * 1280, 300 * 300, 200 * 200, 112 * 112 * 4]
Box = tuple[float, ...]


def _processor_size(height: int, width: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(height, width) transformers' Qwen2-VL image processor resizes an image to."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    grid = processor(images=Image.new("RGB", (width, height)), return_tensors="np")["image_grid_thw"][0]
    return int(grid[1]) * 14, int(grid[2]) * 14


def _resized(new_h: int, new_w: int) -> Callable[[list[int], FaceRecord], Box]:
    def convert(box: list[int], record: FaceRecord) -> Box:
        sx, sy = new_w / record.width, new_h / record.height
        x1, y1, x2, y2 = box
        return (round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy))

    return convert


def _thousand(box: list[int], record: FaceRecord) -> Box:
    x1, y1, x2, y2 = (1000 * v / side for v, side in zip(box, [record.width, record.height] * 2, strict=True))
    return (round(x1), round(y1), round(x2), round(y2))


def _fraction(box: list[int], record: FaceRecord) -> Box:
    w, h = record.width, record.height
    return (round(box[0] / w, 3), round(box[1] / h, 3), round(box[2] / w, 3), round(box[3] / h, 3))


def _numbers(text: str) -> list[Box]:
    return [tuple(float(v) for v in re.findall(r"-?[\d.]+", m)) for m in ANY_BOX.findall(text)]


def _turns(fmt: str, row: dict) -> tuple[str, list[tuple[str, str]]]:
    """(image file name, [(role, text)]) of one exported row, read from the file's own layout."""
    if fmt in ("llamafactory", "swift"):
        texts = [(m["role"], m["content"]) for m in row["messages"]]
        return Path(row["images"][0]).name, texts
    texts = [(m["from"], m["value"]) for m in row["conversations"]]
    return Path(row["image"]).name, texts


def _rows(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("face_focal_*.json*")):
        text = path.read_text()
        yield from (json.loads(text) if path.suffix == ".json" else map(json.loads, text.splitlines()))


def _fill(text: str, boxes: list[list[int]]) -> str:
    """`<bbox>` placeholders filled from the front of `boxes` (consumed), as ms-swift's template does."""
    return re.sub("<bbox>", lambda _m: str(boxes.pop(0)), text)


def _template(text: str) -> str:
    return ANY_BOX.sub("#", text)


def _check_row(fmt: str, row: dict, records: dict[str, FaceRecord], convert: Callable) -> int:
    """Every box in every text is a record box in the target convention; answers are descriptions
    whose boxes, in order, are exactly the description's boxes converted. Returns boxes checked."""
    name, texts = _turns(fmt, row)
    record = records[name]
    allowed = {convert(r.bbox_xyxy, record) for r in record.regions}
    descriptions = {}
    for region in record.regions:
        if region.description is not None:
            descriptions.setdefault(_template(region.description.text), []).append(region.description.text)
    checked = 0
    for role, text in texts:
        for box in _numbers(text):
            assert box in allowed, (fmt, box, text)
            checked += 1
        if role in ("assistant", "gpt"):
            originals = descriptions.get(_template(text))
            assert originals, (fmt, text)  # region and dialogue answers are the build's descriptions
            expected = [[convert(list(map(int, b)), record) for b in _numbers(o)] for o in originals]
            assert _numbers(text) in expected, (fmt, text)
    return checked


@pytest.mark.parametrize("stage", ["region", "dialogue"])
def test_every_box_in_every_text_is_in_the_targets_convention(
    mixed_build, tmp_path: Path, stage: str
) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    records = {Path(r.image_path).name: r for r in iter_records(out)}
    side = next(iter(records.values())).width
    answers_with_boxes = 0
    cases: list[tuple[str, ExportOptions, Callable]] = []
    for max_pixels in BUDGETS:
        size = _processor_size(side, side, 56 * 56, max_pixels)
        cases.append(("qwen2.5-vl", ExportOptions(stage=stage, max_pixels=max_pixels), _resized(*size)))
    cases += [
        ("qwen2-vl", ExportOptions(stage=stage), _thousand),
        ("qwen3-vl", ExportOptions(stage=stage), _thousand),
        ("llava", ExportOptions(stage=stage), _fraction),
        ("llamafactory", ExportOptions(stage=stage, model="qwen2-vl"), _thousand),
        ("llamafactory", ExportOptions(stage=stage, model="qwen3-vl"), _thousand),
    ]
    for number, (fmt, options, convert) in enumerate(cases):
        target = tmp_path / f"{number}-{fmt}"
        summary = export(out, fmt, target, options)
        rows = list(_rows(target))
        assert rows and summary.samples == len(rows) and not summary.skipped
        checked = sum(_check_row(fmt, row, records, convert) for row in rows)
        assert checked >= len(rows)  # every sample asks about at least one box
        answers = [t for row in rows for role, t in _turns(fmt, row)[1] if role in ("assistant", "gpt")]
        answers_with_boxes += sum(bool(_numbers(t)) for t in answers)
    if stage == "region":
        assert answers_with_boxes > 0  # box_* descriptions carry their box in the answer


def test_swift_leaves_every_box_to_the_template_in_message_order(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """ms-swift fills `<bbox>` in order of appearance over the whole conversation (answers too):
    no literal box may stay in a text, and filling the placeholders gives back the build's texts."""
    out, _ = mixed_build
    records = {Path(r.image_path).name: r for r in iter_records(out)}
    for stage in ("region", "dialogue"):
        export(out, "swift", tmp_path / stage, ExportOptions(stage=stage))
        for row in _rows(tmp_path / stage):
            name, texts = _turns("swift", row)
            record = records[name]
            boxes = list(row["objects"]["bbox"])
            filled = [(role, _fill(t, boxes)) for role, t in texts]
            assert not boxes and not any(_numbers(t) for _, t in texts)
            described = {r.description.text for r in record.regions if r.description is not None}
            assert all(text in described for role, text in filled if role == "assistant")
            held = {tuple(r.bbox_xyxy) for r in record.regions}
            assert all(tuple(box) in held for box in row["objects"]["bbox"])


@pytest.fixture(scope="module")
def stray_box_build(mixed_build, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FaceRecord]:  # type: ignore[no-untyped-def]
    """The mixed build with one text naming a box the record does not hold and one naming
    another region's box (allowed: it is one of the record's boxes)."""
    out, _ = mixed_build
    record = next(iter(iter_records(out)))
    regions = {r.region_id: r for r in record.regions}
    jaw = regions["jaw"].bbox_xyxy
    regions["mouth"].description = Description("Lips apart in (1, 2, 3, 4).", "human", None, "human")
    chin = f"Below the mouth, inside the jaw {jaw}."
    regions["chin"].description = Description(chin, "human", None, "human")
    target = tmp_path_factory.mktemp("stray") / "build"
    Build(out).rewrite(target, [record], "test: stray box")
    return target, record


def test_a_text_with_a_box_the_record_does_not_hold_is_left_out_and_counted(
    stray_box_build: tuple[Path, FaceRecord], tmp_path: Path
) -> None:
    build, record = stray_box_build
    records = {Path(r.image_path).name: r for r in iter_records(build)}
    summary = export(build, "qwen2-vl", tmp_path / "q", ExportOptions(stage="region"))
    assert summary.skipped == [f"{record.record_id}/mouth"]
    rows = list(_rows(tmp_path / "q"))
    assert all(_check_row("qwen2-vl", row, records, _thousand) for row in rows)
    written = "".join(path.read_text() for path in (tmp_path / "q").glob("face_focal_*.jsonl"))
    assert "(1, 2, 3, 4)" not in written and "Lips apart" not in written
    jaw = _thousand(next(r.bbox_xyxy for r in record.regions if r.region_id == "jaw"), record)
    assert f"inside the jaw [{', '.join(str(v) for v in jaw)}]." in written
    dialogue = export(build, "llava", tmp_path / "d", ExportOptions(stage="dialogue"))
    assert set(dialogue.skipped) <= {f"{record.record_id}/mouth"}
    res = CliRunner().invoke(app, ["export", str(build), "-f", "swift", "-o", str(tmp_path / "s")])
    assert res.exit_code == 0 and "1 region texts left out" in res.output, res.output
    assert "(1, 2, 3, 4)" not in "".join(p.read_text() for p in (tmp_path / "s").glob("*.jsonl"))


def test_label_studio_texts_and_rectangles_are_in_the_shown_images_frame(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Label Studio shows the crop itself: texts keep its pixels, rectangles are its percentages."""
    out, _ = mixed_build
    records = {r.record_id: r for r in iter_records(out)}
    export(out, "labelstudio", tmp_path / "ls", ExportOptions())
    for task in json.loads((tmp_path / "ls" / "tasks.json").read_text()):
        record = records[task["data"]["record_id"]]
        held = {tuple(float(v) for v in r.bbox_xyxy) for r in record.regions}
        boxes = {r.region_id: r.bbox_xyxy for r in record.regions}
        for result in task["predictions"][0]["result"]:
            value = result["value"]
            assert all(box in held for box in _numbers(" ".join(value.get("text", []))))
            x1, y1 = value["x"] * record.width / 100, value["y"] * record.height / 100
            x2, y2 = x1 + value["width"] * record.width / 100, y1 + value["height"] * record.height / 100
            assert [round(x1), round(y1), round(x2), round(y2)] == boxes[result["id"]]
