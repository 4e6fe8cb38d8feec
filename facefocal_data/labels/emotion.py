"""Emotion backends: 7 basic classes with probabilities, from tflite models run with LiteRT.

Each model gets the crop it was trained on: the tight detector box, in grey, not the padded VLM
crop (widening the crop to 1.2x turned posed anger into "sadness").
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face_types import Face
from ..models.manifest import model_spec
from ..models.runtimes import tflite_interpreter
from ..vision.geometry import Box, crop_square, square_box

EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")


def grey_face(rgb: np.ndarray, box: Box, size: int) -> np.ndarray:
    """The detector box as a square grey crop, size x size, uint8."""
    return cv2.cvtColor(crop_square(rgb, square_box(box, 1.0), size), cv2.COLOR_RGB2GRAY)


class _TfliteEmotion:
    model_name = ""
    labels: tuple[str, ...] = ()  # the model's output order, in canonical names
    size = 0  # input side, pixels

    def __init__(self) -> None:
        self._interpreter = tflite_interpreter(self.model_name)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self.source = model_spec(self.model_name).short_id

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """The bare model call (timed separately by the benchmark)."""
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)[0]

    def tensor(self, grey: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, rgb: np.ndarray, box: Box) -> dict[str, float]:
        """Class probabilities in canonical order (softmax applied if the model outputs logits)."""
        grey = grey_face(rgb, box, self.size)
        scores = self.infer(self.tensor(grey)).astype(np.float64)
        if scores.min() < 0 or abs(scores.sum() - 1.0) > 1e-3:
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        by_label = dict(zip(self.labels, scores.tolist(), strict=True))
        return {label: round(by_label[label], 5) for label in EMOTIONS}

    def face_probabilities(self, rgb: np.ndarray, face: Face) -> dict[str, float]:
        """The face's probabilities from its detection box (the crop these models were trained on)."""
        return self.probabilities(rgb, face.detection.box)


class FacexEmotion(_TfliteEmotion):
    """facex `model_optimized.tflite`: 200x200, grey replicated to 3 channels, scaled to [0, 1]."""

    model_name = "facex_emotion"
    labels = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
    size = 200

    def tensor(self, grey: np.ndarray) -> np.ndarray:
        x = grey.astype(np.float32) / 255.0
        return np.repeat(x[None, :, :, None], 3, axis=3)


class FerEmotion(_TfliteEmotion):
    """fer mini-Xception (FER2013): 64x64 grey, (x/255 - 0.5) * 2."""

    model_name = "fer_emotion"
    labels = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    size = 64

    def tensor(self, grey: np.ndarray) -> np.ndarray:
        x = (grey.astype(np.float32) / 255.0 - 0.5) * 2.0
        return x[None, :, :, None]
