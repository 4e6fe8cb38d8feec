"""The same face shifted, padded onto a larger canvas or re-encoded keeps its labels (real models)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facefocal_data.config import Recipe
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.labels.stage import Labeler


@pytest.fixture(scope="module")
def models() -> tuple[FaceAnalyzer, Labeler]:
    recipe = Recipe()
    return FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop), Labeler(recipe.labels)


def _labels(models: tuple[FaceAnalyzer, Labeler], rgb: np.ndarray) -> tuple[str, float, set[str]]:
    """Emotion, age and the AUs present anywhere on the one face in `rgb`."""
    analyzer, labeler = models
    [face] = analyzer.scan(rgb).faces
    emotion, age = labeler.label_emotion(rgb, face), labeler.label_age(rgb, face)
    assert emotion is not None and age is not None and age.years is not None
    assert labeler.au is not None
    values = labeler.au.estimate_face(rgb, face)
    present = {au for au, v in values.items() if v.both >= labeler.cfg.au.threshold_for(au)}
    return emotion.label, age.years, present


def _pad(rgb: np.ndarray, scale: float, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    h, w = rgb.shape[:2]
    canvas = np.zeros((int(h * scale), int(w * scale), 3), np.uint8)
    y, x = (canvas.shape[0] - h) // 2 + shift[0], (canvas.shape[1] - w) // 2 + shift[1]
    canvas[y : y + h, x : x + w] = rgb
    return canvas


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda rgb: _pad(rgb, 2.0), id="padded-2x"),
        pytest.param(lambda rgb: _pad(rgb, 1.5, (-41, 57)), id="shifted"),
        pytest.param(lambda rgb: _jpeg(rgb, 75), id="jpeg-75"),
    ],
)
def test_a_face_keeps_its_labels(
    models: tuple[FaceAnalyzer, Labeler], astronaut_rgb: np.ndarray, variant
) -> None:  # type: ignore[no-untyped-def]
    emotion, years, present = _labels(models, astronaut_rgb)
    emotion2, years2, present2 = _labels(models, variant(astronaut_rgb))
    assert emotion2 == emotion == "happiness"
    assert abs(years2 - years) <= 3.0
    assert {"AU06", "AU12", "AU25"} <= present & present2, "the smile's clear AUs stay present"


def test_a_frame_filling_face_keeps_its_labels_on_a_larger_canvas(
    models: tuple[FaceAnalyzer, Labeler], astronaut_rgb: np.ndarray
) -> None:
    """An aligned crop and the same crop padded give the emotion net the same input."""
    crop = np.ascontiguousarray(astronaut_rgb[50:205, 148:303])
    emotion, years, _ = _labels(models, crop)
    emotion2, years2, _ = _labels(models, _pad(crop, 2.0))
    assert emotion2 == emotion and abs(years2 - years) <= 3.0
