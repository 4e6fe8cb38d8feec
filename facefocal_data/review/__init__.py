"""Look at a build and decide: a static HTML review report, and applying the decisions back.

`write_report` writes a site that opens from `file://` (no server): `index.html` with the cards,
`stats.html`, crops under `img/`, and the card data as JavaScript chunks (`data/cards-NNN.js`)
that the page loads only for the page on screen, so 10,000 faces open quickly. Reviewers accept,
reject or edit in the browser; decisions stay in the browser (localStorage) and are exported as
JSON; `apply_decisions` writes them into a new build folder.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..card import dataset_stats, write_plots
from ..dataset import Build, as_build
from ..errors import FacefocalError
from ..record import Description, FaceRecord
from ..textfiles import parse_json, read_text

CHUNK = 100  # cards per data file
LOW_CONFIDENCE = 0.5
ASSETS = Path(__file__).parent


def card_data(record: FaceRecord, image: str) -> dict[str, Any]:
    """What one card shows, compact (the page draws boxes and points itself)."""
    emotion, age = record.emotion, record.age
    regions: list[dict[str, Any]] = []
    for region in record.regions:
        d = region.description
        regions.append(
            {
                "id": region.region_id,
                "kind": region.kind,
                "box": region.bbox_xyxy,
                "aus": [
                    f"{a.au} {a.value:.2f}" if a.value is not None else a.au for a in region.aus if a.present
                ],
                "text": None if d is None else d.text,
                "by": None if d is None else d.describer,
                "fallback": bool(d and d.fallback_used),
                "checks": [] if d is None else d.checks[-3:],
            }
        )
    stated = (None if emotion is None else emotion.confidence, None if age is None else age.confidence)
    confidences = [c for c in stated if c is not None]
    return {
        "id": record.record_id,
        "src": record.source_path,
        "dataset": record.source_dataset,
        "split": record.split or "none",
        "face": record.face_index + 1,
        "faces": record.faces_in_image,
        "img": image,
        "size": record.width,
        "points": [[round(x), round(y)] for x, y in record.landmarks_68],
        "emotion": None if emotion is None else emotion.label,
        "emotion_p": None if emotion is None or emotion.confidence is None else round(emotion.confidence, 2),
        "age": None if age is None or age.years is None else round(age.years),
        "age_range": None if age is None or not age.interval else [round(v) for v in age.interval],
        "face_text": None if record.face_description is None else record.face_description.text,
        "regions": regions,
        "present": sorted({a.split()[0] for r in regions for a in r["aus"]}),
        "fallback": any(r["fallback"] for r in regions),
        "low_conf": bool(confidences) and min(confidences) < LOW_CONFIDENCE,
    }


def _script(name: str, payload: Any) -> str:
    return f"window.{name} = {json.dumps(payload, separators=(',', ':'))};\n"


def write_report(data_dir: Build | str | Path, out: str | Path) -> Path:
    """Write the review site for the build at `data_dir` into `out`; returns index.html."""
    build, out = as_build(data_dir), Path(out)
    (out / "img").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)
    index: list[dict[str, Any]] = []
    chunk: list[dict[str, Any]] = []

    def write_chunk() -> None:
        number = index[-1]["chunk"]  # the chunk the last card went into
        (out / "data" / f"cards-{number:03d}.js").write_text(_script(f"FF_CHUNK_{number}", chunk))
        chunk.clear()

    def cards(records: Iterable[FaceRecord]) -> Iterator[FaceRecord]:
        """Writes each record's card and passes it on: the statistics read the same single pass."""
        for record in records:
            image = f"img/{record.image_path}"
            (out / image).write_bytes(record.image_bytes)
            card = card_data(record, image)
            keys = ("id", "src", "dataset", "split", "emotion", "present", "fallback", "low_conf")
            index.append({**{k: card[k] for k in keys}, "chunk": len(index) // CHUNK})
            chunk.append(card)
            if len(chunk) == CHUNK:
                write_chunk()
            yield record

    stats = dataset_stats(cards(build.records()))
    if chunk:
        write_chunk()
    keys = ("source_path", "kind", "stage", "reason")
    errors = [{key: getattr(event, key) for key in keys} for event in build.errors()]
    meta = {"build": str(build.path.resolve()), "cards": len(index), "errors": len(errors)}
    (out / "data" / "index.js").write_text(
        _script("FF_INDEX", index) + _script("FF_ERRORS", errors) + _script("FF_META", meta)
    )
    (out / "index.html").write_text((ASSETS / "report.html").read_text())
    _write_stats_page(build, out, stats, errors)
    return out / "index.html"


def _write_stats_page(build: Build, out: Path, stats: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    plots = write_plots(stats, out)
    keys = ("faces", "regions", "splits", "sources", "emotions", "describers", "fallback_rate")
    shown = {k: json.dumps(stats[k]) if isinstance(stats[k], dict) else stats[k] for k in keys}
    outcomes = stats["faces"] + len(errors)  # an image gives faces or an error row
    shown["error rows"] = f"{len(errors)} ({dict(Counter(e['kind'] for e in errors))})"
    shown["error rate (error rows / faces + error rows)"] = (
        f"{len(errors) / outcomes:.3f}" if outcomes else "n/a"
    )
    rows = "".join(f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in shown.items())
    timing = "".join(
        f"<tr><td>{r.finished}</td><td>{r.engine}</td><td>{r.seconds}</td>"
        f"<td>{json.dumps(r.counts)}</td><td>{json.dumps(r.stage_seconds)}</td></tr>"
        for r in build.manifest.runs
    )
    images = "".join(f'<img src="{p}" alt="{p}">' for p in plots)
    (out / "stats.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>facefocal statistics</title>"
        "<style>body{font:14px system-ui;margin:2em}"
        "td,th{padding:4px 8px;text-align:left;border-bottom:1px solid #ddd}"
        "img{max-width:720px;display:block;margin:1em 0}</style>"
        f"<p><a href='index.html'>← cards</a></p><h1>Statistics</h1><table>{rows}</table>{images}"
        "<h2>Runs</h2><table><tr><th>finished</th><th>engine</th><th>s</th><th>counts</th>"
        f"<th>stage seconds</th></tr>{timing}</table>"
    )


@dataclass
class ApplySummary:
    decisions: int = 0
    accepted: int = 0
    rejected: int = 0
    edited: int = 0
    unknown: list[str] = field(default_factory=list)


def apply_decisions(
    data_dir: Build | str | Path, decisions_file: str | Path, out: str | Path
) -> ApplySummary:
    """A new build folder with the reviewer's decisions: edits as `describer: human`, rejections listed."""
    build = as_build(data_dir)
    decisions = read_decisions(Path(decisions_file))
    wanted = {decision["record_id"] for decision in decisions}  # only these are held in memory
    records = {r.record_id: r for r in build.records(include_rejected=True) if r.record_id in wanted}
    summary, rejected, edited = ApplySummary(), set(), {}
    for decision in decisions:
        summary.decisions += 1
        record = records.get(str(decision.get("record_id")))
        if record is None:
            summary.unknown.append(str(decision.get("record_id")))
            continue
        if decision.get("decision") == "reject":
            rejected.add(record.record_id)
            summary.rejected += 1
        elif decision.get("decision") == "accept":
            summary.accepted += 1
        if changed := _apply_edits(record, decision.get("edits") or {}, summary):
            summary.edited += changed
            edited[record.record_id] = record
    note = f"review: {summary.accepted} accepted, {summary.rejected} rejected, {summary.edited} texts edited"
    build.rewrite(out, edited.values(), note, rejected=rejected)
    return summary


def read_decisions(path: Path) -> list[dict[str, Any]]:
    """The decisions of a `decisions.json`, checked whole: a file we only half understand is refused,
    never half applied."""
    try:
        payload = parse_json(read_text(path))
    except (OSError, ValueError) as exc:
        raise FacefocalError(f"cannot read decisions {path}: {str(exc)[:200]}") from None
    decisions = payload.get("decisions") if isinstance(payload, dict) else None
    if not isinstance(decisions, list):
        raise FacefocalError(
            f'{path} is not a decisions file: expected {{"decisions": [...]}} (report export)'
        )
    for number, decision in enumerate(decisions, 1):
        if not _well_formed(decision):
            raise FacefocalError(
                f"{path}: decision {number} is not {{record_id, decision: accept|reject,"
                f" edits: {{region id: text}}}}: {json.dumps(decision)[:120]}"
            )
    return decisions


def _well_formed(decision: Any) -> bool:
    if not isinstance(decision, dict) or not isinstance(decision.get("record_id"), str):
        return False
    edits = decision.get("edits") or {}
    return decision.get("decision") in (None, "accept", "reject") and (
        isinstance(edits, dict) and all(isinstance(text, str) for text in edits.values())
    )


def _apply_edits(record: FaceRecord, edits: dict[str, str], summary: ApplySummary) -> int:
    regions = {r.region_id: r for r in record.regions}
    edited = 0
    for region_id, text in edits.items():
        text = str(text).strip()
        if region_id == "face" and text:
            record.face_description = Description(text, "human", None, "human", [], False)
            edited += 1
        elif region_id in regions and text:
            regions[region_id].description = Description(text, "human", None, "human", [], False)
            edited += 1
        elif region_id not in regions:
            summary.unknown.append(f"{record.record_id}/{region_id}")
    return edited
