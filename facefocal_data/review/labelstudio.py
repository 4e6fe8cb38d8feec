"""Label Studio exports read back: the region texts annotators wrote, from every export shape.

Label Studio writes a project in several shapes, all accepted:
- JSON (the quick export, and snapshots): a list of tasks ``{id, data, annotations: [{result,
  was_cancelled, created_at, updated_at, …}], predictions, drafts}``; `predictions` and `drafts`
  are lists of ids in the quick export and of objects in a snapshot;
- JSON_MIN: a list of flat rows, one per annotation: the task's data fields (our `record_id`),
  then one key per control: `region` (the rectangles, with their labels) and `description` (the
  texts, a string when there is one, else a list, in the order of the rectangles).

Only submitted annotations count: a prediction is the build's own text (or a model's), a draft is
unfinished, a cancelled (skipped) annotation says nothing. With several annotations of one face
the most recently updated wins. A text belongs to the region its rectangle is labelled with
(labels are region names), else to the region whose id it carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from ..record import Description, FaceRecord
from ..textfiles import parse_json, read_text


@dataclass
class TaskTexts:
    """What one task's newest annotation says: region id -> text."""

    record_id: str
    texts: dict[str, str] = field(default_factory=dict)
    stamp: str = ""  # updated_at (or created_at) of the annotation, to keep the newest


@dataclass
class ImportSummary:
    tasks: int = 0  # tasks (JSON) or rows (JSON_MIN) read
    annotated: int = 0  # faces with a submitted annotation
    edited: int = 0  # region texts that differ from the build's
    unknown: int = 0  # faces or regions the build does not have


def _stamp(item: dict[str, Any]) -> str:
    return str(item.get("updated_at") or item.get("created_at") or "")


def _texts(results: list[Any]) -> dict[str, str]:
    """region -> text from a JSON annotation's results: a text area result carries the id of its
    region; the rectangle with that id carries the region's name as its label."""
    labels = {}
    for result in results:
        if result["type"] == "rectanglelabels" and result["value"].get("rectanglelabels"):
            labels[str(result["id"])] = str(result["value"]["rectanglelabels"][0])
    texts = {}
    for result in results:
        if result["type"] == "textarea":
            region = labels.get(str(result["id"]), str(result["id"]))
            texts[region] = "\n".join(str(t) for t in result["value"].get("text", [])).strip()
    return texts


def _full_task(task: dict[str, Any]) -> TaskTexts:
    """A task of a JSON export (quick or snapshot)."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    record = TaskTexts(str(task["data"]["record_id"]))
    if annotations:
        newest = max(enumerate(annotations), key=lambda pair: (_stamp(pair[1]), pair[0]))[1]
        record.texts, record.stamp = _texts(newest.get("result") or []), _stamp(newest)
    return record


def _min_row(row: dict[str, Any]) -> TaskTexts:
    """A row of a JSON_MIN export: texts pair with the rectangles in order (JSON_MIN keeps neither
    a text's region id nor its box), so the counts must agree."""
    record = TaskTexts(str(row["record_id"]), stamp=_stamp(row))
    rectangles = row.get("region") or []
    texts = row.get("description") or []
    texts = [texts] if isinstance(texts, str) else texts
    if not texts:
        return record
    if len(texts) != len(rectangles):
        raise ValueError(
            f"{len(texts)} texts for {len(rectangles)} rectangles: JSON_MIN cannot say which text is"
            " whose; export the project as JSON instead"
        )
    for rectangle, text in zip(rectangles, texts, strict=True):
        record.texts[str(rectangle["rectanglelabels"][0])] = str(text).strip()
    return record


def _read_one(item: Any) -> TaskTexts:
    if not isinstance(item, dict):
        raise TypeError("not a task object")
    if isinstance(item.get("data"), dict) and "record_id" in item["data"]:
        return _full_task(item)
    if "record_id" in item:
        return _min_row(item)
    raise KeyError("no record_id: not a task exported from a facefocal labelstudio export")


def read_tasks(path: Path) -> list[TaskTexts]:
    """Every task (JSON, snapshot) or row (JSON_MIN) of a Label Studio export, checked whole
    before anything is applied: a file we only half understand is refused, never half applied."""
    try:
        items = parse_json(read_text(path))
    except (OSError, ValueError) as exc:
        raise FacefocalError(f"cannot read Label Studio export {path}: {str(exc)[:200]}") from None
    if not isinstance(items, list):
        raise FacefocalError(f"{path} is not a Label Studio export (a JSON list of tasks)")
    tasks = []
    for number, item in enumerate(items, 1):
        try:
            tasks.append(_read_one(item))
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            raise FacefocalError(
                f"{path}: task {number} is not a Label Studio task ({exc}): {json.dumps(item)[:120]}"
            ) from None
    return tasks


def newest_per_face(tasks: Iterable[TaskTexts]) -> dict[str, TaskTexts]:
    """record id -> the most recently updated annotation of that face (JSON_MIN has a row per
    annotation; a face may also have been imported into a project twice)."""
    newest: dict[str, TaskTexts] = {}
    for task in tasks:
        held = newest.get(task.record_id)
        if held is None or not held.texts or (task.texts and task.stamp >= held.stamp):
            newest[task.record_id] = task
    return newest


def import_labelstudio(
    export_file: Path, records: Iterable[FaceRecord]
) -> tuple[list[FaceRecord], ImportSummary]:
    """The records whose region text an annotator changed, edits applied (`describer: human`).
    Only records the export names are kept while reading the build, so a large build is not
    held in memory."""
    tasks = read_tasks(Path(export_file))
    newest = newest_per_face(tasks)
    by_id = {record.record_id: record for record in records if record.record_id in newest}
    summary, edited = ImportSummary(tasks=len(tasks)), {}
    for record_id, task in newest.items():
        record = by_id.get(record_id)
        if record is None:
            summary.unknown += 1
            continue
        summary.annotated += bool(task.texts)
        regions = {region.region_id: region for region in record.regions}
        for region_id, text in task.texts.items():
            region = regions.get(region_id)
            if region is None:
                summary.unknown += 1
            elif text and (region.description is None or text != region.description.text):
                region.description = Description(text, "human", None, "human", [], False)
                summary.edited += 1
                edited[record.record_id] = record
    return list(edited.values()), summary
