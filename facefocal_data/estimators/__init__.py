"""Backends registered by name and chosen in the recipe: detectors, landmarkers, and the AU,
emotion and age estimators. Each backend loads its weights through the verified model cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..config import DetectorConfig, LandmarkConfig
from ..registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from ..face_types import Detection, Face
    from ..labels.age import AgeEstimate
    from ..labels.au_blendshapes import SidedValue
    from ..vision.landmarker import FaceMesh


class Detector(Protocol):
    """Face boxes in source pixels; `source` names the weights (recorded on every face)."""

    source: str

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


class Landmarker(Protocol):
    """The 478-point mesh, blendshapes and pose of the face nearest the centre of a crop."""

    source: str

    def detect_centered(self, rgb: np.ndarray) -> FaceMesh | None: ...

    def close(self) -> None: ...


class AUEstimator(Protocol):
    """Each AU it measures, per side of the face; `value_type` says what the numbers are."""

    source: str
    value_type: str

    def estimate_face(self, rgb: np.ndarray, face: Face) -> dict[str, SidedValue]: ...


class EmotionEstimator(Protocol):
    """Canonical emotion class -> probability for one face (each backend picks its own crop)."""

    source: str

    def face_probabilities(self, rgb: np.ndarray, face: Face) -> dict[str, float]: ...


class AgeEstimator(Protocol):
    source: str

    def estimate(self, rgb: np.ndarray, face: Face) -> AgeEstimate: ...


DETECTORS: Registry[Detector] = Registry("detector")
LANDMARKERS: Registry[Landmarker] = Registry("landmarker")
AU_ESTIMATORS: Registry[AUEstimator] = Registry("AU estimator")
EMOTION_ESTIMATORS: Registry[EmotionEstimator] = Registry("emotion estimator")
AGE_ESTIMATORS: Registry[AgeEstimator] = Registry("age estimator")


@DETECTORS.register("blazeface", models=("blazeface_full_range", "blazeface_short_range"))
def _blazeface(config: DetectorConfig) -> Detector:
    from ..vision.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(
        min_score=config.min_score,
        iou_threshold=config.nms_iou,
        tile=config.tile,
        close_range=config.close_range,
        min_face_px=config.min_face_px,
    )


@LANDMARKERS.register("mediapipe", models=("face_landmarker",))
def _mediapipe(config: LandmarkConfig) -> Landmarker:
    from ..vision.landmarker import FaceLandmarker

    return FaceLandmarker(min_confidence=config.min_confidence)


@AU_ESTIMATORS.register("mediapipe", models=("face_landmarker",))
def _au_blendshapes() -> AUEstimator:
    from ..labels.au_blendshapes import BlendshapeAUEstimator

    return BlendshapeAUEstimator()


@EMOTION_ESTIMATORS.register("facex", models=("facex_emotion",))
def _facex() -> EmotionEstimator:
    from ..labels.emotion import FacexEmotion

    return FacexEmotion()


@EMOTION_ESTIMATORS.register("fer", models=("fer_emotion",))
def _fer() -> EmotionEstimator:
    from ..labels.emotion import FerEmotion

    return FerEmotion()


@EMOTION_ESTIMATORS.register("faceapi", models=("faceapi_expr", "faceapi_expr_manifest"))
def _faceapi_emotion() -> EmotionEstimator:
    from ..labels.faceapi import FaceApiEmotion

    return FaceApiEmotion()


@AGE_ESTIMATORS.register("faceapi", models=("faceapi_age", "faceapi_age_manifest"))
def _faceapi_age() -> AgeEstimator:
    from ..labels.faceapi import FaceApiAge

    return FaceApiAge()


@AGE_ESTIMATORS.register("agegender", models=("agegender_age",))
def _agegender() -> AgeEstimator:
    from ..labels.age import AgeGenderAge

    return AgeGenderAge()


@AU_ESTIMATORS.register("pyfeat")  # weights you provide: not in the manifest
def _pyfeat_au() -> AUEstimator:
    from ..labels.external import PyFeatAU

    return PyFeatAU()


@EMOTION_ESTIMATORS.register("deepface")  # weights you provide
def _deepface_emotion() -> EmotionEstimator:
    from ..labels.external import DeepfaceEmotion

    return DeepfaceEmotion()


@AGE_ESTIMATORS.register("deepface")  # weights you provide
def _deepface_age() -> AgeEstimator:
    from ..labels.external import DeepfaceAge

    return DeepfaceAge()


# the manifest models each backend loads, keyed (recipe section, backend name), as the build
# manifest records them: read from the registrations above, never kept by hand
BACKEND_MODELS: dict[tuple[str, str], tuple[str, ...]] = {
    (section, name): registry.models(name)
    for section, registry in (
        ("detector", DETECTORS),
        ("landmarks", LANDMARKERS),
        ("au", AU_ESTIMATORS),
        ("emotion", EMOTION_ESTIMATORS),
        ("age", AGE_ESTIMATORS),
    )
    for name in registry.names()
    if registry.models(name)
}
