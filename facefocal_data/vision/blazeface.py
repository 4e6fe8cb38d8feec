"""MediaPipe BlazeFace full-range detector, run directly with LiteRT.

Running the .tflite ourselves (instead of `mp.solutions.face_detection`) lets the weights come
from the verified cache and lets us tile large images, which the landmarker's built-in
short-range detector cannot do: group photos lose faces without it.
Anchor and decoding constants are those of MediaPipe's `face_detection_full_range.pbtxt`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..models import model_spec
from ..models.runtimes import tflite_interpreter

INPUT_SIZE = 192
GRID = 48  # stride 4 over 192 px, one anchor per cell
SCORE_CLIP = 100.0
MIN_TILE = INPUT_SIZE
MAX_WINDOWS = 64


@dataclass(frozen=True)
class Detection:
    """One face box in source-image pixels, with its score and 6 keypoints."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def size(self) -> float:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


def _anchors() -> np.ndarray:
    centers = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    xs, ys = np.meshgrid(centers, centers)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou_threshold: float
) -> list[Detection]:
    """MediaPipe's weighted NMS: overlapping boxes are averaged by score, not just dropped."""
    order = np.argsort(-scores)
    remaining = order
    out: list[Detection] = []
    while remaining.size:
        best = remaining[0]
        overlap = _iou(boxes[best], boxes[remaining])
        group = remaining[overlap >= iou_threshold]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        kps = (keypoints[group] * weights[:, :, None]).sum(0) / weights.sum()
        out.append(
            Detection(
                box=tuple(float(v) for v in box),  # type: ignore[arg-type]
                score=float(scores[best]),
                keypoints=tuple((float(x), float(y)) for x, y in kps),
            )
        )
        remaining = remaining[overlap < iou_threshold]
    return out


class BlazeFaceDetector:
    """Detect all faces in an RGB image, whole-image pass plus optional overlapping tiles."""

    model_name = "blazeface_full_range"

    def __init__(
        self,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        tile: bool = True,
        num_threads: int = 1,
    ) -> None:
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.tile = tile
        self.source = model_spec(self.model_name).short_id
        self._interpreter = tflite_interpreter(self.model_name, num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self._scores_out, self._boxes_out = outputs[0]["index"], outputs[1]["index"]
        self._anchors = _anchors()

    def prepare(self, rgb: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        """Letterbox to 192x192, scale to [-1, 1]; returns tensor, scale and padding."""
        h, w = rgb.shape[:2]
        scale = INPUT_SIZE / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = _resize(rgb, nw, nh)
        canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        pad_y, pad_x = (INPUT_SIZE - nh) // 2, (INPUT_SIZE - nw) // 2
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
        return _normalise(canvas)[None], scale, pad_x, pad_y

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bare model call (timed separately by the benchmark)."""
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._boxes_out)[0]
        logits = self._interpreter.get_tensor(self._scores_out)[0, :, 0]
        return raw, logits

    def _run(self, tensor: np.ndarray, scale: float, pad: tuple[float, float], origin: tuple[float, float]):  # type: ignore[no-untyped-def]
        """Infer one 192x192 tensor and map its detections to source pixels."""
        raw, logits = self.infer(tensor)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = scores >= self.min_score
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centres = raw[:, 0:2] + anchors * INPUT_SIZE
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centres - half, centres + half], axis=1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :] * INPUT_SIZE
        offset = np.array(origin) - np.array(pad) / scale
        boxes = boxes / scale + np.tile(offset, 2)
        kps = kps / scale + offset
        return boxes, scores, kps

    def windows(self, h: int, w: int) -> list[int]:
        """Tile sides for the pyramid: halving from half the short side down to 192 px.

        Faces under ~10% of a window's side are too small for the 192 px input; tiles make
        them bigger. The pyramid is capped at MAX_WINDOWS model calls per image.
        """
        sides: list[int] = []
        calls = 1
        tile = min(h, w) // 2
        while self.tile and tile >= MIN_TILE:
            calls += len(_starts(h, tile)) * len(_starts(w, tile))
            if calls > MAX_WINDOWS:
                break
            sides.append(tile)
            tile //= 2
        return sides

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Whole image letterboxed, then each tile level from one resize of the image."""
        h, w = rgb.shape[:2]
        tensor, scale, pad_x, pad_y = self.prepare(rgb)
        parts = [self._run(tensor, scale, (pad_x, pad_y), (0.0, 0.0))]
        for tile in self.windows(h, w):
            scale = INPUT_SIZE / tile
            small = _normalise(_resize(rgb, max(1, round(w * scale)), max(1, round(h * scale))))
            for y in _starts(h, tile):
                for x in _starts(w, tile):
                    rx, ry = round(x * scale), round(y * scale)
                    window = np.full((INPUT_SIZE, INPUT_SIZE, 3), -1.0, np.float32)
                    patch = small[ry : ry + INPUT_SIZE, rx : rx + INPUT_SIZE]
                    window[: patch.shape[0], : patch.shape[1]] = patch
                    parts.append(self._run(window[None], scale, (0.0, 0.0), (rx / scale, ry / scale)))
        boxes = np.concatenate([p[0] for p in parts])
        if not len(boxes):
            return []
        scores = np.concatenate([p[1] for p in parts])
        kps = np.concatenate([p[2] for p in parts])
        return weighted_nms(boxes, scores, kps, self.iou_threshold)


def _starts(length: int, tile: int) -> list[int]:
    """Window origins along one axis: 25% overlap, the last window flush with the edge."""
    step = max(1, int(tile * 0.75))
    return sorted({*range(0, length - tile + 1, step), length - tile})


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    shrink = width < rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _normalise(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 in [-1, 1], the model's input range."""
    return rgb.astype(np.float32) * (1 / 127.5) - 1.0
