"""Pure geometry: square crops, coordinate transforms, the 68-point view and head pose."""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[float, float, float, float]

# MediaPipe-478 index for each iBUG-68 point (subject's right first, as in iBUG). Chosen to be
# mirror-symmetric: point i and its iBUG mirror map to MediaPipe mirror partners.
# fmt: off
IBUG68_FROM_MP478: tuple[int, ...] = (
    # jaw 0-16, subject's right ear to left ear
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    # right brow 17-21, left brow 22-26
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge 27-30, lower nose 31-35
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # right eye 36-41, left eye 42-47
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lip 48-59, inner lip 60-67
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    78, 82, 13, 312, 308, 317, 14, 87,
)
# fmt: on


def square_box(box: Box, scale: float) -> Box:
    """A square around ``box``'s centre whose side is ``scale`` times its longer side."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * scale / 2
    return (cx - half, cy - half, cx + half, cy + half)


def crop_square(rgb: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Resample a square source box to ``size``x``size``; outside the image is black.

    An affine warp handles boxes that leave the image without shifting the face, so stored
    geometry maps back to the source exactly.
    """
    side = box[2] - box[0]
    scale = size / side
    matrix = np.array([[scale, 0, -box[0] * scale], [0, scale, -box[1] * scale]], np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, matrix, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT)


def to_crop(points: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Source pixel coordinates -> crop pixel coordinates."""
    scale = size / (box[2] - box[0])
    out = points[:, :2].astype(np.float64).copy()
    out[:, 0] = (out[:, 0] - box[0]) * scale
    out[:, 1] = (out[:, 1] - box[1]) * scale
    return out


def points_box(points: np.ndarray) -> Box:
    return (
        float(points[:, 0].min()),
        float(points[:, 1].min()),
        float(points[:, 0].max()),
        float(points[:, 1].max()),
    )


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ibug68(points: np.ndarray) -> np.ndarray:
    """The derived 68-point view of a 478-point mesh."""
    return points[list(IBUG68_FROM_MP478), :2]


def head_pose(matrix: np.ndarray) -> dict[str, float]:
    """Yaw, pitch, roll in degrees from MediaPipe's facial transformation matrix.

    Tait-Bryan angles of the rotation part (x right, y up, z towards the camera):
    pitch about x, yaw about y, roll about z. A mirrored image flips the sign of yaw and roll.
    """
    rot = matrix[:3, :3]
    pitch = math.degrees(math.atan2(float(rot[2, 1]), float(rot[2, 2])))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -float(rot[2, 0])))))
    roll = math.degrees(math.atan2(float(rot[1, 0]), float(rot[0, 0])))
    return {"yaw": yaw, "pitch": pitch, "roll": roll}
