"""`llamafactory`: sharegpt-style `messages` + `images`, and the `dataset_info.json` entry.

One `<image>` token per image, in the first user turn. Boxes in the text follow `--model`
(default qwen2.5-vl: absolute pixels of the resized image). LLaMA-Factory pre-resizes images
above `image_max_pixels`; our crops (448² by default) are below its default (768²), so keep
`image_max_pixels` ≥ the crop's pixels and the boxes stay right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .base import ExportOptions, box_format, conversation, write_image, write_json_array
from .samples import Sample


def export_llamafactory(samples: Iterable[Sample], out: Path, options: ExportOptions) -> list[Path]:
    fmt = box_format(options.model, options)
    rows = ({"messages": conversation(s, fmt), "images": [write_image(s.record, out)]} for s in samples)
    split = options.split or "all"
    data = out / f"{options.name}_{split}.json"
    write_json_array(data, rows)
    info = {
        f"{options.name}_{split}": {
            "file_name": data.name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "system_tag": "system",
            },
        }
    }
    info_path = out / "dataset_info.json"
    info_path.write_text(json.dumps(info, indent=1))
    register = out / "REGISTER.md"
    register.write_text(
        "# Register with LLaMA-Factory\n\nMerge `dataset_info.json` into LLaMA-Factory's"
        f" `data/dataset_info.json` (or set `dataset_dir: {out.resolve()}`), then in the training YAML:"
        f"\n\n```yaml\ndataset: {options.name}_{split}\ntemplate: qwen2_vl\n"
        f"image_max_pixels: {max(options.max_pixels, 448 * 448)}"
        "  # >= the crops' pixels: no pre-resize, boxes stay right\n"
        "model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\n```\n"
    )
    return [data, info_path, register]
