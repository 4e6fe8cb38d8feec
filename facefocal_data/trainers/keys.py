"""What each exported row is, recovered from the build: its record, region and boxes.

Export rows carry only an image and messages (what a trainer reads), yet a trainer's predictions
must be scored per (record, region), and a trainer-side check must know the crop-pixel boxes a row's
text was written from. An export writes a split's samples in a fixed order (records in manifest
order, `samples()` per record with the export's seed), so the same walk over the build gives, row
for row, the keys. Runs in the toolkit's venv (it reads shards). `python -m
facefocal_data.trainers.keys` turns a LLaMA-Factory predict run into the JSONL `facefocal evaluate`
reads (docs/TRAINING.md).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import FacefocalError
from ..exporters.base import iter_records
from ..exporters.samples import samples


@dataclass
class SampleKey:
    image: str  # the row's image, as the export names it ("images/<file>")
    record_id: str
    region_id: str  # the region the last turn asks about ("face": a face-level question)
    width: int  # the crop, whose pixels `boxes` are in
    height: int
    boxes: list[list[int]]  # every box of the conversation, in the order the text holds them


def sample_keys(build: Path, stage: str, split: str, seed: int = 0) -> list[SampleKey]:
    """The keys of the rows `facefocal export --stage STAGE --seed SEED` writes for `split`."""
    keys = []
    for record in iter_records(Path(build), split, pixels=False):
        for sample in samples(record, stage, seed):
            keys.append(
                SampleKey(
                    image=f"images/{record.image_path}",
                    record_id=record.record_id,
                    region_id=sample.turns[-1].region_id or "face",
                    width=record.width,
                    height=record.height,
                    boxes=[list(box) for turn in sample.turns for box in turn.boxes],
                )
            )
    return keys


def write_keys(keys: list[SampleKey], path: Path) -> Path:
    """Keys as JSON lines, for a check that runs in a trainer's venv (which cannot read shards)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(key)) + "\n" for key in keys))
    return path


def predictions(keys: list[SampleKey], rows: list[dict[str, Any]], generated: Path) -> list[dict[str, Any]]:
    """A trainer's generated answers (LLaMA-Factory's `generated_predictions.jsonl`: `predict` and
    `label` per test row, in order) as `facefocal evaluate` lines. Each `label` must be the row's
    last answer: a prediction scored against the wrong region would be worse than none."""
    lines = [json.loads(line) for line in generated.read_text().splitlines() if line.strip()]
    if not len(lines) == len(rows) == len(keys):
        raise FacefocalError(f"{generated}: {len(lines)} predictions for {len(rows)} rows, {len(keys)} keys")
    out = []
    for number, (line, row, key) in enumerate(zip(lines, rows, keys, strict=True), 1):
        if line["label"].strip() != row["messages"][-1]["content"].strip() or row["images"] != [key.image]:
            raise FacefocalError(f"{generated} line {number} is not the export's row {number}")
        out.append({"record_id": key.record_id, "region_id": key.region_id, "text": line["predict"]})
    return out


def export_predictions(build: Path, export: Path, dataset: str, generated: Path) -> list[dict[str, Any]]:
    """`generated` (a predict run on `dataset` of the LLaMA-Factory folder `export`) as evaluate
    lines; the folder's `export.json` says the dataset's split and stage, `prompts.json` the seed."""
    held = json.loads((export / "export.json").read_text())["datasets"]
    if dataset not in held:
        raise FacefocalError(f"{export} holds no dataset {dataset!r}; it holds {', '.join(held)}")
    entry, seed = held[dataset], json.loads((export / "prompts.json").read_text())["seed"]
    rows = json.loads((export / entry["file"]).read_text())
    return predictions(sample_keys(build, entry["stage"], entry["split"], seed), rows, generated)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LLaMA-Factory predictions as `facefocal evaluate` lines.")
    parser.add_argument("build", type=Path, help="the build the export was made from")
    parser.add_argument("export", type=Path, help="the llamafactory export folder")
    parser.add_argument("dataset", help="the eval_dataset the predict run read, e.g. ff_region_test")
    parser.add_argument("generated", type=Path, help="its generated_predictions.jsonl")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    lines = export_predictions(args.build, args.export, args.dataset, args.generated)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"{len(lines)} predictions -> {args.out}")


if __name__ == "__main__":
    main()
