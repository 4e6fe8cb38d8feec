"""A build that fails during set-up leaves nothing that blocks the corrected rerun: a name the
registries do not know is refused before --out is touched, and a run that dies before its first
commit writes no manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.errors import ModelMissingError, RecipeError
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, TEMPLATE_RECIPE, note_case

FIXED = {**TEMPLATE_RECIPE, "regions": {"named": ["mouth"], "boxes": {"count": 0}}}

# (settings with one typo, the key path and the bad value the message names, one known name it lists)
TYPOS = {
    "detector": ({"detector": {"backend": "blazefase"}}, "detector.backend", "'blazefase'", "blazeface"),
    "landmarks": ({"landmarks": {"backend": "mediapip"}}, "landmarks.backend", "'mediapip'", "mediapipe"),
    "au": ({"labels": {"au": {"backend": "pyfet"}}}, "labels.au.backend", "'pyfet'", "mediapipe"),
    "emotion": ({"labels": {"emotion": {"backend": "facexx"}}}, "labels.emotion.backend", "'facexx'", "fer"),
    "age": ({"labels": {"age": {"backend": "agegendr"}}}, "labels.age.backend", "'agegendr'", "agegender"),
    "describer": ({"describe": {"describer": "templat"}}, "describe.describer", "'templat'", "template"),
    "source": ({"source": {"kind": "imagefolder"}}, "source.kind", "'imagefolder'", "image_folder"),
    "llm-model": (
        {"describe": {"describer": "llm", "llm": {"server": {"model": "smollm"}}}},
        "describe.llm.server.model",
        "'smollm'",
        "smollm2_135m",
    ),
}


def _with(settings: dict[str, Any]) -> dict[str, Any]:
    """FIXED with `settings` laid over it (one level of sections deep)."""
    return {**FIXED, **{k: {**FIXED.get(k, {}), **v} for k, v in settings.items()}}


def _manifest_parts(out: Path) -> int | None:
    path = out / "manifest.json"
    return len(json.loads(path.read_text())["parts"]) if path.exists() else None


@pytest.mark.parametrize("case", list(TYPOS))
def test_an_unknown_name_is_refused_before_the_output_and_the_fixed_recipe_builds_there(
    tmp_path: Path, case: str
) -> None:
    settings, key, value, known = TYPOS[case]
    out = tmp_path / "out"
    with pytest.raises(RecipeError) as failed:
        build(ASTRONAUT, out, recipe=Recipe.model_validate(_with(settings)))
    message = str(failed.value)
    assert key in message and value in message and known in message, message
    assert not out.exists()  # refused before the output folder was made
    if case in ("emotion", "source", "describer"):
        summary = build(ASTRONAUT, out, recipe=Recipe.model_validate(FIXED))  # no overwrite needed
        assert summary.faces == 1 and validate_dir(out).ok
    note_case("misuse", f"unknown name in {key}", "RecipeError naming it; --out untouched")


def test_cli_backend_typo_exits_2_without_traceback_and_the_fixed_recipe_builds(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def cli_build(settings: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(yaml.safe_dump(settings))
        command = [sys.executable, "-c", "from facefocal_data.cli import main; main()", "build"]
        args = [str(ASTRONAUT), "-o", str(out), "-r", str(recipe)]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=600)

    bad = cli_build(_with({"labels": {"emotion": {"backend": "facexx"}}}))
    assert bad.returncode == 2, bad.stderr
    assert "Traceback" not in bad.stderr
    assert "labels.emotion.backend" in bad.stderr and "'facexx'" in bad.stderr and "facex" in bad.stderr
    assert _manifest_parts(out) is None
    fixed = cli_build(FIXED)
    assert fixed.returncode == 0, fixed.stderr
    assert _manifest_parts(out) == 1 and validate_dir(out).ok
    note_case("misuse", "CLI build with a backend typo, then fixed", "exit 2, no traceback; then builds")


def test_a_run_that_dies_before_its_first_commit_leaves_no_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models missing: the build opens --out, then fails loading them; another recipe may follow."""
    out = tmp_path / "out"
    with monkeypatch.context() as env:
        env.setenv("FACEFOCAL_HOME", str(tmp_path / "empty-home"))
        with pytest.raises(ModelMissingError):
            build(ASTRONAUT, out, recipe=Recipe.model_validate(_with({"crop": {"size": 224}})))
    assert out.is_dir() and _manifest_parts(out) is None
    summary = build(ASTRONAUT, out, recipe=Recipe.model_validate(FIXED))
    assert summary.faces == 1 and _manifest_parts(out) == 1 and validate_dir(out).ok
    note_case("fault", "build dies before its first part (models missing)", "no manifest; any recipe reruns")


def test_a_manifest_listing_no_parts_does_not_claim_the_folder(tmp_path: Path) -> None:
    """Older versions left one after a failed set-up; it holds no data, so no --force is asked."""
    out = tmp_path / "out"
    build(ASTRONAUT, out, recipe=Recipe.model_validate(_with({"crop": {"size": 224}})))
    manifest = json.loads((out / "manifest.json").read_text())
    for part in manifest["parts"]:
        (out / part["shard"]["file"]).unlink()
    (out / "manifest.json").write_text(json.dumps({**manifest, "parts": []}))
    summary = build(ASTRONAUT, out, recipe=Recipe.model_validate(FIXED))
    assert summary.faces == 1 and validate_dir(out).ok
    assert json.loads((out / "manifest.json").read_text())["recipe_hash"] != manifest["recipe_hash"]


@pytest.mark.unit
def test_check_names_the_typo_a_build_would_fail_on() -> None:
    from facefocal_data.preflight import check

    with pytest.raises(RecipeError, match=r"labels\.age\.backend: unknown age estimator 'agegendr'"):
        check(ASTRONAUT, recipe=Recipe.model_validate(_with(TYPOS["age"][0])))
