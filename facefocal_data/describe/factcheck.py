"""Check a description against its labels: every AU it names is labelled present in the region,
and carries its canonical FACS name. Used on template output in tests and on LLM output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..facs import AU_NAMES
from ..record import Region

# "AU12", "AU 12", "AU1" optionally followed by "(Name)"
AU_MENTION = re.compile(r"\bAU\s?(\d{1,2})\b(?:\s*\(([^)]*)\))?", re.IGNORECASE)


def au_mentions(text: str) -> list[tuple[str, str | None]]:
    """(code, name or None) for every AU the text names, code normalised to 'AU07'."""
    return [(f"AU{int(code):02d}", name.strip() if name else None) for code, name in AU_MENTION.findall(text)]


def check_aus(text: str, present: Iterable[str]) -> list[str]:
    """Problems with the AU mentions in `text`; empty when faithful."""
    allowed = set(present)
    problems = []
    for au, name in au_mentions(text):
        if au not in allowed:
            problems.append(f"{au} is named but not present in the region")
        canonical = AU_NAMES.get(au)
        if name is None:
            problems.append(f"{au} is named without its FACS name")
        elif canonical is None or name.lower() != canonical.lower():
            problems.append(f"{au} is called {name!r}; its FACS name is {canonical!r}")
    return problems


def check_region(text: str, region: Region) -> list[str]:
    return check_aus(text, (a.au for a in region.aus if a.present))
