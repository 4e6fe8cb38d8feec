"""`llava`: Face-LLaVA's training records, with 68-point landmarks as `.npy` files.

A JSON array of ``{"id", "image", "landmarks_2d", "conversations"}``; `landmarks_2d` points at a
68×2 float32 array of iBUG-68 points. Face-LLaVA crops faces to 256×256 (`tools/crop_face.py`)
and its loader divides the points by 256, so by default they are written in a 256-pixel frame
of the crop (`--landmark-side 256`, under `landmarks_256/`): point / 256 is then the point's
fraction of the image at any crop size. `--landmark-side 0` writes crop pixels instead
(`landmarks_crop/`). Boxes in the text are LLaVA-style 0-1 fractions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..record import FaceRecord
from .base import ExportOptions, sharegpt_row
from .files import names_by_split, split_of
from .samples import Sample

SUFFIX = ".json"


def _fraction_box(box: Sequence[float], record: FaceRecord) -> list[float]:
    x1, y1, x2, y2 = box
    return [
        round(x1 / record.width, 3),
        round(y1 / record.height, 3),
        round(x2 / record.width, 3),
        round(y2 / record.height, 3),
    ]


def landmarks_in_frame(record: FaceRecord, side: int) -> np.ndarray:
    """The 68 points scaled from crop pixels to a `side`-pixel frame (0: crop pixels as stored)."""
    points = np.asarray(record.landmarks_68, dtype=np.float64).reshape(68, 2)
    if side:
        points = points * np.array([side / record.width, side / record.height])
    return points.astype(np.float32)


def write_landmarks(record: FaceRecord, out: Path, side: int) -> str:
    """The points as `.npy`, once per record; the folder names the frame, so exports with
    different frames into one folder never read each other's files."""
    rel = f"landmarks_{side or 'crop'}/{record.record_id}.npy"
    path = out / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, landmarks_in_frame(record, side))
    return rel


def rows(
    samples: Iterable[Sample], out: Path, options: ExportOptions
) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, sample in enumerate(samples):
        landmarks = write_landmarks(sample.record, out, options.landmark_side)
        row = sharegpt_row(sample, out, _fraction_box, options, landmarks_2d=landmarks)
        yield split_of(sample.record), {"id": index, **row}


def register(out: Path, options: ExportOptions, datasets: dict[str, dict[str, Any]]) -> list[Path]:
    root = out.resolve()
    by_split = names_by_split(datasets)
    train = datasets[by_split["train"]]["file"] if "train" in by_split else ""
    files = ", ".join(d["file"] for d in datasets.values())
    system = (
        f'\nSet the conversation template\'s system to "{options.system}" (LLaVA reads no per-row system;\n'
        "each row carries it as `system`).\n"
        if options.system
        else ""
    )
    text = (
        "# Train Face-LLaVA\n\nIn `scripts/finetune_facellava.sh` (image and landmark paths are relative to\n"
        f"`--image_folder`, this folder; train on the train split only):\n\n```bash\n"
        f"--data_path {root / train} --image_folder {root}\n```\n\n"
        f"Split files: {files}.\n\n{_landmark_note(options)}{system}"
    )
    path = out / "REGISTER.md"
    path.write_text(text)
    return [path]


def _landmark_note(options: ExportOptions) -> str:
    if options.landmark_side:
        frame = f"a {options.landmark_side}-pixel frame of the crop"
        warn = "" if options.landmark_side == 256 else " (not 256: rescale, or Face-LLaVA's 1/256 is off)"
        return f"`landmarks_2d` files are 68x2 float32 iBUG-68 points in {frame}{warn}.\n"
    return "`landmarks_2d` files are 68x2 float32 iBUG-68 points in pixels of the stored crop.\n"
