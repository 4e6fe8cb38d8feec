"""Draw a stored record: its crop, landmarks and region boxes with names, for a person to check.

Records come from `Build.find` (`facefocal show`); drawing needs nothing but the record.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import RecordNotFoundError
from .record import FaceRecord

__all__ = ["RecordNotFoundError", "contact_sheet", "render_record", "save_png"]
NAMED_COLOUR = (40, 220, 40)  # RGB
BOX_COLOUR = (255, 160, 0)
POINT_COLOUR = (0, 200, 255)


def render_record(
    record: FaceRecord,
    scale: float = 2.0,
    regions: list[str] | None = None,
    landmarks: bool = True,
    highlight: str | None = None,
) -> np.ndarray:
    """RGB picture of the crop with its landmarks and (selected) region boxes labelled.

    ``highlight`` dims everything outside one region and draws that region's box thick.
    """
    data = np.frombuffer(record.image_bytes, np.uint8)
    rgb = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    canvas = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    target = next((r for r in record.regions if r.region_id == highlight), None)
    if highlight is not None and target is None:
        raise RecordNotFoundError(f"record {record.record_id} has no region {highlight!r}")
    if target is not None:
        x1, y1, x2, y2 = (round(v * scale) for v in target.bbox_xyxy)
        keep = canvas[y1:y2, x1:x2].copy()
        canvas = (canvas * 0.35).astype(np.uint8)
        canvas[y1:y2, x1:x2] = keep
        regions = [target.region_id]
    if landmarks:
        for x, y in record.landmarks_478:
            cv2.circle(canvas, (round(x * scale), round(y * scale)), 1, POINT_COLOUR, -1, cv2.LINE_AA)
    for region in record.regions:
        if regions and region.region_id not in regions:
            continue
        colour = NAMED_COLOUR if region.kind == "named" else BOX_COLOUR
        x1, y1, x2, y2 = (round(v * scale) for v in region.bbox_xyxy)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 3 if highlight else 1, cv2.LINE_AA)
        _label(canvas, region.region_id, (x1 + 2, y1 + 12), colour)
    return canvas


def contact_sheet(
    records: list[FaceRecord],
    columns: int = 4,
    tile: int = 320,
    highlight: str | None = None,
    landmarks: bool = True,
) -> np.ndarray:
    """Several records side by side, each captioned with its source and face index."""
    tiles = []
    for record in records:
        picture = render_record(record, scale=tile / record.width, landmarks=landmarks, highlight=highlight)
        caption = f"{record.source_path} #{record.face_index + 1}"[:40]
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
