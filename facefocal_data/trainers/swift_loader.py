"""One export dataset through ms-swift's `load_dataset(strict=True)` and a Qwen template's encode.

`strict=True` makes ms-swift raise on any row its preprocessor cannot read, instead of dropping it.
The template (`qwen2_5_vl`: boxes in pixels of the resized image; `qwen2_vl`: 0-1000) fills the
`<bbox>` placeholders from `objects`, resizes the image with MAX_PIXELS as `swift sft` does, and
expands the image into tokens; the check reads that encoded sample. Image paths are relative to
the export folder, so this runs from it, as REGISTER.md says to. Runs in the ms-swift venv.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .box_checks import check_sample, report

PLACEHOLDER = "<bbox>"


def _dataset_file(export: Path, dataset: str) -> Path:
    entries = json.loads((export / "custom_dataset_info.json").read_text())
    entry = next(e for e in entries if e["dataset_name"] == dataset)
    return export / entry["dataset_path"]


def object_problems(row: dict[str, Any], key: dict[str, Any]) -> list[str]:
    """The row as ms-swift loaded it: one `<image>` per image, and `objects` holding the row's
    crop-pixel boxes, one per `<bbox>` placeholder, in order."""
    texts = [m["content"] for m in row["messages"]]
    objects = row.get("objects") or {}
    tags, placeholders = sum(t.count("<image>") for t in texts), sum(t.count(PLACEHOLDER) for t in texts)
    problems = []
    if not tags == len(row["images"]) == 1:
        problems.append(f"{tags} <image> tags, {len(row['images'])} images")
    if objects.get("bbox_type") != "real" or objects.get("bbox") != key["boxes"]:
        problems.append(f"objects {objects} for boxes {key['boxes']}")
    if placeholders != len(key["boxes"]):
        problems.append(f"{placeholders} placeholders for {len(key['boxes'])} boxes")
    return problems


def check_swift(
    export: Path, model: str, dataset: str, keys: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """Load `dataset` strictly, encode every row with the template, check rows and samples."""
    os.environ["MAX_PIXELS"] = str(args.max_pixels)
    os.chdir(export)
    from swift import get_model_processor, get_template, load_dataset

    _, processor = get_model_processor(model, load_model=False, model_type="qwen2_5_vl")
    template = get_template(processor, template_type=args.template, max_length=8192)
    template.set_mode("train")
    path = _dataset_file(export, dataset)
    rows = list(load_dataset([str(path)], strict=True, num_proc=1, load_from_cache_file=False)[0])
    raw = [line for line in path.read_text().splitlines() if line.strip()]
    tokenizer = processor.tokenizer
    pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")

    def problems() -> Iterator[list[str]]:
        for row, key in zip(rows, keys, strict=False):  # counts are compared in the report
            found = object_problems(row, key)
            encoded = template.encode(json.loads(json.dumps(row)))  # a fresh copy: encode edits it
            text = tokenizer.decode(encoded["input_ids"], skip_special_tokens=False)
            grid = encoded["image_grid_thw"][0].tolist()
            yield found + check_sample(text, grid, encoded["input_ids"].count(pad), key, args.convention)

    return report(dataset, problems(), {"raw_rows": len(raw), "keys": len(keys), "tag_problems": []})
