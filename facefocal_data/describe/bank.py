"""The phrase bank: curated wordings in `describe/phrases/*.yaml`, loaded once and checked.

Wording lives in data so that linguists can extend it without touching code; the checks here
keep it honest: every AU of the FACS table has wordings, every phrase's slots match the facts
its group says it states (so a composed text's facts are known by construction), every file
has the same `phrase_bank_version`. The fact check reads the AU wordings too (`plain_index`),
so a plain-language text that says "the lip corners are drawn up and back" states AU12.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..facs import AU_NAMES, INTENSITY_WORDS
from .facts import PART_WORDS

BANK_DIR = Path(__file__).with_name("phrases")
FILES = ("aus", "regions", "emotion", "age")
SLOT = re.compile(r"\{(\w+)\}")
WORD = re.compile(r"[a-z]+")
SPACES = r"\s+"
# slot -> the fact a phrase states by filling it
SLOT_FACTS: dict[str, str] = {
    "name": "region",
    "where": "region",
    "clauses": "aus",
    "items": "aus",
    "noun": "emotion",
    "adj": "emotion",
    "p": "emotion.p",
    "cues": "emotion.cues",
    "years": "age.years",
    "low": "age.range",
    "high": "age.range",
    "bin": "age.bin",
    "bin_words": "age.bin",
}
FREE_SLOTS = {"here"}  # refers back, states nothing
WORDING_FACTS = {"gt", "uncertain", "aus.none", "age.at_least"}  # stated by a group's words, not a slot
INTENSITIES = tuple(word for _, word in INTENSITY_WORDS)


class PhraseBankError(ValueError):
    """A phrase file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Phrase:
    """One sentence frame and the facts it states."""

    text: str
    states: frozenset[str]
    slots: frozenset[str]
    facts: frozenset[str]  # the states a slot fills (`states` less what the wording itself says)


@dataclass(frozen=True)
class Wording:
    """One way to say an AU's appearance change: both sides / one side, parts each names."""

    both: str
    side: str
    parts_both: frozenset[str]
    parts_side: frozenset[str]
    only: frozenset[str] | None  # intensities it may be used for; None: any (it has {adv})


@dataclass(frozen=True)
class Family:
    names: tuple[str, ...]
    preps: tuple[str, ...]
    covering: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhraseBank:
    version: int
    adverbs: dict[str, tuple[str, ...]]
    degrees: dict[str, tuple[str, ...]]  # intensity -> phrases said after a wording instead of an adverb
    code_name: dict[str, tuple[str, ...]]  # graded | annotated | ungraded noun phrases
    attach: dict[str, tuple[str, ...]]  # estimate | annotated: clause + code and name
    plain_annotated: tuple[str, ...]
    wordings: dict[str, tuple[Wording, ...]]
    cues: dict[str, tuple[tuple[str, str], ...]]  # au -> (both, side) noun phrases
    families: dict[str, Family]
    cover_words: dict[str, str]
    here: tuple[str, ...]
    frames: dict[str, tuple[Phrase, ...]]  # open.clause, open.noun, more.*, rest
    pair: tuple[str, ...]
    emotion_words: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # label -> (nouns, adjectives)
    emotion: dict[str, tuple[Phrase, ...]]  # "estimate.cue" -> phrases
    age: dict[str, tuple[Phrase, ...]]  # "estimate" | "gt" -> phrases
    bin_words: dict[str, str]


@cache
def parts_named(text: str) -> frozenset[str]:
    """Canonical face parts a piece of text names (slots left out)."""
    words = set(WORD.findall(SLOT.sub(" ", text).lower()))
    return frozenset(part for part, names in PART_WORDS.items() if words & set(names))


def _phrases(groups: Any, where: str) -> tuple[Phrase, ...]:
    """A list of {states, say} groups; each sentence's slots must state exactly the group's facts."""
    out = []
    for group in groups or ():
        states = frozenset(group["states"])
        for text in group["say"]:
            slots = frozenset(SLOT.findall(text))
            stated = {SLOT_FACTS[s.lower()] for s in slots if s.lower() in SLOT_FACTS}
            unknown = {s for s in slots if s.lower() not in SLOT_FACTS and s.lower() not in FREE_SLOTS}
            if unknown or stated != states - WORDING_FACTS:
                raise PhraseBankError(
                    f"{where}: {text!r} fills {sorted(stated)} (unknown slots {sorted(unknown)}) "
                    f"but its group states {sorted(states)}"
                )
            out.append(Phrase(text, states, frozenset(s.lower() for s in slots), frozenset(stated)))
    return tuple(out)


def _wordings(au: str, entry: dict[str, Any]) -> tuple[Wording, ...]:
    out = []
    for item in entry.get("say") or ():
        both, side = item["both"], item.get("side", item["both"])
        only = item.get("only")
        if only is None and not all("{adv}" in t for t in (both, side)):
            raise PhraseBankError(f"aus.yaml {au}: {both!r} has no {{adv}} and no `only` intensities")
        if any(t.startswith("{adv}") or t.endswith("{adv}") for t in (both, side)):
            raise PhraseBankError(f"aus.yaml {au}: {both!r}: {{adv}} goes between words")
        if only is not None and not set(only) <= set(INTENSITIES):
            raise PhraseBankError(f"aus.yaml {au}: `only` {only} are not intensity words {INTENSITIES}")
        out.append(
            Wording(
                both, side, parts_named(both), parts_named(side), None if only is None else frozenset(only)
            )
        )
    if not out:
        raise PhraseBankError(f"aus.yaml {au}: no wordings")
    return tuple(out)


def _cues(entry: Any) -> tuple[tuple[str, str], ...]:
    """An AU's `cue`: one {both, side} noun phrase or a list of them."""
    entries = entry if isinstance(entry, list) else [entry]
    return tuple((c["both"], c.get("side", c["both"])) for c in entries)


def _read(name: str) -> dict[str, Any]:
    path = BANK_DIR / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("phrase_bank_version"), int):
        raise PhraseBankError(f"{path.name}: a mapping with an integer phrase_bank_version")
    return data


def _au_part(data: dict[str, Any]) -> dict[str, Any]:
    aus = data["aus"]
    missing = sorted(set(AU_NAMES) - set(aus))
    extra = sorted(set(aus) - set(AU_NAMES))
    if missing or extra:
        raise PhraseBankError(f"aus.yaml: missing AUs {missing}, unknown AUs {extra}")
    for key in ("adverbs", "degrees"):
        if set(data[key]) != set(INTENSITIES):
            raise PhraseBankError(f"aus.yaml: {key} for exactly {INTENSITIES}")
    return {
        "adverbs": {k: tuple(v) for k, v in data["adverbs"].items()},
        "degrees": {k: tuple(v) for k, v in data["degrees"].items()},
        "code_name": {k: tuple(v) for k, v in data["code_name"].items()},
        "attach": {k: tuple(v) for k, v in data["attach"].items()},
        "plain_annotated": tuple(data["plain_annotated"]),
        "wordings": {au: _wordings(au, entry) for au, entry in aus.items()},
        "cues": {au: _cues(e["cue"]) for au, e in aus.items()},
    }


def _region_part(data: dict[str, Any]) -> dict[str, Any]:
    families = {
        name: Family(tuple(f["names"]), tuple(f["preps"]), tuple(f.get("covering", ())))
        for name, f in data["families"].items()
    }
    frames = {
        f"{kind}.{style}": _phrases(groups, f"regions.yaml {kind}.{style}")
        for kind in ("open", "more")
        for style, groups in data[kind].items()
    }
    frames["rest"] = _phrases(data["rest"], "regions.yaml rest")
    return {
        "families": families,
        "cover_words": dict(data["cover_words"]),
        "here": tuple(data["here"]),
        "frames": frames,
        "pair": tuple(data["pair"]),
    }


def _emotion_part(data: dict[str, Any]) -> dict[str, Any]:
    words = {k: (tuple(v["noun"]), tuple(v["adj"])) for k, v in data["words"].items()}
    emotion = {
        f"{status}.{kind}": _phrases(groups, f"emotion.yaml {status}.{kind}")
        for status in ("estimate", "uncertain", "gt")
        for kind, groups in data[status].items()
    }
    return {"emotion_words": words, "emotion": emotion}


def _age_part(data: dict[str, Any]) -> dict[str, Any]:
    age = {status: _phrases(data[status], f"age.yaml {status}") for status in ("estimate", "gt")}
    return {"age": age, "bin_words": dict(data.get("bin_words") or {})}


@cache
def load_bank() -> PhraseBank:
    """The shipped bank, read once per process."""
    data = {name: _read(name) for name in FILES}
    versions = {data[name]["phrase_bank_version"] for name in FILES}
    if len(versions) != 1:
        raise PhraseBankError(f"phrase files disagree on phrase_bank_version: {sorted(versions)}")
    try:
        parts = {
            **_au_part(data["aus"]),
            **_region_part(data["regions"]),
            **_emotion_part(data["emotion"]),
            **_age_part(data["age"]),
        }
    except (KeyError, TypeError) as exc:
        raise PhraseBankError(f"phrase bank entry missing or malformed: {exc!r}") from None
    return PhraseBank(version=versions.pop(), **parts)


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split())


def _pattern(text: str, adverbs: str) -> str:
    """A wording as a regex: its {adv} slot takes one bank adverb or none."""
    head, slot, tail = text.partition("{adv}")
    if not slot:
        return _literal(text)
    return rf"{_literal(head)}\s+(?:(?:{adverbs})\s+)?{_literal(tail)}"


@dataclass(frozen=True)
class PlainIndex:
    """Every AU wording as a regex, grouped by its first two words: one regex finds where a
    wording may start, one alternation per start word pair says which AU's wording is there (the
    group that matched is named by the AU); one big alternation was the slowest part of the check."""

    starts: re.Pattern[str]  # a start word pair; the word boundary before it is checked in `mentions`
    by_start: dict[str, re.Pattern[str]]

    def mentions(self, text: str) -> set[str]:
        lower = text.lower()
        found = set()
        at = 0
        while (start := self.starts.search(lower, at)) is not None:
            begin = start.start()
            if begin and (lower[begin - 1].isalnum() or lower[begin - 1] == "_"):
                at = begin + 1  # inside a word ("bathe lips"): no start here, one may begin later
                continue
            pair = start.group()  # its spaces as in the key, most often; else normalised
            pattern = self.by_start.get(pair) or self.by_start[" ".join(pair.split())]
            match = pattern.match(lower, begin)
            if match and match.lastgroup:
                found.add(match.lastgroup.partition("_")[0])
            at = start.end()
        return found


def _longest(item: tuple[str, str]) -> int:
    return -len(item[0])


@cache
def plain_index() -> PlainIndex:
    """The AU wordings (any side form, any bank adverb or none) for `factcheck.plain_mentions`."""
    bank = load_bank()
    adverbs = "|".join(sorted({_literal(a) for v in bank.adverbs.values() for a in v}, key=len, reverse=True))
    index: dict[str, list[tuple[str, str]]] = {}
    for au, wordings in bank.wordings.items():
        for i, form in enumerate(sorted({t.lower() for w in wordings for t in (w.both, w.side)})):
            index.setdefault(" ".join(form.split()[:2]), []).append((form, f"{au}_{i}"))
    starts = _starts(sorted(index, key=len, reverse=True))
    by_start = {  # longest wording first, so that none hides a longer one it begins
        k: re.compile(
            "(?:" + "|".join(f"(?P<{g}>{_pattern(f, adverbs)})" for f, g in sorted(v, key=_longest)) + r")\b"
        )
        for k, v in index.items()
    }
    # no word boundary first: a pattern that starts with its first letters is scanned for them
    return PlainIndex(re.compile(rf"(?:{starts})\b"), by_start)


def _starts(keys: list[str]) -> str:
    """The start word pairs as an alternation grouped by first word ("the (?:lip|inner|…)"):
    the scan tries a few first words at each position instead of every pair. It finds what the
    flat alternation finds: only pairs with the same first word can match at one place (a first
    word is followed by spaces), and within a first word the pairs keep their order."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        first, _, second = key.partition(" ")
        groups.setdefault(first, []).append(_literal(second) if second else "")
    return "|".join(_group(re.escape(first), rests) for first, rests in groups.items())


def _group(first: str, seconds: list[str]) -> str:
    if all(seconds):  # every pair: the spaces once (the second word starts with no space)
        return f"{first}{SPACES}(?:{'|'.join(seconds)})"
    rests = "|".join(SPACES + s if s else "" for s in seconds)
    return f"{first}(?:{rests})"
