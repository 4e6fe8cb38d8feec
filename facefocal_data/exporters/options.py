"""Export options and summary: light (no pyarrow), so the CLI can list formats and defaults fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from .coords import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from .prompts import DEFAULT_SYSTEM

STAGES = ("au", "emotion", "age", "region", "dialogue")
LABEL_STUDIO_FILES = "/data/local-files/?d="  # Label Studio's route for its LOCAL_FILES_DOCUMENT_ROOT


@dataclass(frozen=True)
class ExportOptions:
    split: str | None = None
    stage: str = "region"
    seed: int = 0
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS
    model: str = "qwen2.5-vl"  # box convention for text-coordinate formats (llamafactory)
    name: str = "face_focal"
    landmark_side: int = 256  # llava: landmarks in a 256-pixel frame (Face-LLaVA divides by 256); 0: crop px
    image_url_prefix: str = LABEL_STUDIO_FILES  # labelstudio: task image URL = prefix + path in the export
    system: str | None = DEFAULT_SYSTEM  # system prompt of every sample ("" or None: none)


@dataclass
class ExportSummary:
    out: str
    format: str
    samples: int = 0
    images: int = 0
    files: list[str] = field(default_factory=list)
    # `record/region` texts left out: they hold a box-like number group that is none of the
    # record's boxes, so it could not be written in the model's coordinates
    skipped: list[str] = field(default_factory=list)
