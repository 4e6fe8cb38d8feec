"""Engines: the same input and recipe give the same rows in one process or in several."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.dataset import Build
from facefocal_data.errors import ModelMissingError
from facefocal_data.llm.server import free_port
from facefocal_data.paths import facefocal_home
from facefocal_data.validate import validate_dir

from . import ray_cluster
from .conftest import ASTRONAUT, TEMPLATE_RECIPE


def _rows(out: Path) -> list[dict]:
    return [r for p in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_worker_processes_write_the_same_rows_as_one_process(mixed_folder: Path, tmp_path: Path) -> None:
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    one = build(mixed_folder, tmp_path / "one", recipe=recipe)
    two = build(mixed_folder, tmp_path / "two", recipe=recipe, workers=2)
    assert (one.faces, one.errors, one.no_face) == (two.faces, two.errors, two.no_face) == (7, 6, 1)
    a, b = _rows(tmp_path / "one"), _rows(tmp_path / "two")
    assert [r["record_id"] for r in a] == [r["record_id"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert ra["regions"] == rb["regions"] and ra["emotion"] == rb["emotion"] and ra["age"] == rb["age"]
        assert ra["landmarks_478"] == rb["landmarks_478"] and ra["image"] == rb["image"]


def _errors(out: Path) -> list[tuple[str, str]]:
    return [(e.source_path, e.code) for e in Build(out).errors()]


@pytest.mark.slow
def test_worker_processes_write_the_parts_and_send_back_no_pixels(mixed_folder: Path, tmp_path: Path) -> None:
    """Phrase-bank text, validation and Parquet written by the workers: the same rows, bytes
    included, as one process; a duplicate in another worker's batch is dropped as locally."""
    images = tmp_path / "images"
    shutil.copytree(mixed_folder, images, symlinks=True)
    shutil.copy(ASTRONAUT, images / "z_copy_of_a.png")  # the second batch: a duplicate across batches
    recipe = Recipe.model_validate({"output": {"shard_rows": 3}})  # the default (phrases) describer
    local = build(images, tmp_path / "local", recipe=recipe)
    workers = build(images, tmp_path / "workers", recipe=recipe, engine="processes", workers=2)
    assert _rows(tmp_path / "local") == _rows(tmp_path / "workers") and local.faces == workers.faces == 7
    assert _errors(tmp_path / "local") == _errors(tmp_path / "workers")
    assert ("z_copy_of_a.png", "E_DUPLICATE_IMAGE") in _errors(tmp_path / "workers")
    crops = sum(len(r["image"]["bytes"]) for r in _rows(tmp_path / "workers"))
    assert 0 < workers.transfer_bytes < crops / 4  # the crops stayed where they were labelled
    assert workers.driver_seconds > 0 and "write" in workers.stage_seconds
    assert validate_dir(tmp_path / "workers").ok
    assert not [p for p in (tmp_path / "workers").rglob("*") if p.name.startswith(".")]


@pytest.mark.slow
def test_a_part_a_worker_wrote_but_no_commit_took_is_removed_by_the_rerun(
    mixed_folder: Path, tmp_path: Path
) -> None:
    from facefocal_data.shards import PendingPart, stage_part
    from facefocal_data.staging import recipe_stamp

    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    out = tmp_path / "out"
    first = build(mixed_folder, out, recipe=recipe, engine="processes", workers=1, limit=2)
    rows = _rows(out)
    assert first.faces == len(rows) == 7
    # what a worker leaves when the driver dies between the worker's write and the commit
    orphan = stage_part(out, recipe_stamp(recipe), PendingPart(rows=rows, sources=["a_astronaut.png"]))
    assert orphan.shard is not None and (out / orphan.shard.file).is_file()
    assert _rows(out) == rows and validate_dir(out).ok  # never listed: no reader sees it
    again = build(mixed_folder, out, recipe=recipe, engine="processes", workers=1)
    assert again.skipped_done == 2 and not (out / orphan.shard.file).exists()
    ids = [r["record_id"] for r in _rows(out)]
    assert len(ids) == len(set(ids)) == 7 and validate_dir(out).ok


def test_tasks_grow_with_the_input_so_parts_are_fewer_and_larger() -> None:
    from facefocal_data.engines import BATCH_SIZE, MAX_TASK_IMAGES, task_images

    assert task_images(18, 1) == task_images(100, 3) == BATCH_SIZE  # small builds: batch-sized tasks
    assert task_images(512, 4) == 4 * BATCH_SIZE  # >= 4 tasks per worker, in whole batches
    assert task_images(10_000_000, 64) == MAX_TASK_IMAGES


def test_a_setup_error_in_the_workers_is_the_same_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mixed_folder: Path
) -> None:
    monkeypatch.setenv("FACEFOCAL_HOME", str(tmp_path / "empty-home"))  # spawned workers inherit it
    with pytest.raises(ModelMissingError, match="facefocal models fetch"):
        build(mixed_folder, tmp_path / "o", recipe=Recipe.model_validate(TEMPLATE_RECIPE), workers=2)


@pytest.mark.slow
def test_ray_engine_gives_the_same_ids_and_labels_as_local(mixed_folder: Path, tmp_path: Path) -> None:
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    local = build(mixed_folder, tmp_path / "local", recipe=recipe)
    on_ray = build(mixed_folder, tmp_path / "ray", recipe=recipe, engine="ray", workers=2)
    assert (local.faces, local.errors, local.no_face) == (on_ray.faces, on_ray.errors, on_ray.no_face)
    a, b = _rows(tmp_path / "local"), _rows(tmp_path / "ray")
    assert a == b  # written by the actors, committed by the driver: the same rows, bytes included
    assert on_ray.transfer_bytes > 0
    listening = {addr for pid in _descendants(os.getpid()) for addr in ray_cluster.listening(pid)}
    assert listening and listening <= set(ray_cluster.LOOPBACK)  # the local Ray is on 127.0.0.1 only


def _descendants(root: int) -> list[int]:
    """Every process started (directly or not) by `root`: the local Ray's servers and workers."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_manifest_records_each_run_with_stage_times_and_counts(tmp_path: Path, mixed_folder: Path) -> None:
    import json

    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    first = build(mixed_folder, tmp_path / "o", recipe=recipe, limit=4)
    second = build(mixed_folder, tmp_path / "o", recipe=recipe, workers=2)
    runs = json.loads((tmp_path / "o" / "manifest.json").read_text())["runs"]
    assert [r["workers"] for r in runs] == [1, 2] and runs[0]["engine"] == "local"
    assert runs[0]["counts"]["images"] == first.images == 4 and runs[1]["counts"]["skipped_done"] == 4
    assert runs[1]["counts"]["faces"] == second.faces
    assert {"decode", "detect", "label", "describe", "validate", "commit"} <= set(runs[0]["stage_seconds"])
    assert all(v >= 0 for r in runs for v in r["stage_seconds"].values())


def test_the_ray_token_comes_from_where_ray_users_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facefocal_data.errors import RayClusterError
    from facefocal_data.ray_join import token_source

    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert token_source(None) is None
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("head-token\n")  # where `ray start` keeps it
    assert token_source(None) == str(tmp_path / ".ray" / "auth_token")
    given = tmp_path / "given"
    given.write_text("head-token")
    assert token_source(given) == f"--ray-token-file {given}"
    assert Path(os.environ["RAY_AUTH_TOKEN_PATH"]) == given  # handed to Ray as Ray's own variable
    monkeypatch.setenv("RAY_AUTH_TOKEN", "head-token")
    assert token_source(None) == "$RAY_AUTH_TOKEN"
    with pytest.raises(RayClusterError, match="keep one"):
        token_source(given)
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    (tmp_path / "empty").write_text("\n")
    for bad, reason in ((tmp_path / "missing", "No such file"), (tmp_path / "empty", "is empty")):
        with pytest.raises(RayClusterError, match=reason):
            token_source(bad)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs the [ray] extra")
def test_an_unreachable_ray_address_is_one_clear_line(tmp_path: Path, mixed_folder: Path) -> None:
    port = free_port()  # a port nothing listens on
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("describe: {describer: template}\n")
    cli = [sys.executable, "-c", "from facefocal_data.cli import main; main()", "build", str(mixed_folder)]
    cli += ["-o", str(tmp_path / "out"), "--recipe", str(recipe), "--engine", "ray"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_ADDRESS=f"127.0.0.1:{port}", HOME=str(tmp_path), FACEFOCAL_HOME=str(facefocal_home()))
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused (is `ray start --head` "
        "running there, and is the port open to this machine?)"
    ]
    assert not (tmp_path / "out").exists()


def test_a_ray_node_names_itself_when_it_lacks_the_models_or_cannot_see_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facefocal_data import engines
    from facefocal_data.sources import SourceItem
    from facefocal_data.stages import WorkItem, stage_decode

    monkeypatch.setattr(engines, "_WORKER", {})
    monkeypatch.setenv("FACEFOCAL_HOME", str(tmp_path / "empty-home"))
    labeler = engines.RayLabeler(Recipe.model_validate(TEMPLATE_RECIPE).model_dump_json())
    item = SourceItem(key="x.jpg", path=tmp_path / "only-on-the-driver" / "x.jpg", dataset="d")
    with pytest.raises(ModelMissingError, match=r"^Ray node .*`facefocal models fetch` on that node"):
        labeler({"item": [engines._item_json(item)]})
    work = WorkItem(item)
    stage_decode([work])
    engines.name_unseen_paths(work, "10.0.0.5 (gpu-3)")
    event = work.events[0]
    assert event.reason.endswith(
        f"Ray node 10.0.0.5 (gpu-3) cannot see {item.path} (every node must see the input paths)"
    )
    assert event.code == "E_MISSING_FILE"


def test_a_build_runs_with_its_gc_thresholds_and_gives_the_callers_back(
    tmp_path: Path, mixed_folder: Path
) -> None:
    """A notebook's own collector settings survive a build, even one that fails part-way."""
    import gc

    from facefocal_data.engines import BUILD_GC_THRESHOLDS

    seen: list[tuple[int, int, int]] = []
    before = gc.get_threshold()
    gc.set_threshold(1234, 5, 6)
    try:
        build(
            mixed_folder,
            tmp_path / "o",
            recipe=Recipe.model_validate(TEMPLATE_RECIPE),
            limit=2,
            on_progress=lambda *_: seen.append(gc.get_threshold()),
        )
        assert seen and set(seen) == {BUILD_GC_THRESHOLDS} and gc.get_threshold() == (1234, 5, 6)

        def stop(*_: object) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            build(
                mixed_folder, tmp_path / "p", recipe=Recipe.model_validate(TEMPLATE_RECIPE), on_progress=stop
            )
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)
