"""Fact signatures and slot values: what the LLM templater writes for, and what code fills in.

A *signature* says what kind of facts a text states, never the facts of one face: the region
family and whether it is one side of the face, how many AUs are present (each becomes a slot),
how many of them are cues of the emotion, the emotion's status (estimate, uncertain, annotated)
and whether it is neutral, and which age facts there are (years, range, bin; estimate or
annotated). AU identities and intensity words, the emotion, the numbers and the side are slot
values filled by code, so one template serves every face with the same kinds of fact: the
LLM's cost grows with the number of signatures, not of faces (`benchmarks/bench_describe.py`
counts both kinds of signature on 1,000 faces).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass

from ..record import FaceRecord, Region
from .bank import PhraseBank
from .facts import Facts, family_of
from .template import EMOTION_CUES, bin_holds, join

MAX_AU_SLOTS = 3  # more present AUs than this: one `{aus}` slot holds the whole list
AGE_SLOTS: dict[str, tuple[str, ...]] = {
    "years": ("age",),
    "range": ("age_low", "age_high"),
    "bin": ("age_bin",),
}


@dataclass(frozen=True)
class Signature:
    """The kinds of fact one text states; the cache key of its templates."""

    family: str
    one_side: bool
    aus: int  # present AUs, 0..MAX_AU_SLOTS; MAX_AU_SLOTS + 1: "many" (one list slot)
    cues: int  # 0, 1, 2 (two or more): singular or plural agreement
    emotion: str  # none | estimate | uncertain | gt
    neutral: bool
    p: bool  # the emotion's probability is known ({p} may be used)
    age: tuple[str, ...]  # of years, range, bin; () when no age
    age_gt: bool
    clauses: bool = False  # AUs named as appearance-change clauses (au_naming plain / both), not nouns

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def required(self) -> list[str]:
        """The slots every template of this signature must contain."""
        slots = ["region"]
        slots += ["aus"] if self.aus > MAX_AU_SLOTS else [f"au_{i}" for i in range(1, self.aus + 1)]
        if self.emotion != "none":
            slots.append("emotion")
        if self.cues:
            slots.append("cues")
        for form in self.age:
            slots += AGE_SLOTS[form]
        return slots

    def optional(self) -> list[str]:
        return ["p"] if self.p and self.emotion != "none" else []


def is_gt(label: object) -> bool:
    source = getattr(label, "source", None)
    return isinstance(source, str) and source.startswith("gt:")


def _age_form(facts: Facts) -> tuple[str, ...]:
    if facts.age_years is None:
        return ()
    form = ["years"]
    if facts.age_range and facts.age_range[0] < facts.age_range[1]:
        form.append("range")
    if facts.age_bin and bin_holds(facts.age_years, facts.age_bin):  # not "about 70 ... 60-69"
        form.append("bin")
    return tuple(form)


def cue_facts(facts: Facts) -> list[str]:
    """The present AUs of the emotion's EMFACS prototype, strongest first."""
    prototype = EMOTION_CUES.get(facts.emotion or "", frozenset())
    return [a.au for a in facts.aus if a.au in prototype]


def signature_of(
    facts: Facts, record: FaceRecord, family: str, one_side: bool, clauses: bool = False
) -> Signature:
    """The signature of one region's (or the face's) facts; `clauses`: AU slots hold clauses."""
    status = "none"
    if facts.emotion is not None:
        status = "gt" if is_gt(record.emotion) else "uncertain" if facts.emotion_uncertain else "estimate"
    return Signature(
        family=family,
        one_side=one_side,
        aus=min(len(facts.aus), MAX_AU_SLOTS + 1),
        cues=min(len(cue_facts(facts)), 2),
        emotion=status,
        neutral=facts.emotion == "neutral",
        p=facts.emotion_p is not None,
        age=_age_form(facts),
        age_gt=is_gt(record.age),
        clauses=clauses,
    )


def region_family(region: Region | None) -> str:
    if region is None:
        return "face"
    return "box" if region.kind == "box" else family_of(region.region_id)


def slot_values(
    facts: Facts, items: list[str], cues: str, bank: PhraseBank, rng: random.Random, name: str
) -> dict[str, str]:
    """Every slot's value for one text: the AUs as `items` (named per `describe.au_naming` by the
    caller), the cue AUs, the emotion noun (seeded), and the numbers, all from the labels."""
    values = {"region": name, "aus": join(items) if items else "", "cues": cues}
    values |= {f"au_{i}": item for i, item in enumerate(items, 1)}
    if facts.emotion is not None:
        nouns = bank.emotion_words.get(facts.emotion, ((facts.emotion,), ()))[0]
        pick = nouns[int(rng.random() * len(nouns))]
        values["emotion"] = "a neutral expression" if facts.emotion == "neutral" else pick
    if facts.emotion_p is not None:
        values["p"] = f"{facts.emotion_p:.2f}"
    if facts.age_years is not None:
        values["age"] = str(facts.age_years)
    if facts.age_range:
        values |= {"age_low": str(facts.age_range[0]), "age_high": str(facts.age_range[1])}
    if facts.age_bin:
        values["age_bin"] = facts.age_bin
    return values
