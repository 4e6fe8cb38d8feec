"""`swift`: ms-swift's `messages` + `images` + `objects` with `<bbox>` placeholders.

Boxes go in `objects.bbox` in pixels of the stored image (`bbox_type: real`); ms-swift's
template converts them for the model (absolute resized pixels for Qwen2.5-VL, 0-1000 for
Qwen2/3-VL), so one export serves every model. Images are absolute paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import ExportOptions, conversation, write_image, write_jsonl
from .samples import Sample


def swift_rows(samples: Iterable[Sample], out: Path) -> Iterator[dict]:
    for sample in samples:
        messages = conversation(sample, None)  # ms-swift fills <bbox> itself, per model
        boxes = [list(box) for turn in sample.turns for box in turn.boxes]
        image = str((out / write_image(sample.record, out)).resolve())
        yield {
            "messages": messages,
            "images": [image],
            "objects": {"ref": [], "bbox": boxes, "bbox_type": "real"},
        }


def export_swift(samples: Iterable[Sample], out: Path, options: ExportOptions) -> list[Path]:
    data = out / f"{options.name}_{options.split or 'all'}.jsonl"
    write_jsonl(data, swift_rows(samples, out))
    register = out / "REGISTER.md"
    register.write_text(
        "# Train with ms-swift\n\n```bash\n"
        f"MAX_PIXELS={options.max_pixels} swift sft --model Qwen/Qwen2.5-VL-7B-Instruct \\\n"
        f"  --dataset {data.resolve()} --train_type lora\n```\n\n"
        "Boxes are in `objects.bbox` as pixels of the stored image (`bbox_type: real`); ms-swift converts\n"
        "them for the model (Qwen2.5-VL: resized pixels; Qwen2/3-VL: 0-1000).\n"
    )
    return [data, register]
