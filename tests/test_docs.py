"""The reference in docs/ follows the code: tables generated from the one table in code, links
that resolve, and a README that stays a front door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
