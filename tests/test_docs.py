"""The reference in docs/ follows the code: tables generated from the one table in code, links
that resolve, and a README that stays a front door."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from facefocal_data.config import recipe_keys
from facefocal_data.error_codes import CODES
from facefocal_data.models.manifest import MODELS

pytestmark = pytest.mark.unit  # no models, servers or network (make test-unit)

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def error_code_table() -> str:
    """The error-code table of docs/OUTPUT.md, generated from error_codes.CODES."""
    rows = ["| code | stage | meaning |", "|---|---|---|"]
    rows += [f"| `{c.code}` | {c.stage or 'any'} | {c.meaning} |" for c in CODES]
    return "\n".join(rows)


def test_the_error_code_table_is_the_one_in_code() -> None:
    assert error_code_table() in (REPO / "docs" / "OUTPUT.md").read_text(), (
        "docs/OUTPUT.md's code table drifted from error_codes.CODES; paste tests.test_docs.error_code_table()"
    )


def _default(value: object) -> str:
    text = "(none)" if value is None else json.dumps(value)
    return f"`{text}`" if len(text) <= 40 else "see `pipelines/default.yaml`"


def recipe_key_table() -> str:
    """The recipe reference of docs/RECIPES.md, generated from the recipe model."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{key}` | {_default(value)} | {meaning} |" for key, value, meaning in recipe_keys()]
    return "\n".join(rows)


def test_the_recipe_key_table_is_the_recipe_model() -> None:
    assert recipe_key_table() in (REPO / "docs" / "RECIPES.md").read_text(), (
        "docs/RECIPES.md's key table drifted from config.Recipe; paste tests.test_docs.recipe_key_table()"
    )


def test_every_record_field_is_in_the_record_table() -> None:
    from facefocal_data.record import ARROW_SCHEMA

    text = (REPO / "docs" / "RECORD.md").read_text()
    documented = set(re.findall(r"^\| (.+?) \|", text, flags=re.M))
    named = {name for cell in documented for name in re.findall(r"`(\w+)`", cell)}
    missing = [f.name for f in ARROW_SCHEMA if f.name not in named]
    assert not missing, f"docs/RECORD.md does not describe record fields {missing}"


def test_every_module_is_in_the_design_map() -> None:
    """A newcomer finds any stage from docs/DESIGN.md's map: every module and package is listed."""
    text = (REPO / "docs" / "DESIGN.md").read_text()
    package = REPO / "facefocal_data"
    names = [p.name + ("/" if p.is_dir() else "") for p in package.iterdir()]
    names = [n for n in names if (n.endswith(".py") and n != "__init__.py") or n.endswith("/")]
    missing = [n for n in names if n != "__pycache__/" and f"`{n}`" not in text]
    assert not missing, f"docs/DESIGN.md's map does not list {missing}"


def test_every_model_is_in_the_models_table() -> None:
    text = (REPO / "docs" / "MODELS.md").read_text()
    missing = [m.name for m in MODELS if f"`{m.name}`" not in text]
    assert not missing, f"docs/MODELS.md lacks {missing}"


def test_links_in_readme_and_docs_resolve() -> None:
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_is_a_front_door() -> None:
    assert len((REPO / "README.md").read_bytes()) <= 15_000, "README over 15 KB: move reference to docs/"
