"""Faces and landmarks on real images with the real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facefocal_data.config import Recipe
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.regions.named import MOUTH
from facefocal_data.vision.geometry import IBUG68_FROM_MP478, ibug68


@pytest.fixture(scope="module")
def analyzer():  # type: ignore[no-untyped-def]
    a = FaceAnalyzer(Recipe())
    yield a
    a.close()


def test_astronaut_has_exactly_one_face(analyzer: FaceAnalyzer, astronaut_rgb: np.ndarray) -> None:
    scan = analyzer.scan(astronaut_rgb)
    assert len(scan.faces) == 1
    face = scan.faces[0]
    assert face.points.shape == (478, 3)
    assert face.crop.shape == (448, 448, 3)
    assert face.points[:, :2].min() >= 0 and face.points[:, :2].max() <= 448
    assert len(face.blendshapes) == 52
    # the subject's left eye (MediaPipe 263) is on the image's right in an unmirrored photo
    assert face.points[263, 0] > face.points[33, 0]
    # she smiles: the smile blendshapes are the strongest mouth signal
    smile = (face.blendshapes["mouthSmileLeft"] + face.blendshapes["mouthSmileRight"]) / 2
    assert smile > 0.5


def test_crop_box_maps_back_to_the_source(analyzer: FaceAnalyzer, astronaut_rgb: np.ndarray) -> None:
    face = analyzer.scan(astronaut_rgb).faces[0]
    x1, y1, x2, y2 = face.crop_box
    assert x2 - x1 == pytest.approx(y2 - y1)
    # landmark box in source px == crop points scaled back
    scale = (x2 - x1) / 448
    back = face.points[:, :2] * scale + np.array([x1, y1])
    assert back[:, 0].min() == pytest.approx(face.landmark_box[0], abs=0.05)
    assert back[:, 1].max() == pytest.approx(face.landmark_box[3], abs=0.05)


def test_group_photo_gives_every_face(analyzer: FaceAnalyzer, group_photo: Path) -> None:
    scan = analyzer.scan(np.asarray(Image.open(group_photo).convert("RGB")))
    assert len(scan.faces) == 6
    centres = [((f.landmark_box[0] + f.landmark_box[2]) / 2) for f in scan.faces]
    assert centres == sorted(centres), "faces are ordered left to right"


def test_mirrored_face_mirrors_pose_but_keeps_subject_sides(
    analyzer: FaceAnalyzer, astronaut_rgb: np.ndarray
) -> None:
    plain = analyzer.scan(astronaut_rgb).faces[0]
    mirrored = analyzer.scan(np.ascontiguousarray(astronaut_rgb[:, ::-1])).faces[0]
    assert mirrored.points[263, 0] > mirrored.points[33, 0]
    assert mirrored.pose["roll"] == pytest.approx(-plain.pose["roll"], abs=2.0)
    assert mirrored.pose["yaw"] == pytest.approx(-plain.pose["yaw"], abs=2.0)
    assert mirrored.pose["pitch"] == pytest.approx(plain.pose["pitch"], abs=2.0)


def test_no_face_in_a_cat_photo(analyzer: FaceAnalyzer) -> None:
    cat = Path(__file__).parents[1] / "examples" / "images" / "chelsea.png"
    scan = analyzer.scan(np.asarray(Image.open(cat).convert("RGB")))
    assert scan.faces == []
    assert scan.empty_reason() == "no face found"


def test_68_point_view_is_mirror_symmetric(analyzer: FaceAnalyzer, astronaut_rgb: np.ndarray) -> None:
    face = analyzer.scan(astronaut_rgb).faces[0]
    view = ibug68(face.points)
    assert view.shape == (68, 2)
    assert len(set(IBUG68_FROM_MP478)) == 68
    # iBUG: 36 is the subject's right outer eye corner (image left), 45 the left one
    assert view[36, 0] < view[45, 0]
    # mouth points lie inside the mouth landmarks' box
    mouth = face.points[list(MOUTH), :2]
    for x, y in view[48:68]:
        assert mouth[:, 0].min() - 1 <= x <= mouth[:, 0].max() + 1
        assert mouth[:, 1].min() - 1 <= y <= mouth[:, 1].max() + 1


def test_min_face_px_drops_small_faces(astronaut_rgb: np.ndarray) -> None:
    big_only = FaceAnalyzer(Recipe.model_validate({"detector": {"min_face_px": 400}}))
    scan = big_only.scan(astronaut_rgb)
    big_only.close()
    assert scan.faces == [] and scan.too_small >= 1
    assert "smaller than min_face_px" in scan.empty_reason()
