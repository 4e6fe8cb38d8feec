"""The face types every stage passes along: a detection, a face with its crop and landmarks, and
what one image gave. A leaf module (it imports no stage), so the detector, the landmarker and the
label estimators can all name them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .vision.geometry import Box


@dataclass(frozen=True)
class Detection:
    """One face box in source-image pixels, with its score and 6 keypoints."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def size(self) -> float:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0)


@dataclass
class Face:
    """One face, geometry already in crop pixels."""

    detection: Detection
    crop_box: Box  # square, source pixels (may extend past the image; outside is black)
    crop: np.ndarray  # RGB, size x size
    points: np.ndarray  # (478, 3) crop px; z scaled like x
    source_points: np.ndarray  # (478, 3) source px
    landmark_box: Box  # source pixels
    blendshapes: dict[str, float]
    pose: dict[str, float]


@dataclass
class FaceScan:
    """What one image gave: faces, plus counts that explain an empty result."""

    faces: list[Face]
    detections: int
    too_small: int
    no_landmarks: int

    def empty_reason(self) -> str:
        if self.detections == 0:
            return "no face found"
        parts = [f"{self.detections} detection(s) but no usable face"]
        if self.too_small:
            parts.append(f"{self.too_small} smaller than min_face_px")
        if self.no_landmarks:
            parts.append(f"{self.no_landmarks} without landmarks")
        return "; ".join(parts)
