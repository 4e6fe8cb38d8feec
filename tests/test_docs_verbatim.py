"""The astronaut texts that README.md and docs/DESCRIPTIONS.md quote as verbatim are what a default
build writes: a change to the phrase bank or the composer that forgets the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

from facefocal_data import build
from facefocal_data.exporters.base import iter_records

from .conftest import ASTRONAUT, REPO

# "> **mouth** `[141, 253, 293, 331]`: text" or "> **box_02** (`[...]`, not in the text): text",
# continued on the following "> " lines until a bare ">" or the end of the quote
QUOTED = re.compile(r"^> \*\*(\w+)\*\*[^:]*: (.*(?:\n> .+)*)", re.MULTILINE)
PAGES = {"README.md": "What the default build says", "docs/DESCRIPTIONS.md": "## One record, verbatim"}


def quoted_texts(page: str, heading: str) -> dict[str, str]:
    """The region (or face) texts of the first quote under `heading`, by region id, one line each."""
    text = (REPO / page).read_text()
    section = text[text.index(heading) :]
    section = section[: section.index("\n\n", section.index("\n>")) + 1]
    return {m.group(1): re.sub(r"\s*\n> ", " ", m.group(2)).strip() for m in QUOTED.finditer(section)}


def test_quoted_astronaut_texts_are_what_the_default_build_writes(tmp_path: Path) -> None:
    build(ASTRONAUT, tmp_path / "out")
    (record,) = iter_records(tmp_path / "out", pixels=False)
    written = {"face": record.face_description.text}
    written |= {region.region_id: region.description.text for region in record.regions}
    for page, heading in PAGES.items():
        quoted = quoted_texts(page, heading)
        assert len(quoted) >= 3, (page, quoted)
        for region_id, text in quoted.items():
            assert text == written[region_id], (
                f"{page} quotes {region_id}: {text!r}; the build writes {written[region_id]!r}"
            )
