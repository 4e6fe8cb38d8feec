"""Recipes: the default loads, mistakes are named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from facefocal_data.config import Recipe, default_recipe_path, load_recipe
from facefocal_data.errors import RecipeError

from .conftest import note_case

pytestmark = pytest.mark.unit  # no models, servers or network (make test-unit)


def test_default_recipe_file_equals_the_built_in_defaults() -> None:
    assert load_recipe(default_recipe_path()) == Recipe()
    assert load_recipe() == Recipe()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("crop:\n  size: 450\n", "multiple of 28"),
        ("detector:\n  min_scor: 0.5\n", "detector.min_scor"),
        ("regions:\n  named: [mouth, ear]\n", "unknown regions"),
        ("labels:\n  au_vocabulary: [AU99]\n", "unknown action unit AU99"),
        ("regions:\n  custom:\n    x: {landmarks: [500]}\n", "0..477"),
        ("regions:\n  boxes:\n    fixed: [[10, 10, 5, 20]]\n", "x1<x2"),
        ("- just\n- a list\n", "mapping"),
        ("crop: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_recipes_fail_with_the_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message.replace("[", r"\[")):
        load_recipe(path)
    note_case("misuse", f"bad recipe ({message})", "RecipeError naming the key")


def test_recipe_hash_ignores_output_layout_only() -> None:
    base = Recipe().content_hash()
    assert Recipe.model_validate({"output": {"shard_rows": 7}}).content_hash() == base
    assert Recipe.model_validate({"crop": {"size": 224}}).content_hash() != base


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "examples" / "recipes").glob("*.yaml")))
def test_example_recipes_load(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.name and recipe.crop.size % 28 == 0


def test_no_eval_exec_unsafe_yaml_or_pickle_of_loaded_data_in_the_package() -> None:
    """Loaded files are parsed as data only; pickle is used solely between our own processes."""
    import re

    package = Path(__file__).resolve().parents[1] / "facefocal_data"
    risky = re.compile(
        r"\b(eval|exec)\(|yaml\.load\(|yaml\.unsafe_load|np\.load\(.*allow_pickle=True|pickle\.load\("
    )
    found = {}
    for path in package.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if risky.search(line):
                found[f"{path.name}:{number}"] = line.strip()
    assert found == {}
    pickles = {p.name for p in package.rglob("*.py") if "pickle.loads(" in p.read_text()}
    assert pickles == {"engines.py"}  # Ray actor results: produced by our own workers, never read from disk
    note_case("misuse", "eval/exec/unsafe YAML/pickle of loaded files", "none in the package")
