"""Property-based tests (Hypothesis) for the geometry every label and export depends on."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facefocal_data.config import Recipe
from facefocal_data.exporters.coords import norm1000_box, qwen25_box, smart_resize
from facefocal_data.regions.propose import ActionAreas
from facefocal_data.regions.proposer import RegionProposer
from facefocal_data.vision.geometry import to_crop

from .conftest import ASTRONAUT

SIZE = 448


@cache
def real_points() -> np.ndarray:
    """The astronaut's 478 landmarks in crop pixels, from the real models (computed once)."""
    from PIL import Image

    from facefocal_data.faces import FaceAnalyzer

    analyzer = FaceAnalyzer()
    scan = analyzer.scan(np.asarray(Image.open(ASTRONAUT).convert("RGB")))
    analyzer.close()
    return scan.faces[0].points.copy()


moves = st.tuples(
    st.floats(0.4, 1.6),  # scale about the crop centre
    st.floats(-150, 150),  # shift x
    st.floats(-150, 150),  # shift y
    st.floats(-0.4, 0.4),  # rotation, radians
)


def _moved(scale: float, dx: float, dy: float, angle: float) -> np.ndarray:
    points = real_points().copy()
    c, s = np.cos(angle), np.sin(angle)
    xy = points[:, :2] - SIZE / 2
    points[:, :2] = (xy @ np.array([[c, -s], [s, c]]).T) * scale + SIZE / 2 + (dx, dy)
    return points


@settings(max_examples=60, deadline=None)
@given(moves, st.text(min_size=1, max_size=12))
def test_region_boxes_always_lie_inside_the_crop(move: tuple[float, float, float, float], key: str) -> None:
    for region in RegionProposer().propose(_moved(*move), key):
        x1, y1, x2, y2 = region.bbox_xyxy
        assert 0 <= x1 < x2 <= SIZE and 0 <= y1 < y2 <= SIZE, (region.region_id, region.bbox_xyxy)


@settings(max_examples=100, deadline=None)
@given(st.floats(-500, 500), st.floats(-500, 500), st.floats(20, 2000), st.sampled_from([224, 448, 504]))
def test_crop_and_source_coordinates_round_trip(x0: float, y0: float, side: float, size: int) -> None:
    points = real_points()[:, :2] / SIZE * side + (x0, y0)  # some source-pixel points
    box = (x0, y0, x0 + side, y0 + side)
    crop = to_crop(points, box, size)
    back = crop * (side / size) + (x0, y0)
    assert np.allclose(back, points, atol=1e-6)


@settings(max_examples=80, deadline=None)
@given(
    st.tuples(st.integers(0, SIZE - 2), st.integers(0, SIZE - 2), st.integers(2, SIZE), st.integers(2, SIZE)),
    st.floats(0.01, 1.0),
    st.floats(0.01, 1.0),
)
def test_au_ownership_only_shrinks_as_the_overlap_threshold_grows(
    corner: tuple[int, int, int, int], a: float, b: float
) -> None:
    x1, y1, w, h = corner
    box = [x1, y1, min(SIZE, x1 + w), min(SIZE, y1 + h)]
    areas = ActionAreas(real_points(), SIZE, Recipe().labels.au_vocabulary)
    low, high = sorted((a, b))
    assert set(areas.observable(box, high)) <= set(areas.observable(box, low))


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(
    st.integers(56, 2000),
    st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    st.sampled_from([(56 * 56, 1003520), (56 * 56, 200 * 200), (600 * 600, 4000 * 4000)]),
)
def test_qwen_box_conversions_invert_within_rounding(
    side: int, corners: tuple[float, float, float, float], budget: tuple[int, int]
) -> None:
    xa, xb = sorted(corners[:2])
    ya, yb = sorted(corners[2:])
    box = [xa * side, ya * side, xb * side, yb * side]
    _, new_w = smart_resize(side, side, *budget)
    resized = qwen25_box(box, side, side, *budget)
    assert all(0 <= v <= new_w for v in resized)
    back = [v * side / new_w for v in resized]
    assert np.allclose(back, box, atol=0.5 * side / new_w + 1e-9)
    thousand = norm1000_box(box, side, side)
    assert all(0 <= v <= 1000 for v in thousand)
    assert np.allclose([v * side / 1000 for v in thousand], box, atol=0.5 * side / 1000 + 1e-9)
