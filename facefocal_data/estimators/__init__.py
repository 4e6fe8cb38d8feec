"""Backends registered by name and chosen in the recipe: detectors, landmarkers (and, later,
AU, emotion and age estimators)."""

from __future__ import annotations

from typing import Any

from ..config import DetectorConfig, LandmarkConfig
from ..registry import Registry

DETECTORS: Registry[Any] = Registry("detector")
LANDMARKERS: Registry[Any] = Registry("landmarker")


@DETECTORS.register("blazeface")
def _blazeface(config: DetectorConfig) -> Any:
    from ..vision.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(min_score=config.min_score, iou_threshold=config.nms_iou, tile=config.tile)


@LANDMARKERS.register("mediapipe")
def _mediapipe(config: LandmarkConfig) -> Any:
    from ..vision.landmarker import FaceLandmarker

    return FaceLandmarker(min_confidence=config.min_confidence)
