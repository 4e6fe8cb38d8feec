"""`swift`: ms-swift's `messages` + `images` + `objects`, every box a `<bbox>` placeholder.

Boxes go in `objects.bbox` in pixels of the stored image (`bbox_type: real`), in the order their
placeholders appear over the whole conversation, answers included: ms-swift's template fills
them in that order and converts each for the model (absolute resized pixels for Qwen2.5-VL at
whatever MAX_PIXELS, 0-1000 for Qwen2/3-VL), so one export serves every model and budget. The
system prompt is the first message. Image paths are relative to the export folder: run ms-swift
from it. `custom_dataset_info.json` registers every split file (paths relative to it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .base import ExportOptions, conversation, write_image
from .files import names_by_split, split_of
from .samples import Sample

SUFFIX = ".jsonl"


def rows(
    samples: Iterable[Sample], out: Path, options: ExportOptions
) -> Iterator[tuple[str, dict[str, Any]]]:
    for sample in samples:
        messages = conversation(sample, None, system=options.system or None)  # ms-swift fills <bbox>
        boxes = [list(box) for turn in sample.turns for box in turn.boxes]  # question's, then answer's
        row = {
            "messages": messages,
            "images": [write_image(sample.record, out)],
            "objects": {"ref": [], "bbox": boxes, "bbox_type": "real"},
        }
        yield split_of(sample.record), row


def register(out: Path, options: ExportOptions, datasets: dict[str, dict[str, Any]]) -> list[Path]:
    info = out / "custom_dataset_info.json"
    entries = [{"dataset_name": name, "dataset_path": d["file"]} for name, d in datasets.items()]
    info.write_text(json.dumps(entries, indent=1))
    by_split = names_by_split(datasets)
    validation = f" \\\n  --val_dataset {by_split['validation']}" if "validation" in by_split else ""
    text = (
        "# Train with ms-swift\n\nRun from this folder (image paths are relative to it); every split is\n"
        f"registered in `custom_dataset_info.json` ({', '.join(datasets)}); train on the train split\n"
        f"only:\n\n```bash\ncd {out.resolve()}\nMAX_PIXELS={options.max_pixels} swift sft"
        " --model Qwen/Qwen2.5-VL-7B-Instruct --tuner_type lora \\\n"
        f"  --custom_dataset_info custom_dataset_info.json --dataset {by_split.get('train', '')}"
        f"{validation}\n```\n\n"
        "Boxes are `<bbox>` placeholders with `objects.bbox` in pixels of the stored image (`bbox_type:\n"
        "real`); ms-swift converts them for the model and its MAX_PIXELS (Qwen2.5-VL: resized pixels;\n"
        "Qwen2/3-VL: 0-1000), in questions and answers alike.\n"
    )
    path = out / "REGISTER.md"
    path.write_text(text)
    return [info, path]
