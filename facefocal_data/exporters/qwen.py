"""`qwen2.5-vl`, `qwen2-vl`, `qwen3-vl`: the official qwen-vl-finetune JSONL.

Rows are ``{"image": "images/<id>.jpg", "conversations": [{"from": "human", "value": "<image>\\n…"},
{"from": "gpt", "value": "…"}, …]}`` with one `<image>` tag, in the first human turn. Boxes in
the text are absolute pixels of the resized image for Qwen2.5-VL (computed with the same
--min-pixels/--max-pixels you train with) and 0-1000 for Qwen2-VL / Qwen3-VL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import SHAREGPT, ExportOptions, box_format, conversation, write_image, write_jsonl
from .samples import Sample


def qwen_rows(samples: Iterable[Sample], out: Path, model: str, options: ExportOptions) -> Iterator[dict]:
    fmt = box_format(model, options)
    for s in samples:
        yield {"image": write_image(s.record, out), "conversations": conversation(s, fmt, *SHAREGPT)}


def export_qwen(samples: Iterable[Sample], out: Path, model: str, options: ExportOptions) -> list[Path]:
    split = options.split or "all"
    data = out / f"{options.name}_{split}.jsonl"
    write_jsonl(data, qwen_rows(samples, out, model, options))
    register = out / "REGISTER.md"
    register.write_text(
        f"# Register with qwen-vl-finetune ({model})\n\n"
        "In `qwenvl/data/__init__.py`:\n\n```python\n"
        f'FACE_FOCAL = {{"annotation_path": "{data.resolve()}", "data_path": "{out.resolve()}"}}\n'
        f'data_dict = {{..., "face_focal": FACE_FOCAL}}\n```\n\n'
        "Train with the same pixel budget the boxes were computed with:\n\n```bash\n"
        f"torchrun ... qwenvl/train/train_qwen.py --dataset_use face_focal \\\n"
        f"  --min_pixels {options.min_pixels} --max_pixels {options.max_pixels} ...\n```\n"
    )
    return [data, register]
