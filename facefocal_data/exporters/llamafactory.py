"""`llamafactory`: sharegpt-style `messages` + `images`, registered in the folder's `dataset_info.json`.

One `<image>` token per image, in the first user turn; the system prompt is the first message
(LLaMA-Factory reads a leading `system` message as the sample's system). Every box follows
`--model` (default qwen2.5-vl: absolute pixels of the image as LLaMA-Factory and the processor
resize it, which is why the notes give `image_max_pixels` / `image_min_pixels` equal to the
export's `--max-pixels` / `--min-pixels`). Each split is its own dataset in one
`dataset_info.json`, merged when several exports share the folder. Image paths are relative to
the folder, which is LLaMA-Factory's `dataset_dir` (and so its `media_dir`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from .base import ExportOptions, box_format, conversation, write_image
from .files import names_by_split, split_of
from .samples import Sample

SUFFIX = ".json"
TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}


def rows(
    samples: Iterable[Sample], out: Path, options: ExportOptions
) -> Iterator[tuple[str, dict[str, Any]]]:
    fmt = box_format(options.model, options, trainer="llamafactory")
    for s in samples:
        messages = conversation(s, fmt, system=options.system or None)
        yield split_of(s.record), {"messages": messages, "images": [write_image(s.record, out)]}


def _dataset_info(out: Path, datasets: dict[str, dict[str, Any]]) -> Path:
    """The folder's `dataset_info.json`: this export's entries merged into what is there."""
    path = out / "dataset_info.json"
    try:
        info = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        raise FacefocalError(f"{path} is not JSON; export into a new folder") from None
    for name, dataset in datasets.items():
        info[name] = {
            "file_name": dataset["file"],
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {**TAGS, "system_tag": "system"},
        }
    path.write_text(json.dumps(info, indent=1))
    return path


def register(out: Path, options: ExportOptions, datasets: dict[str, dict[str, Any]]) -> list[Path]:
    info = _dataset_info(out, datasets)
    by_split = names_by_split(datasets)
    evaluation = f"eval_dataset: {by_split['validation']}\n" if "validation" in by_split else ""
    pixels = (
        f"image_max_pixels: {options.max_pixels}  # = the export's --max-pixels: the boxes assume it\n"
        f"image_min_pixels: {options.min_pixels}  # = the export's --min-pixels\n"
        if options.model == "qwen2.5-vl"
        else "# boxes are 0-1000: any image_max_pixels works\n"
    )
    text = (
        "# Register with LLaMA-Factory\n\n"
        f"Every split is a dataset in `dataset_info.json` ({', '.join(datasets)}). Point LLaMA-Factory at\n"
        "this folder (image paths are relative to it), train on the train split only:\n\n"
        f"```yaml\ndataset_dir: {out.resolve()}\ndataset: {by_split.get('train', '')}\n"
        f"{evaluation}{_model(options.model)}{pixels}```\n\n"
        "The processor keeps the pixel budget the model ships with (Qwen2.5-VL: 3136..12845056);\n"
        "the Qwen2.5-VL boxes are computed for exactly that pipeline.\n"
    )
    path = out / "REGISTER.md"
    path.write_text(text)
    return [info, path]


def _model(model: str) -> str:
    weights, template = {
        "qwen2-vl": ("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl"),
        "qwen3-vl": ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl_nothink"),
    }.get(model, ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_vl"))
    return f"model_name_or_path: {weights}\ntemplate: {template}\n"
