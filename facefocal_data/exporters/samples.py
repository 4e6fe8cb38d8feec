"""Training samples from records, one curriculum stage at a time, independent of the trainer.

A sample is an image and a list of turns; a turn's question and answer may hold `<bbox>`
placeholders (an answer's boxes are found by `textboxes.templated`), and the turn's `boxes`
(crop pixels) fill them in order, so each exporter renders every box in its own model's
coordinates. Stages (Focal-RegionFace trains progressively):
- `au`, `emotion`, `age`: single-attribute questions (per region for AUs, per face otherwise);
- `region`: a multi-attribute description of one region per sample;
- `dialogue`: one multi-turn conversation per face, region after region (regions with active AUs
  first, see `dialogue_regions`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..facs import AU_NAMES, intensity_word
from ..record import FaceRecord, Region
from .options import STAGES  # noqa: F401  (re-exported: the stages are samples' subject)
from .prompts import pick
from .textboxes import PLACEHOLDER, UnknownBoxError, templated

DIALOGUE_TURNS = 4  # regions per dialogue


@dataclass
class Turn:
    """One question and its answer. `boxes` (crop pixels) fill the `<bbox>` placeholders of `user`,
    then those of `assistant`, in order: every coordinate of a turn is rendered by the exporter."""

    user: str
    assistant: str
    boxes: list[list[int]] = field(default_factory=list)
    region_id: str | None = None  # the region asked about (None: the whole face), to score a prediction

    def split_boxes(self) -> tuple[list[list[int]], list[list[int]]]:
        """(the question's boxes, the answer's boxes)."""
        asked = self.user.count(PLACEHOLDER)
        return self.boxes[:asked], self.boxes[asked:]


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


def _turn(question: str, region: Region, answer: str, record: FaceRecord) -> Turn:
    """A region's question and answer, the answer's boxes turned into placeholders (UnknownBoxError
    when the answer holds a box the record does not have)."""
    text, found = templated(answer, record)
    return Turn(question, text, [region.bbox_xyxy, *found], region.region_id)


def _region_turns(
    record: FaceRecord, regions: list[Region], tasks: list[str], seed: int, skipped: list[str]
) -> Iterator[Turn]:
    """A described-region turn per region; a text holding an unknown box is left out and noted
    in `skipped` as `record/region`. `tasks[i]` (or the last one) picks the i-th question."""
    made = 0
    for region in regions:
        assert region.description is not None
        task = tasks[min(made, len(tasks) - 1)]
        question = pick(task, seed, record.record_id, region.region_id)
        try:
            turn = _turn(question, region, region.description.text, record)
        except UnknownBoxError:
            skipped.append(f"{record.record_id}/{region.region_id}")
            continue
        made += 1
        yield turn


def samples(record: FaceRecord, stage: str, seed: int, skipped: list[str] | None = None) -> Iterator[Sample]:
    """The record's samples for one stage (regions without text are skipped for text stages; a
    text with a box the record does not hold is left out and noted in `skipped`)."""
    rid, skipped = record.record_id, skipped if skipped is not None else []
    if stage == "au":
        for region in record.regions:
            question = pick("au", seed, rid, region.region_id)
            turn = Turn(question, _au_answer(region), [region.bbox_xyxy], region.region_id)
            yield Sample(record, "au", [turn])
    elif stage == "emotion" and (answer := _emotion_answer(record)):
        yield Sample(record, "emotion", [Turn(pick("emotion", seed, rid), answer)])
    elif stage == "age" and (answer := _age_answer(record)):
        yield Sample(record, "age", [Turn(pick("age", seed, rid), answer)])
    elif stage == "region":
        described = list(filter(_described, record.regions))
        for turn in _region_turns(record, described, ["region"], seed, skipped):
            yield Sample(record, "region", [turn])
    elif stage == "dialogue":
        regions = dialogue_regions(record, seed)
        tasks = ["dialogue_first", "dialogue_next"]
        turns = list(islice(_region_turns(record, regions, tasks, seed, skipped), DIALOGUE_TURNS))
        if turns:
            yield Sample(record, "dialogue", turns)


def _active(region: Region) -> set[str]:
    return {label.au for label in region.aus if label.present}


def _area(region: Region) -> int:
    x1, y1, x2, y2 = region.bbox_xyxy
    return (x2 - x1) * (y2 - y1)


def dialogue_regions(record: FaceRecord, seed: int) -> list[Region]:
    """The described named regions a dialogue walks through, so its few turns talk about what the
    face does: first, for each active AU not yet covered, the smallest region showing it (the most
    specific place); then the other regions with active AUs; then regions at rest in an order
    seeded per face, so dialogues do not all open on the same regions."""
    named = [r for r in record.regions if _described(r) and r.kind == "named"]
    active = sorted((r for r in named if _active(r)), key=_area)
    covering: list[Region] = []
    covered: set[str] = set()
    for region in active:
        if not _active(region) <= covered:
            covering.append(region)
            covered |= _active(region)
    at_rest = [r for r in named if not _active(r)]
    random.Random(f"{seed}:{record.record_id}").shuffle(at_rest)
    return covering + [r for r in active if r not in covering] + at_rest
