"""`labelstudio`: one task per face with every region as a pre-annotated rectangle and its text.

Writes `tasks.json` (import into a project), `labeling_config.xml` (the project's labelling
interface: one rectangle label per region name, with a per-region text area), the crops under
`images/` and `REGISTER.md` (how to start Label Studio so it serves them). Rectangles are
percentages of the image, as Label Studio stores them; each result's `id` is the region id and
its label the region name, so the text of a region survives the round trip in every export
shape. `facefocal import-labelstudio` (`review/labelstudio.py`) reads a project's export back.

Task images are URLs Label Studio serves: `--image-url-prefix` (default `/data/local-files/?d=`,
Label Studio's local-files route) followed by the image's path inside the export folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .._version import __version__
from ..record import FaceRecord
from ..review.labelstudio import import_labelstudio, read_tasks
from .base import LABEL_STUDIO_FILES, ExportOptions, write_image, write_json_array

COLOURS = {"named": "#1f77b4", "box": "#ff7f0e"}


def labeling_config(labels: dict[str, str]) -> str:
    """The labelling interface: a rectangle label per region name (`labels`: name -> kind), so an
    annotator sees "mouth" or "box_02", and a text area per region."""
    rows = "\n".join(
        f'    <Label value="{name}" background="{COLOURS.get(kind, "#2ca02c")}"/>'
        for name, kind in labels.items()
    )
    return f"""<View>
  <Image name="image" value="$image" zoom="true"/>
  <RectangleLabels name="region" toName="image">
{rows}
  </RectangleLabels>
  <TextArea name="description" toName="image" perRegion="true" editable="true" rows="4"
            placeholder="What this region shows: action units, emotion cues, age"/>
</View>
"""


def _percent(box: list[int], record: FaceRecord) -> dict[str, float]:
    x1, y1, x2, y2 = box
    w, h = record.width, record.height
    return {"x": 100 * x1 / w, "y": 100 * y1 / h, "width": 100 * (x2 - x1) / w, "height": 100 * (y2 - y1) / h}


def task_for(record: FaceRecord, image_url: str) -> dict[str, Any]:
    """A task: the crop's URL and ids as data, every region as a prediction (rectangle + text)."""
    results: list[dict[str, Any]] = []
    for region in record.regions:
        geometry = {**_percent(region.bbox_xyxy, record), "rotation": 0}
        common = {"id": region.region_id, "to_name": "image", "original_width": record.width}
        common["original_height"] = record.height
        value = {**geometry, "rectanglelabels": [region.region_id]}
        results.append({**common, "from_name": "region", "type": "rectanglelabels", "value": value})
        if region.description is not None:
            value = {**geometry, "text": [region.description.text]}
            results.append({**common, "from_name": "description", "type": "textarea", "value": value})
    data = {"image": image_url, "record_id": record.record_id, "source_path": record.source_path}
    prediction = {"model_version": f"facefocal-data {__version__}", "result": results}
    return {"data": data, "predictions": [prediction]}


def export_labelstudio(records: Iterable[FaceRecord], out: Path, options: ExportOptions) -> list[Path]:
    labels: dict[str, str] = {}

    def tasks() -> Iterator[dict[str, Any]]:
        for record in records:
            labels.update((region.region_id, region.kind) for region in record.regions)
            yield task_for(record, options.image_url_prefix + quote(write_image(record, out)))

    tasks_path = out / "tasks.json"
    write_json_array(tasks_path, tasks())
    config = out / "labeling_config.xml"
    config.write_text(labeling_config(dict(sorted(labels.items(), key=lambda item: (item[1] != "named",)))))
    register = out / "REGISTER.md"
    register.write_text(_notes(out, options))
    return [tasks_path, config, register]


def _notes(out: Path, options: ExportOptions) -> str:
    root = out.resolve()
    if options.image_url_prefix != LABEL_STUDIO_FILES:
        serve = f"Task images are `{options.image_url_prefix}images/…`: serve the export folder there."
    else:
        serve = (
            "Task images are Label Studio local files (`/data/local-files/?d=images/…`). Start Label Studio\n"
            "with this export folder as its document root, then add the folder as Local Storage:\n\n"
            "```bash\nLABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true \\\n"
            f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root} label-studio start\n```\n\n"
            "Project → Settings → Cloud Storage → Add Source Storage → Local files, absolute path\n"
            f"`{root}/images` (no sync needed: the tasks already point at the files). For a document root\n"
            "above this folder, "
            "export with `--image-url-prefix '/data/local-files/?d=<this folder, relative to the root>/'`."
        )
    return (
        "# Review in Label Studio\n\n"
        f"{serve}\n\nCreate a project with `labeling_config.xml` as its labelling interface, import\n"
        "`tasks.json`, review (edit the text of a region; rectangles show the region names). Then export\n"
        "the project "
        "(JSON, JSON_MIN or a snapshot) and bring the texts back:\n\n"
        "```bash\nfacefocal import-labelstudio project-export.json --data BUILD --out BUILD-reviewed\n```\n"
    )


__all__ = ["export_labelstudio", "import_labelstudio", "labeling_config", "read_tasks", "task_for"]
