"""One export dataset through LLaMA-Factory's `get_dataset(stage="sft")` and its SFT collator.

The sample the check reads is what LLaMA-Factory would train on: its parser fills the arguments
(the `qwen2_vl` template, `image_max_pixels` = the export's --max-pixels), `load_tokenizer` loads
the tokenizer and transformers' Qwen processor, `get_dataset` converts and tokenizes the rows (the
`<image>` tag expanded to image tokens), and the collator computes the image grid from LLaMA-Factory's
own pre-resize and the processor. Runs in the LLaMA-Factory venv.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .box_checks import check_sample, report

IMAGE_PAD = "<|image_pad|>"


def _raw_rows(export: Path, dataset: str) -> list[dict[str, Any]]:
    info = json.loads((export / "dataset_info.json").read_text())[dataset]
    return json.loads((export / info["file_name"]).read_text())


def _tag_problems(rows: list[dict[str, Any]]) -> list[str]:
    """Each row: one `<image>` tag per image, in the first user turn (LLaMA-Factory's rule)."""
    problems = []
    for number, row in enumerate(rows):
        tags = [m["content"].count("<image>") for m in row["messages"]]
        first_user = next(i for i, m in enumerate(row["messages"]) if m["role"] == "user")
        if sum(tags) != len(row["images"]) or tags[first_user] != len(row["images"]):
            problems.append(f"row {number}: {sum(tags)} <image> tags for {len(row['images'])} images")
    return problems


def check_llamafactory(
    export: Path, model: str, dataset: str, keys: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """Tokenize `dataset` as `llamafactory-cli train` would, and check every sample."""
    from llamafactory.data import (
        SFTDataCollatorWith4DAttentionMask,
        get_dataset,
        get_template_and_fix_tokenizer,
    )
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    raw = _raw_rows(export, dataset)
    with tempfile.TemporaryDirectory() as scratch:
        model_args, data_args, training_args, *_ = get_train_args(
            {
                "stage": "sft",
                "do_train": True,
                "model_name_or_path": model,
                "dataset_dir": str(export),
                "dataset": dataset,
                "template": args.template,
                "image_max_pixels": args.max_pixels,
                "cutoff_len": 8192,
                "output_dir": scratch,
                "overwrite_cache": True,
                "preprocessing_num_workers": 1,
                "report_to": "none",
            }
        )
        tokenizer_module = load_tokenizer(model_args)
        tokenizer = tokenizer_module["tokenizer"]
        template = get_template_and_fix_tokenizer(tokenizer, data_args)
        module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)
        collator = SFTDataCollatorWith4DAttentionMask(template=template, model=None, **tokenizer_module)
        samples = list(module["train_dataset"]) if len(raw) else []
    pad = tokenizer.convert_tokens_to_ids(IMAGE_PAD)

    def problems() -> Iterator[list[str]]:
        for sample, key in zip(samples, keys, strict=False):  # counts are compared in the report
            batch = collator([sample])
            ids = batch["input_ids"][0].tolist()
            text = tokenizer.decode(sample["input_ids"], skip_special_tokens=False)
            grid = batch["image_grid_thw"][0].tolist()
            yield check_sample(text, grid, ids.count(pad), key, args.convention)

    extra = {"raw_rows": len(raw), "keys": len(keys), "tag_problems": _tag_problems(raw)}
    return report(dataset, problems(), extra)
