"""Backends registered by name and chosen in the recipe: detectors, landmarkers, and the AU,
emotion and age estimators. Each backend loads its weights through the verified model cache."""

from __future__ import annotations

from typing import Any

from ..config import DetectorConfig, LandmarkConfig
from ..registry import Registry

DETECTORS: Registry[Any] = Registry("detector")
LANDMARKERS: Registry[Any] = Registry("landmarker")
AU_ESTIMATORS: Registry[Any] = Registry("AU estimator")
EMOTION_ESTIMATORS: Registry[Any] = Registry("emotion estimator")
AGE_ESTIMATORS: Registry[Any] = Registry("age estimator")

# the manifest models each backend loads (recorded in the build manifest)
BACKEND_MODELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("detector", "blazeface"): ("blazeface_full_range", "blazeface_short_range"),
    ("landmarks", "mediapipe"): ("face_landmarker",),
    ("au", "mediapipe"): ("face_landmarker",),
    ("emotion", "facex"): ("facex_emotion",),
    ("emotion", "fer"): ("fer_emotion",),
    ("age", "agegender"): ("agegender_age",),
    ("emotion", "faceapi"): ("faceapi_expr", "faceapi_expr_manifest"),
    ("age", "faceapi"): ("faceapi_age", "faceapi_age_manifest"),
}


@DETECTORS.register("blazeface")
def _blazeface(config: DetectorConfig) -> Any:
    from ..vision.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(
        min_score=config.min_score,
        iou_threshold=config.nms_iou,
        tile=config.tile,
        close_range=config.close_range,
        min_face_px=config.min_face_px,
    )


@LANDMARKERS.register("mediapipe")
def _mediapipe(config: LandmarkConfig) -> Any:
    from ..vision.landmarker import FaceLandmarker

    return FaceLandmarker(min_confidence=config.min_confidence)


@AU_ESTIMATORS.register("mediapipe")
def _au_blendshapes() -> Any:
    from ..labels.au_blendshapes import BlendshapeAUEstimator

    return BlendshapeAUEstimator()


@EMOTION_ESTIMATORS.register("facex")
def _facex() -> Any:
    from ..labels.emotion import FacexEmotion

    return FacexEmotion()


@EMOTION_ESTIMATORS.register("fer")
def _fer() -> Any:
    from ..labels.emotion import FerEmotion

    return FerEmotion()


@EMOTION_ESTIMATORS.register("faceapi")
def _faceapi_emotion() -> Any:
    from ..labels.faceapi import FaceApiEmotion

    return FaceApiEmotion()


@AGE_ESTIMATORS.register("faceapi")
def _faceapi_age() -> Any:
    from ..labels.faceapi import FaceApiAge

    return FaceApiAge()


@AGE_ESTIMATORS.register("agegender")
def _agegender() -> Any:
    from ..labels.age import AgeGenderAge

    return AgeGenderAge()


@AU_ESTIMATORS.register("pyfeat")
def _pyfeat_au() -> Any:
    from ..labels.external import PyFeatAU

    return PyFeatAU()


@EMOTION_ESTIMATORS.register("deepface")
def _deepface_emotion() -> Any:
    from ..labels.external import DeepfaceEmotion

    return DeepfaceEmotion()


@AGE_ESTIMATORS.register("deepface")
def _deepface_age() -> Any:
    from ..labels.external import DeepfaceAge

    return DeepfaceAge()
