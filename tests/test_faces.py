"""Faces and landmarks on real images with the real models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facefocal_data.config import DetectorConfig
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.regions.named import MOUTH
from facefocal_data.vision.geometry import IBUG68_FROM_MP478, ibug68


@pytest.fixture(scope="module")
def analyzer():  # type: ignore[no-untyped-def]
    a = FaceAnalyzer()
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
    big_only = FaceAnalyzer(DetectorConfig(min_face_px=400))
    scan = big_only.scan(astronaut_rgb)
    big_only.close()
    assert scan.faces == [] and scan.too_small >= 1
    assert "smaller than min_face_px" in scan.empty_reason()


def _counting_calls(analyzer: FaceAnalyzer) -> list[str]:
    """Record the name of every detector network call the analyzer makes."""
    calls: list[str] = []
    for name, model in analyzer.detector.models.items():
        original = model.infer

        def counted(tensor, _original=original, _name=name):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(tensor)

        model.infer = counted  # type: ignore[method-assign]
    return calls


def _tight_crop(rgb: np.ndarray) -> np.ndarray:
    """The astronaut's face filling the frame, as aligned face datasets ship it."""
    return np.ascontiguousarray(rgb[50:205, 148:303])


@pytest.mark.parametrize("side", [160, 240, 448])
def test_frame_filling_face_is_found_once(astronaut_rgb: np.ndarray, side: int) -> None:
    analyzer = FaceAnalyzer()
    crop = cv2.resize(_tight_crop(astronaut_rgb), (side, side))
    scan = analyzer.scan(crop)
    assert len(scan.faces) == 1 and scan.detections == 1, "one face, nothing nested inside it"
    padded = np.zeros((2 * side, 2 * side, 3), np.uint8)
    padded[side // 2 : side // 2 + side, side // 2 : side // 2 + side] = crop
    assert len(analyzer.scan(padded).faces) == 1


def test_short_range_model_decodes_onto_the_face(astronaut_rgb: np.ndarray) -> None:
    """Its 896 anchors (two grids) decode to the face box the full-range model finds."""
    from facefocal_data.vision.geometry import box_iou

    analyzer = FaceAnalyzer()
    crop = cv2.resize(_tight_crop(astronaut_rgb), (240, 240))
    boxes = {}
    for name, model in analyzer.detector.models.items():
        tensor, scale, pad = model.letterbox(crop)
        found, scores, _ = model.run(tensor, scale, pad, (0.0, 0.0))
        boxes[name] = found[int(np.argmax(scores))]
    full, short = boxes["blazeface_full_range"], boxes["blazeface_short_range"]
    assert box_iou(tuple(full), tuple(short)) > 0.75


def test_portrait_up_to_1mp_costs_two_detector_calls(astronaut_rgb: np.ndarray) -> None:
    analyzer = FaceAnalyzer()
    calls = _counting_calls(analyzer)
    for shape in ((1000, 1000), (800, 1250)):
        big = cv2.resize(astronaut_rgb, (shape[1], shape[0]))
        calls.clear()
        assert len(analyzer.scan(big).faces) == 1
        assert len(calls) == 2, calls


def test_group_photo_tiles_only_where_faces_are_small(group_photo: Path) -> None:
    analyzer = FaceAnalyzer()
    calls = _counting_calls(analyzer)
    rgb = np.asarray(Image.open(group_photo).convert("RGB"))
    assert len(analyzer.scan(rgb).faces) == 6
    assert len(calls) <= 12, "the old pyramid made ~22 calls on this picture"
    h, w = rgb.shape[:2]
    tiles = analyzer.detector.windows(h, w)
    assert tiles, "a min_face_px face is too small for the whole pass on a 1240 px image"
    for x, y, side in tiles:
        assert 0 <= x <= w - side and 0 <= y <= h - side
    covered = np.zeros((h, w), bool)
    for x, y, side in tiles:
        covered[y : y + side, x : x + side] = True
    assert covered.all(), "tiles cover the whole image"


@pytest.mark.unit
def test_nested_detections_are_dropped() -> None:
    from facefocal_data.vision.blazeface import Detection, drop_nested

    face = Detection((100.0, 100.0, 300.0, 300.0), 0.9, ())
    eye = Detection((150.0, 150.0, 200.0, 190.0), 0.95, ())
    neighbour = Detection((280.0, 100.0, 480.0, 300.0), 0.8, ())
    assert drop_nested([eye, face, neighbour]) == [face, neighbour]
