"""`llava`: Face-LLaVA's training records, with 68-point landmarks as `.npy` files.

A JSON array of ``{"id", "image", "landmarks_2d", "conversations"}``; `landmarks_2d` points at a
68×2 float32 array of iBUG-68 points in pixels of the stored crop (Face-LLaVA's loader divides
by 256 and flattens to 136 values). Boxes in the text are LLaVA-style 0-1 fractions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..record import FaceRecord
from .base import SHAREGPT, ExportOptions, conversation, write_image, write_json_array
from .samples import Sample


def _fraction_box(box: Sequence[float], record: FaceRecord) -> list[float]:
    x1, y1, x2, y2 = box
    return [
        round(x1 / record.width, 3),
        round(y1 / record.height, 3),
        round(x2 / record.width, 3),
        round(y2 / record.height, 3),
    ]


def write_landmarks(record: FaceRecord, out: Path) -> str:
    rel = f"landmarks/{record.record_id}.npy"
    path = out / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(record.landmarks_68, dtype=np.float32).reshape(68, 2))
    return rel


def llava_rows(samples: Iterable[Sample], out: Path) -> Iterator[dict]:
    for index, sample in enumerate(samples):
        yield {
            "id": index,
            "image": write_image(sample.record, out),
            "landmarks_2d": write_landmarks(sample.record, out),
            "conversations": conversation(sample, _fraction_box, *SHAREGPT),
        }


def export_llava(samples: Iterable[Sample], out: Path, options: ExportOptions) -> list[Path]:
    data = out / f"{options.name}_{options.split or 'all'}.json"
    write_json_array(data, llava_rows(samples, out))
    register = out / "REGISTER.md"
    register.write_text(
        "# Train Face-LLaVA\n\nIn `scripts/finetune_facellava.sh`:\n\n```bash\n"
        f"--data_path {data.resolve()} --image_folder {out.resolve()}\n```\n\n"
        "`landmarks_2d` files are 68x2 float32 iBUG-68 points in pixels of the stored crop.\n"
    )
    return [data, register]
