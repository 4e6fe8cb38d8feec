"""Engines: the same input and recipe give the same rows in one process or in several."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.errors import ModelMissingError

from .conftest import TEMPLATE_RECIPE


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
    assert [r["record_id"] for r in a] == [r["record_id"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert ra["regions"] == rb["regions"] and ra["emotion"] == rb["emotion"] and ra["age"] == rb["age"]


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
