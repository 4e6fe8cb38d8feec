"""Draw a stored record: its crop, landmarks and region boxes with names, for a person to check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq

from .shards import read_manifest

NAMED_COLOUR = (40, 220, 40)  # RGB
BOX_COLOUR = (255, 160, 0)
POINT_COLOUR = (0, 200, 255)


class RecordNotFoundError(LookupError):
    pass


def list_records(out: str | Path) -> list[dict[str, Any]]:
    """Id, source and face index of every stored record, without reading image bytes."""
    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None:
        raise RecordNotFoundError(f"no manifest.json in {out}")
    columns = ["record_id", "source_path", "face_index", "faces_in_image", "detection_score"]
    rows: list[dict[str, Any]] = []
    for part in manifest["parts"]:
        if part.get("shard"):
            rows += pq.read_table(out / part["shard"]["file"], columns=columns).to_pylist()
    return rows


def find_record(out: str | Path, record_id: str) -> dict[str, Any]:
    """Read one row by id, opening only the shard the manifest lists it in."""
    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None:
        raise RecordNotFoundError(f"no manifest.json in {out}")
    matches = []
    for part in manifest["parts"]:
        shard = part.get("shard")
        if not shard:
            continue
        hits = [rid for rid in shard["record_ids"] if rid.startswith(record_id)]
        matches += [(shard["file"], rid) for rid in hits]
    if not matches:
        raise RecordNotFoundError(f"record {record_id!r} is not in {out}")
    if len(matches) > 1:
        raise RecordNotFoundError(f"{record_id!r} matches {len(matches)} records; give more characters")
    file, rid = matches[0]
    table = pq.read_table(out / file, filters=[("record_id", "=", rid)])
    return table.to_pylist()[0]


def render_record(
    row: dict[str, Any],
    scale: float = 2.0,
    regions: list[str] | None = None,
    landmarks: bool = True,
    highlight: str | None = None,
) -> np.ndarray:
    """RGB picture of the crop with its landmarks and (selected) region boxes labelled.

    ``highlight`` dims everything outside one region and draws that region's box thick.
    """
    data = np.frombuffer(row["image"]["bytes"], np.uint8)
    rgb = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    canvas = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    target = next((r for r in row["regions"] if r["region_id"] == highlight), None)
    if highlight is not None and target is None:
        raise RecordNotFoundError(f"record {row['record_id']} has no region {highlight!r}")
    if target is not None:
        x1, y1, x2, y2 = (round(v * scale) for v in target["bbox_xyxy"])
        keep = canvas[y1:y2, x1:x2].copy()
        canvas = (canvas * 0.35).astype(np.uint8)
        canvas[y1:y2, x1:x2] = keep
        regions = [highlight]
    if landmarks:
        for x, y in row["landmarks_478"]:
            cv2.circle(canvas, (round(x * scale), round(y * scale)), 1, POINT_COLOUR, -1, cv2.LINE_AA)
    for region in row["regions"]:
        if regions and region["region_id"] not in regions:
            continue
        colour = NAMED_COLOUR if region["kind"] == "named" else BOX_COLOUR
        x1, y1, x2, y2 = (round(v * scale) for v in region["bbox_xyxy"])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 3 if highlight else 1, cv2.LINE_AA)
        _label(canvas, region["region_id"], (x1 + 2, y1 + 12), colour)
    return canvas


def contact_sheet(
    rows: list[dict[str, Any]],
    columns: int = 4,
    tile: int = 320,
    highlight: str | None = None,
    landmarks: bool = True,
) -> np.ndarray:
    """Several records side by side, each captioned with its source and face index."""
    tiles = []
    for row in rows:
        picture = render_record(row, scale=tile / row["width"], landmarks=landmarks, highlight=highlight)
        caption = f"{row['source_path']} #{row['face_index'] + 1}"[:40]
        _label(picture, caption, (4, tile - 6), (255, 255, 255))
        tiles.append(picture)
    columns = max(1, min(columns, len(tiles)))
    rows_needed = -(-len(tiles) // columns)
    sheet = np.zeros((rows_needed * tile, columns * tile, 3), np.uint8)
    for i, picture in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = picture[:tile, :tile]
    return sheet


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int], colour: tuple[int, int, int]) -> None:
    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    (w, h), _ = cv2.getTextSize(text, font, size, 1)
    x, y = origin
    cv2.rectangle(canvas, (x - 1, y - h - 2), (x + w + 1, y + 2), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y), font, size, colour, 1, cv2.LINE_AA)


def save_png(rgb: np.ndarray, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
