"""The template describer: deterministic text that states the labels and nothing else.

Every AU is named by code and canonical FACS name with an intensity word; emotion and age are
face-level and said as such; a region's emotion sentence names only the AUs present in that
region that belong to the emotion's EMFACS prototype. Phrasing varies with a seed (per record and
region), so a dataset is not one sentence repeated; the same input and seed give the same text.
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache

from ..facs import AU_NAMES, EMOTION_PROTOTYPES, intensity_word
from ..record import AgeLabel, AULabel, Description, EmotionLabel, FaceRecord, Region

PROMPT_VERSION = "template-v1"

# EMFACS prototypes: which AUs are cues of which emotion
EMOTION_CUES = EMOTION_PROTOTYPES  # an emotion's cues are its prototype AUs
REGION_PHRASES = {
    "forehead": "the forehead",
    "glabella": "the glabella, between the brows",
    "nose": "the nose",
    "mouth": "the mouth",
    "chin": "the chin",
    "jaw": "the jaw line",
    "upper_face": "the upper face",
    "lower_face": "the lower face",
    "full_face": "the whole face",
}
SIDED_PHRASES = {
    "brow": "eyebrow",
    "eye": "eye",
    "nasolabial": "nasolabial fold",
    "cheek_upper": "upper cheek",
    "cheek_lower": "lower cheek",
}

AU_OPENERS = ("In {region}, there is {items}.", "{Region} shows {items}.", "Visible in {region}: {items}.")
NO_AU = (
    "None of the measured action units is active in {region}.",
    "{Region} is at rest: none of the measured action units is active.",
)
CUE = (
    "{cues} {verb} of {emotion}, the face's estimated emotion ({p}).",
    "The face's estimated emotion is {emotion} ({p}), and {cues} in this region {is_are} consistent with it.",
)
NO_CUE = (
    "The face's estimated emotion is {emotion} ({p}); this region shows none of its typical cues.",
    "Estimated emotion for the face: {emotion} ({p}); no cue of it appears in this region.",
)
AGE_NO_BIN = (
    "Estimated age: {years} years (80% interval {low}-{high}).",
    "The person's age is estimated at {years} years (likely {low}-{high}).",
)
AGE = (
    "Estimated age: {years} years (80% interval {low}-{high}, bin {bin}).",
    "The person's age is estimated at {years} years (likely {low}-{high}; bin {bin}).",
)


def seeded_rng(seed: int, *keys: str) -> random.Random:
    """A generator for one text, from the seed and the record / region ids: reruns repeat it."""
    digest = hashlib.sha256(":".join([str(seed), *keys]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def au_phrase(label: AULabel) -> str:
    """'a strong AU12 (Lip Corner Puller)'; ground-truth binary labels have no intensity."""
    named = f"{label.au} ({AU_NAMES[label.au]})"
    if label.value_type in ("activation", "probability") and label.value is not None:
        word = intensity_word(label.value)
        return f"{'an' if word[0] in 'aeiou' else 'a'} {word} {named}"
    return named


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def region_name(region: Region) -> str:
    """A noun phrase for the region: sides are the subject's; boxes by their coordinates."""
    rid = region.region_id
    if region.kind == "box":
        x1, y1, x2, y2 = region.bbox_xyxy
        return f"the region [{x1}, {y1}, {x2}, {y2}]"
    return named_region_name(rid)


def named_region_name(rid: str) -> str:
    """`region_name` of a region that is not a box: by its id alone."""
    if rid in REGION_PHRASES:
        return REGION_PHRASES[rid]
    base, _, side = rid.rpartition("_")
    if side in ("left", "right") and base in SIDED_PHRASES:
        return f"the subject's {side} {SIDED_PHRASES[base]}"
    return f"the {rid.replace('_', ' ')} region"


def _emotion_sentence(rng: random.Random, present: list[AULabel], emotion: EmotionLabel) -> str:
    p = "n/a" if emotion.confidence is None else f"{emotion.confidence:.2f}"
    p += ", uncertain" if emotion.uncertain else ""
    cues = [a for a in present if a.au in EMOTION_CUES.get(emotion.label, frozenset())]
    if not cues:
        return rng.choice(NO_CUE).format(emotion=emotion.label, p=p)
    names = join([f"{a.au} ({AU_NAMES[a.au]})" for a in cues])
    one = len(cues) == 1
    verb, is_are = ("is a cue", "is") if one else ("are cues", "are")
    return rng.choice(CUE).format(cues=names, verb=verb, is_are=is_are, emotion=emotion.label, p=p)


BIN_ENDS = re.compile(r"^(\d+)(?:-(\d+)|\+)$")  # "60-69", "70+"
ONE_YEARS = re.compile(r"\b1 years\b")


def one_year(text: str, years: int | None) -> str:
    """ "1 year" for an age of one: sentences are written with "{years} years"."""
    return ONE_YEARS.sub("1 year", text) if years == 1 else text


@lru_cache(maxsize=1024)
def bin_holds(years: int, age_bin: str) -> bool:
    """Whether the label's bin holds the rounded years a text states. The bin is of the model's
    years (69.6 is in 60-69), so "about 70, in the 60-69 group" would contradict itself: the
    phrase describer and the template then leave the bin out (the record and the check keep
    it; a bin of another form counts as holding)."""
    match = BIN_ENDS.match(age_bin)
    if match is None:
        return True
    low, high = int(match.group(1)), match.group(2)
    return low <= years and (high is None or years <= int(high))


def _age_sentence(rng: random.Random, age: AgeLabel, with_bin: bool = True) -> str | None:
    if age.years is None:
        return None
    years = round(age.years)
    with_bin = with_bin and bool(age.bin) and bin_holds(years, age.bin or "")
    if age.range_edge == "above":  # the model's top reading: a lower bound, not an estimate
        return f"Estimated age: at least {years} years" + (f" (bin {age.bin})." if with_bin else ".")
    low, high = age.interval or (age.years, age.years)
    text = rng.choice(AGE if with_bin else AGE_NO_BIN)
    return one_year(text.format(years=years, low=round(low), high=round(high), bin=age.bin), years)


def describe_region(record: FaceRecord, region: Region, seed: int = 0, with_bin: bool = True) -> Description:
    """The region's text; ``with_bin=False`` leaves the age bin out (the LLM draft: fewer numbers)."""
    rng = seeded_rng(seed, record.record_id, region.region_id)
    where = region_name(region)
    present = sorted((a for a in region.aus if a.present), key=lambda a: -(a.value or 0))
    if present:
        items = join([au_phrase(a) for a in present])
        text = rng.choice(AU_OPENERS).format(items=items, region=where, Region=_capital(where))
    else:
        text = rng.choice(NO_AU).format(region=where, Region=_capital(where))
    sentences = [_capital(text)]
    if record.emotion is not None:
        sentences.append(_emotion_sentence(rng, present, record.emotion))
    if record.age is not None and (age := _age_sentence(rng, record.age, with_bin)):
        sentences.append(age)
    return Description(" ".join(sentences), "template", None, PROMPT_VERSION, [], False)


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def describe_face(record: FaceRecord, seed: int = 0, with_bin: bool = True) -> Description:
    """Face-level summary: the strongest present AUs over all regions, emotion and age."""
    rng = seeded_rng(seed, record.record_id, "face")
    best: dict[str, AULabel] = {}
    for region in record.regions:
        for label in region.aus:
            if label.present and (label.au not in best or (label.value or 0) > (best[label.au].value or 0)):
                best[label.au] = label
    present = sorted(best.values(), key=lambda a: -(a.value or 0))
    parts = []
    if present:
        parts.append(f"Active action units: {join([au_phrase(a) for a in present])}.")
    else:
        parts.append("None of the measured action units is active.")
    if record.emotion is not None:
        p = f"{record.emotion.confidence:.2f}" if record.emotion.confidence is not None else "n/a"
        flag = ", uncertain" if record.emotion.uncertain else ""
        parts.append(f"Estimated emotion: {record.emotion.label} ({p}{flag}).")
    if record.age is not None and (age := _age_sentence(rng, record.age, with_bin)):
        parts.append(age)
    return Description(" ".join(parts), "template", None, PROMPT_VERSION, [], False)


class TemplateDescriber:
    """Backend `template`: fills every region's and the face's description."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __call__(self, record: FaceRecord) -> None:
        for region in record.regions:
            region.description = describe_region(record, region, self.seed)
        record.face_description = describe_face(record, self.seed)

    def describe_batch(self, records: list[FaceRecord]) -> None:
        for record in records:
            self(record)

    def close(self) -> None:
        """Nothing to release; describers share one lifecycle."""
