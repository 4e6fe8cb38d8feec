"""`labelstudio`: one task per face with every region as a pre-annotated rectangle and its text.

Writes `tasks.json` (import into a project), `labeling_config.xml` (the project's labelling
interface: rectangles with a per-region text area) and the crops under `images/`. Rectangles are
percentages of the image, as Label Studio stores them; each result's `id` is the region id, so
the text of a region survives the round trip. `import_labelstudio` reads a project's JSON export
back: region text an annotator changed is written with `describer: human`; everything else in the
records stays as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import FacefocalError
from ..record import Description, FaceRecord
from ..textfiles import parse_json, read_text
from .base import ExportOptions, write_image, write_json_array

LABELING_CONFIG = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <RectangleLabels name="region" toName="image">
    <Label value="named" background="#1f77b4"/>
    <Label value="box" background="#ff7f0e"/>
  </RectangleLabels>
  <TextArea name="description" toName="image" perRegion="true" editable="true" rows="4"
            placeholder="What this region shows: action units, emotion cues, age"/>
</View>
"""


def _percent(box: list[int], record: FaceRecord) -> dict[str, float]:
    x1, y1, x2, y2 = box
    w, h = record.width, record.height
    return {"x": 100 * x1 / w, "y": 100 * y1 / h, "width": 100 * (x2 - x1) / w, "height": 100 * (y2 - y1) / h}


def task_for(record: FaceRecord, image: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for region in record.regions:
        geometry = {**_percent(region.bbox_xyxy, record), "rotation": 0}
        common = {"id": region.region_id, "to_name": "image", "original_width": record.width}
        common["original_height"] = record.height
        results.append(
            {
                **common,
                "from_name": "region",
                "type": "rectanglelabels",
                "value": {**geometry, "rectanglelabels": [region.kind]},
            }
        )
        if region.description is not None:
            value = {**geometry, "text": [region.description.text]}
            results.append({**common, "from_name": "description", "type": "textarea", "value": value})
    data = {"image": image, "record_id": record.record_id, "source_path": record.source_path}
    prediction = {"model_version": f"facefocal-data {__version__}", "result": results}
    return {"data": data, "predictions": [prediction]}


def export_labelstudio(records: Iterable[FaceRecord], out: Path, options: ExportOptions) -> list[Path]:
    tasks_path = out / "tasks.json"
    write_json_array(tasks_path, (task_for(record, write_image(record, out)) for record in records))
    config = out / "labeling_config.xml"
    config.write_text(LABELING_CONFIG)
    return [tasks_path, config]


@dataclass
class ImportSummary:
    tasks: int = 0
    edited: int = 0
    unknown: int = 0  # tasks or regions the build does not have


def region_texts(task: dict[str, Any]) -> dict[str, str]:
    """region id -> text from the newest annotation (or the prediction when nobody annotated)."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    source = annotations[-1] if annotations else (task.get("predictions") or [{}])[-1]
    texts = {}
    for result in source.get("result", []):
        if result.get("from_name") == "description" and result.get("type") == "textarea":
            texts[str(result["id"])] = "\n".join(result.get("value", {}).get("text", [])).strip()
    return texts


def read_tasks(path: Path) -> list[dict[str, Any]]:
    """The tasks of a Label Studio JSON export, checked whole before anything is applied."""
    try:
        tasks = parse_json(read_text(path))
    except (OSError, ValueError) as exc:
        raise FacefocalError(f"cannot read Label Studio export {path}: {str(exc)[:200]}") from None
    if not isinstance(tasks, list):
        raise FacefocalError(f"{path} is not a Label Studio JSON export (a list of tasks)")
    for number, task in enumerate(tasks, 1):
        try:
            if not isinstance(task, dict) or not isinstance(task.get("data", {}), dict):
                raise TypeError("not a task object")
            region_texts(task)
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            raise FacefocalError(
                f"{path}: task {number} is not a Label Studio task ({exc}): {json.dumps(task)[:120]}"
            ) from None
    return tasks


def import_labelstudio(
    export_file: Path, records: Iterable[FaceRecord]
) -> tuple[list[FaceRecord], ImportSummary]:
    """The records whose region text was edited, edits applied (`describer: human`). Only records
    the tasks name are kept while reading the build, so a large build is not held in memory."""
    tasks = read_tasks(Path(export_file))
    wanted = {str(task.get("data", {}).get("record_id")) for task in tasks}
    by_id = {record.record_id: record for record in records if record.record_id in wanted}
    summary, edited = ImportSummary(), {}
    for task in tasks:
        summary.tasks += 1
        record = by_id.get(str(task.get("data", {}).get("record_id")))
        if record is None:
            summary.unknown += 1
            continue
        regions = {region.region_id: region for region in record.regions}
        for region_id, text in region_texts(task).items():
            region = regions.get(region_id)
            if region is None:
                summary.unknown += 1
            elif text and (region.description is None or text != region.description.text):
                region.description = Description(text, "human", None, "human", [], False)
                summary.edited += 1
                edited[record.record_id] = record
    return list(edited.values()), summary
