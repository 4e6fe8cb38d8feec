"""MediaPipe BlazeFace, full-range and short-range, run directly with LiteRT.

Running the .tflite files ourselves (instead of `mp.solutions.face_detection`) lets the weights
come from the verified cache and lets us choose where to look:

* the **full-range** model on the whole image finds faces down to ~5 px of its 192 px input;
* the **short-range** model on the whole image finds faces that fill the frame, which the
  full-range model misses (most face datasets ship such aligned crops);
* a **zoom-out** pass (the image at half size) is the last try when nothing was found;
* **tiles** run only where a face of `min_face_px` could be too small for the whole-image pass
  and that pass found no portrait-sized face, so a portrait or a face crop costs two model
  calls and only group and crowd photos pay for more.

Detections from all passes are merged by MediaPipe's weighted NMS, then a detection lying
inside a larger one (an eye or a mouth called a face) is dropped.
Anchor and decoding constants are those of MediaPipe's face detection graphs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..face_types import Detection
from ..models import model_spec
from ..models.runtimes import tflite_interpreter

SCORE_CLIP = 100.0
MAX_WINDOWS = 64
# Face box sizes, in px of the 192 px input, at which the full-range model finds frontal faces:
# every time from ~16 px, most of the time from ~12 px (measured on posed and in-the-wild faces).
RELIABLE_IN_INPUT = 16.0
TILE_FACE_IN_INPUT = 12.0
PORTRAIT_SHARE = 0.2  # a face this share of the shorter side makes the image a portrait: no tiles
ZOOM_OUT = 2.0  # the last try on an image with no face: the whole image at half the input side
NESTED_SHARE = 0.6  # a box with this share of its area inside a larger detection is part of that face


@dataclass(frozen=True)
class BlazeSpec:
    """One BlazeFace variant: its model, square input side and anchor layout."""

    model_name: str
    input_size: int
    strides: tuple[int, ...]  # one entry per anchor layer
    anchors_per_layer: int  # anchors a layer adds to each grid cell

    def anchors(self) -> np.ndarray:
        """Anchor centres in [0, 1], in the model's output order (MediaPipe SsdAnchorsCalculator).

        Consecutive layers with the same stride share one grid; each cell lists their anchors.
        """
        out = []
        layer = 0
        while layer < len(self.strides):
            stride = self.strides[layer]
            same = sum(1 for s in self.strides[layer:] if s == stride)
            cells = math.ceil(self.input_size / stride)
            centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
            ys, xs = np.meshgrid(centres, centres, indexing="ij")
            grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
            out.append(np.repeat(grid, same * self.anchors_per_layer, axis=0))
            layer += same
        return np.concatenate(out)


FULL_RANGE = BlazeSpec("blazeface_full_range", 192, (4,), 1)
SHORT_RANGE = BlazeSpec("blazeface_short_range", 128, (8, 16, 16, 16), 2)


class BlazeModel:
    """One BlazeFace network: letterboxed tensor in, boxes/scores/keypoints in source pixels out."""

    def __init__(self, spec: BlazeSpec, min_score: float, num_threads: int = 1) -> None:
        self.spec = spec
        self.min_score = min_score
        self.source = model_spec(spec.model_name).short_id
        self._interpreter = tflite_interpreter(spec.model_name, num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self._scores_out, self._boxes_out = outputs[0]["index"], outputs[1]["index"]
        self._anchors = spec.anchors() * spec.input_size

    def letterbox(
        self, rgb: np.ndarray, zoom_out: float = 1.0
    ) -> tuple[np.ndarray, float, tuple[float, float]]:
        """The whole image fitted into the square input (1/zoom_out of its side), scaled to [-1, 1].

        Returns the tensor, the scale and the padding that map detections back to source pixels.
        """
        size = self.spec.input_size
        h, w = rgb.shape[:2]
        scale = size / (max(h, w) * zoom_out)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        canvas = np.zeros((size, size, 3), np.float32)
        pad_y, pad_x = (size - nh) // 2, (size - nw) // 2
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = _resize(rgb, nw, nh)
        return _normalise(canvas)[None], scale, (pad_x, pad_y)

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bare model call (timed separately by the benchmark)."""
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._boxes_out)[0]
        logits = self._interpreter.get_tensor(self._scores_out)[0, :, 0]
        return raw, logits

    def run(
        self, tensor: np.ndarray, scale: float, pad: tuple[float, float], origin: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Infer one input tensor and map its detections to source pixels."""
        raw, logits = self.infer(tensor)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = scores >= self.min_score
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centres = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centres - half, centres + half], axis=1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        offset = np.array(origin) - np.array(pad) / scale
        return boxes / scale + np.tile(offset, 2), scores, kps / scale + offset


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


def drop_nested(detections: list[Detection], share: float = NESTED_SHARE) -> list[Detection]:
    """Remove detections that lie mostly inside a larger one: a face holds no other face."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.area):
        if not any(_inside_share(det.box, big.box) >= share for big in kept):
            kept.append(det)
    return kept


def _inside_share(small: tuple[float, ...], big: tuple[float, ...]) -> float:
    """Share of `small`'s area that lies inside `big`."""
    w = max(0.0, min(small[2], big[2]) - max(small[0], big[0]))
    h = max(0.0, min(small[3], big[3]) - max(small[1], big[1]))
    area = max((small[2] - small[0]) * (small[3] - small[1]), 1e-9)
    return w * h / area


class BlazeFaceDetector:
    """Detect all faces in an RGB image: whole-image full- and short-range passes, tiles if needed."""

    model_name = FULL_RANGE.model_name

    def __init__(
        self,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        tile: bool = True,
        close_range: bool = True,
        min_face_px: int = 32,
        num_threads: int = 1,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.tile = tile
        self.min_face_px = min_face_px
        self.full = BlazeModel(FULL_RANGE, min_score, num_threads)
        self.short = BlazeModel(SHORT_RANGE, min_score, num_threads) if close_range else None
        self.source = "+".join(m.source for m in self.models.values())

    @property
    def models(self) -> dict[str, BlazeModel]:
        """The networks this detector calls, by manifest name."""
        return {m.spec.model_name: m for m in (self.full, self.short) if m is not None}

    def windows(self, h: int, w: int) -> list[tuple[int, int, int]]:
        """Square tiles (x, y, side) covering the image, for faces too small for the whole pass.

        The whole pass reliably finds faces from longest side × 16 / 192 source px. Tiles have
        the side at which a `min_face_px` face is 12 px of the input, and overlap by more than
        the whole pass's smallest reliable face, so no face it may miss is cut by a tile edge.
        """
        size = self.full.spec.input_size
        smallest_whole = max(h, w) * RELIABLE_IN_INPUT / size
        if not self.tile or smallest_whole <= self.min_face_px:
            return []
        side = min(h, w, int(self.min_face_px * size / TILE_FACE_IN_INPUT))
        overlap = min(int(1.5 * smallest_whole), side // 2)
        ys, xs = _starts(h, side, overlap), _starts(w, side, overlap)
        if len(ys) * len(xs) + 2 > MAX_WINDOWS:
            side = max(h, w) // 2  # a very large image: the coarsest tiling that still halves
            ys, xs = _starts(h, min(h, side), side // 4), _starts(w, min(w, side), side // 4)
        return [(x, y, min(h, w, side)) for y in ys for x in xs]

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All passes, merged by weighted NMS, nested detections dropped.

        Tiles run only when the whole-image passes found no portrait-sized face. When nothing
        is found at all, the whole image is seen once more at half size (zoomed out): a face
        cut by the frame edge, as in tight crops, is then found by either model.
        """
        h, w = rgb.shape[:2]
        parts = [self._whole(model, rgb) for model in self.models.values()]
        if not _has_portrait_face(parts, min(h, w)):
            parts += self._tiles(rgb)
        if not any(len(p[0]) for p in parts):
            parts = [self._whole(model, rgb, ZOOM_OUT) for model in self.models.values()]
        boxes = np.concatenate([p[0] for p in parts])
        if not len(boxes):
            return []
        scores = np.concatenate([p[1] for p in parts])
        kps = np.concatenate([p[2] for p in parts])
        return drop_nested(weighted_nms(boxes, scores, kps, self.iou_threshold))

    def _whole(
        self, model: BlazeModel, rgb: np.ndarray, zoom_out: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tensor, scale, pad = model.letterbox(rgb, zoom_out)
        return model.run(tensor, scale, pad, (0.0, 0.0))

    def _tiles(self, rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Full-range passes over the tiles, all cut from one resize of the image."""
        h, w = rgb.shape[:2]
        tiles = self.windows(h, w)
        if not tiles:
            return []
        size = self.full.spec.input_size
        scale = size / tiles[0][2]
        small = _normalise(_resize(rgb, max(1, round(w * scale)), max(1, round(h * scale))))
        parts = []
        for x, y, _side in tiles:
            rx, ry = round(x * scale), round(y * scale)
            window = np.full((size, size, 3), -1.0, np.float32)
            patch = small[ry : ry + size, rx : rx + size]
            window[: patch.shape[0], : patch.shape[1]] = patch
            parts.append(self.full.run(window[None], scale, (0.0, 0.0), (rx / scale, ry / scale)))
        return parts


def _has_portrait_face(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], short_side: int) -> bool:
    """Whether any raw detection is at least PORTRAIT_SHARE of the image's shorter side."""
    sides = [np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) for b, _s, _k in parts if len(b)]
    return bool(sides) and float(np.concatenate(sides).max()) >= PORTRAIT_SHARE * short_side


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """The fewest window origins along one axis that cover it with at least `overlap` px shared."""
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / max(tile - overlap, 1))
    step = (length - tile) / (count - 1) if count > 1 else 0
    return sorted({round(i * step) for i in range(count)})


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    shrink = width < rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _normalise(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 in [-1, 1], the model's input range."""
    return rgb.astype(np.float32) * (1 / 127.5) - 1.0
