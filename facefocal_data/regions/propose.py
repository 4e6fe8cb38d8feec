"""Turn a face's landmarks into regions: named ones, user boxes and seeded random boxes.

A region can show an AU when enough of that AU's action area falls inside it:
``area(region ∩ action_area) / area(action_area) ≥ τ``. Areas are rasterised on a coarse grid,
which is exact enough for boxes and handles two-sided areas without special cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..facs import AU_ACTION_AREAS
from .named import RegionDef

GRID_DIVISOR = 4  # rasterise at 1/4 of the crop size


@dataclass(frozen=True)
class BoxSampling:
    """How random boxes are drawn: count, side limits as crop fractions, max aspect ratio."""

    count: int = 4
    min_side: float = 0.15
    max_side: float = 0.6
    max_aspect: float = 2.5
    seed: int = 0


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the outer eye corners (33, 263): the face's own length unit."""
    return float(np.linalg.norm(points[263, :2] - points[33, :2])) or 1.0


def region_box(points: np.ndarray, region: RegionDef, size: int) -> list[int]:
    """Padded bounding box of the region's landmarks, in integer crop pixels."""
    sel = points[list(region.landmarks), :2]
    iod = inter_ocular(points)
    x1 = sel[:, 0].min() - region.pad_x * iod
    x2 = sel[:, 0].max() + region.pad_x * iod
    y1 = sel[:, 1].min() - region.pad_y * iod
    y2 = sel[:, 1].max() + region.pad_y * iod
    return clip_box([x1, y1, x2, y2], size)


def clip_box(box: Sequence[float], size: int) -> list[int]:
    """Round outward to integers inside [0, size]; keeps at least one pixel of extent."""
    x1 = int(np.clip(np.floor(box[0]), 0, size - 1))
    y1 = int(np.clip(np.floor(box[1]), 0, size - 1))
    x2 = int(np.clip(np.ceil(box[2]), x1 + 1, size))
    y2 = int(np.clip(np.ceil(box[3]), y1 + 1, size))
    return [x1, y1, x2, y2]


def sample_boxes(sampling: BoxSampling, size: int, key: str) -> list[list[int]]:
    """Random boxes, reproducible per face: the RNG is seeded by (seed, record key)."""
    digest = hashlib.sha256(f"{sampling.seed}:{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    boxes: list[list[int]] = []
    while len(boxes) < sampling.count:
        side = rng.uniform(sampling.min_side, sampling.max_side) * size
        aspect = float(np.exp(rng.uniform(-np.log(sampling.max_aspect), np.log(sampling.max_aspect))))
        w = min(size, side * np.sqrt(aspect))
        h = min(size, side / np.sqrt(aspect))
        x1 = rng.uniform(0, size - w)
        y1 = rng.uniform(0, size - h)
        boxes.append(clip_box([x1, y1, x1 + w, y1 + h], size))
    return boxes


class ActionAreas:
    """Rasterised AU action areas of one face, for overlap queries.

    A two-sided AU has one patch per side; a region sees the AU when it holds enough of *one*
    patch, so a single eye region can show AU07 although it holds half of the whole area.
    Each patch is kept as a summed-area table, so a box's share of every patch of every AU is
    one vectorised lookup.
    """

    def __init__(self, points: np.ndarray, size: int, aus: Sequence[str]) -> None:
        self.scale = 1.0 / GRID_DIVISOR
        self.grid = max(1, size // GRID_DIVISOR)
        self.aus = list(aus)
        tables, areas, owners = [], [], []
        for k, au in enumerate(self.aus):
            for group in AU_ACTION_AREAS[au]:
                table, area = self._patch(points, group)
                tables.append(table)
                areas.append(area)
                owners.append(k)
        self.tables = np.stack(tables) if tables else np.zeros((0, self.grid + 1, self.grid + 1))
        self.areas = np.maximum(np.array(areas, np.float64), 1.0)
        self.empty = np.array(areas) == 0
        self.owners = np.array(owners, np.int64)

    def _patch(self, points: np.ndarray, group: list[int]) -> tuple[np.ndarray, int]:
        mask = np.zeros((self.grid, self.grid), np.uint8)
        hull = cv2.convexHull((points[group, :2] * self.scale).astype(np.float32))
        cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), (1,))
        return cv2.integral(mask), int(mask.sum())

    def overlaps(self, box: Sequence[int]) -> dict[str, float]:
        """For each AU, the largest share of any one of its patches that lies inside the box."""
        x1, y1, x2, y2 = (min(self.grid, max(0, round(v * self.scale))) for v in box)
        t = self.tables
        inside = t[:, y2, x2] - t[:, y1, x2] - t[:, y2, x1] + t[:, y1, x1]
        share = np.where(self.empty, 0.0, inside / self.areas)
        best = np.zeros(len(self.aus))
        np.maximum.at(best, self.owners, share)
        return dict(zip(self.aus, best.tolist(), strict=True))

    def observable(self, box: Sequence[int], threshold: float) -> list[str]:
        return [au for au, share in self.overlaps(box).items() if share >= threshold]
