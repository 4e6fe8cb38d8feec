"""The curriculum through LLaMA-Factory's own SFT entry point (`run_exp`), stage after stage.

Runs in the LLaMA-Factory venv. Each stage trains from the previous stage's checkpoint (the
curriculum), on that stage's train split only, with `run_exp` exactly as `llamafactory-cli train`
calls it; then `run_exp` again in predict mode writes `generated_predictions.jsonl` for the test
split. One process runs every stage, so LLaMA-Factory and torch are imported once (the smoke test
must fit in minutes on two cores). Prints one JSON line per stage: the losses it logged.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

# the few steps a smoke run takes; a real run's settings are in examples/train/
SMOKE = {
    "finetuning_type": "full",
    "template": "qwen2_vl",
    "cutoff_len": 1024,
    "per_device_train_batch_size": 2,
    "learning_rate": 3.0e-3,
    "lr_scheduler_type": "constant",
    "logging_steps": 1,
    "report_to": "none",
    "save_strategy": "no",
    "preprocessing_num_workers": 1,
    "dataloader_num_workers": 0,
    "overwrite_cache": True,
    "bf16": False,
    "seed": 0,
}


def stage_args(
    export: Path, model: str, stage: str, out: Path, steps: int, max_pixels: int
) -> dict[str, Any]:
    """`llamafactory-cli train` settings for one stage: the export's train file, its pixel budget
    (the boxes in the text assume it), the previous stage's weights."""
    return {
        **SMOKE,
        "stage": "sft",
        "do_train": True,
        "model_name_or_path": model,
        "dataset_dir": str(export),
        "dataset": f"ff_{stage}_train",
        "image_max_pixels": max_pixels,
        "output_dir": str(out),
        "overwrite_output_dir": True,
        "max_steps": steps,
    }


def predict_args(export: Path, model: Path, stage: str, out: Path, max_pixels: int) -> dict[str, Any]:
    """Predict mode on the stage's test file: greedy generation, a short answer (random weights)."""
    return {
        **SMOKE,
        "stage": "sft",
        "do_predict": True,
        "predict_with_generate": True,
        "model_name_or_path": str(model),
        "dataset_dir": str(export),
        "eval_dataset": f"ff_{stage}_test",
        "image_max_pixels": max_pixels,
        "output_dir": str(out),
        "overwrite_output_dir": True,
        "per_device_eval_batch_size": 8,
        "max_new_tokens": 24,
        "do_sample": False,
    }


def losses(run: Path) -> list[float]:
    """The training loss at every logged step, from LLaMA-Factory's `trainer_log.jsonl`."""
    rows = [json.loads(line) for line in (run / "trainer_log.jsonl").read_text().splitlines() if line]
    return [row["loss"] for row in rows if "loss" in row]


def run_curriculum(
    export: Path, model: str, stages: list[str], out: Path, steps: int, max_pixels: int
) -> None:
    """Train every stage from the last one's weights, predict its test split, report the losses."""
    from llamafactory.train.tuner import run_exp

    for stage in stages:
        train_dir, predict_dir = out / stage / "model", out / stage / "predict"
        run_exp(stage_args(export, model, stage, train_dir, steps, max_pixels))
        run_exp(predict_args(export, train_dir, stage, predict_dir, max_pixels))
        report = {"stage": stage, "loss": losses(train_dir)}
        report["predictions"] = str(predict_dir / "generated_predictions.jsonl")
        print("FACEFOCAL_STAGE " + json.dumps(report), flush=True)
        model = str(train_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("export", type=Path, help="a llamafactory export holding ff_<stage>_{train,test}")
    parser.add_argument("--model", required=True, help="the starting checkpoint folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stages", nargs="+", required=True)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--max-pixels", type=int, required=True, help="the export's --max-pixels")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    run_curriculum(
        args.export.resolve(), args.model, args.stages, args.out.resolve(), args.steps, args.max_pixels
    )


if __name__ == "__main__":
    main()
