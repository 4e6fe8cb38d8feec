"""The expression model's evidence for the AUs that landmark geometry reads weakly.

Landmark geometry misses much of what defines an expression: on the labelled dev sets the brow
slope shows AU04 on half of the posed anger, the lip corners AU15 on a third of the sadness, and a
person whose brows sit high at rest reads as AU01+AU02 when neutral. The expression model sees the
whole face (furrows, wrinkles, texture) and its calibrated probabilities carry that evidence. So,
for the AUs measured from geometry, the activation gets

    + emotion_prior × P(emotions whose prototype has the AU) − neutral_prior × P(neutral)

(clipped to 0-1) before the `present` threshold: a face the model reads as angry needs less brow
lowering to show AU04, one it reads as neutral needs more brow raise to show AU01. The labels say
so in their `source` (`+expression-prior`); `labels.au.emotion_prior: 0` and `neutral_prior: 0`
turn it off. A face measured against its own subject's neutral image (`subject_baseline`) is read
from the geometry alone: that reference is the person's, so it needs no help. Measured in
docs/LABELS.md (`benchmarks/bench_aus.py`, in-sample and leaving each set out).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..facs import EMOTION_PROTOTYPES, EXCLUDES
from .au_blendshapes import SidedValue
from .au_geometry import AU_MEASURES

PRIOR_AUS: tuple[str, ...] = tuple(AU_MEASURES)  # the AUs the prior adjusts: those read from geometry
PRIOR_TAG = "+expression-prior"


def support(probs: Mapping[str, float], au: str) -> float:
    """P(the face shows an emotion whose prototype has `au`)."""
    return sum(p for emotion, p in probs.items() if au in EMOTION_PROTOTYPES.get(emotion, ()))


def shift(probs: Mapping[str, float], au: str, emotion_prior: float, neutral_prior: float) -> float:
    """What the expression evidence adds to `au`'s activation (negative when the face looks neutral)."""
    return emotion_prior * support(probs, au) - neutral_prior * probs.get("neutral", 0.0)


def with_expression(
    values: dict[str, SidedValue], probs: Mapping[str, float], emotion_prior: float, neutral_prior: float
) -> dict[str, SidedValue]:
    """`values` with the geometric AUs shifted by the expression evidence, clipped to 0-1."""
    out = dict(values)
    for au in PRIOR_AUS:
        if au in out:
            delta, value = shift(probs, au, emotion_prior, neutral_prior), out[au]
            out[au] = SidedValue(*(_clipped(v + delta) for v in (value.both, value.left, value.right)))
    return out


def _clipped(v: float) -> float:
    return round(min(1.0, max(0.0, v)), 4)


def excluded(present: set[str]) -> set[str]:
    """The AUs that cannot show beside those present (`EXCLUDES`): lips pressed with lips apart."""
    return {loser for winner in present for loser in EXCLUDES.get(winner, ())}
