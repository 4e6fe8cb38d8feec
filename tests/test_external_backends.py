"""py-feat and deepface at their boundary: output mapping, and the missing-weights message.

Their weights cannot be had on this machine, so the libraries cannot run here; what we own is
the translation of their documented outputs and the refusal to download anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.errors import BackendUnavailableError, ModelMissingError
from facefocal_data.labels.external import deepface_weights, map_deepface, map_pyfeat_row, pyfeat_weights

from .conftest import ASTRONAUT

# shape of `DeepFace.analyze(..., actions=["emotion", "age"])[0]` (deepface docs): percentages, int age
DEEPFACE_RESULT = {
    "emotion": {"angry": 0.01, "disgust": 0.0, "fear": 0.09, "happy": 99.5, "sad": 0.2, "surprise": 0.1,
                "neutral": 0.1},
    "dominant_emotion": "happy",
    "region": {"x": 0, "y": 0, "w": 224, "h": 224, "left_eye": None, "right_eye": None},
    "face_confidence": 0.0,
    "age": 31,
}  # fmt: skip

# one row of a py-feat `Fex` frame (Detector v2): face box, AU probabilities, emotion probabilities
PYFEAT_ROW = {
    "FaceRectX": 10.0, "FaceRectY": 12.0, "FaceRectWidth": 200.0, "FaceRectHeight": 210.0,
    "FaceScore": 0.99, "Pitch": 1.0, "Roll": -2.0, "Yaw": 3.0,
    "AU01": 0.21, "AU02": 0.15, "AU04": 0.05, "AU05": 0.3, "AU06": 0.92, "AU07": 0.4, "AU09": 0.1,
    "AU10": 0.6, "AU11": 0.2, "AU12": 0.97, "AU14": 0.5, "AU15": 0.03, "AU17": 0.2, "AU20": 0.1,
    "AU23": 0.1, "AU24": 0.05, "AU25": 0.88, "AU26": 0.3, "AU28": 0.01, "AU43": float("nan"),
    "anger": 0.01, "disgust": 0.01, "fear": 0.01, "happiness": 0.94, "sadness": 0.01, "surprise": 0.01,
    "neutral": 0.01, "input": "face.png", "frame": 0,
}  # fmt: skip


@pytest.mark.unit
def test_deepface_result_maps_to_probabilities_and_years() -> None:
    probs, age = map_deepface(DEEPFACE_RESULT)
    assert probs is not None and age == 31.0
    assert max(probs, key=lambda k: probs[k]) == "happiness"
    assert abs(sum(probs.values()) - 1) < 1e-6
    assert list(probs) == ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


@pytest.mark.unit
def test_pyfeat_row_maps_to_aus_and_emotions() -> None:
    aus, emotions = map_pyfeat_row(PYFEAT_ROW)
    assert aus["AU12"].both == pytest.approx(0.97) and aus["AU06"].left == aus["AU06"].right
    assert "AU43" not in aus  # NaN means not measured, not zero
    assert len(aus) == 19
    assert emotions is not None and max(emotions, key=lambda k: emotions[k]) == "happiness"


def test_deepface_missing_weights_names_the_file_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    with pytest.raises(ModelMissingError) as err:
        deepface_weights("age")
    message = str(err.value)
    assert "age_model_weights.onnx" in message and str(tmp_path / ".deepface" / "weights") in message
    # through the CLI it is a setup error, before any image is read
    recipe = tmp_path / "r.yaml"
    recipe.write_text("labels:\n  emotion:\n    backend: deepface\n")
    result = CliRunner().invoke(
        app, ["build", str(ASTRONAUT), "--out", str(tmp_path / "o"), "-r", str(recipe)]
    )
    assert result.exit_code == 2
    assert "facial_expression_model_weights.onnx" in result.output


@pytest.mark.unit
def test_pyfeat_missing_package_or_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "feat" not in sys.modules:
        try:
            import feat  # noqa: F401
        except ImportError:
            with pytest.raises(BackendUnavailableError, match=r"facefocal-data\[pyfeat\]"):
                pyfeat_weights()
    # an installed py-feat (its package folder) without the cached weights
    package = tmp_path / "site" / "feat"
    (package / "resources").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "feat", raising=False)
    with pytest.raises(ModelMissingError) as err:
        pyfeat_weights()
    message = str(err.value)
    assert "models--py-feat--retinaface_r34" in message and "models--py-feat--face_multitask_v2" in message
    assert str(package / "resources") in message
