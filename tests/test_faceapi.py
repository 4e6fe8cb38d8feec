"""The face-api.js expression and age-gender nets, ported to onnxruntime: sane on real faces, batched
the same as one by one, and (slow) equal to the real face-api.js running in node."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facefocal_data.config import Recipe
from facefocal_data.face_types import Face
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.labels.faceapi import (
    CROP_RULES,
    FaceApiAge,
    FaceApiEmotion,
    face_patch,
    faceapi_box,
)
from facefocal_data.models.manifest import model_spec
from facefocal_data.models.store import model_path
from facefocal_data.models.tfjs import decode_weights
from facefocal_data.vision.faceapi_nets import pad_to_square, resize_bilinear_tf, to_batch_tensor
from facefocal_data.vision.geometry import ibug68

from .conftest import TEMPLATE_RECIPE
from .test_labels import _records

REFERENCE_JS = Path(__file__).with_name("faceapi_reference.cjs")
NPM_PACKAGES = (
    "@vladmandic/face-api@1.7.15",
    "@tensorflow/tfjs@4.22.0",
    "@tensorflow/tfjs-backend-wasm@4.22.0",
)


@pytest.fixture(scope="module")
def emotion() -> FaceApiEmotion:
    return FaceApiEmotion()


@pytest.fixture(scope="module")
def age() -> FaceApiAge:
    return FaceApiAge()


@pytest.fixture(scope="module")
def scanned(astronaut_rgb: np.ndarray, group_photo: Path) -> dict[str, tuple[np.ndarray, list[Face]]]:
    analyzer = FaceAnalyzer()
    group = np.asarray(Image.open(group_photo).convert("RGB"))
    out = {
        name: (rgb, analyzer.scan(rgb).faces)
        for name, rgb in (("astronaut", astronaut_rgb), ("group", group))
    }
    analyzer.close()
    return out


def test_tfjs_weights_are_dequantised_as_tfjs_does() -> None:
    manifest = [
        {
            "paths": ["w.bin"],
            "weights": [
                {
                    "name": "q",
                    "shape": [2, 2],
                    "dtype": "float32",
                    "quantization": {"dtype": "uint8", "scale": 0.1, "min": -1.0},
                },
                {"name": "f", "shape": [1], "dtype": "float32"},
            ],
        }
    ]
    data = bytes([0, 1, 10, 255]) + np.array([2.5], "<f4").tobytes()
    weights = decode_weights(json.dumps(manifest).encode(), data)
    expected = (np.array([0, 1, 10, 255], np.float64) * 0.1 - 1.0).astype(np.float32).reshape(2, 2)
    assert np.array_equal(weights["q"], expected) and weights["q"].dtype == np.float32
    assert weights["f"].tolist() == [2.5]
    with pytest.raises(ValueError, match="does not describe"):
        decode_weights(json.dumps(manifest).encode(), data + b"\0")
    with pytest.raises(ValueError, match="past the end"):
        decode_weights(json.dumps(manifest).encode(), data[:3])


def test_input_is_padded_centred_and_resized_without_half_pixel_centres() -> None:
    patch = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3) + 1
    square = pad_to_square(patch)
    assert square.shape == (5, 5, 3)
    assert (
        not square[0].any() and np.array_equal(square[1:3], patch) and not square[3:].any()
    )  # 1 before, 2 after
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    assert resize_bilinear_tf(image, 2)[..., 0].tolist() == [[0, 2], [8, 10]]  # samples rows/cols 0 and 2
    assert resize_bilinear_tf(image, 8)[0, :, 0].tolist() == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3]  # edge held
    assert to_batch_tensor([patch, np.zeros((112, 112, 3))]).shape == (2, 112, 112, 3)


def test_faceapi_box_is_the_68_points_box_grown_by_a_fifth(scanned: dict) -> None:
    _, [face] = scanned["astronaut"]
    points = ibug68(face.source_points)
    x0, y0, x1, y1 = faceapi_box(face)
    w, h = np.ptp(points[:, 0]), np.ptp(points[:, 1])
    assert np.isclose(x1 - x0, 1.2 * w) and np.isclose(y1 - y0, 1.2 * h)
    assert np.isclose((x0 + x1) / 2, points[:, 0].min() + w / 2)


def test_patches_clip_like_faceapi_or_pad_black() -> None:
    rgb = np.full((100, 80, 3), 200, np.uint8)
    box = (-10.5, 50.2, 30.0, 130.9)
    clipped = face_patch(rgb, box, clip=True)
    assert clipped.shape == (49, 30, 3) and clipped.min() == 200  # clipped to the image, then floored
    padded = face_patch(rgb, box, clip=False)
    assert padded.shape == (80, 40, 3)
    assert padded[:, :11].max() == 0 and padded[50:].max() == 0 and padded[:50, 11:].min() == 200
    with pytest.raises(ValueError, match="outside"):
        face_patch(rgb, (90.0, 0.0, 120.0, 30.0), clip=True)


def test_astronaut_smiles_and_looks_adult(scanned: dict, emotion: FaceApiEmotion, age: FaceApiAge) -> None:
    rgb, [face] = scanned["astronaut"]
    for crop in CROP_RULES:
        probs = emotion.scores(emotion.batch(rgb, [face], crop))[0]
        assert max(probs, key=lambda k: probs[k]) == "happiness" and probs["happiness"] > 0.9, crop
        assert abs(sum(probs.values()) - 1) < 1e-3
        years, male = age.predict(age.batch(rgb, [face], crop))
        assert 20 <= years[0] <= 50, crop
        assert male[0] < 0.5, crop  # Eileen Collins
    assert emotion.probabilities(rgb, face.detection.box)["happiness"] > 0.9


def test_batched_equals_one_by_one(scanned: dict, emotion: FaceApiEmotion, age: FaceApiAge) -> None:
    rgb, faces = scanned["group"]
    assert len(faces) == 6
    batched = emotion.batch_probabilities(rgb, faces)
    single = [emotion.face_probabilities(rgb, face) for face in faces]
    for a, b in zip(batched, single, strict=True):
        assert all(abs(a[k] - b[k]) <= 1e-5 for k in a)
    ages = [e.years for e in age.estimate_batch(rgb, faces)]
    assert ages == pytest.approx([age.estimate(rgb, face).years for face in faces], abs=0.011)
    assert all(a["happiness"] > 0.9 for a in batched) and all(15 <= y <= 60 for y in ages)
    assert emotion.batch_probabilities(rgb, []) == [] and age.estimate_batch(rgb, []) == []


def test_faceapi_backends_label_a_record(astronaut_rgb: np.ndarray) -> None:
    labels = {"emotion": {"backend": "faceapi"}, "age": {"backend": "faceapi"}}
    [record] = _records(astronaut_rgb, Recipe.model_validate({**TEMPLATE_RECIPE, "labels": labels}))
    assert record.emotion is not None and record.emotion.label == "happiness"
    assert record.emotion.source.startswith("faceapi_expr@sha256:9a9840f2cf1f")
    assert record.age is not None and record.age.source.startswith("faceapi_age@sha256:49f92bbc0afe")
    assert record.age.years is not None and 20 <= record.age.years <= 50
    # a regression has no distribution: the interval is years ×/÷ e^c, spread and bin mass follow it
    low, high = record.age.interval or (0.0, 0.0)
    c = Recipe().labels.age.interval_log_halfwidth
    assert (low, high) == pytest.approx(
        (record.age.years * math.exp(-c), record.age.years * math.exp(c)), abs=0.01
    )
    assert record.age.spread == pytest.approx((high - low) / 2.5632, abs=0.01)
    assert record.age.confidence is not None and 0.2 < record.age.confidence < 1


def _reference_install(cache: Path) -> Path:
    """face-api.js and the pure-JS tfjs (CPU backend) installed once into a cached folder."""
    folder = cache / "faceapi-node"
    if (folder / "node_modules" / "@vladmandic" / "face-api" / "package.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "faceapi-reference", "private": true}\n')
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *NPM_PACKAGES]
    result = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def _write_job(job: Path, patches: list[np.ndarray]) -> None:
    """The patches as raw float32 files plus the model files face-api.js loads from one folder."""
    entries = []
    for i, patch in enumerate(patches):
        np.ascontiguousarray(patch, "<f4").tofile(job / f"p{i}.f32")
        entries.append({"shape": list(patch.shape), "file": f"p{i}.f32"})
    (job / "patches.json").write_text(json.dumps(entries))
    models = job / "models"
    models.mkdir()
    for name in ("faceapi_expr", "faceapi_expr_manifest", "faceapi_age", "faceapi_age_manifest"):
        shutil.copyfile(model_path(model_spec(name)), models / model_spec(name).filename)


@pytest.mark.slow
def test_port_equals_faceapi_js_in_node(
    scanned: dict, emotion: FaceApiEmotion, age: FaceApiAge, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Same patches through face-api.js (tfjs CPU backend) and through our port: same numbers."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are not installed: the face-api.js reference cannot run")
    install = _reference_install(request.config.cache.mkdir("faceapi"))
    rng = np.random.default_rng(0)
    rgb, [face] = scanned["astronaut"]
    patches = [face_patch(rgb, rule(face), clip) for rule, clip in CROP_RULES.values()]  # 4 sizes
    rgb, faces = scanned["group"]
    patches += [face_patch(rgb, faceapi_box(f), clip=True) for f in faces]
    patches += [rng.uniform(0, 255, (112, 112, 3)), rng.uniform(0, 255, (31, 57, 3)), np.zeros((112, 112, 3))]
    patches = [np.asarray(p, np.float32) for p in patches]
    _write_job(tmp_path, patches)
    cmd = ["node", str(REFERENCE_JS), str(install), str(tmp_path / "models"), str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    ref = json.loads((tmp_path / "out.json").read_text())
    assert ref["backend"] == "cpu" and ref["version"] == "1.7.15"
    batch = to_batch_tensor(patches)
    js_batch = np.fromfile(tmp_path / "batch.f32", "<f4").reshape(batch.shape)
    assert np.abs(batch - js_batch).max() <= 1e-4
    [probs] = emotion.infer(batch)
    years, gender = age.infer(batch)
    assert np.abs(probs - np.array(ref["expression"])).max() <= 1e-4
    assert np.abs(years[:, 0] - np.array(ref["age"])).max() <= 1e-4
    assert np.abs(gender - np.array(ref["gender"])).max() <= 1e-4
