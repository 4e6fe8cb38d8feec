"""`facefocal audit`: how each estimator of a build agrees with the ground truth its sources carry.

Where a source gave a label, the build stores the truth and keeps the model's reading in the
label's `estimate`; the audit scores one against the other, per `source_dataset` and pooled:
emotion accuracy, UAR, recall per class, confusion, calibration (ECE) and the accuracy and
coverage of labels not marked uncertain; age MAE and how its 80 % interval does; per-AU
precision / recall / F1 at face level. It also counts the images where the detector found no
face, from the build's errors table, since those faces never reach any estimator.
`facefocal calibrate` (calibration.py) turns the same pairs into recipe settings.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Recipe, load_recipe, with_settings
from ..errors import FacefocalError
from ..layout import ErrorEvent
from .pairs import BuildTruth, read_truth
from .scores import BINS, score_group

NO_TRUTH = (
    "has no ground truth beside an estimate: it needs a source with labels (a manifest with"
    " emotion / age / AU columns, rafdb, utkface, affectnet, disfa, bp4d) and the estimators on"
)
BEFORE_DETECTION = ("source", "decode")  # error stages of images the detector never saw


@dataclass
class AuditReport:
    """`results` is the JSON (stable keys); `truth` holds the face pairs the plot draws."""

    results: dict[str, Any]
    truth: BuildTruth

    def to_json(self) -> str:
        return json.dumps(self.results, indent=1)

    def write(self, folder: str | Path, plot: str | Path | None = None) -> list[Path]:
        """audit.json and the plot (audit.png in `folder` unless `plot` names the file)."""
        from .plot import write_plot

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "audit.json").write_text(self.to_json())
        return [folder / "audit.json", write_plot(self, Path(plot) if plot else folder / "audit.png")]


def audit(
    data: str | Path,
    source: str | None = None,
    out: str | Path | None = None,
    recipe: Recipe | str | Path | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> AuditReport:
    """Audit the build at `data`; with `source` (a source kind), build `data` into `out` first
    (descriptions off: the audit needs only the labels)."""
    truth = read_truth(_build_first(data, source, out, recipe) if source is not None else data)
    if not any(face.has_truth for face in truth.faces):
        raise FacefocalError(f"{truth.path} {NO_TRUTH}")
    edges = truth.recipe.labels.age.bins
    detection = detection_counts(truth)
    by_dataset = {}
    for name in sorted(detection):
        faces = [f for f in truth.faces if f.dataset == name]
        by_dataset[name] = {"detection": detection[name], **score_group(faces, edges, resamples, seed)}
    pooled = {
        "detection": _pool(list(detection.values())),
        **score_group(truth.faces, edges, resamples, seed),
    }
    results = {"build": str(truth.path), "resamples": resamples, "seed": seed, "bins": BINS}
    return AuditReport({**results, "pooled": pooled, "by_dataset": by_dataset}, truth)


def _build_first(
    data: str | Path, source: str, out: str | Path | None, recipe: Recipe | str | Path | None
) -> Path:
    from ..pipeline import build

    if out is None:
        raise FacefocalError("to audit an input it is built first: give --out DIR for the build")
    base = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    build(data, out, with_settings(base, {"source.kind": source, "describe.describer": "none"}))
    return Path(out)


def detection_counts(truth: BuildTruth) -> dict[str, dict[str, Any]]:
    """Per dataset: images the detector saw, those with at least one face, and its rate.

    An image gives rows, or error rows whose stage says where it stopped: before detection
    (unreadable: not counted as seen), at detection (no face), or later (a face was found).
    Duplicates of another image are left out.
    """
    events: dict[tuple[str, str], list[ErrorEvent]] = defaultdict(list)
    for event in truth.build.errors():
        events[(event.source_dataset, event.source_path)].append(event)
    names = set(truth.keys) | {dataset for dataset, _ in events}
    outcomes: dict[str, Counter[str]] = {name: Counter() for name in names}
    for (dataset, key), item_events in events.items():
        if key not in truth.keys.get(dataset, set()):
            outcomes[dataset][_outcome(item_events)] += 1
    counts = {}
    for name in sorted(names):
        done = outcomes[name]
        with_face = len(truth.keys.get(name, ())) + done["with_face"]
        counts[name] = _rates(with_face, done["no_face"], done["unreadable"], done["duplicate"])
    return counts


def _outcome(events: list[ErrorEvent]) -> str:
    stages = {event.stage for event in events}
    if any(event.kind == "no_face" for event in events) or "detect" in stages:
        return "no_face"
    if stages & set(BEFORE_DETECTION):
        return "unreadable"
    return "duplicate" if stages == {"dedupe"} else "with_face"


def _rates(with_face: int, no_face: int, unreadable: int, duplicates: int) -> dict[str, Any]:
    images = with_face + no_face
    return {
        "images": images,
        "with_face": with_face,
        "no_face": no_face,
        "detection_rate": with_face / images if images else None,
        "unreadable": unreadable,
        "duplicates": duplicates,
    }


def _pool(groups: list[dict[str, Any]]) -> dict[str, Any]:
    return _rates(*(sum(g[k] for g in groups) for k in ("with_face", "no_face", "unreadable", "duplicates")))


__all__ = ["AuditReport", "audit", "detection_counts"]
