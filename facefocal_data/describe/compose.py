"""Describer `phrases`: fluent, varied text composed from the phrase bank, facts by construction.

Each text is assembled from bank phrases (describe/phrases/*.yaml) chosen with a random
generator seeded by `describe.seed`, the record id and the region id, so a rerun writes the same
text and two records read differently. The emotion, age, opening and at-rest sentences are dealt
from a seeded per-record order instead (`_Scene.deal`): all ~24 texts of a face state its emotion
and age, and drawn independently they kept restating them in the same words. Most region texts
(bank v4) say the emotion and the age once, in one sentence (`_region_text`). Every phrase is
tagged with the facts it states; the composed text's `states` are their union, and the fact
check still gates every text (a text that fails it is replaced by the template text with the
reasons, as the LLM describer does).
`describe.au_naming` says how an AU is named: `both` ("the lip corners are strongly drawn up and
back (AU12, Lip Corner Puller)"), `plain` (the appearance change only) or `code_name` ("a strong
AU12 (Lip Corner Puller)").
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

from ..labels.stage import region_side
from ..record import AULabel, Description, FaceRecord, Region
from .bank import Phrase, PhraseBank, Wording, after_word_char, load_bank, parts_named, plain_index
from .factcheck import LENGTH_WORDS, check_text, in_words, length_style
from .facts import (
    AUFact,
    Facts,
    face_facts,
    family_of,
    label_facts,
    region_facts,
    region_parts,
    strongest_aus,
)
from .template import (
    EMOTION_CUES,
    bin_holds,
    describe_face,
    describe_region,
    join,
    one_year,
    region_name,
    seeded_rng,
)

AU_NAMINGS = ("both", "plain", "code_name")
SIDED_FAMILIES = frozenset({"brow", "eye", "nasolabial", "cheek_upper", "cheek_lower"})
CLAUSES_PER_SENTENCE = 2
ITEMS_PER_SENTENCE = 3
NOMINALS_PER_SENTENCE = 2  # noun wordings carry their code and name in apposition: two read well
PER_SENTENCE = {"noun": ITEMS_PER_SENTENCE, "nominal": NOMINALS_PER_SENTENCE, "clause": CLAUSES_PER_SENTENCE}
NOUN_SHARE = 0.4  # texts naming AUs `both` ways that say them as noun wordings, where all have one
MAX_COVER_PARTS = 3
DEGREE_SHARE = 0.25  # share of AU clauses that say the intensity after the wording, not by an adverb
HERE_BY_NAME = 0.35  # share of back-references that name the region again instead of "this area"
COMPACT_ABOVE = 5  # more present AUs than this: the shortest wording and code form for each
NASION = 168  # MediaPipe landmark on the face's vertical midline
# 'a'/'an', then 'A'/'An', and the next word; the word boundary before it is checked in
# `_agreeing` (a pattern that starts with a word boundary is tried at every character: slow on
# every sentence; one that starts with one letter is scanned for twice as fast as one that starts
# with [Aa]). 'a' before a lower-case consonant is never matched: `article` keeps it, and most
# articles in a text are those (each match costs a Python call)
ARTICLES = tuple(re.compile(rf"({a}n|{a}(?! [b-df-hj-np-tv-z])) (?=([A-Za-z0-9][\w-]*))") for a in "aA")
DIGITS = re.compile(r"\d+")
T = TypeVar("T")


@dataclass(frozen=True)
class Composed:
    """A composed text, the facts its phrases state, the facts it is checked against, and the
    gate's length style (a region text is "terse": its emotion and age may share one sentence)."""

    text: str
    states: frozenset[str]
    facts: Facts
    style: str = "long"


@dataclass(frozen=True, slots=True)
class RecordShared:
    """What all of a record's ~24 texts say alike, worked out once per record
    (`record_shared`) instead of once per text: its label facts and how its emotion and age are
    said."""

    labels: dict[str, Any]  # `label_facts(record)`
    emotion: str | None  # the emotion label's status (gt | uncertain | estimate); None: no emotion
    age: str | None  # the age label's status (gt | estimate); None: no age
    blend: str | None  # the emotion's status when a region text may say it and the age in one
    # sentence (both estimates, the age no lower bound), else None
    p: str  # the emotion's probability as written; "" without one
    years: tuple[str, str]  # the age in digits and in words (`_years`); "" without an age
    cues: frozenset[str]  # the emotion's cue AUs


def record_shared(record: FaceRecord) -> RecordShared:
    """A record's `RecordShared`."""
    labels = label_facts(record)
    emotion, uncertain = None, labels["emotion_uncertain"]
    if labels["emotion"] is not None and record.emotion is not None:
        emotion = "gt" if _is_gt(record.emotion) else "uncertain" if uncertain else "estimate"
    age = None
    if labels["age_years"] is not None and record.age is not None:
        age = "gt" if _is_gt(record.age) else "estimate"
    blend = emotion if emotion != "gt" and age == "estimate" and not labels["age_at_least"] else None
    p = "" if labels["emotion_p"] is None else f"{labels['emotion_p']:.2f}"
    years = labels["age_years"]
    said = ("", "") if years is None else (str(years), in_words(years))
    return RecordShared(
        labels, emotion, age, blend, p, said, EMOTION_CUES.get(labels["emotion"] or "", frozenset())
    )


# the templater's scenes (a region's name, its AU phrases) say no emotion or age
NO_RECORD = RecordShared({}, None, None, None, "", ("", ""), frozenset())


@dataclass(slots=True)
class _Scene:
    """What one text speaks of, and the facts its chosen phrases have stated so far (slots: its
    fields are read dozens of times a text)."""

    rng: random.Random
    bank: PhraseBank
    naming: str
    facts: Facts
    record: FaceRecord
    family: str
    side: str | None  # "left" | "right": the subject's side of a sided region
    one_side: bool  # AU wordings in their one-side form
    gt: frozenset[str]  # the AUs whose label is ground truth (a set test: asked per AU per text)
    seed: int = 0
    slot: int = 0  # the text's place in its record (regions in order, then the face)
    shared: RecordShared = NO_RECORD
    again: str = ""  # the region named once more, for a later sentence's {here}
    states: set[str] = field(default_factory=set)
    used: set[object] = field(default_factory=set)

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rng.random() * len(options))]  # randrange costs 3x as much

    def deal(self, key: str, options: Sequence[T]) -> T:
        """The option at this text's place in its record's seeded order of the group: the ~24
        texts of one face take different options while the group has enough, instead of
        restating the face's emotion and age in the same words; other records use other orders.
        Options are dealt by the bank line they come from, then among that line's expansions, so
        a line written as a large grammar is not dealt more often than a short one."""
        lines = _kept(options, ("lines",), _by_line, options)  # the group's options by bank line
        order, mix = _order(self.seed, self.record.record_id, key, len(lines))
        i = order[self.slot % len(lines)]
        line = lines[i]
        if len(line) == 1:
            return line[0]
        return line[_nth(mix, i, len(line), self.slot // len(lines))]

    def fresh(self, options: Sequence[T]) -> T:
        """A pick this text has not used yet, while there is one: no connective twice."""
        choice = self.pick(options)
        if choice in self.used:  # a second draw, then the unused ones: most picks need neither
            choice = self.pick(options)
            if choice in self.used:
                choice = self.pick([o for o in options if o not in self.used] or options)
        self.used.add(choice)
        return choice


_KEPT: dict[int, tuple[object, dict[tuple[object, ...], Any]]] = {}


def _kept(owner: object, key: tuple[object, ...], make: Callable[..., T], *args: Any) -> T:
    """`make(*args)`, worked out once per `owner` (the bank or one of its phrase groups) and `key`:
    every text filters the same few groups the same few ways, and doing it per text was slow.
    An entry holds its owner, so an object that reuses a freed one's id never finds its entry.
    The hot callers pass `make` and its arguments, not a closure: one per call showed up."""
    entry = _KEPT.get(id(owner))
    if entry is None or entry[0] is not owner:
        entry = _KEPT[id(owner)] = (owner, {})
    hit = entry[1].get(key)
    if hit is None:
        hit = entry[1][key] = make(*args)
    return hit  # Any, so no `cast`: it was a call per use


def _by_line(options: Sequence[T]) -> tuple[tuple[T, ...], ...]:
    by_line: dict[object, list[T]] = {}
    for i, option in enumerate(options):
        by_line.setdefault(getattr(option, "line", i), []).append(option)
    return tuple(tuple(v) for v in by_line.values())


def _nth(mix: int, line: int, size: int, k: int) -> int:
    """The k-th of a record's seeded walk through a line's `size` expansions that visits each once
    before any twice (an offset and a stride prime to `size`, from the record's `mix` and the
    line): shuffling the expansions per text cost more than composing it."""
    h = (mix * 2654435761 + line * 40503 + 12345) & 0xFFFFFFFF
    stride = 1 + (h >> 8) % (size - 1)
    while math.gcd(stride, size) != 1:
        stride += 1
    return (h + stride * k) % size


@lru_cache(maxsize=4096)
def _order(seed: int, record_id: str, key: str, size: int) -> tuple[tuple[int, ...], int]:
    """A record's seeded order of a phrase group of `size` lines, and a number to walk each
    line's expansions by (cached: the record's texts share them)."""
    rng = seeded_rng(seed, record_id, "deal", key, str(size))
    return tuple(_shuffled(rng, size)), rng.getrandbits(32)


def _shuffled(rng: random.Random, size: int) -> list[int]:
    """`rng.shuffle(list(range(size)))`'s list from the same draws (its Fisher-Yates walk, each
    index drawn by `getrandbits` of the bound's bit length, redrawn while too large), without its
    Python call per index: a build asks for ~8 orders of ~40 lines a record, and they cost a
    tenth of composing its texts (tests/test_phrases.py holds the two to the same lists)."""
    order = list(range(size))
    draw = rng.getrandbits
    for i in range(size - 1, 0, -1):
        bits = (i + 1).bit_length()
        j = draw(bits)
        while j > i:
            j = draw(bits)
        order[i], order[j] = order[j], order[i]
    return order


def article(word: str) -> str:
    """'an' before a vowel sound: 'an extreme', 'a moderate', 'an AU12', 'a one-sided', 'an 8-year-old',
    'an 11-year-old', 'a 0.87 chance'."""
    if word[0].isdigit():  # eight, eleven, eighteen, eighty-: the numbers said with a vowel first
        digits = DIGITS.match(word)
        number = digits.group() if digits else word
        return "an" if number.startswith("8") or number in ("11", "18") else "a"
    if len(word) > 1 and word[:2].isupper():  # an initialism is read letter by letter
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    lower = word.lower()
    if lower.startswith(("one", "uni", "use", "usu", "eu")):
        return "a"
    return "an" if lower[0] in "aeiou" else "a"


_ARTICLE_OF: dict[tuple[str, str], str] = {}  # (the article as written, next word) -> fixed article


def fix_articles(text: str) -> str:
    """Every 'a'/'an' agrees with the word after it; phrases are written with 'a'."""
    for pattern in ARTICLES:
        text = pattern.sub(_agreeing, text)
    return text


def _agreeing(match: re.Match[str]) -> str:
    """The article of `match` that agrees with the word after it."""
    if after_word_char(match.string, match.start()):  # inside a word ("can ", "via ")
        return match.group()
    key: tuple[str, str] = (match.group(1), match.group(2))
    hit = _ARTICLE_OF.get(key)
    if hit is None:  # the bank's few next words: each worked out once
        word = article(key[1])
        hit = (word.capitalize() if key[0][0] == "A" else word) + " "
        if len(_ARTICLE_OF) < 65536:
            _ARTICLE_OF[key] = hit
    return hit


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Slots(dict[str, str]):
    """Slot values; a capitalised slot ({Name}) is the value with a capital letter."""

    def __missing__(self, key: str) -> str:
        return _capital(self[key.lower()])


def _fill(phrase: Phrase, scene: _Scene, values: dict[str, str]) -> str:
    """Fill a frame's slots and record the facts it states."""
    scene.states |= phrase.states
    return _spaces(phrase.text.format_map(_Slots(values)))


def _spaces(text: str) -> str:
    return " ".join(text.split()) if "  " in text else text


def _region_name(scene: _Scene, record: FaceRecord, region: Region | None) -> str:
    """A noun phrase for the region; a box by the parts it covers, never by its coordinates."""
    return _region_names(scene, record, region, 1)[0]


def _region_names(scene: _Scene, record: FaceRecord, region: Region | None, count: int) -> list[str]:
    """`count` seeded names for the region, drawn in turn: a region text names its region twice,
    and the family, its names for the region's parts and a box's cover words are looked up once."""
    family = scene.bank.families.get(scene.family)
    if family is None and region is not None:  # a region the bank does not know: the template's name
        return [region_name(region)] * count
    assert family is not None
    cover = None
    if region is not None and region.kind == "box" and family.covering:
        parts = sorted(region_parts(record, region))
        if 0 < len(parts) <= MAX_COVER_PARTS:
            cover = [scene.bank.cover_words[p] for p in parts if p in scene.bank.cover_words]
    names = _names(family.names, scene.facts.parts, scene.side or "")
    out = []
    for _ in range(count):
        if cover is not None and scene.rng.random() < 0.5:
            out.append(scene.pick(family.covering).format(cover=join(cover)))
        else:
            out.append(scene.pick(names))
    return out


def _names(names: tuple[str, ...], parts: frozenset[str], side: str) -> tuple[str, ...]:
    """A family's names that name only the region's parts, else all of them, with the side filled
    in (every text names its region twice)."""
    return _kept(names, (parts, side), _naming_only, names, parts, side)


def _naming_only(names: tuple[str, ...], parts: frozenset[str], side: str) -> tuple[str, ...]:
    fitting = [n for n in names if parts_named(n) <= parts] or names
    return tuple(n.format(side=side) for n in fitting)


def _where(scene: _Scene, name: str) -> str:
    family = scene.bank.families.get(scene.family)
    return f"{scene.pick(family.preps) if family else 'in'} {name}"


def _noun_item(scene: _Scene, fact: AUFact) -> str:
    """The code + canonical name form: 'an extreme AU25 (Lips Part)'."""
    groups = scene.bank.code_name
    annotated = fact.au in scene.gt
    kind = "annotated" if annotated else "graded" if fact.intensity else "ungraded"
    return scene.pick(groups[kind]).format(code=fact.au, name=fact.name, intensity=fact.intensity or "")


def _fitting(
    bank: PhraseBank,
    au: str,
    one_side: bool,
    parts: frozenset[str],
    intensity: str | None,
    nouns: bool = False,
) -> tuple[list[Wording], list[Wording]]:
    """The AU's wordings (`nouns`: its noun wordings) that name only the region's parts and suit
    the intensity, and the shortest of them (the first shortest, as a stable sort has it) for the
    compact form."""
    key = ("fits", au, one_side, parts, intensity, nouns)
    return _kept(bank, key, _fits, bank, au, one_side, parts, intensity, nouns)


def _fits(
    bank: PhraseBank, au: str, one_side: bool, parts: frozenset[str], intensity: str | None, nouns: bool
) -> tuple[list[Wording], list[Wording]]:
    suits, by_length = _suiting(bank, au, intensity, nouns)
    fits = [w for w in suits if (w.parts_side if one_side else w.parts_both) <= parts]
    if not fits:
        return fits, []
    return fits, [next(w for w in by_length if (w.parts_side if one_side else w.parts_both) <= parts)]


def _suiting(
    bank: PhraseBank, au: str, intensity: str | None, nouns: bool
) -> tuple[list[Wording], list[Wording]]:
    """The AU's wordings for the intensity, and the same by length (a stable sort: the first of
    the shortest that fit is `min`'s pick over the fitting ones)."""

    def make() -> tuple[list[Wording], list[Wording]]:
        wordings = (bank.nouns if nouns else bank.wordings)[au]
        suits = [w for w in wordings if w.only is None or intensity in w.only]
        return suits, sorted(suits, key=_both_length)

    return _kept(bank, ("suits", au, intensity, nouns), make)


def _both_length(wording: Wording) -> int:
    return len(wording.both)


def _picked(scene: _Scene, fits: list[Wording], shortest: list[Wording]) -> tuple[Wording, str, bool]:
    """A fitting wording, its form for the region's side, and whether the text is compact: with
    many AUs, the shortest wording, so the text stays within the gate's length."""
    compact = len(scene.facts.aus) > COMPACT_ABOVE
    wording = scene.pick(shortest if compact else fits)
    return wording, wording.side if scene.one_side else wording.both, compact


def _clause_item(scene: _Scene, fact: AUFact) -> str:
    """The appearance change, with the code and name when the naming is `both`."""
    fits, shortest = _fitting(scene.bank, fact.au, scene.one_side, scene.facts.parts, fact.intensity)
    if not fits:  # no wording fits the region's vocabulary: say it in the code + name form
        return "there is " + _noun_item(scene, fact)
    wording, form, compact = _picked(scene, fits, shortest)
    if fact.intensity and wording.only is None and "," not in form and scene.rng.random() < DEGREE_SHARE:
        degree = scene.fresh(scene.bank.degrees[fact.intensity])  # "parted to a strong degree"
        clause = _spaces(form.replace("{adv}", "")) + " " + degree
    else:
        adverb = scene.fresh(scene.bank.adverbs[fact.intensity]) if fact.intensity else ""
        clause = _spaces(form.replace("{adv}", adverb))
    annotated = fact.au in scene.gt
    if scene.naming == "both":
        frames = scene.bank.attach["annotated" if annotated else "estimate"]
        frame = frames[0] if compact else scene.fresh(frames[1:] or frames)  # the first is the shortest
        return frame.format(clause=clause, code=fact.au, name=fact.name)
    return scene.pick(scene.bank.plain_annotated).format(clause=clause) if annotated else clause


def _nominal_item(scene: _Scene, fact: AUFact) -> str:
    """The change as a noun phrase, with its code and name in apposition when the naming is
    `both`: 'a marked lowering of the brows, as AU04 (Brow Lowerer)' (`_nominal` has checked
    that a noun wording fits)."""
    fits, shortest = _fitting(scene.bank, fact.au, scene.one_side, scene.facts.parts, fact.intensity, True)
    _, form, compact = _picked(scene, fits, shortest)
    adjective = scene.fresh(scene.bank.adjectives[fact.intensity]) if fact.intensity else ""
    said = _spaces(form.replace("{adj}", adjective))
    if scene.naming != "both":
        return said
    frames = scene.bank.attach["noun"]
    frame = frames[0] if compact else scene.fresh(frames)  # the first is the shortest
    return frame.format(clause=said, code=fact.au, name=fact.name)


def _nominal(scene: _Scene) -> bool:
    """Whether this text says its AUs as noun wordings (a seeded share of the texts that name AUs
    by appearance, where each AU is an estimate with a noun wording for the region)."""
    if scene.naming == "code_name" or scene.rng.random() >= NOUN_SHARE:
        return False
    return all(
        fact.au not in scene.gt
        and _fitting(scene.bank, fact.au, scene.one_side, scene.facts.parts, fact.intensity, True)[0]
        for fact in scene.facts.aus
    )


def _au_sentences(scene: _Scene, name: str) -> list[str]:
    """The region's present AUs, strongest first, a few per sentence: as clauses ("the brows are
    lowered"), as noun wordings ("a marked lowering of the brows") or in the code + name form."""
    style = "noun" if scene.naming == "code_name" else "nominal" if _nominal(scene) else "clause"
    item = _noun_item if style == "noun" else _nominal_item if style == "nominal" else _clause_item
    items = [item(scene, fact) for fact in scene.facts.aus]
    for fact in scene.facts.aus:
        scene.states.add(fact.au)
        if fact.intensity:
            scene.states.add(f"{fact.au}:{fact.intensity}")
    size = PER_SENTENCE[style]
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    sentences = []
    for i, chunk in enumerate(chunks):
        kind = f"{'open' if i == 0 else 'more'}.{style}"
        frames = scene.bank.frames[kind]
        frame = scene.deal(kind, frames) if i == 0 else scene.fresh(frames)
        joined = _pair(scene, chunk, _joiners(scene, style)) if style != "noun" else join(chunk)
        slot = "clauses" if style == "clause" else "items"
        values = {"name": name, "where": _where(scene, name), slot: joined}
        if "here" in frame.slots:
            values["here"] = _here(scene)
        sentences.append(_fill(frame, scene, values))
    return sentences


def _joiners(scene: _Scene, style: str) -> tuple[str, ...]:
    """How two AUs share a sentence: clause joiners, or for noun wordings with their name in
    apposition, joiners with a comma that closes it ("…, AU25 (Lips Part), together with …");
    plain noun wordings are joined by "and"."""
    if style == "clause":
        return scene.bank.pair
    return scene.bank.pair_nominal if scene.naming == "both" else ("{first} and {second}",)


def _pair(scene: _Scene, items: list[str], joiners: tuple[str, ...]) -> str:
    """One or two AU clauses (or noun wordings) in one sentence, joined by a seeded connective:
    always "and" made "and a" the commonest word pair of the noun wordings."""
    if len(items) == 1:
        return items[0]
    return scene.fresh(joiners).format(first=items[0], second=items[1])


def _rest_sentence(scene: _Scene, name: str) -> str:
    frame = scene.deal("rest", scene.bank.frames["rest"])
    return _fill(frame, scene, {"name": name, "where": _where(scene, name)})


def _is_gt(label: object) -> bool:
    source = getattr(label, "source", None)
    return isinstance(source, str) and source.startswith("gt:")


def _cue_names(scene: _Scene, cues: list[AUFact]) -> str:
    """The region's prototype AUs referred back to: by code + name, or by their appearance."""
    if scene.naming == "code_name":
        return join([f"{a.au} ({a.name})" for a in cues])
    return join([scene.pick(scene.bank.cues[a.au])[1 if scene.one_side else 0] for a in cues])


def _emotion_sentence(scene: _Scene, face_level: bool) -> str | None:
    """The face's emotion, and the region's AUs of its EMFACS prototype when there are some."""
    facts, status = scene.facts, scene.shared.emotion
    if facts.emotion is None or status is None:
        return None
    cues = [a for a in facts.aus if a.au in scene.shared.cues]
    kind = "neutral" if facts.emotion == "neutral" else "cue" if cues else "no_cue"
    group = f"{status}.{'face_' if face_level else ''}{kind}"
    phrases = _without_p(scene.bank.emotion[group]) if facts.emotion_p is None else scene.bank.emotion[group]
    nouns, adjectives = scene.bank.emotion_words.get(facts.emotion, ((facts.emotion,), (facts.emotion,)))
    values = {
        "noun": scene.pick(nouns),
        "adj": scene.pick(adjectives),
        "p": scene.shared.p,
        "here": _here(scene),
        "cues": _cue_names(scene, cues) if cues else "",
    }
    return _fill(scene.deal(f"emotion.{group}.{facts.emotion_p is None}", phrases), scene, values)


def _without_p(phrases: tuple[Phrase, ...]) -> tuple[Phrase, ...]:
    """The group's phrases that need no probability."""
    return _kept(phrases, ("without_p",), lambda: tuple(p for p in phrases if "p" not in p.slots))


def _here(scene: _Scene) -> str:
    """How a later sentence refers back to the region: "this area", or by its name again."""
    if scene.family == "face":
        return "the face"
    if scene.family == "full_face":  # "the face shows no sign of it, … the whole face does not" jars
        return scene.pick(scene.bank.here)
    return scene.again if scene.again and scene.rng.random() < HERE_BY_NAME else scene.pick(scene.bank.here)


def _age_sentence(scene: _Scene, every_form: bool) -> str | None:
    """The age as a person would say it: the face text (`every_form`) gives the point estimate,
    likely range and bin, each when the label has it; a region text the point estimate alone or
    with one of the others, dealt, so that a face's ~24 texts do not say its age three ways each."""
    facts, status = scene.facts, scene.shared.age
    if facts.age_years is None or status is None:
        return None
    values = {"years": str(facts.age_years) if every_form else _years(scene)}
    have = {"age.years"}
    if facts.age_range and facts.age_range[0] < facts.age_range[1] and not facts.age_at_least:
        have.add("age.range")
        values |= {"low": str(facts.age_range[0]), "high": str(facts.age_range[1])}
    if facts.age_bin and bin_holds(facts.age_years, facts.age_bin):  # not "about 70, in the 60-69 group"
        have.add("age.bin")
        values["bin"] = facts.age_bin
        if facts.age_bin in scene.bank.bin_words:
            values["bin_words"] = scene.bank.bin_words[facts.age_bin]
    key = (frozenset(have), frozenset(values), facts.age_at_least, every_form)

    def make() -> tuple[tuple[Phrase, ...], str]:  # the group, and its key for `deal`
        return _age_group(scene.bank.age[status], *key), f"age.{sorted(have)}.{key[2]}.{every_form}"

    group, deal_key = _kept(scene.bank, ("age", status, *key), make)
    return _fill(scene.deal(deal_key, group), scene, values)


AGE_FORMS = 2  # at most this many of the age facts in a region text (the face text states all)


def _age_group(
    phrases: tuple[Phrase, ...], have: frozenset[str], slots: frozenset[str], at_least: bool, every: bool
) -> tuple[Phrase, ...]:
    """The age sentences that state the point estimate and, with `every`, every other age fact
    there is (else at most one more), and no fact the label lacks, with slots to fill."""
    usable = [p for p in phrases if "age.years" in p.facts and p.facts <= have and p.slots <= slots]
    usable = [p for p in usable if ("age.at_least" in p.states) == at_least]
    most = max(len(p.facts) for p in usable)  # every age fact there is, when a group says them all
    if every:
        return tuple(p for p in usable if len(p.facts) == most)
    return tuple(p for p in usable if len(p.facts) <= AGE_FORMS)


AGE_FIRST, AGE_BEFORE_EMOTION = 0.15, 0.4  # seeded shares of the sentence orders
BLEND_SHARE = 0.9  # region texts that say the emotion and the age in one sentence
REST_BLEND = 0.7  # of those at rest: one sentence for the rest, the emotion and the age
TAIL_SHARE = 0.6  # of those whose AUs are the emotion's cues: the blend said after the AU sentence
BLEND_FIRST = 0.3  # of the others: the emotion-and-age sentence before the AU or at-rest one
IN_WORDS = 0.5  # region texts that write the age in words (bank v5; v4 wrote 35 %)
RELATIVE = re.compile(r"\b(?:which|what)\b")  # a clause with its own: no tail that begins with "which"
CONTRAST = re.compile(r"\b(?:but|yet|though)\b")  # "no action unit here, yet the person looks happy"


def _text(scene: _Scene, first: list[str]) -> str:
    """The AU sentences, the emotion and the age in a seeded order (the age may lead; the emotion
    follows the AUs, which it may refer back to); articles agree, capitals start. A region text
    too short for the gate states the age every way it can."""
    face = scene.family == "face"
    emotion, age = _emotion_sentence(scene, face), _age_sentence(scene, face)
    roll = scene.rng.random()
    if roll < AGE_FIRST:
        order = [age, *first, emotion]
    elif roll < AGE_BEFORE_EMOTION:
        order = [*first, age, emotion]
    else:
        order = [*first, emotion, age]
    text = _joined(scene, order)
    if not face and age and len(text.split()) < LENGTH_WORDS["terse"][0]:
        full = _age_sentence(scene, True) or age
        text = _joined(scene, [full if s is age else s for s in order])
    return text


def _joined(scene: _Scene, order: Sequence[str | None]) -> str:
    """The sentences as one text: the articles fixed over the whole text at once (a sentence ends
    with a stop, so no 'a' at the end of one is read with the next; 'A'/'An' after a capital
    stays one), "1 year" for an age of one (the bank writes "{years} years")."""
    text = fix_articles(" ".join([_capital(s) for s in order if s]))
    return one_year(text, scene.facts.age_years)


def _blend_values(scene: _Scene, frame: Phrase) -> dict[str, str]:
    """A blend's slot values: the emotion's adjective, the age, the probability; {noun} and
    {here} only where the frame has them (seeded picks the others need not pay for)."""
    facts = scene.facts
    nouns, adjectives = scene.bank.emotion_words.get(facts.emotion or "", ((), ()))
    adjective = scene.pick(adjectives or (facts.emotion or "",))
    values = {"adj": adjective, "years": _years(scene), "p": scene.shared.p}
    if "noun" in frame.slots:  # "the estimate leans to sadness": only the frames that say it pick one
        values["noun"] = scene.pick(nouns or (facts.emotion or "",))
    return values | {"here": _here(scene)} if "here" in frame.slots else values


def _years(scene: _Scene) -> str:
    """The point estimate for a region text: in words in some texts ("about thirty-five", as prose
    writes an age; the fact check and the evaluator read them), else in digits."""
    return scene.shared.years[scene.rng.random() < IN_WORDS]  # (digits, words)


def _blend(scene: _Scene, group: str, after_which: bool = False) -> str:
    """One bank sentence (or tail) of `group` that says the emotion and the age together;
    `after_which`: a tail after a clause that has its own "which" does not begin with one."""
    phrases = scene.bank.blend[group]
    if scene.facts.emotion_p is None:
        phrases = _without_p(phrases)
    if after_which:
        phrases = _without_which(phrases)
    frame = scene.deal(f"blend.{group}.{scene.facts.emotion_p is None}.{after_which}", phrases)
    return _fill(frame, scene, _blend_values(scene, frame))


def _without_which(phrases: tuple[Phrase, ...]) -> tuple[Phrase, ...]:
    """The tails that do not begin with "which" (for a clause that has one)."""
    return _kept(phrases, ("no which",), lambda: tuple(p for p in phrases if not p.text.startswith("which")))


def _rest_blends(phrases: tuple[Phrase, ...], status: str, neutral: bool) -> tuple[Phrase, ...]:
    """The at-rest blends for the emotion label's status: `uncertain` ones say it is uncertain.
    A neutral face gets none that sets the rest against the expression ("no action unit here,
    yet the person looks neutral": a region at rest is what a neutral face has)."""
    uncertain = status == "uncertain"
    contrast_ok = uncertain or not neutral  # an uncertain one contrasts the guess with its doubt
    return _kept(phrases, ("status", uncertain, contrast_ok), _rest_fitting, phrases, uncertain, contrast_ok)


def _rest_fitting(phrases: tuple[Phrase, ...], uncertain: bool, contrast_ok: bool) -> tuple[Phrase, ...]:
    return tuple(
        p
        for p in phrases
        if ("uncertain" in p.states) == uncertain and (contrast_ok or not CONTRAST.search(p.text))
    )


def _region_text(scene: _Scene, name: str) -> str:
    """A region's text; most say the emotion and the age in one sentence (or with the at-rest
    statement, or after the AU sentence when its AUs are the emotion's cues): each fact once."""
    status = scene.shared.blend  # None: the emotion and the age are not said in one sentence
    if status is None or scene.rng.random() >= BLEND_SHARE:
        return _text(scene, _au_sentences(scene, name) if scene.facts.aus else [_rest_sentence(scene, name)])
    if not scene.facts.aus:
        if scene.rng.random() < REST_BLEND:
            neutral = scene.facts.emotion == "neutral"
            frames = _rest_blends(scene.bank.frames["rest.blend"], status, neutral)
            frame = scene.deal(f"rest.blend.{status}.{neutral}", frames)
            values = _blend_values(scene, frame)
            said = _fill(frame, scene, values | {"name": name, "where": _where(scene, name)})
            return _joined(scene, [said])
        first = [_rest_sentence(scene, name)]
    else:
        first = _au_sentences(scene, name)
        cues = scene.shared.cues
        cued = any(a.au in cues for a in scene.facts.aus)
        if status == "estimate" and cued and scene.rng.random() < TAIL_SHARE:
            tail = _blend(scene, "tail", after_which=RELATIVE.search(first[-1]) is not None)
            return _joined(scene, [*first[:-1], f"{first[-1][:-1]}, {tail}."])
    said = _blend(scene, status)
    return _joined(scene, [said, *first] if scene.rng.random() < BLEND_FIRST else [*first, said])


def _one_side(record: FaceRecord, region: Region | None, family: str) -> bool:
    """Whether AU wordings take their one-side form: a sided region, or a box on one side."""
    if region is not None and region.kind == "box":  # the side the AU labels were read from (labels/stage.py)
        return region_side(region.bbox_xyxy, record.landmarks_478[NASION][0]) != "both"
    return family in SIDED_FAMILIES


NO_AUS: frozenset[str] = frozenset()


def _gt_aus(labels: Iterable[AULabel]) -> frozenset[str]:
    return frozenset([a.au for a in labels if a.present and _is_gt(a)])


REGION_STYLE = length_style("phrases", region=True)


def compose_region(
    record: FaceRecord,
    region: Region,
    seed: int = 0,
    naming: str = "both",
    bank: PhraseBank | None = None,
    slot: int | None = None,
    shared: RecordShared | None = None,
) -> Composed:
    """One region's text: what moves there, the face's emotion as this region bears on it, age.
    `slot` (the region's place in the record) and `shared` (`record_shared(record)`): when the
    caller composing all of a record's texts has them, instead of working them out per text."""
    shared = record_shared(record) if shared is None else shared
    facts = region_facts(record, region, shared.labels)
    family = "box" if region.kind == "box" else family_of(region.region_id)
    scene = _Scene(
        seeded_rng(seed, record.record_id, region.region_id),
        bank or load_bank(),
        naming,
        facts,
        record,
        family,
        facts.side,
        _one_side(record, region, family),
        _gt_aus(region.aus) if facts.aus else NO_AUS,  # no AU present: none is ground truth
        seed,
        _slot(record, region) if slot is None else slot,
        shared,
    )
    name, scene.again = _region_names(scene, record, region, 2)
    return Composed(_region_text(scene, name), frozenset(scene.states), facts, REGION_STYLE)


def _slot(record: FaceRecord, region: Region) -> int:
    return next((i for i, r in enumerate(record.regions) if r is region), len(record.regions))


def compose_face(
    record: FaceRecord,
    seed: int = 0,
    naming: str = "both",
    bank: PhraseBank | None = None,
    shared: RecordShared | None = None,
) -> Composed:
    """The face-level text: every present AU at its strongest, the emotion with its probability, age."""
    shared = record_shared(record) if shared is None else shared
    facts = face_facts(record, shared.labels)
    strongest = strongest_aus(record)
    scene = _Scene(
        seeded_rng(seed, record.record_id, "face"),
        bank or load_bank(),
        naming,
        facts,
        record,
        "face",
        None,
        False,
        _gt_aus(strongest),
        seed,
        len(record.regions),
        shared,
    )
    name = _region_name(scene, record, None)
    first = _au_sentences(scene, name) if facts.aus else [_rest_sentence(scene, name)]
    return Composed(_text(scene, first), frozenset(scene.states), facts)


def region_noun(
    record: FaceRecord, region: Region | None, facts: Facts, rng: random.Random, bank: PhraseBank
) -> str:
    """A seeded bank name for the region (the face when None); the templater's `{region}` value."""
    family = "face" if region is None else "box" if region.kind == "box" else family_of(region.region_id)
    scene = _Scene(rng, bank, "code_name", facts, record, family, facts.side, False, frozenset())
    return _region_name(scene, record, region)


def au_phrases(
    record: FaceRecord,
    region: Region | None,
    facts: Facts,
    labels: dict[str, AULabel],
    rng: random.Random,
    naming: str,
    bank: PhraseBank,
) -> tuple[list[str], str]:
    """Each present AU named as this describer names it under `naming` (code_name: a noun phrase;
    plain / both: the appearance-change clause), and the emotion's cue AUs referred back to; the
    templater's AU slot values, so its texts follow `describe.au_naming` too."""
    family = "face" if region is None else "box" if region.kind == "box" else family_of(region.region_id)
    one_side = _one_side(record, region, family)
    scene = _Scene(rng, bank, naming, facts, record, family, facts.side, one_side, _gt_aus(labels.values()))
    item = _noun_item if naming == "code_name" else _clause_item
    cues = [a for a in facts.aus if a.au in EMOTION_CUES.get(facts.emotion or "", frozenset())]
    return [item(scene, fact) for fact in facts.aus], _cue_names(scene, cues) if cues else ""


class PhraseDescriber:
    """Backend `phrases`: composes every region's and the face's text; the fact check gates each."""

    def __init__(self, seed: int = 0, au_naming: str = "both") -> None:
        if au_naming not in AU_NAMINGS:
            raise ValueError(f"describe.au_naming is one of {', '.join(AU_NAMINGS)}, got {au_naming!r}")
        self.seed, self.naming = seed, au_naming
        self.bank = load_bank()
        plain_index()  # the gate's wording index, built with the bank, not by the first text it checks
        self.prompt_version = f"phrases-v{self.bank.version}"
        self.fallbacks = 0

    def _gated(self, composed: Composed, template: Callable[[], Description]) -> Description:
        """The composed text if it passes the gate; else the template text, with the reasons."""
        problems = check_text(composed.text, composed.facts, composed.style)
        if not problems:
            return Description(composed.text, "phrases", None, self.prompt_version, [], False)
        self.fallbacks += 1
        fallback = template()
        return Description(fallback.text, "template", None, fallback.prompt_version, problems, True)

    def __call__(self, record: FaceRecord) -> None:
        shared = record_shared(record)  # the same for every text of the record
        for slot, region in enumerate(record.regions):
            composed = compose_region(record, region, self.seed, self.naming, self.bank, slot, shared)
            region.description = self._gated(composed, partial(describe_region, record, region, self.seed))
        composed = compose_face(record, self.seed, self.naming, self.bank, shared)
        record.face_description = self._gated(composed, lambda: describe_face(record, self.seed))

    def describe_batch(self, records: list[FaceRecord]) -> None:
        for record in records:
            self(record)

    def close(self) -> None:
        """Nothing to release; describers share one lifecycle."""
