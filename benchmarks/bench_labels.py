"""How far the labels can be trusted, measured on human-labelled faces given as manifests.

Each data set is a folder with `images/` and a `labels.csv` manifest (`path`, and `emotion` or
`age`; `subject_id` optional). The benchmark builds every set with the default recipe (no
descriptions), audits the estimates against the labels, and then, per set, prints:

* detection: images with a face, images with more than one (extra faces inside a real one),
  detector model calls per image;
* emotion: accuracy, UAR, recall per class, ECE, the accuracy and coverage of labels not marked
  uncertain, and how often padding the image onto a 2x canvas changes the label;
* age: MAE, 80 % interval coverage, mean width, zero-width intervals;
* AUs on the expressions that define them (AU04 on anger, AU15 on sadness, AU09 or AU10 on
  disgust, AU20 on fear, AU01+AU02 on surprise, AU12 on happiness; AU01, AU02 on neutral), and
  the same with the AU reference and thresholds fitted with each set left out (bench_aus.py),
  with the recipe's expression prior and with the geometry alone.

The images are read where they are: nothing is copied. Usage:
    python benchmarks/bench_labels.py [--data ../shared/labelled-dev] [--sets jaffe muxspace]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from bench_aus import hits_of, loso_activations, print_checks, with_prior  # benchmarks/: the script's folder

import facefocal_data as ff
from facefocal_data.config import load_recipe, with_settings
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.labels.au_geometry import read_face
from facefocal_data.labels.stage import Labeler
from facefocal_data.vision.image_io import decode_rgb, read_bytes

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "labelled-dev"
# (what, emotion it defines, AUs any of which counts, AUs all of which must be present)
AU_CHECKS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("AU04 on anger", "anger", ("AU04",), ()),
    ("AU15 on sadness", "sadness", ("AU15",), ()),
    ("AU09|AU10 on disgust", "disgust", ("AU09", "AU10"), ()),
    ("AU20 on fear", "fear", ("AU20",), ()),
    ("AU01+AU02 on surprise", "surprise", (), ("AU01", "AU02")),
    ("AU12 on happiness", "happiness", ("AU12",), ()),
    ("AU01 on neutral", "neutral", ("AU01",), ()),
    ("AU02 on neutral", "neutral", ("AU02",), ()),
)


def write_manifests(data: Path, sets: list[str], folder: Path) -> dict[str, Path]:
    """One manifest per set, paths relative to `data`, named after the set (its dataset name)."""
    manifests = {}
    for name in sets:
        rows = list(csv.DictReader((data / name / "labels.csv").open()))
        keep = [c for c in ("path", "emotion", "age", "subject_id") if rows and c in rows[0]]
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, keep)
            writer.writeheader()
            for row in rows:
                writer.writerow({**{c: row[c] for c in keep}, "path": f"{name}/{row['path']}"})
        manifests[name] = path
    return manifests


def build_all(data: Path, manifests: dict[str, Path], out: Path) -> Any:
    """Every set into one build (one recipe, so one hash), then the audit of it."""
    settings = {"source.kind": "manifest", "source.root": str(data), "describe.describer": "none"}
    recipe = with_settings(load_recipe(), settings)
    for manifest in manifests.values():
        ff.build(manifest, out, recipe)
    return ff.audit(out, resamples=300), recipe


def records(out: Path) -> list[dict[str, Any]]:
    columns = ["source_dataset", "source_path", "emotion", "regions"]
    parts = sorted((out / "shards").glob("*.parquet"))
    return [r for p in parts for r in pq.read_table(p, columns=columns).to_pylist()]


def au_rates(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per set and pooled: the share of faces of each expression showing its defining AUs."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    names = [*sorted({r["source_dataset"] for r in rows}), "pooled"]
    for what, emotion, any_of, all_of in AU_CHECKS:
        for name in names:
            faces = [r for r in rows if name in ("pooled", r["source_dataset"]) and _truth(r) == emotion]
            if faces:
                hits = [_fires(r, any_of, all_of) for r in faces]
                out[name][what] = {"rate": round(float(np.mean(hits)), 3), "faces": len(faces)}
    return out


def _truth(row: dict[str, Any]) -> str | None:
    emotion = row.get("emotion") or {}
    return emotion.get("label") if str(emotion.get("source", "")).startswith("gt:") else None


def _fires(row: dict[str, Any], any_of: tuple[str, ...], all_of: tuple[str, ...]) -> bool:
    present = {a["au"] for region in row["regions"] for a in region["aus"] if a["present"]}
    return (not any_of or bool(present & set(any_of))) and set(all_of) <= present


def framing(
    data: Path, manifests: dict[str, Path], recipe: Any, readings: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per set: detector calls per image, images with >1 face, emotion changed by 2x padding; and
    the AU reading of each emotion-labelled face into `readings` (for the leave-one-set-out fit)."""
    analyzer, labeler = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop), Labeler(recipe.labels)
    calls = Counter[str]()
    for model in analyzer.detector.models.values():
        model.infer = _counted(model.infer, calls)  # type: ignore[method-assign]
    result = {}
    for name, manifest in manifests.items():
        stats = Counter[str]()
        for row in csv.DictReader(manifest.open()):
            rgb = decode_rgb(read_bytes(data / row["path"]))
            before = calls["n"]
            plain = analyzer.scan(rgb)
            stats["images"] += 1
            stats["calls"] += calls["n"] - before
            stats["multi"] += len(plain.faces) > 1
            if plain.faces and row.get("emotion"):
                face = _largest(plain)
                reading = read_face(face.blendshapes, face.points)
                estimate = labeler.label_emotion(rgb, face)
                readings.append({"set": name, "subject": None, "emotion": row["emotion"], "reading": reading})
                readings[-1]["probs"] = {} if estimate is None else estimate.probs
            canvas = _pad2(rgb)
            padded = analyzer.scan(canvas)
            if plain.faces and padded.faces and labeler.emotion is not None:
                pairs = ((rgb, plain), (canvas, padded))
                a, b = (labeler.label_emotion(img, _largest(scan)) for img, scan in pairs)
                stats["pairs"] += 1
                stats["changed"] += a is not None and b is not None and a.label != b.label
        result[name] = _framing_figures(stats)
    total = sum((Counter(s["counts"]) for s in result.values()), Counter[str]())
    result["pooled"] = _framing_figures(total)
    return result


def _framing_figures(stats: Counter[str]) -> dict[str, Any]:
    return {
        "counts": dict(stats),
        "detector_calls_per_image": round(stats["calls"] / max(stats["images"], 1), 2),
        "images_with_more_than_one_face": stats["multi"],
        "emotion_changed_by_padding": round(stats["changed"] / max(stats["pairs"], 1), 3),
        "padding_pairs": stats["pairs"],
    }


def _counted(infer: Any, calls: Counter[str]) -> Any:
    def counted(tensor: Any) -> Any:
        calls["n"] += 1
        return infer(tensor)

    return counted


def _largest(scan: Any) -> Any:
    return max(scan.faces, key=lambda f: f.landmark_box[2] - f.landmark_box[0])


def _pad2(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    canvas = np.zeros((2 * h, 2 * w, 3), np.uint8)
    canvas[h // 2 : h // 2 + h, w // 2 : w // 2 + w] = rgb
    return canvas


def print_report(audit: dict[str, Any], frames: dict[str, Any], aus: dict[str, Any]) -> None:
    groups = {**audit["by_dataset"], "pooled": audit["pooled"]}
    heads = (
        "faces",
        "emo acc",
        "UAR",
        "minrec",
        "ECE",
        "sure acc/cov",
        "pad flip",
        "calls",
        "extra",
        "age MAE",
    )
    print(f"{'set':11s} " + " ".join(f"{h:>7s}" for h in heads) + "  cov80  width")
    for name, group in groups.items():
        det, emo, age = group.get("detection", {}), group.get("emotion"), group.get("age")
        frame = frames.get(name, {})
        cells = [f"{name:11s}", f"{det.get('with_face', 0):>4}/{det.get('images', 0):<4} "]
        cells += [*_emotion_cells(emo), f"{frame.get('emotion_changed_by_padding', ''):>8}"]
        cells += [f"{frame.get('detector_calls_per_image', ''):>5}"]
        cells += [f"{frame.get('images_with_more_than_one_face', ''):>5}", *_age_cells(age)]
        print(" ".join(cells))
    print("\nAUs on the expressions that define them (share of faces):")
    for name, checks in aus.items():
        shares = "  ".join(f"{k}: {v['rate']:.2f} (n={v['faces']})" for k, v in checks.items())
        print(f"  {name:11s} {shares}")
    recalls = groups["pooled"]["emotion"]["per_class_recall"]
    print("\nemotion recall per class (pooled):", {k: v["recall"] for k, v in recalls.items()})


def _emotion_cells(emo: dict[str, Any] | None) -> list[str]:
    if not emo:
        return [f"{'–':>7s}", f"{'–':>5s}", f"{'–':>6s}", f"{'–':>5s}", f"{'–':>12s}"]
    recalls = [v["recall"] for v in emo["per_class_recall"].values() if v["recall"] is not None]
    sure = emo["not_uncertain"]
    return [f"{emo['accuracy']:7.3f}", f"{emo['uar']:5.3f}", f"{min(recalls):6.2f}", f"{emo['ece']:5.3f}",
            f"{sure['accuracy'] or 0:5.2f}/{sure['coverage']:.2f}".rjust(12)]  # fmt: skip


def _age_cells(age: dict[str, Any] | None) -> list[str]:
    if not age:
        return [f"{'–':>7s}", f"{'–':>5s}", f"{'–':>5s}"]
    interval = age.get("interval") or {}
    return [
        f"{age['mae']:7.2f}",
        f"{interval.get('coverage', 0):5.2f}",
        f"{interval.get('mean_width', 0):5.1f}",
    ]


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder of sets, each with labels.csv"
    )
    parser.add_argument("--sets", nargs="*", help="set folders to use (default: every one with labels.csv)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    data = args.data.resolve()
    sets = args.sets or sorted(p.parent.name for p in data.glob("*/labels.csv"))
    if not sets:
        raise SystemExit(f"no <set>/labels.csv under {data}: give --data")
    with tempfile.TemporaryDirectory(prefix="facefocal-bench-labels-") as tmp:
        manifests = write_manifests(data, sets, Path(tmp))
        report, recipe = build_all(data, manifests, Path(tmp) / "build")
        rows = records(Path(tmp) / "build")
        readings: list[dict[str, Any]] = []
        frames = framing(data, manifests, recipe, readings)
    aus = au_rates(rows)
    print_report(report.results, frames, aus)
    if readings:
        title = "AUs, leave one set out (neutral reference and thresholds fitted on the other sets"
        au_cfg = recipe.labels.au
        acts, thresholds = loso_activations(readings)
        prior = with_prior(readings, acts, au_cfg.emotion_prior, au_cfg.neutral_prior)
        print_checks(title + ", the recipe's expression prior):", readings, hits_of(prior, thresholds))
        print_checks(title + ", geometry alone):", readings, hits_of(acts, thresholds))
    if args.json:
        args.json.write_text(json.dumps({"audit": report.results, "framing": frames, "aus": aus}, indent=1))


if __name__ == "__main__":
    main()
