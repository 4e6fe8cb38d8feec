"""Exactly-once resume: a build killed with SIGKILL partway, rerun, has every face exactly once."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, TEMPLATE_RECIPE

SETTINGS = {
    **TEMPLATE_RECIPE,
    "regions": {"named": ["mouth"], "boxes": {"count": 0}},
    "output": {"shard_rows": 2},
}


def _parts(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["parts"])
    except (OSError, ValueError):
        return 0


def _record_ids(out: Path) -> list[str]:
    return [
        r
        for p in sorted((out / "shards").glob("*.parquet"))
        for r in pq.read_table(p)["record_id"].to_pylist()
    ]


def test_sigkill_partway_then_rerun_gives_each_face_exactly_once(tmp_path: Path, group_photo: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i in range(10):
        shutil.copy(ASTRONAUT, images / f"astronaut_{i:02d}.png")
    for i in range(3):
        shutil.copy(group_photo, images / f"group_{i}.png")
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(SETTINGS))
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from facefocal_data.cli import main; main()", "build", str(images)]
    process = subprocess.Popen([*command, "-o", str(out), "-r", str(recipe_file)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _parts(out) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _parts(out)
    assert killed_at >= 2, "the build should have committed parts before the kill"
    first = set(_record_ids(out))
    clean = tmp_path / "clean"
    build(images, clean, recipe=Recipe.model_validate(SETTINGS))
    expected = sorted(_record_ids(clean))  # the ids of an uninterrupted build
    assert len(expected) == len(set(expected)) == 10 + 3 * 6 and 0 < len(first) < len(expected), (
        "kill lands partway"
    )

    assert not list((clean / "errors").glob("*.parquet"))
    rerun = build(images, out, recipe=Recipe.model_validate(SETTINGS))
    assert rerun.skipped_done >= killed_at  # finished work is not redone
    ids = _record_ids(out)
    assert sorted(ids) == expected  # every face, each exactly once
    assert first <= set(ids)
    assert validate_dir(out).ok  # every shard readable, hashes and counts match the manifest
