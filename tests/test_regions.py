"""Regions from real landmarks: where they sit, which AUs they can show, reproducible boxes."""

from __future__ import annotations

import numpy as np
import pytest

from facefocal_data.config import LabelsConfig, Recipe, RegionsConfig
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.regions.named import MOUTH, NAMED_REGIONS
from facefocal_data.regions.propose import BoxSampling, sample_boxes
from facefocal_data.regions.proposer import RegionProposer


@pytest.fixture(scope="module")
def points(astronaut_rgb: np.ndarray) -> np.ndarray:
    analyzer = FaceAnalyzer()
    face = analyzer.scan(astronaut_rgb).faces[0]
    analyzer.close()
    return face.points


def _by_id(regions):  # type: ignore[no-untyped-def]
    return {r.region_id: r for r in regions}


def test_at_least_fourteen_named_regions_inside_the_crop(points: np.ndarray) -> None:
    regions = RegionProposer().propose(points, "key")
    named = [r for r in regions if r.kind == "named"]
    assert len(named) >= 14
    wanted = {
        "brow_left",
        "brow_right",
        "eye_left",
        "eye_right",
        "glabella",
        "forehead",
        "nose",
        "nasolabial_left",
        "nasolabial_right",
        "cheek_upper_left",
        "cheek_upper_right",
        "cheek_lower_left",
        "cheek_lower_right",
        "mouth",
        "chin",
        "jaw",
        "upper_face",
        "lower_face",
        "full_face",
    }
    assert wanted <= {r.region_id for r in named}
    for region in regions:
        x1, y1, x2, y2 = region.bbox_xyxy
        assert 0 <= x1 < x2 <= 448 and 0 <= y1 < y2 <= 448, region


def test_mouth_region_contains_the_mouth_landmarks(points: np.ndarray) -> None:
    mouth = _by_id(RegionProposer().propose(points, "k"))["mouth"]
    x1, y1, x2, y2 = mouth.bbox_xyxy
    lips = points[list(MOUTH), :2]
    assert (lips[:, 0] >= x1).all() and (lips[:, 0] <= x2).all()
    assert (lips[:, 1] >= y1).all() and (lips[:, 1] <= y2).all()


def test_left_is_the_subjects_left(points: np.ndarray) -> None:
    regions = _by_id(RegionProposer().propose(points, "k"))
    centre = lambda r: (r.bbox_xyxy[0] + r.bbox_xyxy[2]) / 2  # noqa: E731
    face_mid = centre(regions["full_face"])
    for side in ("eye", "brow", "cheek_upper", "cheek_lower", "nasolabial"):
        assert centre(regions[f"{side}_left"]) > face_mid > centre(regions[f"{side}_right"]), side


def test_anatomical_order_top_to_bottom(points: np.ndarray) -> None:
    r = _by_id(RegionProposer().propose(points, "k"))
    mid_y = lambda name: (r[name].bbox_xyxy[1] + r[name].bbox_xyxy[3]) / 2  # noqa: E731
    assert mid_y("forehead") < mid_y("brow_left") < mid_y("eye_left") < mid_y("nose")
    assert mid_y("nose") < mid_y("mouth") < mid_y("chin")


def test_regions_list_the_aus_their_area_can_show(points: np.ndarray) -> None:
    r = _by_id(RegionProposer().propose(points, "k"))
    assert {"AU12", "AU25", "AU26"} <= set(r["mouth"].observable_aus)
    assert {"AU07", "AU43"} <= set(r["eye_left"].observable_aus)
    assert {"AU07", "AU43"} <= set(r["eye_right"].observable_aus)
    assert "AU12" not in r["eye_left"].observable_aus
    assert {"AU01", "AU02"} <= set(r["forehead"].observable_aus)
    assert "AU25" not in r["forehead"].observable_aus
    assert "AU04" in r["glabella"].observable_aus
    assert "AU17" in r["chin"].observable_aus
    assert set(r["full_face"].observable_aus) == set(Recipe().labels.au_vocabulary)


def test_threshold_and_vocabulary_come_from_the_recipe(points: np.ndarray) -> None:
    loose = RegionProposer(RegionsConfig(au_overlap=0.01))
    strict = RegionProposer(RegionsConfig(au_overlap=0.95))
    few = RegionProposer(
        au_vocabulary=LabelsConfig.model_validate({"au_vocabulary": [12, "au25"]}).au_vocabulary
    )
    n_loose = sum(len(x.observable_aus) for x in loose.propose(points, "k"))
    n_strict = sum(len(x.observable_aus) for x in strict.propose(points, "k"))
    assert n_loose > n_strict
    assert set(_by_id(few.propose(points, "k"))["mouth"].observable_aus) == {"AU12", "AU25"}


@pytest.mark.unit
def test_random_boxes_are_seeded_and_within_limits() -> None:
    sampling = BoxSampling(count=50, min_side=0.2, max_side=0.5, max_aspect=2.0, seed=7)
    boxes = sample_boxes(sampling, 448, "face-1")
    assert boxes == sample_boxes(sampling, 448, "face-1")
    assert boxes != sample_boxes(sampling, 448, "face-2")
    assert boxes != sample_boxes(BoxSampling(count=50, seed=8), 448, "face-1")
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        assert 0 <= x1 < x2 <= 448 and 0 <= y1 < y2 <= 448
        assert max(w, h) / min(w, h) <= 2.0 * 1.1  # integer rounding
        assert 0.2 * 448 * 0.7 - 2 <= (w * h) ** 0.5 <= 0.5 * 448 + 2


def test_user_boxes_custom_regions_and_selection(points: np.ndarray) -> None:
    recipe = Recipe.model_validate(
        {
            "regions": {
                "named": ["mouth", "eye_left"],
                "custom": {"nose_tip": {"landmarks": [1, 4, 5, 195], "pad_x": 0.05, "pad_y": 0.05}},
                "boxes": {"count": 2, "fixed": [[100, 250, 350, 350]]},
            }
        }
    )
    regions = RegionProposer(recipe.regions).propose(points, "k")
    ids = [r.region_id for r in regions]
    assert ids == ["mouth", "eye_left", "nose_tip", "box_user_00", "box_00", "box_01"]
    user = _by_id(regions)["box_user_00"]
    assert user.bbox_xyxy == [100, 250, 350, 350] and "AU25" in user.observable_aus
    assert {r.name for r in NAMED_REGIONS} >= {"mouth", "eye_left"}
