"""What a source adapter yields: items that name a file and any ground truth it carries.

An adapter never raises for one bad row: it yields an item with `error` set (a path that would
leave the dataset root, a missing file, a ground-truth value out of range), and the build turns
it into an error row with that reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..error_codes import ItemError, checked
from ..facs import normalise_au
from ..registry import Registry
from ..textfiles import parse_json

# ground-truth emotion classes the toolkit knows (the estimators' 7, plus contempt)
GT_EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "contempt")
EMOTION_ALIASES = {"happy": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise"}
MAX_AGE = 120


@dataclass(frozen=True)
class SourceItem:
    """One input image (or video frame). ``key`` is stable across runs and unique in the dataset."""

    key: str
    path: Path
    dataset: str
    subject_id: str | None = None
    split: str | None = None
    ground_truth: dict[str, object] = field(default_factory=dict)
    frame: int | None = None  # 0-based frame index when `path` is a video
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # source's region boxes, source px xyxy
    error: str | None = None  # why this row cannot be used (it becomes an error row)
    code: str | None = None  # the error's stable code (error_codes.CODES), set with `error`
    # subject-baseline AU mode: the subject's neutral reading (labels/au_baseline.py), set by the build
    au_baseline: tuple[dict[str, float], dict[str, float]] | None = None

    def __post_init__(self) -> None:
        if (self.error is None) != (self.code is None):
            raise ValueError(f"item {self.key!r}: an error and its code go together")
        if self.code is not None:
            checked(self.code)


class Source(Protocol):
    dataset: str
    ignored: list[Path]

    def __iter__(self) -> Iterator[SourceItem]: ...


SOURCES: Registry[Source] = Registry("source")


class UnsafePathError(ItemError, ValueError):
    """A path in a source file that would read outside the declared root."""

    def __init__(self, reason: str) -> None:
        super().__init__("E_UNSAFE_PATH", reason)

    def __reduce__(self) -> tuple[type[UnsafePathError], tuple[str]]:
        return type(self), (self.reason,)


def confined(root: Path, relative: str) -> Path:
    """``root / relative``, refusing URLs, absolute paths, ``..`` and symlinks that leave ``root``."""
    text = relative.strip()
    if "\x00" in text:
        raise UnsafePathError(f"unsafe path {text!r}: it contains a NUL byte")
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        raise UnsafePathError(f"unsafe path {text!r}: URLs are not read (download the file under the root)")
    rel = Path(text)
    if rel.is_absolute() or re.match(r"^[a-zA-Z]:[\\/]", text):
        raise UnsafePathError(
            f"unsafe path {text!r}: absolute paths are refused; give it relative to the root"
        )
    if ".." in rel.parts or ".." in text.replace("\\", "/").split("/"):
        raise UnsafePathError(f"unsafe path {text!r}: '..' would leave the root {root}")
    path = root / rel
    try:
        resolved, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reading it fails with its own error row
        return path
    if not resolved.is_relative_to(base):
        raise UnsafePathError(f"unsafe path {text!r}: a symlink leads outside the root {root}")
    return path


def clean_truth(truth: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Ground truth in the toolkit's vocabulary, and the problems that make it unusable."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    if (emotion := truth.get("emotion")) not in (None, ""):
        name = EMOTION_ALIASES.get(str(emotion).strip().lower(), str(emotion).strip().lower())
        if name in GT_EMOTIONS:
            out["emotion"] = name
        else:
            problems.append(f"unknown emotion {emotion!r} (known: {', '.join(GT_EMOTIONS)})")
    if (age := truth.get("age")) not in (None, ""):
        try:
            years = float(str(age))
        except (TypeError, ValueError):
            years = -1.0
        if 0 <= years <= MAX_AGE:
            out["age"] = years
        else:
            problems.append(f"age {age!r} is not a number of years in 0-{MAX_AGE}")
    aus, value_type = truth.get("aus") or {}, str(truth.get("au_value_type", "binary"))
    if not isinstance(aus, dict):
        problems.append(f"aus must map AU codes to values, got {type(aus).__name__}")
        aus = {}
    top = 5 if value_type == "intensity_0_5" else 1
    clean: dict[str, float] = {}
    for code, value in aus.items():
        try:
            au = normalise_au(code)
        except ValueError as exc:
            problems.append(str(exc).split("; known")[0])
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(f"{au} = {value!r} is not a number")
            continue
        if not 0 <= number <= top:  # NaN fails this too
            problems.append(f"{au} = {value} is outside 0-{top} for {value_type} labels")
        else:
            clean[au] = number
    if clean:
        out["aus"], out["au_value_type"] = clean, value_type
    return out, problems


def parse_boxes(value: Any) -> tuple[tuple[float, float, float, float], ...]:
    """Boxes as [[x1, y1, x2, y2], …] (a list, or its JSON text in a CSV cell), source pixels."""
    if value in (None, ""):
        return ()
    data = parse_json(value) if isinstance(value, str) else value
    boxes = []
    for box in data:
        x1, y1, x2, y2 = (float(v) for v in box)
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise ValueError(f"box {box} has a coordinate that is not a finite number")
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"box {box} is not [x1, y1, x2, y2] with x2 > x1 and y2 > y1")
        boxes.append((x1, y1, x2, y2))
    return tuple(boxes)


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(item: SourceItem) -> SourceItem:
    """The item with any name whose bytes are not UTF-8 (Linux allows any bytes) written as ``\\xNN``
    escapes, so it can go into Parquet and match on rerun; the path is untouched, so it still reads."""
    names = ("key", "dataset", "subject_id", "split", "error")
    changed: dict[str, Any] = {
        n: _escaped(v) for n in names if (v := getattr(item, n)) and _SURROGATE.search(v)
    }
    return replace(item, **changed) if changed else item


def read_items(kind: str, input: str | Path, config: Any) -> tuple[list[SourceItem], int]:
    """Every item of the source `kind` over `input`, names made printable, and how many files it
    ignored (other extensions): what a build and a pre-flight check both start from."""
    source = SOURCES.create(kind, input, config)
    items = [printable(item) for item in source]
    return items, len(source.ignored)


def _escaped(text: str) -> str:
    def one(char: str) -> str:
        code = ord(char)
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATE.sub(lambda match: one(match.group()), text)


def item_with_truth(key: str, path: Path, dataset: str, truth: dict[str, Any], **fields: Any) -> SourceItem:
    """An item whose ground truth is checked; bad truth makes it an error item, not a crash."""
    clean, problems = clean_truth(truth)
    if problems:
        fields.update(error="bad ground truth: " + "; ".join(problems), code="E_BAD_GROUND_TRUTH")
    return SourceItem(key, path, dataset, ground_truth=clean, **fields)
