"""The trainers' OWN dataset loaders on every split of one export folder (`pytest -m trainers`).

LLaMA-Factory and ms-swift each live in a venv of their own (`make test-trainers` installs them;
their pins conflict with ours and with each other's), so each test starts that venv's python on
`facefocal_data.trainers.loader_checks`: the trainer's code reads and tokenizes the export, and
every sample is checked there (image tokens against the image grid, `<image>` tags, ms-swift's
`objects`, every box in every question and answer in the model's convention for the size the
model sees). Without the venvs these tests skip, unless FACEFOCAL_REQUIRE_TRAINERS=1.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from facefocal_data.exporters import ExportOptions, export
from facefocal_data.trainers.keys import sample_keys, write_keys

from .conftest import EXAMPLES, TEMPLATE_RECIPE

pytestmark = pytest.mark.trainers
REPO = Path(__file__).resolve().parents[1]
VENVS = {
    "llamafactory": ("FACEFOCAL_TRAIN_VENV", ".venv-train"),
    "swift": ("FACEFOCAL_SWIFT_VENV", ".venv-swift"),
}
# boxes in questions (au, region), in answers (box regions name their box), over several turns
STAGES = ("au", "region", "dialogue")
SPLITS = ("train", "validation", "test")
MAX_PIXELS = 100352  # below the 448-pixel crops: every box is rescaled on its way to the model
REPORT = "FACEFOCAL_LOADER "


def _python(trainer: str) -> Path | None:
    variable, default = VENVS[trainer]
    python = Path(os.environ.get(variable, REPO / default)) / "bin" / "python"
    return python if python.exists() else None


def _require(trainer: str) -> Path:
    """The trainer venv's python; skip (or fail, with FACEFOCAL_REQUIRE_TRAINERS=1) without it."""
    python = _python(trainer)
    if python is None:
        variable, default = VENVS[trainer]
        reason = f"no {trainer} venv at {default} (${variable}); `make test-trainers` installs it"
        if os.environ.get("FACEFOCAL_REQUIRE_TRAINERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return python


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from facefocal_data import build
    from facefocal_data.config import Recipe

    out = tmp_path_factory.mktemp("trainers") / "build"
    build(EXAMPLES, out, recipe=Recipe.model_validate(TEMPLATE_RECIPE))
    return out


def _export(build: Path, fmt: str, out: Path) -> dict[str, Path]:
    """Every stage into one folder, a file per split; the keys file of each dataset beside it."""
    keys = {}
    for stage in STAGES:
        export(build, fmt, out, ExportOptions(stage=stage, name=f"ff_{stage}", max_pixels=MAX_PIXELS))
        for split in SPLITS:
            name = f"ff_{stage}_{split}"
            keys[name] = write_keys(sample_keys(build, stage, split), out.parent / "keys" / f"{name}.jsonl")
    return keys


def _check(
    python: Path, trainer: str, folder: Path, model: Path, keys: dict[str, Path], *flags: str
) -> dict[str, dict[str, Any]]:
    """Run the loader check in the trainer's venv; its report per dataset."""
    datasets = [f"{name}={path}" for name, path in keys.items()]
    command = [str(python), "-m", "facefocal_data.trainers.loader_checks", trainer, str(folder)]
    command += ["--model", str(model), "--max-pixels", str(MAX_PIXELS), *flags, "--dataset", *datasets]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = [line[len(REPORT) :] for line in done.stdout.splitlines() if line.startswith(REPORT)]
    return {report["dataset"]: report for report in map(json.loads, lines)}


def _assert_clean(reports: dict[str, dict[str, Any]], keys: dict[str, Path]) -> None:
    """Every dataset read whole (no row dropped), every sample without a problem."""
    assert set(reports) == set(keys)
    for report in reports.values():
        assert report["rows"] == report["raw_rows"] == report["keys"], report
        assert report["problems"] == [] and report["tag_problems"] == [], report
    assert all(reports[f"ff_{stage}_train"]["rows"] > 0 for stage in STAGES)


@pytest.fixture(scope="module")
def tiny_model(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Qwen2.5-VL, made in whichever trainer venv there is (both read it)."""
    python = _python("llamafactory") or _require("swift")
    folder = tmp_path_factory.mktemp("tiny")
    _export(demo_build, "llamafactory", folder / "texts")
    command = [
        str(python),
        "-m",
        "facefocal_data.trainers.tiny_qwen",
        str(folder / "texts"),
        str(folder / "model"),
    ]
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, timeout=600)
    return folder / "model"


def test_llamafactory_get_dataset_reads_every_split(
    demo_build: Path, tiny_model: Path, tmp_path: Path
) -> None:
    python = _require("llamafactory")
    keys = _export(demo_build, "llamafactory", tmp_path / "lf")
    _assert_clean(_check(python, "llamafactory", tmp_path / "lf", tiny_model, keys), keys)


def test_llamafactory_check_sees_a_wrong_pixel_budget(
    demo_build: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """The check is not vacuous: trained with another image_max_pixels, the boxes are wrong."""
    python = _require("llamafactory")
    keys = _export(demo_build, "llamafactory", tmp_path / "lf")
    one = {"ff_dialogue_test": keys["ff_dialogue_test"]}
    flags = ("--max-pixels", str(MAX_PIXELS * 2))  # the last --max-pixels wins
    report = _check(python, "llamafactory", tmp_path / "lf", tiny_model, one, *flags)["ff_dialogue_test"]
    assert report["problem_count"] == report["rows"] > 0 and "boxes" in report["problems"][0]


def test_shipped_llamafactory_configs_parse(demo_build: Path, tiny_model: Path, tmp_path: Path) -> None:
    """examples/train/llamafactory/*.yaml through LLaMA-Factory's own parser: every key known."""
    python = _require("llamafactory")
    _export(demo_build, "llamafactory", tmp_path / "lf")
    command = [str(python), "-m", "facefocal_data.trainers.llamafactory_sft", str(tmp_path / "lf")]
    command += ["--model", str(tiny_model), "--out", str(tmp_path / "out"), "--check-configs"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    checked = json.loads(done.stdout.split("FACEFOCAL_CONFIGS ", 1)[1])
    assert checked == ["predict.yaml", "qwen2_5vl_full.yaml", "qwen2_5vl_lora.yaml"]


@pytest.mark.parametrize(("template", "convention"), [("qwen2_5_vl", "resized"), ("qwen2_vl", "norm1000")])
def test_swift_load_dataset_strict_reads_every_split(
    demo_build: Path, tiny_model: Path, tmp_path: Path, template: str, convention: str
) -> None:
    python = _require("swift")
    keys = _export(demo_build, "swift", tmp_path / "sw")
    flags = ("--template", template, "--convention", convention)
    _assert_clean(_check(python, "swift", tmp_path / "sw", tiny_model, keys, *flags), keys)
