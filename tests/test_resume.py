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
import pytest
import yaml

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, TEMPLATE_RECIPE, note_case
from .test_describe import FakeServer, echo

# copies of one image stand for many inputs here, so duplicate detection is off
SETTINGS = {
    **TEMPLATE_RECIPE,
    "source": {"dedupe": False},
    "regions": {"named": ["mouth"], "boxes": {"count": 0}},
    "output": {"shard_rows": 2},
}


def _cli_build(
    images: Path, out: Path, settings: dict, pipe: bool = False, more: tuple[str, ...] = ()
) -> subprocess.Popen:
    """`facefocal build` in its own process, with `settings` as its recipe file."""
    recipe_file = out.parent / f"{out.name}-recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(settings))
    command = [sys.executable, "-c", "from facefocal_data.cli import main; main()", "build", str(images)]
    stderr = subprocess.PIPE if pipe else subprocess.DEVNULL
    command += ["-o", str(out), "-r", str(recipe_file), *more]
    return subprocess.Popen(command, stderr=stderr, text=True)


def _running(pid: int) -> bool:
    """Alive and not a zombie (one that exited but is not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return found


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


ENGINES = [
    pytest.param((), id="local"),
    pytest.param(("--engine", "processes", "--workers", "2"), id="workers-write", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_sigkill_partway_then_rerun_gives_each_face_exactly_once(
    tmp_path: Path, group_photo: Path, engine: tuple[str, ...]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i in range(10):
        shutil.copy(ASTRONAUT, images / f"astronaut_{i:02d}.png")
    for i in range(3):
        shutil.copy(group_photo, images / f"group_{i}.png")
    out = tmp_path / "out"
    process = _cli_build(images, out, SETTINGS, more=engine)
    deadline = time.monotonic() + 120
    while _parts(out) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30  # worker processes notice their driver is gone and exit
    while (alive := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive, f"worker processes outlived their driver: {alive}"
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
    note_case("fault", "kill -9 partway", "rerun: every face exactly once")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_a_build_mid_llm_batch_is_quick_clean_and_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: signal.Signals
) -> None:
    """The batch being described is dropped, not written with fallback text; a rerun finishes it."""

    def slow_echo(body: dict) -> tuple[int, object]:
        time.sleep(0.5)
        return echo(body)

    server = FakeServer(slow_echo)
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    images = tmp_path / "images"
    images.mkdir()
    for i in range(16):
        shutil.copy(ASTRONAUT, images / f"astronaut_{i:02d}.png")
    settings = {  # a batch of 8 faces x 4 texts x 0.5 s over 2 slots: ~8 s if the stop waited for it
        "source": {"dedupe": False},
        "regions": {"named": ["mouth", "eye_left", "forehead"], "boxes": {"count": 0}},
        "output": {"shard_rows": 1},
        "describe": {
            "describer": "llm",
            "llm": {"base_url": server.url, "model": "fake", "retries": 0, "mode": "region"},
        },
    }
    out = tmp_path / "out"
    process = _cli_build(images, out, settings, pipe=True)
    deadline = time.monotonic() + 120
    while _parts(out) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # well inside the second batch's texts
    sent = time.monotonic()
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    took = time.monotonic() - sent
    assert process.returncode == 130, stderr[-2000:]
    assert "rerun the same command to resume" in stderr
    assert took < 5, f"stopping took {took:.1f} s"
    done = _parts(out)
    assert 1 <= done < 16
    rows = [r for p in (out / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert all(r["regions"][0]["description"]["describer"] == "llm" for r in rows)  # nothing half-described

    summary = build(images, out, recipe=Recipe.model_validate(settings))
    server.close()
    assert summary.skipped_done == done and summary.images == 16 - done
    rows = [r for p in (out / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert len(rows) == len({r["record_id"] for r in rows}) == 16
    assert all(r["regions"][0]["description"]["describer"] == "llm" for r in rows)
    assert validate_dir(out).ok
    note_case("fault", f"{stop.name} while the LLM describes", "stops in ~1 s, exit 130, resumable")


def test_a_second_build_on_the_same_folder_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    from facefocal_data.errors import OutputConflictError
    from facefocal_data.shards import LOCK

    images = tmp_path / "images"
    images.mkdir()
    for i in range(24):
        shutil.copy(ASTRONAUT, images / f"a{i:02d}.png")
    out = tmp_path / "out"
    first = _cli_build(images, out, SETTINGS)
    deadline = time.monotonic() + 60
    while not (out / LOCK).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(OutputConflictError, match="another build is writing to") as refused:
        build(images, out, recipe=Recipe.model_validate(SETTINGS))
    assert "pid" in str(refused.value)
    assert first.wait(timeout=120) == 0
    assert not (out / LOCK).exists()  # a clean stop leaves no lock
    assert build(images, out, recipe=Recipe.model_validate(SETTINGS)).skipped_done == 24

    # a build killed outright leaves the file, but not the lock: the next run simply proceeds
    killed = _cli_build(images, tmp_path / "k", SETTINGS)
    while not (tmp_path / "k" / LOCK).exists() and killed.poll() is None:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    after_kill = build(images, tmp_path / "k", recipe=Recipe.model_validate(SETTINGS))
    assert after_kill.images + after_kill.skipped_done == 24
    note_case("fault", "a second build on the same output folder", "refused (lock); no stale lock")


def test_disk_full_mid_run_stops_cleanly_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import facefocal_data.shards as shards
    from facefocal_data.errors import OutputWriteError

    images = tmp_path / "images"
    images.mkdir()
    for i in range(12):
        shutil.copy(ASTRONAUT, images / f"a{i:02d}.png")
    real_write = shards.pq.write_table
    calls = {"n": 0}

    def filling_disk(table, where, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 3:
            Path(where).write_bytes(b"PAR1 half a file")  # what a full disk leaves behind
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(table, where, **kwargs)

    monkeypatch.setattr(shards.pq, "write_table", filling_disk)
    recipe = Recipe.model_validate({**SETTINGS, "output": {"shard_rows": 1}})
    out = tmp_path / "out"
    with pytest.raises(OutputWriteError, match=r"No space left on device.*rerun the same command"):
        build(images, out, recipe=recipe)
    assert validate_dir(out).ok  # what was committed is whole and listed
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no half-written file left
    committed = set(_record_ids(out))
    monkeypatch.setattr(shards.pq, "write_table", real_write)  # space freed
    build(images, out, recipe=recipe)
    ids = _record_ids(out)
    assert len(ids) == len(set(ids)) == 12 and committed <= set(ids)
    assert validate_dir(out).ok
    note_case("fault", "disk full (ENOSPC injected into the shard write)", "exit 2, rerun completes")
