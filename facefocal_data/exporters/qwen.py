"""`qwen2.5-vl`, `qwen2-vl`, `qwen3-vl`: the official qwen-vl-finetune JSONL.

Rows are ``{"image": "images/<id>.jpg", "conversations": [{"from": "human", "value": "<image>\\n…"},
{"from": "gpt", "value": "…"}, …], "system": "…"}`` with one `<image>` tag, in the first human turn.
Every box, in questions and answers, is in absolute pixels of the resized image for Qwen2.5-VL
(computed with the same --min-pixels/--max-pixels you train with) and 0-1000 for Qwen2-VL /
Qwen3-VL. qwen-vl-finetune hard-codes its system message, so the system prompt rides along as a
`system` key (ignored there) and the notes say where to set it. Image paths are relative to the
export folder (`data_path`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .base import ExportOptions, box_format, sharegpt_row
from .files import names_by_split, split_of
from .samples import Sample

SUFFIX = ".jsonl"
WEIGHTS = {"qwen2.5-vl": "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2-vl": "Qwen/Qwen2-VL-7B-Instruct"}
WEIGHTS["qwen3-vl"] = "Qwen/Qwen3-VL-8B-Instruct"


def rows(
    samples: Iterable[Sample], out: Path, options: ExportOptions
) -> Iterator[tuple[str, dict[str, Any]]]:
    fmt = box_format(options.model, options)
    for sample in samples:
        yield split_of(sample.record), sharegpt_row(sample, out, fmt, options)


def register(out: Path, options: ExportOptions, datasets: dict[str, dict[str, Any]]) -> list[Path]:
    """REGISTER.md: a `data_dict` entry per split file in the folder, and the matching pixel budget."""
    root = out.resolve()
    variable = {name: re.sub(r"\W", "_", name).upper() for name in datasets}
    entries = "\n".join(
        f'{variable[name]} = {{"annotation_path": "{root / d["file"]}", "data_path": "{root}"}}'
        for name, d in datasets.items()
    )
    listed = ", ".join(f'"{name}": {variable[name]}' for name in datasets)
    train = names_by_split(datasets).get("train", "")
    budget = f"--min_pixels {options.min_pixels} --max_pixels {options.max_pixels}"
    system = (
        f'\nSet `system_message = "{options.system}"` in `qwenvl/data/data_processor.py`'
        " (`preprocess_qwen_2_visual`): qwen-vl-finetune does not read a per-row system prompt.\n"
        if options.system
        else ""
    )
    text = (
        f"# Register with qwen-vl-finetune ({options.model})\n\n"
        f"In `qwenvl/data/__init__.py` (image paths are relative to `data_path`, this folder):\n\n"
        f"```python\n{entries}\ndata_dict = {{..., {listed}}}\n```\n\n"
        "Train on the train split only, with the pixel budget the boxes were computed with"
        + (
            " (Qwen2-VL / Qwen3-VL boxes are 0-1000, any budget works)"
            if options.model != "qwen2.5-vl"
            else ""
        )
        + ":\n\n```bash\ntorchrun ... qwenvl/train/train_qwen.py"
        f" --model_name_or_path {WEIGHTS[options.model]} \\\n"
        f"  --dataset_use {train} {budget} ...\n```\n{system}"
    )
    path = out / "REGISTER.md"
    path.write_text(text)
    return [path]
