"""What every exporter shares: writing crops once, rendering `<bbox>` placeholders, message layouts.

Exporters read a build through `dataset.Build` (`iter_records` here is that reader under the
name earlier code imports)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..dataset import Build
from ..errors import FacefocalError
from ..record import FaceRecord
from .coords import llamafactory_size, norm1000_box, qwen25_box, resized_box
from .options import LABEL_STUDIO_FILES, ExportOptions, ExportSummary
from .textboxes import render

__all__ = ["LABEL_STUDIO_FILES", "ExportOptions", "ExportSummary", "iter_records", "write_image"]
BoxFormat = Callable[[Sequence[float], FaceRecord], list[int] | list[float]]
SHAREGPT = (("human", "gpt"), ("from", "value"), "<image>\n")  # roles, keys, image tag (LLaVA / Qwen)


def iter_records(
    data_dir: Path, split: str | None = None, include_rejected: bool = False, pixels: bool = True
) -> Iterator[FaceRecord]:
    """`Build(data_dir).records(...)`: the records of a build, streamed (NotABuildError at once
    when `data_dir` is not a build)."""
    return Build(data_dir).records(split, pixels=pixels, include_rejected=include_rejected)


def write_image(record: FaceRecord, out: Path) -> str:
    """The crop under `images/`, once per record; returns its path relative to `out`."""
    rel = f"images/{record.image_path}"
    path = out / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(record.image_bytes)
    return rel


def box_format(model: str, options: ExportOptions, trainer: str = "qwen-vl-finetune") -> BoxFormat:
    """How a crop-pixel box is written in the text for `model`, as `trainer` resizes the image:
    Qwen2.5-VL reads absolute pixels of the image the model sees, so LLaMA-Factory's own
    pre-resize counts; 0-1000 does not depend on the size."""
    if model == "qwen2.5-vl" and trainer == "llamafactory":

        def lf_box(box: Sequence[float], r: FaceRecord) -> list[int]:
            new_size = llamafactory_size(r.height, r.width, options.min_pixels, options.max_pixels)
            return resized_box(box, r.height, r.width, *new_size)

        return lf_box
    if model == "qwen2.5-vl":
        return lambda box, r: qwen25_box(box, r.height, r.width, options.min_pixels, options.max_pixels)
    if model in ("qwen2-vl", "qwen3-vl"):
        return lambda box, r: norm1000_box(box, r.height, r.width)
    raise FacefocalError(
        f"unknown model {model!r} for box coordinates; choose qwen2.5-vl, qwen2-vl or qwen3-vl"
    )


def write_json_array(path: Path, rows: Iterable[dict]) -> None:
    """A JSON array written one element at a time, for trainers that read a single JSON file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for number, row in enumerate(rows):
            handle.write(("," if number else "") + "\n" + json.dumps(row, ensure_ascii=False))
        handle.write("\n]\n")


def conversation(
    sample: Any,
    fmt: BoxFormat | None,
    roles: tuple[str, str] = ("user", "assistant"),
    keys: tuple[str, str] = ("role", "content"),
    image_tag: str = "<image>",
    system: str | None = None,
) -> list[dict[str, str]]:
    """A sample's turns as messages (after a `system` message when given); the image tag opens the
    first user turn; every box, in the question and in the answer, rendered by `fmt` (None keeps
    the `<bbox>` placeholders, for trainers that fill them in)."""
    role, text = keys
    messages = [{role: "system", text: system}] if system else []
    for i, turn in enumerate(sample.turns):
        user, answer = turn.user, turn.assistant
        if fmt is not None:
            asked, answered = turn.split_boxes()
            user = render(user, asked, lambda box: fmt(box, sample.record))
            answer = render(answer, answered, lambda box: fmt(box, sample.record))
        messages.append({role: roles[0], text: (image_tag if i == 0 else "") + user})
        messages.append({role: roles[1], text: answer})
    return messages


def sharegpt_row(
    sample: Any, out: Path, fmt: BoxFormat, options: ExportOptions, **extra: Any
) -> dict[str, Any]:
    """A qwen-vl-finetune / LLaVA row: image, `extra` keys, human/gpt turns; these trainers take no
    per-row system prompt, so it rides along as a `system` key (their notes say where to set it)."""
    row = {
        "image": write_image(sample.record, out),
        **extra,
        "conversations": conversation(sample, fmt, *SHAREGPT),
    }
    return {**row, "system": options.system} if options.system else row
