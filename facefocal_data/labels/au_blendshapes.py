"""AUs from MediaPipe blendshapes plus landmark geometry (no extra weights).

Blendshape → AU follows py-feat's `blendshape_region_map.json` labels.
Where a channel is dead or weak the value comes from elsewhere: AU06 (cheekSquint is dead) ≈
√(AU07·AU12) of the raw channels; AU25 from the inner-lip gap (mouthClose is near-dead); AU43
from the eye aspect ratio as well as eyeBlink. AU01, AU02, AU04, AU09, AU10, AU12, AU15 and AU20
come from `au_geometry`: pose-free landmark measures (with the channel, where it is alive) scored
against neutral faces, because browDown, mouthFrown, noseSneer and mouthStretch barely move.
Values are unitless 0-1 activations (`value_type: activation`), not probabilities.
Blendshape "Left" is the subject's left (checked: occluding the image-right eye raises
eyeSquintLeft), so sided values map straight onto `*_left` regions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..face_types import Face
from ..models.manifest import model_spec
from .au_geometry import Reading, geometric_activations

SIDED_CHANNELS: dict[str, str] = {
    "AU02": "browOuterUp",
    "AU04": "browDown",
    "AU09": "noseSneer",
    "AU05": "eyeWide",
    "AU07": "eyeSquint",
    "AU10": "mouthUpperUp",
    "AU12": "mouthSmile",
    "AU14": "mouthDimple",
    "AU15": "mouthFrown",
    "AU16": "mouthLowerDown",
    "AU20": "mouthStretch",
    "AU24": "mouthPress",
}
CENTRAL_CHANNELS: dict[str, tuple[str, ...]] = {
    "AU01": ("browInnerUp",),
    "AU17": ("mouthShrugLower", "mouthShrugUpper"),
    "AU18": ("mouthPucker",),
    "AU22": ("mouthFunnel",),
    "AU26": ("jawOpen",),
    "AU28": ("mouthRollLower", "mouthRollUpper"),
}

# How much each AU's signal can be trusted: its correlation with landmark geometry and how wide its
# live range is.
RELIABILITY: dict[str, float] = {
    "AU01": 0.7, "AU02": 0.6, "AU04": 0.5, "AU05": 0.4, "AU06": 0.4, "AU07": 0.7, "AU09": 0.3,
    "AU10": 0.6, "AU12": 0.9, "AU14": 0.5, "AU15": 0.6, "AU16": 0.6, "AU17": 0.6, "AU18": 0.6,
    "AU20": 0.5, "AU22": 0.6, "AU24": 0.5, "AU25": 0.7, "AU26": 0.7, "AU28": 0.5, "AU43": 0.8,
}  # fmt: skip

SUPPORTED: tuple[str, ...] = tuple(sorted({*SIDED_CHANNELS, *CENTRAL_CHANNELS, "AU06", "AU25", "AU43"}))

# Geometry constants (ratios to the inter-ocular distance)
EAR_OPEN, EAR_CLOSED = 0.20, 0.08  # eye aspect ratio: open eye ~0.25-0.3
LIP_GAP_CLOSED, LIP_GAP_OPEN = 0.02, 0.12  # inner-lip gap / IOD


@dataclass(frozen=True)
class SidedValue:
    """An AU's activation for the whole face and for each of the subject's sides."""

    both: float
    left: float
    right: float

    @classmethod
    def central(cls, value: float) -> SidedValue:
        return cls(value, value, value)

    @classmethod
    def sides(cls, left: float, right: float) -> SidedValue:
        return cls((left + right) / 2, left, right)


def _ramp(x: float, zero: float, one: float) -> float:
    """0 at `zero`, 1 at `one`, linear between, clipped."""
    return float(np.clip((x - zero) / (one - zero), 0.0, 1.0))


def _dist(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def eye_aspect_ratio(points: np.ndarray, side: str) -> float:
    """Lid opening over eye width; subject's left eye is 263/362, right is 33/133."""
    if side == "left":
        pairs, corners = ((386, 374), (385, 380), (387, 373)), (263, 362)
    else:
        pairs, corners = ((159, 145), (158, 153), (160, 144)), (33, 133)
    opening = sum(_dist(points, a, b) for a, b in pairs) / len(pairs)
    return opening / max(_dist(points, *corners), 1e-6)


class BlendshapeAUEstimator:
    """Backend `mediapipe`: per-face, per-side AU activations from the landmarker's output."""

    value_type = "activation"

    def __init__(self) -> None:
        self.source = f"au-blendshapes-v2+{model_spec('face_landmarker').short_id}"

    def estimate_face(
        self, rgb: np.ndarray, face: Face, baseline: Reading | None = None, spread: float = 1.0
    ) -> dict[str, SidedValue]:
        """`baseline`: the subject's neutral reading (subject-baseline mode), else the population's."""
        return self.estimate(face.blendshapes, face.points, baseline, spread)

    def estimate(
        self,
        blendshapes: dict[str, float],
        points: np.ndarray,
        baseline: Reading | None = None,
        spread: float = 1.0,
    ) -> dict[str, SidedValue]:
        bs = blendshapes
        out: dict[str, SidedValue] = {
            au: SidedValue.sides(bs.get(f"{ch}Left", 0.0), bs.get(f"{ch}Right", 0.0))
            for au, ch in SIDED_CHANNELS.items()
        }
        for au, channels in CENTRAL_CHANNELS.items():
            out[au] = SidedValue.central(max(bs.get(ch, 0.0) for ch in channels))
        out["AU06"] = SidedValue.sides(
            math.sqrt(out["AU07"].left * out["AU12"].left), math.sqrt(out["AU07"].right * out["AU12"].right)
        )
        for au, (right, left) in geometric_activations(bs, points, baseline, spread).items():
            out[au] = SidedValue.sides(left, right)
        iod = max(_dist(points, 33, 263), 1e-6)
        out["AU25"] = SidedValue.central(_ramp(_dist(points, 13, 14) / iod, LIP_GAP_CLOSED, LIP_GAP_OPEN))
        blink_l, blink_r = bs.get("eyeBlinkLeft", 0.0), bs.get("eyeBlinkRight", 0.0)
        ear_l = _ramp(eye_aspect_ratio(points, "left"), EAR_OPEN, EAR_CLOSED)
        ear_r = _ramp(eye_aspect_ratio(points, "right"), EAR_OPEN, EAR_CLOSED)
        out["AU43"] = SidedValue.sides(max(blink_l, ear_l), max(blink_r, ear_r))
        return {au: SidedValue(*(round(v, 4) for v in (s.both, s.left, s.right))) for au, s in out.items()}


def confidence(au: str, value: float, threshold: float) -> float:
    """How sure the present/absent call is: the AU's signal reliability × distance from threshold."""
    margin = abs(value - threshold) / max(threshold, 1.0 - threshold)
    return round(RELIABILITY.get(au, 0.5) * (0.5 + 0.5 * min(1.0, margin)), 3)
