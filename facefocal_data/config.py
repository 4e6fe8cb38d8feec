"""The one config object: a recipe (YAML) parsed into typed, validated settings.

Unknown keys are errors, so a typo in a recipe fails loudly instead of being ignored.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import RecipeError
from .facs import DEFAULT_AU_VOCABULARY, normalise_au
from .paths import data_dir
from .regions.named import NAMED_REGIONS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    kind: str = Field(
        "image_folder",
        description="input format: image_folder, manifest, rafdb, utkface, affectnet, disfa, bp4d, video",
    )
    dataset: str | None = Field(None, description="name stored as source_dataset; default: folder name")
    # .heic/.heif/.avif are listed so such files get an error row saying so, not silence
    extensions: list[str] = Field(
        [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".heic", ".heif", ".avif"],
        description="file endings an image folder reads",
    )
    max_pixels: int = Field(50_000_000, ge=64, description="larger images are refused before decoding")
    dedupe: bool = Field(True, description="an image with the same bytes as an earlier one is written once")
    root: str | None = Field(None, description="where listed paths resolve (default: the list's folder)")
    every_nth: int = Field(1, ge=1, description="video / per-frame datasets: keep every Nth frame")
    fps: float | None = Field(None, gt=0, description="video: sample at this rate instead of every_nth")
    frame_pattern: str | None = Field(None, description="disfa / bp4d: frame image path under the root")


class DetectorConfig(_Strict):
    backend: str = Field("blazeface", description="face detector (registry `detectors`)")
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="detections scored below this are dropped")
    min_face_px: int = Field(32, ge=1, description="shorter side of the detector box, source px")
    nms_iou: float = Field(0.3, gt=0.0, le=1.0, description="overlap above which two detections are one face")
    tile: bool = Field(True, description="tiles where a min_face_px face is too small for the whole image")
    close_range: bool = Field(True, description="also run the short-range model: faces that fill the frame")
    max_faces: int = Field(64, ge=1, description="at most this many faces per image (largest first)")


class LandmarkConfig(_Strict):
    backend: str = Field("mediapipe", description="landmarker (registry `landmarkers`)")
    min_confidence: float = Field(
        0.3, ge=0.0, le=1.0, description="faces the landmarker is less sure of are dropped"
    )
    crop_scale: float = Field(2.0, ge=1.2, le=4.0, description="landmarker input: × detector box")
    dedup_iou: float = Field(
        0.5, gt=0.0, le=1.0, description="two landmarked faces overlapping more than this are one"
    )


class CropConfig(_Strict):
    size: int = Field(
        448, ge=28, le=2016, description="stored crop side in px (a multiple of 28 for Qwen's patches)"
    )
    margin: float = Field(1.4, ge=1.0, le=3.0, description="stored crop side: × landmark box side")
    image_format: Literal["jpeg", "png"] = Field("jpeg", description="how crops are encoded in the shards")
    jpeg_quality: int = Field(95, ge=50, le=100, description="JPEG quality of the stored crops")

    @field_validator("size")
    @classmethod
    def _multiple_of_28(cls, value: int) -> int:
        if value % 28:
            raise ValueError(
                f"crop size {value} is not a multiple of 28; Qwen2.5-VL would resize it and"
                f" stored boxes would no longer be model coordinates (try {round(value / 28) * 28})"
            )
        return value


class CustomRegion(_Strict):
    landmarks: list[int] = Field(min_length=1, description="MediaPipe mesh indices the region's box covers")
    pad_x: float = Field(0.05, description="horizontal padding, share of the box")
    pad_y: float = Field(0.05, description="vertical padding, share of the box")
    description: str = ""

    @field_validator("landmarks")
    @classmethod
    def _in_range(cls, value: list[int]) -> list[int]:
        bad = [i for i in value if not 0 <= i < 478]
        if bad:
            raise ValueError(f"landmark indices must be 0..477, got {bad}")
        return value


class BoxConfig(_Strict):
    count: int = Field(4, ge=0, le=100, description="arbitrary boxes proposed per face")
    min_side: float = Field(0.15, gt=0.0, le=1.0, description="a box's shorter side, share of the crop")
    max_side: float = Field(0.6, gt=0.0, le=1.0, description="a box's longer side, share of the crop")
    max_aspect: float = Field(2.5, ge=1.0, description="longest / shortest side of a box")
    seed: int = Field(0, description="seed of the box draw (same seed, same boxes)")
    fixed: list[list[int]] = Field(default_factory=list, description="user boxes, crop px xyxy")

    @field_validator("fixed")
    @classmethod
    def _boxes(cls, value: list[list[int]]) -> list[list[int]]:
        for box in value:
            if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3] or min(box) < 0:
                raise ValueError(f"a box is [x1, y1, x2, y2] with x1<x2, y1<y2, ≥0; got {box}")
        return value


class RegionsConfig(_Strict):
    named: list[str] | Literal["all"] = Field(
        "all", description="named regions to propose: all, or a list (see docs/REGIONS.md)"
    )
    custom: dict[str, CustomRegion] = Field(
        default_factory=dict, description="your own regions: name -> landmark indices, padding, description"
    )
    boxes: BoxConfig = BoxConfig()
    au_overlap: float = Field(0.3, gt=0.0, le=1.0, description="τ: share of an AU's area inside")

    @field_validator("named")
    @classmethod
    def _known(cls, value: list[str] | str) -> list[str] | str:
        if value == "all":
            return value
        known = {r.name for r in NAMED_REGIONS}
        unknown = [n for n in value if n not in known]
        if unknown:
            raise ValueError(f"unknown regions {unknown}; built-in: {sorted(known)}")
        return value


class AUConfig(_Strict):
    backend: str = Field("mediapipe", description="AU estimator (registry `au_estimators`), or none")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="default `present` threshold")
    thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(AU_THRESHOLDS),
        description="per-AU `present` thresholds (activation scale)",
    )
    subject_baseline: bool = Field(
        False, description="mediapipe: measure each face against its subject's most neutral image"
    )
    subject_spread: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="subject_baseline: the neutral faces' SD × this (one person varies less)",
    )
    emotion_prior: float = Field(
        0.8,
        ge=0.0,
        le=2.0,
        description="geometric AUs: + this × P(emotions whose prototype has the AU) before the"
        " threshold (0: off; labels/au_prior.py)",
    )
    neutral_prior: float = Field(
        1.5,
        ge=0.0,
        le=5.0,
        description="geometric AUs: − this × P(neutral) before the threshold (0: off)",
    )

    @field_validator("thresholds", mode="before")
    @classmethod
    def _codes(cls, value: dict[Any, float]) -> dict[str, float]:
        return {normalise_au(k): float(v) for k, v in (value or {}).items()}

    def threshold_for(self, au: str) -> float:
        return self.thresholds.get(au, self.threshold)


# Each AU is present above the value that 85 % of neutral faces stay under (88 % for AU01/AU02, held
# to ≤ 15 % of neutral faces; at least 0.1), measured on the 42 human-labelled neutral faces of four
# public dev sets (docs/LABELS.md). AU01, AU02, AU04, AU09, AU10, AU12, AU15 and AU20 are landmark
# geometry scored against those faces (labels/au_geometry.py; the measures of each chosen by
# leave-one-set-out, `benchmarks/bench_aus.py --select`); AU25/AU43 are geometric (lips apart, eyes
# closed) and keep 0.5.
AU_THRESHOLDS: dict[str, float] = {
    "AU01": 0.48, "AU02": 0.43, "AU04": 0.39, "AU05": 0.1, "AU06": 0.1, "AU07": 0.52, "AU09": 0.32,
    "AU10": 0.2, "AU12": 0.33, "AU14": 0.1, "AU15": 0.25, "AU16": 0.1, "AU17": 0.14, "AU18": 0.74,
    "AU20": 0.18, "AU22": 0.1, "AU24": 0.1, "AU26": 0.19, "AU28": 0.27,
}  # fmt: skip


class EmotionConfig(_Strict):
    backend: str = Field("faceapi", description="emotion estimator: faceapi, facex, fer or none")
    # fitted on the labelled dev sets for faceapi: ECE 0.19 -> 0.04; labels not uncertain 0.84 right
    uncertain_below: float = Field(0.6, ge=0.0, le=1.0, description="top probability under this is uncertain")
    temperature: float = Field(
        2.9, gt=0.0, le=100.0, description="p ∝ p^(1/T) before the top class and `uncertain`; >1 softens"
    )


class AgeConfig(_Strict):
    backend: str = Field("faceapi", description="age estimator: faceapi, agegender or none")
    bins: list[int] = Field(
        default_factory=lambda: [0, 3, 10, 20, 30, 40, 50, 60, 70],
        description="lower edges of the age bins (years)",
    )
    interval_log_halfwidth: float = Field(
        0.22, gt=0.0, le=3.0, description="point-estimate backends: the interval is years ×/÷ e^this"
    )
    interval_scale: float = Field(
        1.0, gt=0.0, le=100.0, description="the 80 % interval's half-widths around the estimate x this"
    )
    min_half_width: float = Field(1.5, ge=0.0, le=100.0, description="years; no interval narrower than 2x")

    @field_validator("bins")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if not value or value[0] != 0 or any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"age bins are increasing lower edges starting at 0, got {value}")
        return value


class LabelsConfig(_Strict):
    au_vocabulary: list[str] = Field(
        list(DEFAULT_AU_VOCABULARY), description="the AUs labelled and described"
    )
    au: AUConfig = AUConfig()
    emotion: EmotionConfig = EmotionConfig()
    age: AgeConfig = AgeConfig()

    @field_validator("au_vocabulary", mode="before")
    @classmethod
    def _normalise(cls, value: list[Any]) -> list[str]:
        return [normalise_au(v) for v in value]


class EmbeddedServerConfig(_Strict):
    """The local llama.cpp server started when `llm.base_url` is empty."""

    model: str = Field("smollm2_135m", description="a `task: llm` entry of `facefocal models list`")
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores")
    parallel: int = Field(2, ge=1, description="server slots (requests decoded together)")
    context: int = Field(4096, ge=512, description="context tokens shared by the slots")


class TemplatesConfig(_Strict):
    """The templater (`llm.mode: template`): how templates are asked for and checked."""

    candidates: int = Field(3, ge=1, le=12, description="rewordings asked for in one request (per sentence)")
    rounds: int = Field(2, ge=1, le=5, description="request rounds per signature until one template passes")
    temperature: float = Field(0.5, ge=0.0, le=2.0, description="sampling temperature of template requests")
    grammar: bool = Field(
        True,
        description="link-grammar parses every templated text: one that does not parse takes the next"
        " template or the phrase bank (if installed)",
    )
    budget_seconds: float | None = Field(
        600.0,
        ge=0,
        description="wall-clock seconds a build may spend asking the LLM for rewordings; after that,"
        " texts whose templates are not cached are written by the phrase bank and the next build asks"
        " for the rest (null: no limit)",
    )


class LLMConfig(_Strict):
    """Any OpenAI-compatible server; the key is read from the environment, never stored."""

    base_url: str | None = Field(None, description="e.g. http://localhost:11434/v1; empty: embedded server")
    model: str | None = Field(None, description="model name sent to the server; default: the embedded model")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="environment variable holding the API key (never stored)"
    )
    style: Literal["short", "long"] = Field("short", description="short or long texts (mode region / face)")
    mode: Literal["template", "region", "face"] = Field(
        "template",
        description="template: the LLM writes templates per fact signature, code fills them (the default);"
        " region / face: the LLM rewrites each region's text, one call per region or per face (JSON)",
    )
    describe_face: bool = Field(True, description="also ask for the face-level summary")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="sampling temperature of rewriting requests")
    seed: int = Field(0, description="request seed (reproducible where the server honours it)")
    max_tokens: int = Field(200, ge=16, description="token budget per text")
    frequency_penalty: float = Field(0.5, ge=-2.0, le=2.0, description="discourages repeated words")
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    retries: int = Field(2, ge=0, description="retries with backoff on 429/5xx/connection errors")
    concurrency: int = Field(2, ge=1, description="requests in flight (match the server's slots)")
    breaker_failures: int = Field(3, ge=1, description="consecutive failed requests that open the breaker")
    breaker_cooldown: float = Field(30.0, ge=0, description="seconds before a tripped breaker tries again")
    cache: bool = Field(True, description="cache completions and templates on disk ($FACEFOCAL_LLM_CACHE)")
    templates: TemplatesConfig = TemplatesConfig()
    server: EmbeddedServerConfig = EmbeddedServerConfig()


class RatingConfig(_Strict):
    """Optional LLM judge (FaceInstruct-1M style): 1-10 scores stored with each LLM text."""

    enabled: bool = Field(False, description="ask the LLM to rate each text (accuracy, consistency, overall)")
    min_overall: int | None = Field(None, ge=1, le=10, description="below this, the template text is kept")


class DescribeConfig(_Strict):
    describer: str = Field("phrases", description="phrases, llm (the templater), template or none")
    seed: int = Field(0, description="seed of every wording choice (same seed, same texts)")
    au_naming: Literal["both", "plain", "code_name"] = Field(
        "both",
        description="phrases and the templater: an AU as its appearance change + (code, name),"
        " the change only, or code (name)",
    )
    llm: LLMConfig = LLMConfig()
    rating: RatingConfig = RatingConfig()


class SplitConfig(_Strict):
    """train/val/test by subject (never one subject in two splits), else by a hash of the image."""

    ratios: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1},
        description="split name -> share of subjects (or images)",
    )
    seed: int = Field(0, description="seed of the split assignment")
    keep_source_split: bool = Field(True, description="a split the source gives (e.g. RAF-DB) wins")

    @field_validator("ratios")
    @classmethod
    def _ratios(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(v < 0 for v in value.values()) or abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"split ratios are non-negative and sum to 1, got {value}")
        return value


class OutputConfig(_Strict):
    shard_rows: int = Field(500, ge=1, description="rows per Parquet part")
    row_group_rows: int = Field(256, ge=1, description="rows per Parquet row group")
    compression: Literal["snappy", "zstd", "none"] = Field("snappy", description="Parquet compression codec")
    flush_seconds: float = Field(60.0, gt=0, description="commit a part at least this often")


# how the LLM is reached, not what it writes: changing these does not make a different dataset
_RUNTIME_KEYS = (
    "api_key_env",
    "timeout",
    "retries",
    "concurrency",
    "breaker_failures",
    "breaker_cooldown",
    "cache",
)
_RUNTIME_ONLY: dict[str, Any] = {
    "llm": {
        **dict.fromkeys(_RUNTIME_KEYS, True),
        "server": {"threads": True, "parallel": True},
        "templates": {"budget_seconds": True},  # how long a build asks; the next build asks the rest
    }
}


class Recipe(_Strict):
    name: str = Field("default", description="the recipe's name, stored in the manifest")
    source: SourceConfig = SourceConfig()
    detector: DetectorConfig = DetectorConfig()
    landmarks: LandmarkConfig = LandmarkConfig()
    crop: CropConfig = CropConfig()
    regions: RegionsConfig = RegionsConfig()
    labels: LabelsConfig = LabelsConfig()
    describe: DescribeConfig = DescribeConfig()
    splits: SplitConfig = SplitConfig()
    output: OutputConfig = OutputConfig()

    def content_hash(self) -> str:
        """Hash of everything that shapes the rows (output layout excluded)."""
        describe: dict[str, Any] = dict(_RUNTIME_ONLY)
        describe_ = self.describe
        templater = describe_.describer == "llm" and describe_.llm.mode == "template"
        if describe_.describer != "phrases" and not templater:  # only these read it: others keep their ids
            describe["au_naming"] = True
        payload = self.model_dump(mode="json", exclude={"output": True, "name": True, "describe": describe})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def with_settings(recipe: Recipe, settings: dict[str, Any], origin: str = "command-line override") -> Recipe:
    """The recipe with dotted keys set (``{"describe.describer": "none"}``; None values skipped),
    validated like the YAML, so a setting from the command line or a fit cannot slip past the checks."""
    data = recipe.model_dump()
    for dotted, value in settings.items():
        if value is None:
            continue
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    try:
        return Recipe.model_validate(data)
    except ValueError as exc:
        raise RecipeError(f"{origin}: {exc}") from None


def default_recipe_path() -> Path:
    return data_dir("pipelines") / "default.yaml"


def load_recipe(path: str | Path | None = None) -> Recipe:
    """Read a recipe file (default: ``pipelines/default.yaml``) with errors that name the key."""
    path = Path(path) if path is not None else default_recipe_path()
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8-sig")) or {}
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe {path} is not UTF-8 text (byte {exc.start})") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: e.g. a date like 2001-13-45
        raise RecipeError(f"recipe {path} is not valid YAML: {str(exc)[:300]}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a mapping of settings, got {type(data).__name__}")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise RecipeError(f"recipe {path}: {problems}") from None


def recipe_keys(model: BaseModel | None = None, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """(dotted key, default, description) of every setting a recipe has: the reference table of
    docs/RECIPES.md is made from this, so it cannot drift from the code."""
    model = Recipe() if model is None else model
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from recipe_keys(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value, info.description or ""
