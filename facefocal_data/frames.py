"""A build's records as flat pandas tables: one row per face, or one row per region.

`Build.to_pandas` calls this. A record nests (regions hold AU labels; labels hold estimates),
which is right for a trainer and awkward for a person with a notebook: here each nested label
becomes columns to filter and group on (`faces[faces.emotion == "happiness"]`,
`regions[regions.AU12_present]`). Missing values are missing (NaN / <NA>), never 0 or False:
an AU a region does not list, an emotion the recipe did not estimate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from .errors import FacefocalError
from .record import FaceRecord

if TYPE_CHECKING:
    import pandas as pd

LEVELS = ("faces", "regions")
# the record's own scalar fields (not bytes, lists, dicts or labels), in its order: first in the
# faces table; the regions table repeats the keys that join it to a face
FACE_KEYS = tuple(f.name for f in fields(FaceRecord) if f.type in ("str", "str | None", "int", "float"))
REGION_KEYS = ("record_id", "source_path", "split", "face_index")
FACE_COLUMNS = (
    *FACE_KEYS,
    *("emotion", "emotion_confidence", "emotion_uncertain", "emotion_source", "emotion_estimate"),
    *("age", "age_bin", "age_low", "age_high", "age_confidence", "age_source", "age_estimate"),
    *("regions", "aus_present", "face_description", "face_describer", "rejected"),
)
REGION_COLUMNS = (
    *REGION_KEYS,
    *("region_id", "kind", "x1", "y1", "x2", "y2", "observable_aus"),
    *("description", "describer", "fallback_used", "rejected"),
)


def records_frame(records: Iterable[FaceRecord], level: str, rejected: frozenset[str]) -> pd.DataFrame:
    """The table of `level` ("faces" or "regions") over `records`."""
    try:
        import pandas as pd
    except ImportError:
        raise FacefocalError("to_pandas needs pandas: pip install 'facefocal-data[pandas]'") from None
    if level not in LEVELS:
        raise FacefocalError(f"unknown level {level!r}; choose faces or regions")
    if level == "faces":
        rows = [face_row(record, record.record_id in rejected) for record in records]
        frame = pd.DataFrame.from_records(rows, columns=_columns(FACE_COLUMNS, rows))
        return frame.astype({"emotion_uncertain": "boolean", "age_estimate": "float64", "rejected": bool})
    rows = [row for record in records for row in region_rows(record, record.record_id in rejected)]
    frame = pd.DataFrame.from_records(rows, columns=_columns(REGION_COLUMNS, rows))
    aus = [name for name in frame.columns if name not in REGION_COLUMNS and not name.endswith("_present")]
    kinds = {au: "float64" for au in aus} | {f"{au}_present": "boolean" for au in aus}
    return frame.astype({**kinds, "fallback_used": "boolean", "rejected": bool})


def _columns(fixed: tuple[str, ...], rows: list[dict[str, Any]]) -> list[str]:
    """The fixed columns, then the variable ones (head pose, class probabilities, AUs) sorted."""
    extra = sorted({name for row in rows for name in row} - set(fixed))
    return [*fixed, *extra]


def face_row(record: FaceRecord, rejected: bool) -> dict[str, Any]:
    """One face: its keys, head pose (`head_yaw`…), emotion (+ `emotion_p_<class>`), age, texts."""
    emotion, age, text = record.emotion, record.age, record.face_description
    row = {name: getattr(record, name) for name in FACE_KEYS}
    row |= {f"head_{axis}": value for axis, value in record.head_pose.items()}
    if emotion is not None:
        row |= {
            "emotion": emotion.label,
            "emotion_confidence": emotion.confidence,
            "emotion_uncertain": emotion.uncertain,
            "emotion_source": emotion.source,
            "emotion_estimate": None if emotion.estimate is None else emotion.estimate.label,
        }
        row |= {f"emotion_p_{label}": p for label, p in emotion.probs.items()}
    if age is not None:
        low, high = age.interval or (None, None)
        row |= {"age": age.years, "age_bin": age.bin, "age_low": low, "age_high": high}
        row |= {"age_confidence": age.confidence, "age_source": age.source}
        row["age_estimate"] = None if age.estimate is None else age.estimate.value
    present = sorted({a.au for region in record.regions for a in region.aus if a.present})
    row |= {"regions": len(record.regions), "aus_present": ",".join(present), "rejected": rejected}
    if text is not None:
        row |= {"face_description": text.text, "face_describer": text.describer}
    return row


def region_rows(record: FaceRecord, rejected: bool) -> list[dict[str, Any]]:
    """One row per region: the face's keys, the box, the text and its writer, each AU's value
    (`AU12`) and whether it is present (`AU12_present`)."""
    rows = []
    for region in record.regions:
        row = {name: getattr(record, name) for name in REGION_KEYS}
        x1, y1, x2, y2 = region.bbox_xyxy
        row |= {"region_id": region.region_id, "kind": region.kind, "x1": x1, "y1": y1, "x2": x2, "y2": y2}
        row |= {"observable_aus": ",".join(region.observable_aus), "rejected": rejected}
        if (d := region.description) is not None:
            row |= {"description": d.text, "describer": d.describer, "fallback_used": d.fallback_used}
        for label in region.aus:
            row |= {label.au: label.value, f"{label.au}_present": label.present}
        rows.append(row)
    return rows
