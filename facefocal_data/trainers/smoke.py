"""`make train-smoke`: build → export → a real trainer's SFT on a tiny Qwen2.5-VL → evaluate.

Proves the path a lab takes, end to end, on this machine's CPUs: the demo build, a LLaMA-Factory
export of every curriculum stage, LLaMA-Factory's own `run_exp` training a tiny random Qwen2.5-VL
stage after stage (the loss must fall in each), its predict mode on each test split, and
`facefocal evaluate` scoring the predictions. The scores mean nothing (random weights, a few
steps); that every step accepts the previous one's output is the point. Runs in the toolkit's
venv; the trainer runs in its own venv (`--python`), as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..exporters.options import STAGES
from .keys import export_predictions

SMOKE_PIXELS = 224 * 224  # the export's and the trainer's image budget: 64 image tokens, CPU-sized
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "images"


def build_and_export(out: Path, images: Path) -> tuple[Path, Path]:
    """The demo build (template describer: no LLM) and one LLaMA-Factory folder of every stage."""
    from .. import build
    from ..config import Recipe
    from ..exporters import ExportOptions, export

    data, folder = out / "build", out / "export"
    build(images, data, recipe=Recipe.model_validate({"describe": {"describer": "template"}}), overwrite=True)
    for stage in STAGES:
        options = ExportOptions(stage=stage, name=f"ff_{stage}", max_pixels=SMOKE_PIXELS)
        export(data, "llamafactory", folder, options)
    return data, folder


def train(python: str, folder: Path, out: Path, method: str, steps: int) -> list[dict[str, Any]]:
    """The tiny model, then the curriculum, in the trainer's venv; one report per stage."""
    model = out / "tiny-qwen2.5-vl"
    _run([python, "-m", "facefocal_data.trainers.tiny_qwen", str(folder), str(model)])
    command = [python, "-m", "facefocal_data.trainers.llamafactory_sft", str(folder), "--model", str(model)]
    command += ["--out", str(out / "runs"), "--method", method, "--stages", *STAGES, "--steps", str(steps)]
    output = _run([*command, "--max-pixels", str(SMOKE_PIXELS)])
    prefix = "FACEFOCAL_STAGE "
    return [json.loads(line[len(prefix) :]) for line in output.splitlines() if line.startswith(prefix)]


def _run(command: list[str]) -> str:
    """A trainer-venv command; its log goes to the terminal, its stdout is returned."""
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout[-3000:]}")
    return done.stdout


def score(data: Path, folder: Path, report: dict[str, Any], out: Path) -> dict[str, Any]:
    """The stage's test predictions as `facefocal evaluate` lines, scored by the real CLI."""
    stage = report["stage"]
    lines = export_predictions(data, folder, f"ff_{stage}_test", Path(report["predictions"]))
    pred = out / "predictions" / f"{stage}.jsonl"
    pred.parent.mkdir(parents=True, exist_ok=True)
    pred.write_text("".join(json.dumps(line) + "\n" for line in lines))
    results = out / "evaluate" / stage
    cli = str(Path(sys.executable).with_name("facefocal"))
    args = [
        cli,
        "evaluate",
        str(data),
        "--pred",
        str(pred),
        "--split",
        "test",
        "--strict",
        "--resamples",
        "50",
    ]
    subprocess.run([*args, "--out", str(results)], check=True)
    return json.loads((results / "results.json").read_text())


def summary(report: dict[str, Any], results: dict[str, Any]) -> str:
    """One line per stage: the loss from first to last step, and what evaluate scored."""
    loss, overall = report["loss"], results["overall"]
    scores = {
        "au_macro_f1": overall.get("au", {}).get("macro_f1"),
        "emotion_accuracy": overall.get("emotion", {}).get("accuracy"),
        "age_mae": overall.get("age", {}).get("mae"),
        "bleu_4": overall.get("text", {}).get("bleu_4"),
    }
    shown = ", ".join(f"{name} {value:.3g}" for name, value in scores.items() if value is not None)
    return f"{report['stage']:9} loss {loss[0]:.3f} -> {loss[-1]:.3f}  scored {results['scored']}: {shown}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", required=True, help="the trainer venv's python")
    parser.add_argument("--out", type=Path, default=Path("out/train-smoke"))
    parser.add_argument("--images", type=Path, default=EXAMPLES)
    parser.add_argument("--steps", type=int, default=8, help="training steps per stage")
    # full by default: on random weights LoRA moves the loss only a little in 8 steps (it does not
    # train the embeddings); `--method lora` runs the LoRA config and its adapter chaining
    parser.add_argument("--method", choices=["full", "lora"], default="full")
    args = parser.parse_args(argv)
    start, out = time.monotonic(), args.out.resolve()
    data, folder = build_and_export(out, args.images)
    reports = train(args.python, folder, out, args.method, args.steps)
    lines = [summary(report, score(data, folder, report, out)) for report in reports]
    title = f"train-smoke, {args.method} (random tiny Qwen2.5-VL: the scores mean nothing)"
    print("\n".join([title, *lines]))
    fell = [r["stage"] for r in reports if r["loss"][-1] < r["loss"][0]]
    print(f"{time.monotonic() - start:.0f} s; loss fell in {len(fell)} of {len(reports)} stages")
    if len(reports) != len(STAGES) or len(fell) != len(reports):
        raise SystemExit("train-smoke failed: a stage did not run or its loss did not fall")


if __name__ == "__main__":
    main()
