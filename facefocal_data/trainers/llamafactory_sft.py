"""The curriculum through LLaMA-Factory's own SFT entry point (`run_exp`), stage after stage.

Runs in the LLaMA-Factory venv. Each stage trains from the previous stage's weights (the
curriculum; LoRA carries one adapter through the stages), on that stage's train split only, with
`run_exp` as `llamafactory-cli train` calls it and the configs shipped in examples/train/ (the
smoke changes only steps, batch, precision and the pixel budget); then `run_exp` in predict mode
writes `generated_predictions.jsonl` for the test split. One process runs every stage, so
LLaMA-Factory and torch are imported once (the smoke must fit in minutes on two cores). Prints
one JSON line per stage: the losses it logged.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..exporters.options import STAGES

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "train" / "llamafactory"
# all a CPU smoke run changes in the shipped configs: a few steps of a tiny model, no evaluation
SMOKE = {
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "lr_scheduler_type": "constant",
    "warmup_ratio": 0.0,
    "logging_steps": 1,
    "save_strategy": "no",
    "eval_strategy": "no",
    "plot_loss": False,
    "bf16": False,
    "preprocessing_num_workers": 1,
    "dataloader_num_workers": 0,
    "overwrite_cache": True,
    "report_to": "none",
    "seed": 0,
}
LEARNING_RATE = {"lora": 1.0e-2, "full": 3.0e-3}  # random weights: a rate that shows in 8 steps


def config(name: str) -> dict[str, Any]:
    """A shipped config (examples/train/llamafactory/NAME), as `llamafactory-cli train` reads it."""
    import yaml

    return yaml.safe_load((CONFIGS / name).read_text())


def weights(method: str, base: str, trained: str | None) -> dict[str, Any]:
    """Where a stage starts: LoRA keeps the base model and carries one adapter from stage to
    stage; full fine-tuning starts from the previous stage's model."""
    if method == "lora":
        return {"model_name_or_path": base, "adapter_name_or_path": trained}
    return {"model_name_or_path": trained or base}


def stage_args(
    method: str, export: Path, start: dict[str, Any], stage: str, out: Path, steps: int, pixels: int
) -> dict[str, Any]:
    """The shipped config for `method`, on the stage's train file, with the smoke's overrides."""
    args = {**config(f"qwen2_5vl_{method}.yaml"), **SMOKE, **start}
    args.pop("eval_dataset")
    args.update(dataset_dir=str(export), dataset=f"ff_{stage}_train", output_dir=str(out), max_steps=steps)
    return {**args, "image_max_pixels": pixels, "learning_rate": LEARNING_RATE[method]}


def predict_args(export: Path, start: dict[str, Any], stage: str, out: Path, pixels: int) -> dict[str, Any]:
    """The shipped predict config on the stage's test file: greedy, short (random weights)."""
    args = {**config("predict.yaml"), **start, "dataset_dir": str(export), "eval_dataset": f"ff_{stage}_test"}
    args.update(output_dir=str(out), image_max_pixels=pixels, max_new_tokens=24, bf16=False)
    return {**args, "preprocessing_num_workers": 1, "overwrite_cache": True, "report_to": "none"}


def losses(run: Path) -> list[float]:
    """The training loss at every logged step, from LLaMA-Factory's `trainer_log.jsonl`."""
    rows = [json.loads(line) for line in (run / "trainer_log.jsonl").read_text().splitlines() if line]
    return [row["loss"] for row in rows if "loss" in row]


def run_curriculum(
    export: Path, base: str, method: str, stages: list[str], out: Path, steps: int, pixels: int
) -> None:
    """Train every stage from the last one's weights, predict its test split, report the losses."""
    from llamafactory.train.tuner import run_exp

    trained = None
    for stage in stages:
        train_dir, predict_dir = out / stage / "model", out / stage / "predict"
        run_exp(stage_args(method, export, weights(method, base, trained), stage, train_dir, steps, pixels))
        trained = str(train_dir)
        run_exp(predict_args(export, weights(method, base, trained), stage, predict_dir, pixels))
        report = {"stage": stage, "method": method, "loss": losses(train_dir)}
        report["predictions"] = str(predict_dir / "generated_predictions.jsonl")
        print("FACEFOCAL_STAGE " + json.dumps(report), flush=True)


def check_configs(export: Path, model: str, out: Path) -> list[str]:
    """Every shipped config through LLaMA-Factory's own argument parser (as `llamafactory-cli`
    reads it), with only the model, the export folder and CPU precision swapped in: a key this
    LLaMA-Factory does not know, or settings it refuses, fail here, not on a lab's GPUs."""
    from llamafactory.hparams import get_train_args

    checked = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        args = {**config(path.name), "model_name_or_path": model, "dataset_dir": str(export)}
        get_train_args({**args, "output_dir": str(out / path.stem), "bf16": False})
        checked.append(path.name)
    return checked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("export", type=Path, help="a llamafactory export holding ff_<stage>_{train,test}")
    parser.add_argument("--model", required=True, help="the starting checkpoint folder")
    parser.add_argument("--method", choices=["lora", "full"], default="lora")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stages", nargs="+", default=list(STAGES))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--max-pixels", type=int, default=50176, help="the export's --max-pixels")
    parser.add_argument("--check-configs", action="store_true", help="only parse the shipped configs")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.check_configs:
        print("FACEFOCAL_CONFIGS " + json.dumps(check_configs(args.export.resolve(), args.model, args.out)))
        return
    export, out = args.export.resolve(), args.out.resolve()
    run_curriculum(export, args.model, args.method, args.stages, out, args.steps, args.max_pixels)


if __name__ == "__main__":
    main()
