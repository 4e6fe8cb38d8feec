"""Stage: put typed labels on a face and its regions.

AUs are per region (only the AUs a region can show, with the subject's side it covers);
emotion and age are per face. Every label names the model and weights hash that made it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import LabelsConfig
from ..estimators import AGE_ESTIMATORS, AU_ESTIMATORS, EMOTION_ESTIMATORS
from ..face_types import Face
from ..facs import AU_NAMES, normalise_au
from ..record import AgeLabel, AULabel, EmotionLabel, Estimate, FaceRecord, Region
from .age import age_bin
from .au_blendshapes import BlendshapeAUEstimator, SidedValue, confidence
from .au_geometry import Reading
from .au_prior import PRIOR_AUS, PRIOR_TAG, excluded, with_expression

SIDE_SHARE = 0.8  # a region with ≥80 % of its width on one side of the midline is one-sided
PROB_FLOOR = 1e-6  # log(0) guard when tempering: probabilities are stored to 1e-5, so a 0 was < 5e-6


def tempered(probs: np.ndarray, temperature: float) -> np.ndarray:
    """p ∝ p^(1/T) along the last axis, in log space (a small T would underflow p^(1/T))."""
    logs = np.log(np.maximum(probs, PROB_FLOOR)) / temperature
    scaled = np.exp(logs - logs.max(axis=-1, keepdims=True))
    return scaled / scaled.sum(axis=-1, keepdims=True)


def apply_temperature(probs: dict[str, float], temperature: float) -> dict[str, float]:
    """The emotion probabilities after the recipe's temperature, so the top class and `uncertain`
    follow the calibrated reading; T = 1 keeps the model's probabilities as they are."""
    if temperature == 1.0:
        return probs
    scaled = tempered(np.array(list(probs.values()), np.float64), temperature)
    return {label: round(float(p), 5) for label, p in zip(probs, scaled, strict=True)}


def scale_interval(
    years: float, interval: Sequence[float] | None, scale: float, min_half_width: float
) -> list[float] | None:
    """The age interval with each half-width around `years` times `scale`, at least `min_half_width`:
    the model's 80 % interval covers too few true ages (or none, when it is one year wide)."""
    if interval is None:
        return None
    if scale == 1.0 and min_half_width == 0.0:
        return list(interval)
    below = max(scale * max(years - interval[0], 0.0), min_half_width)
    above = max(scale * max(interval[1] - years, 0.0), min_half_width)
    return [round(max(years - below, 0.0), 2), round(years + above, 2)]


def log_interval(years: float, log_half_width: float) -> list[float]:
    """An interval for a point estimate: ×/÷ e^c around it, since age errors grow with age
    (on UTKFace faces about 2.5 years off under 20, 5-7 from 20 to 80)."""
    return [round(years * math.exp(-log_half_width), 2), round(years * math.exp(log_half_width), 2)]


def region_side(box: Sequence[int], midline_x: float) -> str:
    """'left' / 'right' (subject's side) or 'both'. The subject's left is the image's right."""
    x1, x2 = box[0], box[2]
    width = max(x2 - x1, 1)
    image_right = max(0.0, x2 - max(x1, midline_x)) / width
    if image_right >= SIDE_SHARE:
        return "left"
    if image_right <= 1 - SIDE_SHARE:
        return "right"
    return "both"


class Labeler:
    """Holds the estimators the recipe's `labels:` section picks (loaded once) and labels faces."""

    def __init__(self, labels: LabelsConfig | None = None) -> None:
        cfg = labels or LabelsConfig()
        self.cfg = cfg
        self.au = AU_ESTIMATORS.create(cfg.au.backend) if cfg.au.backend != "none" else None
        self.emotion = (
            EMOTION_ESTIMATORS.create(cfg.emotion.backend) if cfg.emotion.backend != "none" else None
        )
        self.age = AGE_ESTIMATORS.create(cfg.age.backend) if cfg.age.backend != "none" else None

    def label_regions(
        self,
        rgb: np.ndarray,
        face: Face,
        regions: list[Region],
        baseline: Reading | None = None,
        emotion: EmotionLabel | None = None,
    ) -> None:
        """Fill each region's `aus` with the AUs it can show that the estimator measures;
        `baseline` (subject-baseline mode): the subject's neutral reading, named in each source;
        `emotion`: the face's estimated emotion, whose probabilities shift the geometric AUs
        (`labels/au_prior.py`) when they are read against other people's neutral faces; against
        the subject's own neutral face the geometry is trusted alone."""
        if self.au is None:
            return
        if baseline is not None:  # the recipe check allows this mode with the mediapipe backend only
            assert isinstance(self.au, BlendshapeAUEstimator)
            values = self.au.estimate_face(rgb, face, baseline, self.cfg.au.subject_spread)
            source = f"{self.au.source}+subject-baseline"
        else:
            values, source = self.au.estimate_face(rgb, face), self.au.source
        values, sources = self._with_expression(values, source, emotion if baseline is None else None)
        blocked = {side: self._blocked(values, side) for side in ("both", "left", "right")}
        midline = float(face.points[168, 0])  # nasion: the face's vertical midline
        for region in regions:
            side = region_side(region.bbox_xyxy, midline)
            region.aus = [
                self._au(au, values[au], side, sources.get(au, source), au in blocked[side])
                for au in region.observable_aus
                if au in values
            ]

    def _with_expression(
        self, values: dict[str, SidedValue], source: str, emotion: EmotionLabel | None
    ) -> tuple[dict[str, SidedValue], dict[str, str]]:
        """The values after the expression prior, and the source of each AU it moved."""
        cfg = self.cfg.au
        if emotion is None or not emotion.probs or not (cfg.emotion_prior or cfg.neutral_prior):
            return values, {}
        shifted = with_expression(values, emotion.probs, cfg.emotion_prior, cfg.neutral_prior)
        return shifted, {au: source + PRIOR_TAG for au in PRIOR_AUS if au in values}

    def _blocked(self, values: dict[str, SidedValue], side: str) -> set[str]:
        present = {au for au, v in values.items() if getattr(v, side) >= self.cfg.au.threshold_for(au)}
        return excluded(present)

    def _au(self, au: str, value: SidedValue, side: str, source: str, blocked: bool = False) -> AULabel:
        v = getattr(value, side)
        threshold = self.cfg.au.threshold_for(au)
        assert self.au is not None
        return AULabel(
            au=au,
            name=AU_NAMES[au],
            value=round(v, 4),
            value_type=self.au.value_type,
            present=v >= threshold and not blocked,
            confidence=confidence(au, v, threshold),
            source=source,
        )

    def label_emotion(self, rgb: np.ndarray, face: Face) -> EmotionLabel | None:
        if self.emotion is None:
            return None
        raw = self.emotion.face_probabilities(rgb, face)
        probs = apply_temperature(raw, self.cfg.emotion.temperature)
        label = max(probs, key=lambda k: probs[k])
        top = probs[label]
        return EmotionLabel(
            label, round(top, 4), top < self.cfg.emotion.uncertain_below, probs, self.emotion.source
        )

    def label_age(self, rgb: np.ndarray, face: Face) -> AgeLabel | None:
        if self.age is None:
            return None
        est = self.age.estimate(rgb, face)
        name, low, high = age_bin(est.years, self.cfg.age.bins)
        cfg = self.cfg.age
        base = est.interval or log_interval(est.years, cfg.interval_log_halfwidth)
        interval = scale_interval(est.years, base, cfg.interval_scale, cfg.min_half_width)
        spread = est.spread if est.spread is not None else _implied_spread(interval)
        if est.probs:
            confidence: float | None = round(est.mass(low, high), 4)
        else:
            confidence = None if spread is None else _normal_mass(est.years, spread, low, high)
        return AgeLabel(
            years=est.years,
            bin=name,
            spread=spread,
            interval=interval,
            confidence=confidence,
            source=self.age.source,
            range_edge=est.range_edge,
        )


def _normal_mass(mean: float, sd: float, low: float, high: float | None) -> float:
    """P(low <= age < high) for a point estimate read as normal(mean, sd): the bin's probability."""
    cdf = lambda x: 0.5 * (1 + math.erf((x - mean) / (max(sd, 1e-6) * math.sqrt(2))))  # noqa: E731
    return round((1.0 if high is None else cdf(high)) - cdf(low), 4)


def _implied_spread(interval: Sequence[float] | None) -> float | None:
    """A point estimate's SD as its 80 % interval implies (a normal's 80 % is ±1.2816 SD)."""
    return None if interval is None else round((interval[1] - interval[0]) / (2 * 1.2816), 2)


def apply_ground_truth(record: FaceRecord, truth: dict[str, Any], dataset: str, age_bins: list[int]) -> None:
    """Ground-truth labels win over estimates; the estimate is kept beside them.

    `truth` keys: `aus` ({"AU12": 1, …}), `au_value_type` ("binary", default, or "intensity_0_5":
    present from intensity 2, the DISFA protocol), `emotion` (a class name), `age` (years).
    """
    source = f"gt:{dataset}"
    if "aus" in truth:
        value_type = truth.get("au_value_type", "binary")
        gt = {normalise_au(k): float(v) for k, v in truth["aus"].items()}
        for region in record.regions:
            _ground_truth_aus(region, gt, value_type, source)
    if "emotion" in truth:
        est = record.emotion
        record.emotion = EmotionLabel(
            label=str(truth["emotion"]),
            confidence=1.0,
            uncertain=False,
            probs={},
            source=source,
            estimate=None if est is None else _emotion_estimate(est),
        )
    if "age" in truth:
        years = float(truth["age"])
        est_age = record.age
        record.age = AgeLabel(
            years=years,
            bin=age_bin(years, age_bins)[0],
            spread=None,
            interval=None,
            confidence=1.0,
            source=source,
            estimate=None if est_age is None else _age_estimate(est_age),
        )


def _emotion_estimate(label: EmotionLabel) -> Estimate:
    """The whole reading (all class probabilities, `uncertain`), so calibration can be fitted to it."""
    return Estimate(
        label.label, label.confidence, label.source, probs=dict(label.probs), uncertain=label.uncertain
    )


def _age_estimate(label: AgeLabel) -> Estimate:
    interval = None if label.interval is None else list(label.interval)
    return Estimate(label.bin, label.years, label.source, interval=interval, spread=label.spread)


def _ground_truth_aus(region: Region, gt: dict[str, float], value_type: str, source: str) -> None:
    """Replace (or add) the region's labels for the AUs it can show that the truth covers."""
    estimated = {a.au: a for a in region.aus}
    labels = [a for a in region.aus if a.au not in gt]
    for au, value in gt.items():
        if au not in region.observable_aus:
            continue
        present = value >= (2 if value_type == "intensity_0_5" else 1)
        old = estimated.get(au)
        estimate = None if old is None else Estimate(None, old.value, old.source, present=old.present)
        labels.append(AULabel(au, AU_NAMES[au], value, value_type, present, 1.0, source, estimate))
    region.aus = sorted(labels, key=lambda a: a.au)
