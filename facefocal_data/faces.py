"""Stage: find every face in an image and give each its landmarks, pose and stored crop.

BlazeFace full-range finds the faces (with tiling for group photos); the FaceLandmarker runs on
a square crop around each detection; the stored crop is a square around the landmarks, so all
geometry is expressed in crop pixels, which are model pixels for Qwen2.5-VL.
"""

from __future__ import annotations

import numpy as np

from .config import CropConfig, DetectorConfig, LandmarkConfig
from .estimators import DETECTORS, LANDMARKERS
from .face_types import Detection, Face, FaceScan
from .vision.geometry import Box, box_iou, crop_square, head_pose, points_box, square_box, to_crop

LANDMARKER_MIN_PX = 192
LANDMARKER_MAX_PX = 512


def _inside(point: np.ndarray, box: Box, slack: float) -> bool:
    w, h = box[2] - box[0], box[3] - box[1]
    return bool(
        box[0] - slack * w <= point[0] <= box[2] + slack * w
        and box[1] - slack * h <= point[1] <= box[3] + slack * h
    )


class FaceAnalyzer:
    """Holds the detector and landmarker (loaded once) and scans images; configured by the recipe's
    `detector:`, `landmarks:` and `crop:` sections (the crop: where each face's stored crop lies)."""

    def __init__(
        self,
        detector: DetectorConfig | None = None,
        landmarks: LandmarkConfig | None = None,
        crop: CropConfig | None = None,
    ) -> None:
        self.detector_cfg = detector or DetectorConfig()
        self.landmarks_cfg = landmarks or LandmarkConfig()
        self.crop_cfg = crop or CropConfig()
        self.detector = DETECTORS.create(self.detector_cfg.backend, self.detector_cfg)
        self.landmarker = LANDMARKERS.create(self.landmarks_cfg.backend, self.landmarks_cfg)

    @property
    def geometry_source(self) -> str:
        return f"{self.detector.source}+{self.landmarker.source}"

    def scan(self, rgb: np.ndarray) -> FaceScan:
        detections = sorted(self.detector.detect(rgb), key=lambda d: -d.score)
        found = self.detector_cfg
        big = [d for d in detections if d.size >= found.min_face_px][: found.max_faces]
        faces: list[Face] = []
        misses = 0
        for det in big:
            face = self._landmark(rgb, det)
            if face is None:
                misses += 1
                continue
            if any(box_iou(face.landmark_box, f.landmark_box) >= self.landmarks_cfg.dedup_iou for f in faces):
                continue  # the same face found twice (overlapping tiles or detections)
            faces.append(face)
        faces.sort(key=lambda f: (f.landmark_box[0] + f.landmark_box[2], f.landmark_box[1]))  # left to right
        return FaceScan(faces, len(detections), len(detections) - len(big), misses)

    def _landmark(self, rgb: np.ndarray, det: Detection) -> Face | None:
        box = square_box(det.box, self.landmarks_cfg.crop_scale)
        side = box[2] - box[0]
        px = int(np.clip(round(side), LANDMARKER_MIN_PX, LANDMARKER_MAX_PX))
        mesh = self.landmarker.detect_centered(crop_square(rgb, box, px))
        if mesh is None:
            return None
        src = mesh.points.astype(np.float64) * (side / px)
        src[:, 0] += box[0]
        src[:, 1] += box[1]
        if not _inside(src[:, :2].mean(0), det.box, slack=0.25):
            return None  # the landmarker locked onto a neighbouring face
        lbox = points_box(src)
        size = self.crop_cfg.size
        crop_box = square_box(lbox, self.crop_cfg.margin)
        points = np.zeros((src.shape[0], 3))
        points[:, :2] = to_crop(src, crop_box, size)
        points[:, 2] = src[:, 2] * size / (crop_box[2] - crop_box[0])
        return Face(
            detection=det,
            crop_box=crop_box,
            crop=crop_square(rgb, crop_box, size),
            points=points,
            source_points=src,
            landmark_box=lbox,
            blendshapes=mesh.blendshapes,
            pose=head_pose(mesh.transform),
        )

    def close(self) -> None:
        self.landmarker.close()
