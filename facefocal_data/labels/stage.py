"""Stage: put typed labels on a face and its regions.

AUs are per region (only the AUs a region can show, with the subject's side it covers);
emotion and age are per face. Every label names the model and weights hash that made it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import Recipe
from ..estimators import AGE_ESTIMATORS, AU_ESTIMATORS, EMOTION_ESTIMATORS
from ..faces import Face
from ..facs import AU_NAMES
from ..record import AgeLabel, AULabel, EmotionLabel, Region
from .age import age_bin
from .au_blendshapes import SidedValue, confidence

SIDE_SHARE = 0.8  # a region with ≥80 % of its width on one side of the midline is one-sided


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
    """Holds the configured estimators (loaded once) and labels faces."""

    def __init__(self, recipe: Recipe) -> None:
        cfg = recipe.labels
        self.cfg = cfg
        self.au = AU_ESTIMATORS.create(cfg.au.backend) if cfg.au.backend != "none" else None
        self.emotion = (
            EMOTION_ESTIMATORS.create(cfg.emotion.backend) if cfg.emotion.backend != "none" else None
        )
        self.age = AGE_ESTIMATORS.create(cfg.age.backend) if cfg.age.backend != "none" else None

    def label_regions(self, rgb: np.ndarray, face: Face, regions: list[Region]) -> None:
        """Fill each region's `aus` with the AUs it can show that the estimator measures."""
        if self.au is None:
            return
        values = self.au.estimate_face(rgb, face)
        midline = float(face.points[168, 0])  # nasion: the face's vertical midline
        for region in regions:
            side = region_side(region.bbox_xyxy, midline)
            region.aus = [self._au(au, values[au], side) for au in region.observable_aus if au in values]

    def _au(self, au: str, value: SidedValue, side: str) -> AULabel:
        v = getattr(value, side)
        threshold = self.cfg.au.threshold_for(au)
        assert self.au is not None
        return AULabel(
            au=au,
            name=AU_NAMES[au],
            value=round(v, 4),
            value_type=self.au.value_type,
            present=v >= threshold,
            confidence=confidence(au, v, threshold),
            source=self.au.source,
        )

    def label_emotion(self, rgb: np.ndarray, face: Face) -> EmotionLabel | None:
        if self.emotion is None:
            return None
        probs = self.emotion.probabilities(rgb, face.detection.box)
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
        return AgeLabel(
            years=est.years,
            bin=name,
            spread=est.spread,
            interval=None if est.interval is None else list(est.interval),
            confidence=round(est.mass(low, high), 4) if est.probs else None,
            source=self.age.source,
        )
