"""Ground truth beside the estimator's reading, face by face, read back from a build.

Where a source carried ground truth, the label's `source` is `gt:<dataset>` and the model's
reading sits in its `estimate`. This module pairs the two; audit scores the pairs and calibrate
fits to them. Builds made before estimates kept their full reading lack `uncertain` and
`present`: those are derived from the build's own recipe (its thresholds) instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import AUConfig, LabelsConfig, Recipe
from ..dataset import Build, as_build
from ..errors import NotABuildError
from ..record import AULabel, FaceRecord


@dataclass(frozen=True)
class EmotionPair:
    gold: str
    pred: str
    confidence: float  # the estimate's top-class probability
    uncertain: bool
    probs: dict[str, float] | None  # None: a build from before estimates kept them


@dataclass(frozen=True)
class AgePair:
    gold: float
    pred: float
    interval: list[float] | None


@dataclass
class FaceTruth:
    """One face's ground truth and estimate, per label; an AU is scored at face level: present
    if present in any region that lists it (GT and estimate alike)."""

    dataset: str
    emotion: EmotionPair | None = None
    age: AgePair | None = None
    au_gold: dict[str, bool] = field(default_factory=dict)
    au_pred: dict[str, bool] = field(default_factory=dict)
    au_value: dict[str, float] = field(default_factory=dict)  # the largest estimated value

    @property
    def has_truth(self) -> bool:
        return self.emotion is not None or self.age is not None or bool(self.au_gold)


@dataclass
class BuildTruth:
    """What audit and calibrate read from a build: its recipe, the faces and every row's key."""

    build: Build
    recipe: Recipe
    faces: list[FaceTruth]
    keys: dict[str, set[str]]  # dataset -> source paths that gave at least one row

    @property
    def path(self) -> Path:
        return self.build.path


def build_recipe(recipe: dict[str, Any]) -> Recipe:
    """The recipe the build was made with (its manifest's `recipe`; keys added since then take
    their defaults)."""
    try:
        return Recipe.model_validate(recipe or {})
    except ValueError:
        return Recipe()


def read_truth(data: Build | str | Path) -> BuildTruth:
    """Every face of the build (rejected faces are kept out of the scores, not the detection rate)."""
    try:
        build = as_build(data)
    except NotABuildError as exc:
        raise NotABuildError(f"{exc}; to build it first, give --source") from None
    recipe = build_recipe(build.manifest.recipe)
    faces, keys = [], defaultdict(set)
    for record in build.records(include_rejected=True, pixels=False):
        keys[record.source_dataset].add(record.source_path)
        if record.record_id not in build.rejected:
            faces.append(face_truth(record, recipe.labels))
    return BuildTruth(build, recipe, faces, dict(keys))


def face_truth(record: FaceRecord, labels: LabelsConfig) -> FaceTruth:
    """The record's ground-truth pairs; `labels` (the build's `labels:` section) decides for an older
    build that did not store its own verdicts."""
    face = FaceTruth(record.source_dataset)
    emotion = record.emotion
    if emotion is not None and emotion.source.startswith("gt:") and emotion.estimate is not None:
        est = emotion.estimate
        if est.label is not None and est.value is not None:
            uncertain = est.uncertain
            if uncertain is None:  # an older build: its own threshold decided
                uncertain = est.value < labels.emotion.uncertain_below
            face.emotion = EmotionPair(emotion.label, est.label, float(est.value), uncertain, est.probs)
    age = record.age
    if age is not None and age.source.startswith("gt:") and age.estimate is not None:
        est = age.estimate
        if age.years is not None and est.value is not None:
            face.age = AgePair(float(age.years), float(est.value), est.interval)
    _face_aus(face, [a for region in record.regions for a in region.aus], labels.au)
    return face


def _face_aus(face: FaceTruth, labels: list[AULabel], au_config: AUConfig) -> None:
    """Face-level AU truth and estimate over the regions' labels where ground truth won."""
    for label in labels:
        if not label.source.startswith("gt:") or label.estimate is None or label.estimate.value is None:
            continue
        value = float(label.estimate.value)
        present = label.estimate.present
        if present is None:
            present = value >= au_config.threshold_for(label.au)
        au = label.au
        face.au_gold[au] = face.au_gold.get(au, False) or bool(label.present)
        face.au_pred[au] = face.au_pred.get(au, False) or present
        face.au_value[au] = max(face.au_value.get(au, value), value)
