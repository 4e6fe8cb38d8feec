"""Check a description against its facts: the gate every text passes before it is written.

A text is faithful when every AU it names is present in the region under its canonical FACS
name, the emotion and age it states agree with the labels, every number it quotes is one of the
facts, and every face part it names lies in the region's vocabulary. It is complete when it
states each present AU, the emotion and the age. Template and LLM text go through the same gate;
the evaluator (issue 8) extracts facts with the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ..facs import AU_NAMES
from ..record import FaceRecord, Region
from .bank import plain_index
from .facts import PART_WORDS, Facts, region_facts

# "AU12", "AU 12", "AU1" optionally followed by "(Name)", or inside brackets as "(AU12, Name)"
AU_MENTION = re.compile(
    r"\bAU\s?(\d{1,2})\b(?:\s*\(([^)]*)\)|,\s*([A-Za-z][A-Za-z -]*?)(?=\s*\)))?", re.IGNORECASE
)
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "happiness": ("happiness", "happy", "joy", "joyful"),
    "sadness": ("sadness", "sad"),
    "surprise": ("surprise", "surprised"),
    "fear": ("fear", "fearful", "afraid", "scared"),
    "anger": ("anger", "angry"),
    "disgust": ("disgust", "disgusted"),
    "contempt": ("contempt", "contemptuous"),
    "neutral": ("neutral",),
}
# What no label states: a text naming any of these says more than the facts (clothing, hair,
# identity, background, gender, ethnicity). When a label comes to state one (a gender label,
# say), its words leave this list for that label's facts.
# fmt: off
EXTRA_FACT_WORDS: dict[str, tuple[str, ...]] = {
    "clothing": (
        "wear", "wears", "wearing", "worn", "dressed", "clothes", "clothing", "outfit", "shirt", "blouse",
        "jacket", "coat", "suit", "spacesuit", "uniform", "sweater", "hoodie", "hood", "collar", "tie",
        "scarf", "dress", "hat", "cap", "helmet", "headscarf", "hijab", "turban", "veil", "mask",
    ),
    "accessories": (
        "glasses", "spectacles", "sunglasses", "goggles", "earring", "earrings", "necklace", "jewellery",
        "jewelry", "bracelet", "piercing", "piercings", "headband", "headphones", "makeup", "lipstick",
        "mascara", "tattoo", "tattoos",
    ),
    "hair": (
        "hair", "haired", "hairstyle", "blonde", "blond", "brunette", "redhead", "bald", "beard", "bearded",
        "moustache", "mustache", "stubble", "ponytail", "braid", "braids", "fringe", "bangs", "sideburns",
    ),
    "identity": (
        "celebrity", "famous", "actor", "actress", "astronaut", "president", "politician", "athlete",
        "singer",
    ),
    "background": (
        "background", "backdrop", "wall", "sky", "room", "indoors", "outdoors", "studio", "street", "tree",
        "trees", "building", "flag", "scenery", "landscape", "window", "camera",
    ),
    "gender": (
        "man", "men", "woman", "women", "male", "female", "boy", "boys", "girl", "girls", "he", "she",
        "him", "his", "her", "hers", "himself", "herself", "gentleman", "lady", "ladies", "guy", "mr",
        "mrs", "ms",
    ),
    "ethnicity": (
        "caucasian", "asian", "african", "hispanic", "latino", "latina", "ethnic", "ethnicity", "race",
        "racial", "complexion",
    ),
}
# fmt: on
EXTRA_FACT_INDEX = {word: kind for kind, words in EXTRA_FACT_WORDS.items() for word in words}
CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
SENTENCE_START = re.compile(r"(?:^|[.!?:;(\"'])\s*")  # a capital where one of these ends begins a sentence
WORD = re.compile(r"[a-z]+")
NAME_TO_AU = {name.lower(): au for au, name in AU_NAMES.items()}
# each canonical name as a whole-word pattern, tried only where the name occurs at all
BARE_NAME = {au: re.compile(rf"\b{re.escape(name)}\b") for name, au in NAME_TO_AU.items()}
NUMERIC = re.compile(r"[\d.]*\d")  # a run of digits and dots: an integer or a decimal
BRACKETED = re.compile(r"\[[^\]]*\]")
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")
SENTENCE_SPLIT = re.compile(r"[.;!?]\s+")
LENGTH_WORDS = {"short": (8, 60), "long": (20, 140)}
WORDS_PER_AU = 10  # each present AU may take this many more words


def au_mentions(text: str) -> list[tuple[str, str | None]]:
    """(code, name or None) for every AU the text names, code normalised to 'AU07'."""
    return list(_au_mentions(text))


@lru_cache(maxsize=256)
def _au_mentions(text: str) -> tuple[tuple[str, str | None], ...]:
    """Cached: the gate asks twice per text (what is named, what is stated)."""
    return tuple(
        (f"AU{int(code):02d}", (named or listed).strip() or None)
        for code, named, listed in AU_MENTION.findall(text)
    )


@lru_cache(maxsize=256)
def _words(text: str) -> frozenset[str]:
    """The text's lower-case words; several checks read them."""
    return frozenset(WORD.findall(text.lower()))


def plain_mentions(text: str) -> set[str]:
    """AUs the text states in the phrase bank's plain wording ("the lip corners are drawn up")."""
    return plain_index().mentions(text)


def check_aus(text: str, present: Iterable[str], described: set[str] | None = None) -> list[str]:
    """Problems with the AU mentions in `text`; empty when faithful. `described`: the AUs the
    text states in plain wording, when the caller has them already."""
    allowed = set(present)
    described = plain_mentions(text) if described is None else described
    problems = [f"{au} is described in words but not present in the region" for au in described - allowed]
    for au, name in _au_mentions(text):
        if au not in allowed:
            problems.append(f"{au} is named but not present in the region")
        canonical = AU_NAMES.get(au)
        if name is None:
            problems.append(f"{au} is named without its FACS name")
        elif canonical is None or name.lower() != canonical.lower():
            problems.append(f"{au} is called {name!r}; its FACS name is {canonical!r}")
    # a canonical name without its code still states the AU
    bare = _bare(text).lower()
    named = {au for name, au in NAME_TO_AU.items() if name in bare and BARE_NAME[au].search(bare)}
    problems += [
        f"'{AU_NAMES[au]}' ({au}) is named but not present in the region" for au in sorted(named - allowed)
    ]
    return problems


def aus_stated(text: str) -> set[str]:
    """Every AU a text states: by code ("AU12 (Lip Corner Puller)"), by its canonical name alone,
    or by a phrase-bank appearance wording alone ("the lip corners are drawn up and back")."""
    bare = _bare(text).lower()
    named = {au for name, au in NAME_TO_AU.items() if name in bare and BARE_NAME[au].search(bare)}
    return {au for au, _ in _au_mentions(text)} | plain_mentions(text) | named


def _known_capitalised() -> frozenset[str]:
    """Words a text may capitalise mid-sentence: FACS names and the emotion words."""
    words = {w for name in AU_NAMES.values() for w in name.split()} | {"Action", "Unit", "Units"}
    return frozenset(words | {w.capitalize() for names in EMOTION_WORDS.values() for w in names})


KNOWN_CAPITALISED = _known_capitalised()


def extra_facts_stated(text: str) -> list[str]:
    """What the text says that no label states: clothing, hair, identity, background, gender,
    ethnicity (a word list), and proper names (a capitalised word inside a sentence)."""
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
    """Canonical face parts named in the text, outside AU names (those are checked as AUs)."""
    words = _words(_bare(text))
    return {part for part, names in PART_WORDS.items() if not words.isdisjoint(names)}


@lru_cache(maxsize=256)
def _bare(text: str) -> str:
    """The text without its AU mentions (codes and their names); several checks read it."""
    return AU_MENTION.sub(" ", text)


def numbers_stated(text: str) -> tuple[list[float], list[int]]:
    """(decimals, integers) the text quotes, leaving out AU codes, percentages and box coordinates.

    Integers of four or more digits are no age and no fact a text quotes; they are left out."""
    decimals: list[float] = []
    integers: list[int] = []
    for run in NUMERIC.findall(PERCENT.sub(" ", BRACKETED.sub(" ", _bare(text)))):
        pieces = run.split(".")
        if len(pieces) == 1:
            integers += [int(run)] if len(run) <= 3 else []
        else:  # "0.97", ".5"; "1.2.3" (no number anyone writes) counts as 1.2
            decimals.append(float(f"{pieces[0]}.{pieces[1]}"))
    return decimals, integers


def check_text(text: str, facts: Facts, style: str = "short") -> list[str]:
    """Every reason `text` may not be written as a description of `facts`; empty when it passes."""
    present = [a.au for a in facts.aus]
    described = plain_mentions(text)
    problems = check_aus(text, present, described)
    mentioned = {au for au, _ in _au_mentions(text)} | described
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


def check_region(
    text: str, region: Region, record: FaceRecord | None = None, style: str = "long"
) -> list[str]:
    """AU faithfulness only, or the whole gate when the record is given."""
    if record is None:
        return check_aus(text, (a.au for a in region.aus if a.present))
    return check_text(text, region_facts(record, region), style)
