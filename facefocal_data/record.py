"""The one canonical record: a face crop with its geometry, labels and regions.

One row per face (the unit a VLM sees). The dataclasses are what code builds and reads; the
Arrow schema below is how a row is stored; `schemas/face_record.schema.json` says the same thing
as JSON Schema, and a test keeps the three in step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

RECORD_SCHEMA_VERSION = 1

# "activation": a unitless 0-1 coefficient (e.g. a blendshape), not calibrated as a probability.
VALUE_TYPES = ("probability", "activation", "intensity_0_5", "binary", "class", "years")


@dataclass
class Estimate:
    """What a model said where a ground-truth label won, kept so disagreement can be measured.

    `label` / `value` are the emotion's top class and its probability, the age's bin and years,
    an AU's value. The rest is the model's full reading, so `facefocal audit` can score its
    calibration and `facefocal calibrate` can fit to it: emotion `probs` and `uncertain`; age
    `interval` (80 %) and `spread`; AU `present` (by the recipe's threshold). Builds made before
    these fields existed lack them (they read back as None).
    """

    label: str | None
    value: float | None
    source: str
    probs: dict[str, float] | None = None
    uncertain: bool | None = None
    interval: list[float] | None = None
    spread: float | None = None
    present: bool | None = None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        if self.probs is not None:
            row["probs"] = _probs_row(self.probs)
        return row


# Estimate fields that older builds do not have: optional in the JSON Schema, None when read back
ESTIMATE_DETAIL_FIELDS = ("probs", "uncertain", "interval", "spread", "present")
AGE_LATER_FIELDS = ("range_edge",)  # age fields added later: optional in the JSON Schema
DESCRIPTION_LATER_FIELDS = ("origin",)  # description fields added later: optional likewise


def _probs_row(probs: dict[str, float]) -> list[dict[str, Any]]:
    """Class probabilities as stored: a list of {label, p} (Arrow has no open-keyed struct)."""
    return [{"label": k, "p": v} for k, v in probs.items()]


def _label_row(label: Any) -> dict[str, Any]:
    """A label dataclass as a row: its estimate through `Estimate.to_row` (probs as a list)."""
    row = asdict(label)
    row["estimate"] = None if label.estimate is None else label.estimate.to_row()
    return row


@dataclass
class AULabel:
    """One action unit's label in one region; ``value_type`` keeps scales from mixing."""

    au: str  # "AU12"
    name: str  # canonical FACS name
    value: float | None
    value_type: str
    present: bool | None
    confidence: float | None
    source: str  # model id with weights hash, or "gt:<dataset>"
    estimate: Estimate | None = None


@dataclass
class Rating:
    """An LLM judge's 1-10 scores of a description against its facts."""

    accuracy: int | None
    consistency: int | None
    overall: int | None
    judge: str


@dataclass
class Description:
    text: str
    describer: str  # "template" | "phrases" | "llm" | "templater" | "human"
    model: str | None
    prompt_version: str
    checks: list[str] = field(default_factory=list)  # gate failures of earlier attempts
    fallback_used: bool = False
    rating: Rating | None = None
    # the templater's texts: "cached_template" | "fresh_template" | "fallback" (phrase bank)
    origin: str | None = None


@dataclass
class Region:
    region_id: str  # "mouth", "eye_left" (subject's left), "box_03"
    kind: str  # "named" | "box"
    bbox_xyxy: list[int]  # crop pixels
    observable_aus: list[str]  # AUs whose action area overlaps this region enough
    aus: list[AULabel] = field(default_factory=list)
    description: Description | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "region_id": self.region_id,
            "kind": self.kind,
            "bbox_xyxy": self.bbox_xyxy,
            "observable_aus": self.observable_aus,
            "aus": [_label_row(au) for au in self.aus],
            "description": None if self.description is None else asdict(self.description),
        }


@dataclass
class EmotionLabel:
    """Face-level emotion: the top class, its probability, and all class probabilities."""

    label: str
    confidence: float | None
    uncertain: bool
    probs: dict[str, float]
    source: str
    estimate: Estimate | None = None


@dataclass
class AgeLabel:
    """Face-level age: expected years, spread (SD), an 80 % interval and a bin from the recipe."""

    years: float | None
    bin: str | None
    spread: float | None
    interval: list[float] | None
    confidence: float | None  # probability mass inside `bin`
    source: str
    estimate: Estimate | None = None
    # "above": the model's reading sits at the top of the ages it can give (the age is at least
    # `years`, not `years`); "below": at its bottom edge. None: inside its range. Older builds lack it.
    range_edge: str | None = None


@dataclass
class FaceRecord:
    record_id: str
    source_dataset: str
    source_path: str
    subject_id: str | None
    split: str | None
    face_index: int
    faces_in_image: int
    image_bytes: bytes
    image_path: str
    width: int
    height: int
    source_width: int
    source_height: int
    crop_box_in_source: list[float]
    detection_score: float
    landmarks_478: list[list[float]]
    landmarks_68: list[list[float]]
    blendshapes: dict[str, float]
    head_pose: dict[str, float]
    regions: list[Region]
    geometry_source: str
    emotion: EmotionLabel | None = None
    age: AgeLabel | None = None
    face_description: Description | None = None

    def to_row(self) -> dict[str, Any]:
        """The stored row: plain Python values matching `ARROW_SCHEMA`.

        Built by hand rather than with `dataclasses.asdict`, which deep-copies the 478
        landmarks and cost more than the rest of the row together.
        """
        row = {name: getattr(self, name) for name in _SCALAR_FIELDS}
        row["schema_version"] = RECORD_SCHEMA_VERSION
        row["image"] = {"bytes": self.image_bytes, "path": self.image_path}
        row["blendshapes"] = [{"name": k, "score": v} for k, v in self.blendshapes.items()]
        row["head_pose"] = dict(self.head_pose)
        row["emotion"] = None
        if self.emotion is not None:
            row["emotion"] = {**_label_row(self.emotion), "probs": _probs_row(self.emotion.probs)}
        row["age"] = None if self.age is None else _label_row(self.age)
        row["face_description"] = None if self.face_description is None else asdict(self.face_description)
        row["regions"] = [region.to_row() for region in self.regions]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FaceRecord:
        """Inverse of `to_row`: a stored row back as a record (exports, re-describing, evaluation)."""
        emotion = row.get("emotion")
        if emotion is not None:
            probs = {p["label"]: p["p"] for p in emotion["probs"]}
            emotion = EmotionLabel(
                **{**emotion, "probs": probs, "estimate": _estimate(emotion.get("estimate"))}
            )
        age = row.get("age")
        if age is not None:
            age = AgeLabel(**{**age, "estimate": _estimate(age.get("estimate"))})
        return cls(
            **{name: row[name] for name in _SCALAR_FIELDS},
            image_bytes=row["image"]["bytes"],
            image_path=row["image"]["path"],
            blendshapes={b["name"]: b["score"] for b in row["blendshapes"]},
            head_pose=dict(row["head_pose"]),
            regions=[_region(r) for r in row["regions"]],
            emotion=emotion,
            age=age,
            face_description=_description(row.get("face_description")),
        )


def _estimate(value: dict[str, Any] | None) -> Estimate | None:
    """A stored estimate back; keys an older build lacks keep their defaults (None)."""
    if value is None:
        return None
    probs = value.get("probs")
    return Estimate(**{**value, "probs": None if probs is None else {p["label"]: p["p"] for p in probs}})


def _description(value: dict[str, Any] | None) -> Description | None:
    if value is None:
        return None
    rating = value.get("rating")
    return Description(**{**value, "rating": None if rating is None else Rating(**rating)})


def _region(row: dict[str, Any]) -> Region:
    aus = [AULabel(**{**a, "estimate": _estimate(a.get("estimate"))}) for a in row["aus"]]
    return Region(
        row["region_id"],
        row["kind"],
        list(row["bbox_xyxy"]),
        list(row["observable_aus"]),
        aus,
        _description(row.get("description")),
    )


_SCALAR_FIELDS = (
    "record_id",
    "source_dataset",
    "source_path",
    "subject_id",
    "split",
    "face_index",
    "faces_in_image",
    "width",
    "height",
    "source_width",
    "source_height",
    "crop_box_in_source",
    "detection_score",
    "landmarks_478",
    "landmarks_68",
    "geometry_source",
)


def json_view(row: dict[str, Any]) -> dict[str, Any]:
    """The row as JSON Schema sees it: image bytes summarised, everything else as is."""
    view = dict(row)
    image = row.get("image")
    if isinstance(image, dict):
        data = image.get("bytes")
        view["image"] = {
            "bytes": len(data) if isinstance(data, bytes | bytearray) else data,
            "path": image.get("path"),
        }
    return view


def make_record_id(source_dataset: str, source_key: str, face_index: int, recipe_hash: str) -> str:
    """Stable id: the same source face under the same recipe always gets the same id."""
    payload = json.dumps([source_dataset, source_key, face_index, recipe_hash])
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


_POINT = pa.list_(pa.float32(), 2)
_PROBS = pa.list_(pa.struct([("label", pa.string()), ("p", pa.float32())]))
_ESTIMATE = pa.struct(
    [
        ("label", pa.string()),
        ("value", pa.float32()),
        ("source", pa.string()),
        ("probs", _PROBS),
        ("uncertain", pa.bool_()),
        ("interval", pa.list_(pa.float32(), 2)),
        ("spread", pa.float32()),
        ("present", pa.bool_()),
    ]
)
_AU = pa.struct(
    [
        ("au", pa.string()),
        ("name", pa.string()),
        ("value", pa.float32()),
        ("value_type", pa.string()),
        ("present", pa.bool_()),
        ("confidence", pa.float32()),
        ("source", pa.string()),
        ("estimate", _ESTIMATE),
    ]
)
_DESCRIPTION = pa.struct(
    [
        ("text", pa.string()),
        ("describer", pa.string()),
        ("model", pa.string()),
        ("prompt_version", pa.string()),
        ("checks", pa.list_(pa.string())),
        ("fallback_used", pa.bool_()),
        (
            "rating",
            pa.struct(
                [(k, pa.int8()) for k in ("accuracy", "consistency", "overall")] + [("judge", pa.string())]
            ),
        ),
        ("origin", pa.string()),
    ]
)
_REGION = pa.struct(
    [
        ("region_id", pa.string()),
        ("kind", pa.string()),
        ("bbox_xyxy", pa.list_(pa.int32(), 4)),
        ("observable_aus", pa.list_(pa.string())),
        ("aus", pa.list_(_AU)),
        ("description", _DESCRIPTION),
    ]
)

ARROW_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("schema_version", pa.int16()),
        ("source_dataset", pa.string()),
        ("source_path", pa.string()),
        ("subject_id", pa.string()),
        ("split", pa.string()),
        ("face_index", pa.int32()),
        ("faces_in_image", pa.int32()),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("source_width", pa.int32()),
        ("source_height", pa.int32()),
        ("crop_box_in_source", pa.list_(pa.float32(), 4)),
        ("detection_score", pa.float32()),
        ("landmarks_478", pa.list_(_POINT)),
        ("landmarks_68", pa.list_(_POINT)),
        ("blendshapes", pa.list_(pa.struct([("name", pa.string()), ("score", pa.float32())]))),
        ("head_pose", pa.struct([("yaw", pa.float32()), ("pitch", pa.float32()), ("roll", pa.float32())])),
        (
            "emotion",
            pa.struct(
                [
                    ("label", pa.string()),
                    ("confidence", pa.float32()),
                    ("uncertain", pa.bool_()),
                    ("probs", _PROBS),
                    ("source", pa.string()),
                    ("estimate", _ESTIMATE),
                ]
            ),
        ),
        (
            "age",
            pa.struct(
                [
                    ("years", pa.float32()),
                    ("bin", pa.string()),
                    ("spread", pa.float32()),
                    ("interval", pa.list_(pa.float32(), 2)),
                    ("confidence", pa.float32()),
                    ("source", pa.string()),
                    ("estimate", _ESTIMATE),
                    ("range_edge", pa.string()),
                ]
            ),
        ),
        ("regions", pa.list_(_REGION)),
        ("face_description", _DESCRIPTION),
        ("geometry_source", pa.string()),
    ]
)

# `datasets` reads this key and turns the image struct into `Image()`; other columns it infers.
HF_FEATURES_METADATA = {
    b"huggingface": json.dumps({"info": {"features": {"image": {"_type": "Image"}}}}).encode()
}


def arrow_schema_with_metadata(extra: dict[bytes, bytes] | None = None) -> pa.Schema:
    return ARROW_SCHEMA.with_metadata({**HF_FEATURES_METADATA, **(extra or {})})
