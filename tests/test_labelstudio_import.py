"""`import-labelstudio` on every shape a Label Studio export takes, without a server.

The shapes are the ones Label Studio 1.23 wrote in `test_labelstudio_server.py` (and its
documentation describes): the quick JSON export lists predictions and drafts by id, a snapshot
holds them whole, JSON_MIN flattens each annotation into a row whose `description` is a string
for one text and a list for several, in the order of the rectangles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facefocal_data.errors import FacefocalError
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.review.labelstudio import import_labelstudio, read_tasks


@pytest.fixture(scope="module")
def tasks(mixed_build, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    folder = tmp_path_factory.mktemp("ls-tasks")
    export(out, "labelstudio", folder, ExportOptions())
    return json.loads((folder / "tasks.json").read_text())


def _annotation(task: dict[str, Any], texts: dict[str, str], stamp: str, **extra: Any) -> dict[str, Any]:
    result = json.loads(json.dumps(task["predictions"][0]["result"]))
    for item in result:
        if item["type"] == "textarea" and item["id"] in texts:
            item["value"]["text"] = [texts[item["id"]]]
    return {"id": 1, "result": result, "created_at": stamp, "updated_at": stamp, **extra}


def _as_quick_export(task: dict[str, Any], annotations: list[dict[str, Any]], number: int) -> dict[str, Any]:
    """A task as Label Studio's quick JSON export writes it: predictions and drafts as ids."""
    return {
        "id": number,
        "data": task["data"],
        "annotations": annotations,
        "predictions": [number],
        "drafts": [],
    }


def _as_json_min(task: dict[str, Any], annotation: dict[str, Any]) -> dict[str, Any]:
    rectangles = [
        {**r["value"], "original_width": r["original_width"], "original_height": r["original_height"]}
        for r in annotation["result"]
        if r["type"] == "rectanglelabels"
    ]
    texts = [r["value"]["text"][0] for r in annotation["result"] if r["type"] == "textarea"]
    return {
        **task["data"],
        "id": 7,
        "region": rectangles,
        "description": texts[0] if len(texts) == 1 else texts,
        "annotation_id": annotation["id"],
        "created_at": annotation["created_at"],
        "updated_at": annotation["updated_at"],
    }


def _apply(mixed_build, payload: list[dict[str, Any]], path: Path) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    path.write_text(json.dumps(payload))
    records, summary = import_labelstudio(path, iter_records(mixed_build[0]))
    assert summary.unknown == 0
    return {
        r.record_id: {g.region_id: g.description.text for g in r.regions if g.description} for r in records
    }


def test_quick_json_with_prediction_ids_newest_annotation_wins_cancelled_ignored(  # type: ignore[no-untyped-def]
    mixed_build, tasks: list[dict[str, Any]], tmp_path: Path
) -> None:
    a, b, c, d = tasks[:4]
    old, new = "2026-01-01T10:00:00.000000Z", "2026-01-02T10:00:00.000000Z"
    payload = [
        _as_quick_export(a, [_annotation(a, {"mouth": "A, edited."}, old)], 1),
        _as_quick_export(
            b, [_annotation(b, {"mouth": "B, newer."}, new), _annotation(b, {"mouth": "B"}, old)], 2
        ),
        _as_quick_export(c, [_annotation(c, {"mouth": "C, skipped."}, new, was_cancelled=True)], 3),
        _as_quick_export(d, [], 4),  # no annotation: its prediction is an id, and says nothing
    ]
    edited = _apply(mixed_build, payload, tmp_path / "quick.json")
    assert set(edited) == {a["data"]["record_id"], b["data"]["record_id"]}
    assert edited[a["data"]["record_id"]]["mouth"] == "A, edited."
    assert edited[b["data"]["record_id"]]["mouth"] == "B, newer."


def test_snapshot_with_whole_predictions_imports_only_annotations(  # type: ignore[no-untyped-def]
    mixed_build, tasks: list[dict[str, Any]], tmp_path: Path
) -> None:
    a, b = tasks[:2]
    stamp = "2026-01-01T10:00:00.000000Z"
    foreign = {
        **b["predictions"][0],
        "result": _annotation(b, {"mouth": "A model's guess."}, stamp)["result"],
    }
    payload = [
        {
            **_as_quick_export(a, [_annotation(a, {"chin": "Chin, edited."}, stamp)], 1),
            "predictions": a["predictions"],
        },
        {**_as_quick_export(b, [], 2), "predictions": [foreign]},  # a prediction is never a human's text
    ]
    edited = _apply(mixed_build, payload, tmp_path / "snapshot.json")
    assert (
        edited.keys() == {a["data"]["record_id"]}
        and edited[a["data"]["record_id"]]["chin"] == "Chin, edited."
    )


def test_json_min_rows_pair_texts_with_rectangles_and_keep_the_newest(  # type: ignore[no-untyped-def]
    mixed_build, tasks: list[dict[str, Any]], tmp_path: Path
) -> None:
    a, b = tasks[:2]
    old, new = "2026-01-01T10:00:00.000000Z", "2026-01-02T10:00:00.000000Z"
    rows = [
        _as_json_min(a, _annotation(a, {"box_01": "Box one, edited."}, new)),
        _as_json_min(a, _annotation(a, {"box_01": "Box one, older."}, old)),
        _as_json_min(b, _annotation(b, {}, new)),
    ]
    edited = _apply(mixed_build, rows, tmp_path / "min.json")
    assert (
        edited.keys() == {a["data"]["record_id"]}
        and edited[a["data"]["record_id"]]["box_01"] == "Box one, edited."
    )
    one = _as_json_min(a, _annotation(a, {}, new))
    mouth = next(i for i, r in enumerate(one["region"]) if r["rectanglelabels"] == ["mouth"])
    one["region"], one["description"] = [one["region"][mouth]], "Only the mouth, edited."
    assert (
        _apply(mixed_build, [one], tmp_path / "one.json")[a["data"]["record_id"]]["mouth"]
        == one["description"]
    )
    one["region"] = one["region"] * 2  # two rectangles, one text: which one is it? refused, not guessed
    (tmp_path / "bad.json").write_text(json.dumps([one]))
    with pytest.raises(FacefocalError, match="export the project as JSON"):
        read_tasks(tmp_path / "bad.json")


def test_a_text_goes_to_the_region_its_rectangle_is_labelled_with(  # type: ignore[no-untyped-def]
    mixed_build, tasks: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A region redrawn in Label Studio gets a random id; its label (the region name) says whose it is."""
    a = tasks[0]
    annotation = _annotation(a, {}, "2026-01-01T10:00:00.000000Z")
    for item in annotation["result"]:
        if item["id"] == "nose":
            item["id"] = "Xy3_kq"
            if item["type"] == "textarea":
                item["value"]["text"] = ["Nose, redrawn and edited."]
    edited = _apply(mixed_build, [_as_quick_export(a, [annotation], 1)], tmp_path / "redrawn.json")
    assert edited[a["data"]["record_id"]]["nose"] == "Nose, redrawn and edited."
