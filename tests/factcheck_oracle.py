"""The fact check as it was before its fast path (commit d6c2ac6): each reader scans the text
on its own, the plain wordings found with the index's first form. Kept only as the oracle that
`test_factcheck_fast.py` holds the fast gate to: the same problems, in the same order."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from facefocal_data.describe.bank import load_bank
from facefocal_data.describe.factcheck import (
    AU_MENTION,
    BARE_NAME,
    BRACKETED,
    EMOTION_WORDS,
    EXTRA_FACT_INDEX,
    KNOWN_CAPITALISED,
    LENGTH_WORDS,
    NAME_TO_AU,
    NUMERIC,
    PERCENT,
    SENTENCE_SPLIT,
    WORD,
    WORDS_PER_AU,
)
from facefocal_data.describe.facts import PART_WORDS, Facts
from facefocal_data.facs import AU_NAMES

CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
SENTENCE_START = re.compile(r"(?:^|[.!?:;(\"'])\s*")


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split())


def _pattern(text: str, adverbs: str) -> str:
    head, slot, tail = text.partition("{adv}")
    if not slot:
        return _literal(text)
    return rf"{_literal(head)}\s+(?:(?:{adverbs})\s+)?{_literal(tail)}"


def _longest(item: tuple[str, str]) -> int:
    return -len(item[0])


@cache
def _plain_index() -> tuple[re.Pattern[str], dict[str, re.Pattern[str]]]:
    bank = load_bank()
    adverbs = "|".join(sorted({_literal(a) for v in bank.adverbs.values() for a in v}, key=len, reverse=True))
    index: dict[str, list[tuple[str, str]]] = {}
    for au, wordings in bank.wordings.items():
        for i, form in enumerate(sorted({t.lower() for w in wordings for t in (w.both, w.side)})):
            index.setdefault(" ".join(form.split()[:2]), []).append((form, f"{au}_{i}"))
    starts = "|".join(_literal(s) for s in sorted(index, key=len, reverse=True))
    by_start = {
        k: re.compile(
            "(?:" + "|".join(f"(?P<{g}>{_pattern(f, adverbs)})" for f, g in sorted(v, key=_longest)) + r")\b"
        )
        for k, v in index.items()
    }
    return re.compile(rf"\b(?:{starts})\b"), by_start


def plain_mentions(text: str) -> set[str]:
    starts, by_start = _plain_index()
    lower, found = text.lower(), set()
    for start in starts.finditer(lower):
        match = by_start[" ".join(start.group().split())].match(lower, start.start())
        if match and match.lastgroup:
            found.add(match.lastgroup.partition("_")[0])
    return found


def au_mentions(text: str) -> list[tuple[str, str | None]]:
    return [
        (f"AU{int(code):02d}", (named or listed).strip() or None)
        for code, named, listed in AU_MENTION.findall(text)
    ]


def _words(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(text.lower()))


def _bare(text: str) -> str:
    return AU_MENTION.sub(" ", text)


def check_aus(text: str, present: Iterable[str], described: set[str] | None = None) -> list[str]:
    allowed = set(present)
    described = plain_mentions(text) if described is None else described
    problems = [f"{au} is described in words but not present in the region" for au in described - allowed]
    for au, name in au_mentions(text):
        if au not in allowed:
            problems.append(f"{au} is named but not present in the region")
        canonical = AU_NAMES.get(au)
        if name is None:
            problems.append(f"{au} is named without its FACS name")
        elif canonical is None or name.lower() != canonical.lower():
            problems.append(f"{au} is called {name!r}; its FACS name is {canonical!r}")
    bare = _bare(text).lower()
    named = {au for name, au in NAME_TO_AU.items() if name in bare and BARE_NAME[au].search(bare)}
    problems += [
        f"'{AU_NAMES[au]}' ({au}) is named but not present in the region" for au in sorted(named - allowed)
    ]
    return problems


def aus_stated(text: str) -> set[str]:
    bare = _bare(text).lower()
    named = {au for name, au in NAME_TO_AU.items() if name in bare and BARE_NAME[au].search(bare)}
    return {au for au, _ in au_mentions(text)} | plain_mentions(text) | named


def extra_facts_stated(text: str) -> list[str]:
    problems = [
        f"says {w!r} ({EXTRA_FACT_INDEX[w]}), which no label states"
        for w in sorted(_words(text) & EXTRA_FACT_INDEX.keys())
    ]
    starts = {m.end() for m in SENTENCE_START.finditer(text)}
    for match in CAPITALISED.finditer(text):
        if match.group() not in KNOWN_CAPITALISED and match.start() not in starts:
            problems.append(f"names {match.group()!r}, a proper name no label states")
    return problems


def emotions_stated(text: str) -> set[str]:
    words = _words(text)
    return {emotion for emotion, names in EMOTION_WORDS.items() if not words.isdisjoint(names)}


def parts_stated(text: str) -> set[str]:
    words = _words(_bare(text))
    return {part for part, names in PART_WORDS.items() if not words.isdisjoint(names)}


def numbers_stated(text: str) -> tuple[list[float], list[int]]:
    decimals: list[float] = []
    integers: list[int] = []
    for run in NUMERIC.findall(PERCENT.sub(" ", BRACKETED.sub(" ", _bare(text)))):
        pieces = run.split(".")
        if len(pieces) == 1:
            integers += [int(run)] if len(run) <= 3 else []
        else:
            decimals.append(float(f"{pieces[0]}.{pieces[1]}"))
    return decimals, integers


def check_text(text: str, facts: Facts, style: str = "short") -> list[str]:
    present = [a.au for a in facts.aus]
    described = plain_mentions(text)
    problems = check_aus(text, present, described)
    mentioned = {au for au, _ in au_mentions(text)} | described
    problems += [f"{au} is present but not stated" for au in present if au not in mentioned]
    problems += _check_emotion(text, facts) + _check_numbers(text, facts) + _check_parts(text, facts)
    problems += _check_repetition(text) + extra_facts_stated(text)
    low, high = LENGTH_WORDS[style]
    high += WORDS_PER_AU * len(present)
    words = len(text.split())
    if not low <= words <= high:
        problems.append(f"{words} words; a {style} description has {low}-{high}")
    return list(dict.fromkeys(problems))


def _check_repetition(text: str) -> list[str]:
    sentences = [s.strip().lower() for s in SENTENCE_SPLIT.split(text) if len(s.split()) >= 3]
    return ["repeats a sentence"] if len(sentences) != len(set(sentences)) else []


def _check_emotion(text: str, facts: Facts) -> list[str]:
    stated = emotions_stated(text)
    if facts.emotion is None:
        return [f"states emotion {e!r} but the face has no emotion label" for e in sorted(stated)]
    problems = [
        f"states emotion {e!r}; the label is {facts.emotion!r}" for e in sorted(stated - {facts.emotion})
    ]
    if facts.emotion not in stated:
        problems.append(f"does not state the emotion ({facts.emotion})")
    return problems


def _check_numbers(text: str, facts: Facts) -> list[str]:
    decimals, integers = numbers_stated(text)
    known = {a.value for a in facts.aus if a.value is not None} | {facts.emotion_p}
    problems = [f"quotes {d} which is none of the facts" for d in decimals if round(d, 2) not in known]
    ages: set[int] = set()
    if facts.age_years is not None:
        low, high = facts.age_range or (facts.age_years, facts.age_years)
        ages = set(range(min(low, facts.age_years), max(high, facts.age_years) + 1))
        if facts.age_bin:
            ages |= {int(v) for v in NUMERIC.findall(facts.age_bin)}
        if facts.age_years not in integers:
            problems.append(f"does not state the age ({facts.age_years} years)")
    problems += [f"states the number {i}, which is no age or fact here" for i in integers if i not in ages]
    return problems


def _check_parts(text: str, facts: Facts) -> list[str]:
    problems = [
        "names a face part no label covers"
        if part == "unlabelled"
        else f"names the {part}, outside this region"
        for part in sorted(parts_stated(text) - facts.parts)
    ]
    if facts.side is not None:
        other = "right" if facts.side == "left" else "left"
        if other in _words(text):
            problems.append(f"speaks of the {other} side in a {facts.side}-side region")
    return problems
