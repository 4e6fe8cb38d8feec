"""Real filesystem faults, not injected ones: a full disk, an output folder made read-only mid-run
and an input file this user may not read.

Root reads and writes through any permission bit, and CI runs as root, so the build runs in a
user namespace as an ordinary user (``unshare --user``); the full disk is a real size-capped tmpfs
in a private mount namespace (``unshare --mount``). Where the kernel or container forbids
namespaces the tests skip, saying so; the injected-ENOSPC test in test_resume.py still runs.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from facefocal_data.shards import LOCK
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, note_case
from .test_resume import SETTINGS, _parts, _record_ids

# every image is its own part, so a fault lands between committed parts
ONE_ROW_PARTS = {**SETTINGS, "output": {"shard_rows": 1}}
# enough faces that the build is still writing when the disk fills (12 took ~1 s with today's models)
FULL_DISK_IMAGES = 48
AS_USER = ["unshare", "--user", "--map-user=1000", "--map-group=1000"] if os.geteuid() == 0 else []
OWN_MOUNTS = ["unshare", "--mount", "--propagation", "private"]
if os.geteuid() != 0:
    OWN_MOUNTS[1:1] = ["--user", "--map-root-user"]


@functools.cache
def works(prefix: tuple[str, ...]) -> bool:
    if not prefix:
        return True
    try:
        return subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def needs(prefix: list[str]) -> None:
    if not works(tuple(prefix)):
        pytest.skip(f"this machine does not allow `{' '.join(prefix)}`; the fault cannot be made for real")


def build_command(images: Path, recipe_file: Path) -> list[str]:
    cli = [sys.executable, "-c", "from facefocal_data.cli import main; main()"]
    return [*cli, "build", str(images), "-r", str(recipe_file)]


def copies(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        shutil.copy(ASTRONAUT, folder / f"a{i:02d}.png")
    return folder


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def write_recipe(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


def test_a_real_full_disk_mid_run_keeps_committed_parts_and_a_rerun_finishes(tmp_path: Path) -> None:
    needs(OWN_MOUNTS)
    images = copies(tmp_path / "images", FULL_DISK_IMAGES)
    (tmp_path / "mnt").mkdir()
    spec = {
        "mount": str(tmp_path / "mnt"),
        "command": build_command(images, write_recipe(tmp_path / "recipe.yaml", ONE_ROW_PARTS)),
        "after_full": str(tmp_path / "after_full"),
        "after_rerun": str(tmp_path / "after_rerun"),
        "result": str(tmp_path / "result.json"),
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    driver = Path(__file__).with_name("fill_disk_driver.py")
    subprocess.run([*OWN_MOUNTS, sys.executable, str(driver), str(tmp_path / "spec.json")], check=True)
    result = json.loads((tmp_path / "result.json").read_text())
    rc, stderr = result["first"]
    assert result["parts_before_full"] >= 1
    assert rc == 2, stderr
    assert "No space left on device" in stderr and "rerun the same command" in stderr
    assert "Traceback" not in stderr
    after_full = tmp_path / "after_full"
    assert validate_dir(after_full).ok and not leftovers(after_full)
    committed = set(_record_ids(after_full))
    assert 1 <= len(committed) < FULL_DISK_IMAGES
    rc, stderr = result["second"]
    assert rc == 0, stderr
    after_rerun = tmp_path / "after_rerun"
    ids = _record_ids(after_rerun)
    assert len(ids) == len(set(ids)) == FULL_DISK_IMAGES and committed <= set(ids)
    assert validate_dir(after_rerun).ok and not leftovers(after_rerun)
    assert not (after_rerun / LOCK).exists()
    note_case("fault", "disk full (real size-capped tmpfs)", "exit 2, rerun completes")


def test_output_folder_made_read_only_mid_run(tmp_path: Path) -> None:
    needs(AS_USER)
    images = copies(tmp_path / "images", 12)
    out = tmp_path / "out"
    command = [*AS_USER, *build_command(images, write_recipe(tmp_path / "r.yaml", ONE_ROW_PARTS))]
    command += ["-o", str(out)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while _parts(out) < 1 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    folders = [out, out / "shards", out / "errors"]
    for folder in folders:
        folder.chmod(0o555)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 2, stderr
    assert "Permission denied" in stderr and "rerun the same command" in stderr
    assert "Traceback" not in stderr
    # a part caught between its write and its rename cannot be removed from a read-only folder: it
    # stays hidden and unlisted (no reader sees it) until the rerun clears it
    assert validate_dir(out).ok and all(p.name.startswith(".") for p in leftovers(out))
    committed = set(_record_ids(out))
    assert 1 <= len(committed) < 12
    for folder in folders:
        folder.chmod(0o755)
    rerun = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ids = _record_ids(out)
    assert len(ids) == len(set(ids)) == 12 and committed <= set(ids)
    assert validate_dir(out).ok and not leftovers(out) and not (out / LOCK).exists()
    note_case("fault", "output folder made read-only mid-run", "exit 2, rerun completes")


def test_an_unreadable_input_file_gives_e_permission_and_the_rest_builds(tmp_path: Path) -> None:
    needs(AS_USER)
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ASTRONAUT, images / "good.png")
    locked = images / "locked.png"
    locked.write_bytes(ASTRONAUT.read_bytes()[::-1])  # other bytes: not a duplicate of good.png
    locked.chmod(0)
    out = tmp_path / "out"
    command = [*AS_USER, *build_command(images, write_recipe(tmp_path / "r.yaml", SETTINGS))]
    done = subprocess.run([*command, "-o", str(out)], stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    errors = [e for p in (out / "errors").glob("*.parquet") for e in pq.read_table(p).to_pylist()]
    assert [(e["source_path"], e["code"]) for e in errors] == [("locked.png", "E_PERMISSION")]
    rows = [r for p in (out / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert [r["source_path"] for r in rows] == ["good.png"]
    note_case("input", "locked.png (chmod 000, read as an ordinary user)", "E_PERMISSION")


def test_every_command_says_plainly_when_its_output_folder_is_not_writable(tmp_path: Path) -> None:
    needs(AS_USER)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    images = copies(tmp_path / "images", 1)
    recipe = write_recipe(tmp_path / "r.yaml", SETTINGS)
    build = subprocess.run(
        [*AS_USER, *build_command(images, recipe), "-o", str(locked / "out")], capture_output=True, text=True
    )
    assert build.returncode == 2 and f"Permission denied: {locked / 'out'}" in build.stderr, build.stderr
    good = tmp_path / "good"
    assert (
        subprocess.run([*build_command(images, recipe), "-o", str(good)], capture_output=True).returncode == 0
    )
    cli = [*AS_USER, sys.executable, "-c", "from facefocal_data.cli import main; main()"]
    for command in (
        ["export", str(good), "-f", "qwen2.5-vl", "-o"],
        ["report", str(good), "-o"],
        ["card", str(good), "-o"],
        ["evaluate", str(good), "--baseline", "template", "--resamples", "10", "-o"],
    ):
        done = subprocess.run(
            [*cli, *command, str(locked / "x")], capture_output=True, text=True, timeout=300
        )
        said = done.stdout + done.stderr
        assert done.returncode == 2 and "Permission denied" in said and "Traceback" not in said, (
            command,
            said,
        )
    note_case(
        "misuse",
        "an output folder that is not writable (build, export, report, card, evaluate)",
        "exit 2, one line",
    )
