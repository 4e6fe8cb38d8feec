"""The facts a description may state about one region (or the whole face), pre-verbalised.

Both the LLM prompt and the fact check read the same `Facts`, so what the model is told and what
its text is checked against cannot drift apart. Face parts are the region's *vocabulary*: a text
that talks about a part outside it is not grounded in the region.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..facs import AU_NAMES, intensity_word
from ..record import AULabel, FaceRecord, Region
from ..regions.named import NAMED_REGIONS
from ..regions.propose import region_box
from .template import named_region_name, region_name

# canonical part -> the words that name it (lower case, matched as whole words)
PART_WORDS: dict[str, tuple[str, ...]] = {
    "forehead": ("forehead",),
    "brow": ("brow", "brows", "eyebrow", "eyebrows"),
    "glabella": ("glabella",),
    "eye": ("eye", "eyes", "eyelid", "eyelids", "lid", "lids"),
    "nose": ("nose", "nostril", "nostrils"),
    "nasolabial": ("nasolabial",),
    "cheek": ("cheek", "cheeks"),
    "mouth": ("mouth", "lip", "lips"),
    "chin": ("chin",),
    "jaw": ("jaw",),
    # parts no label speaks about: never grounded
    "unlabelled": ("teeth", "tooth", "tongue", "gums", "ear", "ears", "hair", "hairline", "temple", "neck"),
}
REGION_PARTS: dict[str, frozenset[str]] = {
    "forehead": frozenset({"forehead", "brow"}),
    "glabella": frozenset({"glabella", "brow"}),
    "brow": frozenset({"brow"}),
    "eye": frozenset({"eye"}),
    "nose": frozenset({"nose"}),
    "nasolabial": frozenset({"nasolabial", "nose", "mouth", "cheek"}),
    "cheek_upper": frozenset({"cheek"}),
    "cheek_lower": frozenset({"cheek"}),
    "mouth": frozenset({"mouth"}),
    "chin": frozenset({"chin"}),
    "jaw": frozenset({"jaw", "chin"}),
    "upper_face": frozenset({"forehead", "glabella", "brow", "eye"}),
    "lower_face": frozenset({"nose", "nasolabial", "cheek", "mouth", "chin", "jaw"}),
    "full_face": frozenset(PART_WORDS) - {"unlabelled"},
}
AU_NAME_PARTS: dict[str, frozenset[str]] = {
    au: frozenset(part for part, words in PART_WORDS.items() for w in name.lower().split() if w in words)
    for au, name in AU_NAMES.items()
}
BOX_PART_OVERLAP = 0.25  # a named region this much inside a box puts its parts in the box's vocabulary


@dataclass(frozen=True)
class AUFact:
    au: str
    name: str
    intensity: str | None  # "strong"; None for binary ground truth
    value: float | None


@dataclass(frozen=True)
class Facts:
    """Everything a description of one region may say, and nothing else."""

    region_id: str
    region: str  # noun phrase: "the subject's left eye"
    side: str | None  # "left" | "right" for sided regions
    aus: tuple[AUFact, ...]
    emotion: str | None
    emotion_p: float | None
    emotion_uncertain: bool
    age_years: int | None
    age_range: tuple[int, int] | None  # 80 % interval
    age_bin: str | None
    parts: frozenset[str] = field(default_factory=frozenset)
    age_at_least: bool = False  # the age model's reading is at its top edge: `age_years` or more

    def key(self) -> str:
        """Stable text for cache keys."""
        data = asdict(self)
        data["parts"] = sorted(self.parts)
        return json.dumps(data, sort_keys=True)

    def lines(self) -> list[str]:
        """The facts as short lines, AUs with code, canonical name and intensity word."""
        out = [f"Region: {self.region}"]
        if self.aus:
            items = [
                f"{a.au} ({a.name}){'' if a.intensity is None else f', {a.intensity}'}" for a in self.aus
            ]
            out.append("Action units present: " + "; ".join(items))
        else:
            out.append("Action units present: none")
        if self.emotion is not None:
            p = (
                ""
                if self.emotion_p is None
                else f" ({self.emotion_p:.2f}{', uncertain' if self.emotion_uncertain else ''})"
            )
            out.append(f"Emotion of the face: {self.emotion}{p}")
        if self.age_years is not None:
            low, high = self.age_range or (self.age_years, self.age_years)
            if self.age_at_least:
                out.append(f"Estimated age: at least {self.age_years} years (the age model's top reading)")
            else:
                out.append(f"Estimated age: {self.age_years} years (likely {low}-{high})")
        return out


@lru_cache(maxsize=4096)
def _au_fact_of(au: str, value_type: str, value: float | None) -> AUFact:
    """Cached: a build's regions repeat the same few readings, and every text needs its facts."""
    word = None
    if value_type in ("activation", "probability") and value is not None:
        word = intensity_word(value)
    return AUFact(au, AU_NAMES[au], word, None if value is None else round(float(value), 2))


def label_facts(record: FaceRecord) -> dict[str, Any]:
    """The face's emotion and age as `Facts` fields: the same for all of a face's ~24 texts, so a
    caller describing them all works them out once and passes them to `region_facts`."""
    emotion, age = record.emotion, record.age
    age_range = None
    if age is not None and age.years is not None:
        low, high = age.interval or (age.years, age.years)
        age_range = (round(low), round(high))
    return dict(
        emotion=None if emotion is None else emotion.label,
        emotion_p=None if emotion is None or emotion.confidence is None else round(emotion.confidence, 2),
        emotion_uncertain=bool(emotion and emotion.uncertain),
        age_years=None if age is None or age.years is None else round(age.years),
        age_range=age_range,
        age_bin=None if age is None else age.bin,
        age_at_least=age is not None and age.range_edge == "above",
    )


def region_facts(record: FaceRecord, region: Region, labels: dict[str, Any] | None = None) -> Facts:
    """The region's facts; `labels`: `label_facts(record)`, when the caller has them already."""
    present = [a for a in region.aus if a.present]
    rid = region.region_id
    if region.kind == "box":
        name, side, parts = region_name(region), side_of(rid), region_parts(record, region)
    else:
        name, side, parts = _named_region(rid)
    if present:
        parts = parts.union(*[AU_NAME_PARTS[a.au] for a in present])
    return _facts(record, rid, name, side, present, labels, parts)


@lru_cache(maxsize=256)
def _named_region(region_id: str) -> tuple[str, str | None, frozenset[str]]:
    """A named region's noun phrase, side and parts: the same for every face (cached: all of a
    face's region texts ask)."""
    return named_region_name(region_id), side_of(region_id), _parts_of(region_id)


def _parts_of(region_id: str) -> frozenset[str]:
    return REGION_PARTS.get(family_of(region_id), frozenset())


def _facts(
    record: FaceRecord,
    region_id: str,
    region: str,
    side: str | None,
    present: list[AULabel],
    labels: dict[str, Any] | None,
    parts: frozenset[str],
) -> Facts:
    if len(present) > 1:  # most regions have one present AU or none: no sort, no key calls
        present = sorted(present, key=_strength)
    aus = tuple([_au_fact_of(a.au, a.value_type, a.value) for a in present])
    shared = label_facts(record) if labels is None else labels
    return Facts(region_id=region_id, region=region, side=side, aus=aus, **shared, parts=parts)


def _strength(label: AULabel) -> float:
    return -(label.value or 0)


def strongest_aus(record: FaceRecord) -> list[AULabel]:
    """Each present AU once, at its strongest reading over all regions (the face-level view)."""
    best: dict[str, AULabel] = {}
    for region in record.regions:
        for label in region.aus:
            if label.present and (label.au not in best or (label.value or 0) > (best[label.au].value or 0)):
                best[label.au] = label
    return list(best.values())


def face_facts(record: FaceRecord, labels: dict[str, Any] | None = None) -> Facts:
    """The face as one region: the strongest reading of each present AU over all regions."""
    full = REGION_PARTS["full_face"]
    return _facts(record, "face", "the whole face", None, strongest_aus(record), labels, full)


def side_of(region_id: str) -> str | None:
    tail = region_id.rpartition("_")[2]
    return tail if tail in ("left", "right") else None


def family_of(region_id: str) -> str:
    """'eye_left' -> 'eye': the region without the subject's side."""
    return region_id.removesuffix("_left").removesuffix("_right")


def region_parts(record: FaceRecord, region: Region) -> frozenset[str]:
    """Canonical parts a region may speak of; a box inherits the named regions it covers."""
    if region.kind != "box":
        return _parts_of(region.region_id)
    boxes, known = _named_boxes(record)
    key = tuple(region.bbox_xyxy)
    parts = known.get(key)
    if parts is None:  # a box's text asks for its parts three times (its facts, its name twice)
        parts = known[key] = _box_parts(key, boxes)
    return parts


def _box_parts(box: tuple[int, ...], boxes: list[tuple[str, list[int]]]) -> frozenset[str]:
    x1, y1, x2, y2 = box
    parts: set[str] = set()
    for family, (bx1, by1, bx2, by2) in boxes:  # conditionals, not min/max: 4 calls a box
        wide = (x2 if x2 < bx2 else bx2) - (x1 if x1 > bx1 else bx1)
        high = (y2 if y2 < by2 else by2) - (y1 if y1 > by1 else by1)
        if wide > 0 and high > 0 and wide * high >= BOX_PART_OVERLAP * max(1, (bx2 - bx1) * (by2 - by1)):
            parts |= REGION_PARTS.get(family, set())
    return frozenset(parts)


_Boxes = tuple[list[tuple[str, list[int]]], dict[tuple[int, ...], frozenset[str]]]
# (family, named region) of the named regions a box's parts are read from: not the face halves
# or the whole face (worked out once, not per record)
_BOX_SOURCES = tuple(
    (family_of(n.name), n)
    for n in NAMED_REGIONS
    if family_of(n.name) not in ("upper_face", "lower_face", "full_face")
)
_BOXES: dict[int, tuple[FaceRecord, _Boxes]] = {}


def _named_boxes(record: FaceRecord) -> _Boxes:
    """(family, box) of each named region but the face halves and the whole face, and the parts
    of each box region asked about so far, kept for the few records in hand: every box region
    and every check of its text needs them again."""
    hit = _BOXES.get(id(record))
    if hit is not None and hit[0] is record:
        return hit[1]
    stored = {r.region_id: r.bbox_xyxy for r in record.regions if r.kind == "named"}
    if any(n.name not in stored for _, n in _BOX_SOURCES):  # the record's own boxes where it has them
        points = np.asarray(record.landmarks_478, dtype=np.float32)
        stored |= {
            n.name: region_box(points, n, record.width) for _, n in _BOX_SOURCES if n.name not in stored
        }
    boxes = [(family, stored[n.name]) for family, n in _BOX_SOURCES]
    if len(_BOXES) >= 8:
        _BOXES.clear()
    entry: _Boxes = (boxes, {})
    _BOXES[id(record)] = (record, entry)
    return entry
