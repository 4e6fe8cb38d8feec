"""Emotion and age from the face-api.js nets (`faceapi` backends), on crops chosen from our landmarks.

face-api.js feeds both nets the face's `alignedRect`: the bounding box of its 68 landmarks grown by
20 % (`FaceLandmarks.align()`, default `minBoxPadding` 0.2), cut out clipped at the image border,
then padded to a square and resized to 112 (`NetInput.toBatchTensor`). We rebuild that box from the
iBUG-68 view of the MediaPipe mesh. Other crop rules are kept so the benchmark can compare them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..face_types import Face
from ..models.manifest import model_spec
from ..models.runtimes import onnx_session_from_bytes
from ..models.store import load_model_bytes
from ..models.tfjs import decode_weights
from ..vision.faceapi_nets import EXPRESSION_LABELS, age_gender_model, expression_model, to_batch_tensor
from ..vision.geometry import Box, ibug68, points_box, square_box
from .age import AgeEstimate
from .emotion import EMOTIONS

CANONICAL = {
    "neutral": "neutral",
    "happy": "happiness",
    "sad": "sadness",
    "angry": "anger",
    "fearful": "fear",
    "disgusted": "disgust",
    "surprised": "surprise",
}
ALIGN_PADDING = 0.2  # face-api.js `align()` default minBoxPadding: the box grows 10 % on each side
DLIB_SCALE, DLIB_REF_X, DLIB_REF_Y = 0.45, 0.5, 0.43  # face-api.js `alignDlib` constants


def faceapi_box(face: Face) -> Box:
    """face-api.js `align()` (alignMinBbox): the 68 points' bounding box grown by 20 % of its size."""
    x0, y0, x1, y1 = points_box(ibug68(face.source_points))
    pad_x, pad_y = (x1 - x0) * ALIGN_PADDING / 2, (y1 - y0) * ALIGN_PADDING / 2
    return (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y)


def dlib_box(face: Face) -> Box:
    """face-api.js `alignDlib`: a square of side mean(eye-to-mouth) / 0.45 around eyes and mouth.

    face-api.js uses it for the recognition net; kept here as a candidate crop.
    """
    points = ibug68(face.source_points)
    eyes = (points[36:42].mean(0), points[42:48].mean(0))
    mouth = points[48:68].mean(0)
    size = math.floor(float(np.mean([np.linalg.norm(mouth - eye) for eye in eyes])) / DLIB_SCALE)
    ref = (eyes[0] + eyes[1] + mouth) / 3
    x = math.floor(max(0.0, ref[0] - DLIB_REF_X * size))
    y = math.floor(max(0.0, ref[1] - DLIB_REF_Y * size))
    return (x, y, x + size, y + size)


def detector_box(face: Face) -> Box:
    """The detector's box made square (what the facex backend sees)."""
    return square_box(face.detection.box, 1.0)


def landmarks_box(face: Face) -> Box:
    """A square 1.2 times the 478 landmarks' extent."""
    return square_box(face.landmark_box, 1.2)


# name -> (box of a face, clip at the image border as face-api.js does; else pad black outside)
CROP_RULES: dict[str, tuple[Callable[[Face], Box], bool]] = {
    "faceapi": (faceapi_box, True),
    "faceapi_padded": (faceapi_box, False),
    "dlib": (dlib_box, True),
    "detector": (detector_box, False),
    "landmarks": (landmarks_box, False),
}
DEFAULT_CROP = "faceapi"
# Emotion: face-api.js's box, black outside the image instead of clipped. A face that fills the
# frame then gets the same input as the same face on a larger canvas: on the labelled dev sets
# the label changed under 2x padding for 5 % of faces (11 % clipped), accuracy 0.73 vs 0.70.
EMOTION_CROP = "faceapi_padded"


def face_patch(rgb: np.ndarray, box: Box, clip: bool) -> np.ndarray:
    """The pixels of ``box``, cut on whole pixels without resampling.

    ``clip``: face-api.js `extractFaceTensors` (box clipped to the image, then floored), so the
    patch can be smaller and off-centre at a border; otherwise outside the image is black.
    """
    height, width = rgb.shape[:2]
    if clip:
        x, y = max(box[0], 0.0), max(box[1], 0.0)
        w, h = min(box[2] - x, width - x), min(box[3] - y, height - y)
        x, y, w, h = (math.floor(v) for v in (x, y, w, h))
        if w <= 0 or h <= 0:
            raise ValueError(f"face box {box} lies outside the {width}x{height} image")
        return rgb[y : y + h, x : x + w]
    x, y = math.floor(box[0]), math.floor(box[1])
    w, h = max(1, math.floor(box[2] - box[0])), max(1, math.floor(box[3] - box[1]))
    patch = np.zeros((h, w, 3), rgb.dtype)
    sx0, sy0, sx1, sy1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if sx1 > sx0 and sy1 > sy0:
        patch[sy0 - y : sy1 - y, sx0 - x : sx1 - x] = rgb[sy0:sy1, sx0:sx1]
    return patch


class _FaceApiNet:
    """One face-api.js net: weights decoded from the verified cache into an onnxruntime session."""

    weights_model = ""
    manifest_model = ""

    def __init__(self, crop: str = DEFAULT_CROP, num_threads: int = 1) -> None:
        if crop not in CROP_RULES:
            raise ValueError(f"unknown crop rule {crop!r}; known: {', '.join(CROP_RULES)}")
        self.crop = crop
        weights = decode_weights(load_model_bytes(self.manifest_model), load_model_bytes(self.weights_model))
        self._session = onnx_session_from_bytes(self.build(weights), num_threads)
        self.source = model_spec(self.weights_model).short_id

    def build(self, weights: dict[str, np.ndarray]) -> bytes:
        raise NotImplementedError

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """The bare model call on a [N, 112, 112, 3] batch (timed separately by the benchmark)."""
        return self._session.run(None, {"image": batch})

    def batch(self, rgb: np.ndarray, faces: Sequence[Face], crop: str | None = None) -> np.ndarray:
        """The net's input for each face under a crop rule (default: this estimator's)."""
        rule, clip = CROP_RULES[crop or self.crop]
        return to_batch_tensor([face_patch(rgb, rule(face), clip) for face in faces])


class FaceApiEmotion(_FaceApiNet):
    """Backend `faceapi`: face-api.js FaceExpressionNet, 7 classes, on the chosen crop rule."""

    weights_model = "faceapi_expr"
    manifest_model = "faceapi_expr_manifest"

    def __init__(self, crop: str = EMOTION_CROP, num_threads: int = 1) -> None:
        super().__init__(crop, num_threads)

    def build(self, weights: dict[str, np.ndarray]) -> bytes:
        return expression_model(weights)

    def scores(self, batch: np.ndarray) -> list[dict[str, float]]:
        """Canonical class -> probability for each row of a prepared batch."""
        rows = self.infer(batch)[0].astype(np.float64)
        return [self._canonical(row) for row in rows]

    @staticmethod
    def _canonical(row: np.ndarray) -> dict[str, float]:
        by_label = {CANONICAL[k]: float(v) for k, v in zip(EXPRESSION_LABELS, row, strict=True)}
        return {label: round(by_label[label], 5) for label in EMOTIONS}

    def face_probabilities(self, rgb: np.ndarray, face: Face) -> dict[str, float]:
        """Class probabilities on the crop rule's box, which needs the face's landmarks."""
        return self.batch_probabilities(rgb, [face])[0]

    def batch_probabilities(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[dict[str, float]]:
        """All faces of one image in one model call."""
        return self.scores(self.batch(rgb, faces)) if faces else []

    def probabilities(self, rgb: np.ndarray, box: Box) -> dict[str, float]:
        """The box-only interface of the other emotion backends: the square detector box."""
        patch = face_patch(rgb, square_box(box, 1.0), clip=False)
        return self.scores(to_batch_tensor([patch]))[0]


class FaceApiAge(_FaceApiNet):
    """Backend `faceapi`: face-api.js AgeGenderNet's age (a regression, so no spread or interval)."""

    weights_model = "faceapi_age"
    manifest_model = "faceapi_age_manifest"

    def build(self, weights: dict[str, np.ndarray]) -> bytes:
        return age_gender_model(weights)

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw years and P(male) per row (face-api.js: gender[0] is male)."""
        age, gender = self.infer(batch)
        return age[:, 0].astype(np.float64), gender[:, 0].astype(np.float64)

    def estimate(self, rgb: np.ndarray, face: Face) -> AgeEstimate:
        return self.estimate_batch(rgb, [face])[0]

    def estimate_batch(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[AgeEstimate]:
        """All faces of one image in one model call. A negative regression output reads as 0 years,
        flagged `below`; the regression has no top (it reads 98 on a 92-year-old), so no `above`."""
        if not faces:
            return []
        years, _male = self.predict(self.batch(rgb, faces))
        return [
            AgeEstimate(round(max(0.0, float(y)), 2), None, None, (), None if y > 0 else "below")
            for y in years
        ]
