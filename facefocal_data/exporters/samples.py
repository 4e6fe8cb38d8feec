"""Training samples from records, one curriculum stage at a time, independent of the trainer.

A sample is an image and a list of turns; a user turn may hold `<bbox>` placeholders, and the
turn's `boxes` (crop pixels) fill them in order, so each exporter renders boxes in its own
model's coordinates. Stages (Focal-RegionFace trains progressively):
- `au`, `emotion`, `age`: single-attribute questions (per region for AUs, per face otherwise);
- `region`: a multi-attribute description of one region per sample;
- `dialogue`: one multi-turn conversation per face, region after region.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..facs import AU_NAMES, intensity_word
from ..record import FaceRecord, Region
from .prompts import pick

STAGES = ("au", "emotion", "age", "region", "dialogue")
DIALOGUE_TURNS = 4  # regions per dialogue


@dataclass
class Turn:
    user: str
    assistant: str
    boxes: list[list[int]] = field(default_factory=list)


@dataclass
class Sample:
    record: FaceRecord
    task: str
    turns: list[Turn]


def _au_answer(region: Region) -> str:
    present = sorted((a for a in region.aus if a.present), key=lambda a: -(a.value or 0))
    if not present:
        return "None of the measured action units is active in this region."
    items = []
    for label in present:
        named = f"{label.au} ({AU_NAMES[label.au]})"
        if label.value_type in ("activation", "probability") and label.value is not None:
            named = f"{named}, {intensity_word(label.value)}"
        items.append(named)
    return "Active action units: " + "; ".join(items) + "."


def _emotion_answer(record: FaceRecord) -> str | None:
    emotion = record.emotion
    if emotion is None:
        return None
    hedge = " (uncertain)" if emotion.uncertain else ""
    return f"The face shows {emotion.label}{hedge}."


def _age_answer(record: FaceRecord) -> str | None:
    age = record.age
    if age is None or age.years is None:
        return None
    if age.interval:
        low, high = age.interval
        return f"About {round(age.years)} years old (likely {round(low)}-{round(high)})."
    return f"About {round(age.years)} years old."


def _described(region: Region) -> bool:
    return region.description is not None and bool(region.description.text)


def samples(record: FaceRecord, stage: str, seed: int) -> Iterator[Sample]:
    """The record's samples for one stage (regions without text are skipped for text stages)."""
    rid = record.record_id
    if stage == "au":
        for region in record.regions:
            turn = Turn(pick("au", seed, rid, region.region_id), _au_answer(region), [region.bbox_xyxy])
            yield Sample(record, "au", [turn])
    elif stage == "emotion" and (answer := _emotion_answer(record)):
        yield Sample(record, "emotion", [Turn(pick("emotion", seed, rid), answer)])
    elif stage == "age" and (answer := _age_answer(record)):
        yield Sample(record, "age", [Turn(pick("age", seed, rid), answer)])
    elif stage == "region":
        for region in filter(_described, record.regions):
            assert region.description is not None
            turn = Turn(
                pick("region", seed, rid, region.region_id), region.description.text, [region.bbox_xyxy]
            )
            yield Sample(record, "region", [turn])
    elif stage == "dialogue":
        regions = [r for r in record.regions if _described(r) and r.kind == "named"][:DIALOGUE_TURNS]
        turns = []
        for i, region in enumerate(regions):
            assert region.description is not None
            task = "dialogue_first" if i == 0 else "dialogue_next"
            turns.append(
                Turn(pick(task, seed, rid, region.region_id), region.description.text, [region.bbox_xyxy])
            )
        if turns:
            yield Sample(record, "dialogue", turns)
