"""Do the AUs fire on the expressions that define them, and does that hold on a set left out?

Reads the emotion-labelled sets (each a folder with `images/` and `labels.csv`: `path`, `emotion`,
optional `subject_id`), runs the default face stage on every image and reads the landmark and
blendshape measures of the largest face (`labels/au_geometry.py`). Then it prints:

* the neutral-face reference (mean, SD of each measure) and the per-AU thresholds this data gives
  (the value 85 % of neutral faces stay under, 88 % for AU01/AU02), beside the shipped ones;
* with the shipped constants: the share of faces of each expression showing its defining AUs
  (AU04 on anger, AU15 on sadness, AU09 or AU10 on disgust, AU20 on fear, AU01+AU02 on surprise,
  AU12 on happiness; AU01, AU02 on neutral), per set and pooled, and each AU's rate per expression;
* leave-one-set-out: reference and thresholds fitted on the other sets, rates on the set left out;
* with `--select`: for AU01, AU02, AU04, AU15 and AU20, every subset of candidate measures
  (`SELECT`) scored in-sample and left out, the best three printed (how `AU_MEASURES` was chosen);
* with the expression prior (`labels.au.emotion_prior`, `neutral_prior`; labels/au_prior.py): the
  same checks in-sample and left out with the shipped weights and a small grid around them, each
  AU's rate per expression, and how many of the AUs called present on expressive faces the
  geometry alone would have missed (the emotion model's probabilities come from the default
  recipe, temperature included);
* the time of the whole AU estimate of one face once the landmarks are there;
* the subject-baseline mode (`labels.au.subject_baseline`): on sets with several images per
  subject, each face measured against that person's neutral images (as a build does when the
  source labels them), and against the least expressive image (as it does when it does not).

Usage:
    python benchmarks/bench_aus.py [--data ../shared/labelled-dev] [--sets jaffe muxspace]
        [--cache /tmp/aus-readings.pkl]   # keep the readings (outside the repository) between runs
        [--select]                        # also rank the candidate measure subsets per AU
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import pickle
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from facefocal_data.config import AU_THRESHOLDS, AUConfig, load_recipe
from facefocal_data.engines import open_analyzer
from facefocal_data.labels import au_geometry as geo
from facefocal_data.labels.au_baseline import choose_baseline
from facefocal_data.labels.au_blendshapes import BlendshapeAUEstimator
from facefocal_data.labels.au_prior import shift
from facefocal_data.labels.stage import Labeler
from facefocal_data.vision.image_io import decode_rgb, read_bytes

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "labelled-dev"
PERCENTILE = {"AU01": 88.0, "AU02": 88.0}  # others: 85
CHECKS: tuple[tuple[str, str], ...] = (
    ("AU04", "anger"),
    ("AU15", "sadness"),
    ("AU09|AU10", "disgust"),
    ("AU20", "fear"),
    ("AU01+AU02", "surprise"),
    ("AU12", "happiness"),
    ("AU01", "neutral"),
    ("AU02", "neutral"),
)
EMOTIONS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
# AU -> (its defining expression, expressions whose prototypes lack it, the signed measures
# `--select` tries in every combination)
SELECT: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "AU01": (
        "surprise",
        ("anger", "disgust", "happiness"),
        ("+inner_brow_height", "+bs:browInnerUp", "+brow_slope"),
    ),
    "AU02": (
        "surprise",
        ("anger", "disgust", "happiness"),
        ("+outer_brow_height", "+bs:browOuterUp*", "-brow_slope"),
    ),
    "AU04": (
        "anger",
        ("happiness", "surprise"),
        ("-brow_slope", "-inner_brow_height", "-brow_gap", "-outer_brow_height"),
    ),
    "AU15": (
        "sadness",
        ("happiness", "surprise"),
        (
            "-inner_corner_lift",
            "-corner_vs_mouth_centre",
            "-outer_corner_lift",
            "-corner_vs_lip_line",
            "+bs:mouthFrown*",
        ),
    ),
    "AU20": (
        "fear",
        ("happiness", "surprise"),
        ("+mouth_width", "-corner_depth", "-outer_corner_lift", "-bs:mouthSmile*"),
    ),
}
Reference = dict[str, tuple[float, float]]
Activation = dict[str, tuple[float, float]]


def read_faces(data: Path, sets: list[str], cache: Path | None) -> list[dict[str, Any]]:
    """One row per image with a face: set, subject, emotion and the face's reading."""
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())  # type: ignore[no-any-return]
    recipe = load_recipe()
    analyzer, labeler, rows = open_analyzer(recipe), Labeler(recipe.labels), []
    for name in sets:
        for row in csv.DictReader((data / name / "labels.csv").open()):
            rgb = decode_rgb(read_bytes(data / name / row["path"]))
            scan = analyzer.scan(rgb)
            if not scan.faces or not row.get("emotion"):
                continue
            face = max(scan.faces, key=lambda f: f.landmark_box[2] - f.landmark_box[0])
            reading = geo.read_face(face.blendshapes, face.points)
            emotion = labeler.label_emotion(rgb, face)
            probs = {} if emotion is None else emotion.probs
            subject, truth = row.get("subject_id") or None, row["emotion"]
            rows.append({"set": name, "subject": subject, "emotion": truth, "reading": reading})
            rows[-1]["probs"] = probs
    analyzer.close()
    if cache is not None:
        cache.write_bytes(pickle.dumps(rows))
    return rows


def fit_reference(rows: list[dict[str, Any]]) -> Reference:
    """Mean and SD of each measure over the neutral faces, both sides pooled."""
    neutral = [side for r in rows if r["emotion"] == "neutral" for side in r["reading"]]
    out = {}
    for key in neutral[0]:
        values = [side[key] for side in neutral]
        sd = max(float(np.std(values)), 0.01) if key.startswith("bs:") else float(np.std(values))
        out[key] = (round(float(np.mean(values)), 4), round(sd, 4))
    return out


def fit_thresholds(rows: list[dict[str, Any]], acts: list[Activation]) -> dict[str, float]:
    """Per AU: the activation that PERCENTILE of neutral faces stay under (either side), rounded up
    to 0.01 so that no more neutral faces pass than the percentile says."""
    neutral = [a for r, a in zip(rows, acts, strict=True) if r["emotion"] == "neutral"]
    return {
        au: math.ceil(100 * float(np.percentile([max(a[au]) for a in neutral], PERCENTILE.get(au, 85.0))))
        / 100
        for au in geo.AU_MEASURES
    }


def fires(act: Activation, what: str, thresholds: dict[str, float]) -> bool:
    present = {au for au, pair in act.items() if max(pair) >= thresholds[au]}
    if "|" in what:
        return bool(present & set(what.split("|")))
    return set(what.split("+")) <= present


def check_rates(rows: list[dict[str, Any]], hits: list[dict[str, bool]]) -> dict[str, dict[str, str]]:
    """Per set and pooled: share of faces of each check's expression on which its AUs fire."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for name in [*sorted({r["set"] for r in rows}), "pooled"]:
        for what, emotion in CHECKS:
            got = [
                h[what]
                for r, h in zip(rows, hits, strict=True)
                if name in ("pooled", r["set"]) and r["emotion"] == emotion
            ]
            out[name][f"{what} on {emotion}"] = f"{np.mean(got):.2f} (n={len(got)})" if got else "–"
    return out


def hits_of(acts: list[Activation], thresholds: list[dict[str, float]]) -> list[dict[str, bool]]:
    return [{w: fires(a, w, t) for w, _ in CHECKS} for a, t in zip(acts, thresholds, strict=True)]


def loso_activations(rows: list[dict[str, Any]]) -> tuple[list[Activation], list[dict[str, float]]]:
    """Each face's activations and thresholds with the reference and thresholds fitted on the
    other sets only."""
    acts: list[Activation] = [{} for _ in rows]
    thresholds: list[dict[str, float]] = [{} for _ in rows]
    for name in sorted({r["set"] for r in rows}):
        fit = [r for r in rows if r["set"] != name]
        reference = fit_reference(fit)
        fitted = fit_thresholds(fit, [geo.activations(r["reading"], reference=reference) for r in fit])
        for i, row in enumerate(rows):
            if row["set"] == name:
                acts[i], thresholds[i] = geo.activations(row["reading"], reference=reference), fitted
    return acts, thresholds


def leave_one_set_out(rows: list[dict[str, Any]]) -> list[dict[str, bool]]:
    """Each set's hits with the reference and thresholds fitted on the other sets only."""
    return hits_of(*loso_activations(rows))


def au_rates(
    rows: list[dict[str, Any]], acts: list[Activation], thresholds: list[dict[str, float]], au: str
) -> dict[str, float]:
    """Share of faces of each expression on which `au` is present."""
    return {
        emotion: float(
            np.mean(
                [
                    max(a[au]) >= t[au]
                    for r, a, t in zip(rows, acts, thresholds, strict=True)
                    if r["emotion"] == emotion
                ]
            )
        )
        for emotion in EMOTIONS
    }


def score_measures(rows: list[dict[str, Any]], au: str) -> tuple[float, dict[str, float], dict[str, float]]:
    """With `geo.AU_MEASURES[au]` as set: (score, in-sample rates, leave-one-set-out rates). The score
    adds the defining expression's rate in-sample and left out, less twice each neutral rate over
    0.15 and the highest in-sample rate on an expression whose prototype lacks the AU."""
    reference = fit_reference(rows)
    acts = [geo.activations(r["reading"], reference=reference) for r in rows]
    inside = au_rates(rows, acts, [fit_thresholds(rows, acts)] * len(rows), au)
    out = au_rates(rows, *loso_activations(rows), au)
    target, off, _ = SELECT[au]
    penalty = 2 * max(0.0, inside["neutral"] - 0.15) + 2 * max(0.0, out["neutral"] - 0.15)
    return inside[target] + out[target] - penalty - max(inside[e] for e in off), inside, out


def select_measures(rows: list[dict[str, Any]], top: int = 3) -> None:
    """Every subset of each AU's candidate measures, scored; the best few printed."""
    shipped = dict(geo.AU_MEASURES)
    for au, (target, _, candidates) in SELECT.items():
        ranked = []
        for k in range(1, len(candidates) + 1):
            for subset in itertools.combinations(candidates, k):
                geo.AU_MEASURES[au] = subset
                ranked.append((*score_measures(rows, au), subset))
        geo.AU_MEASURES[au] = shipped[au]
        print(f"\n{au} on {target} (shipped: {', '.join(shipped[au])}):")
        for score, inside, out, subset in sorted(ranked, key=lambda r: -r[0])[:top]:
            print(f"  {score:5.2f}  {', '.join(subset)}")
            print("     in-sample " + " ".join(f"{e[:5]} {v:.2f}" for e, v in inside.items()))
            print("     left out  " + " ".join(f"{e[:5]} {v:.2f}" for e, v in out.items()))


def subject_baselines(rows: list[dict[str, Any]], use_labels: bool) -> tuple[list[dict[str, Any]], list[Any]]:
    """Rows of subjects with several images and each one's baseline, chosen as the build does
    (`use_labels`: the images labelled neutral; else, as without labels, the least expressive)."""
    by_subject: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["subject"]:
            by_subject[(row["set"], row["subject"])].append(row)
    kept: list[dict[str, Any]] = []
    baselines: list[Any] = []
    for faces in by_subject.values():
        if len(faces) >= 2:
            base = choose_baseline([(r["reading"], use_labels and r["emotion"] == "neutral") for r in faces])
            kept += faces
            baselines += [base] * len(faces)
    return kept, baselines


def rate_table(rows: list[dict[str, Any]], acts: list[Activation], thresholds: dict[str, float]) -> None:
    print(f"  {'AU':5s} {'thr':>5s} " + " ".join(f"{e[:7]:>8s}" for e in EMOTIONS))
    for au in geo.AU_MEASURES:
        cells = []
        for emotion in EMOTIONS:
            got = [
                max(a[au]) >= thresholds[au]
                for r, a in zip(rows, acts, strict=True)
                if r["emotion"] == emotion
            ]
            cells.append(f"{np.mean(got):8.2f}" if got else f"{'–':>8s}")
        print(f"  {au:5s} {thresholds[au]:5.2f} " + " ".join(cells))


def print_checks(title: str, rows: list[dict[str, Any]], hits: list[dict[str, bool]]) -> None:
    print(f"\n{title}")
    for name, checks in check_rates(rows, hits).items():
        print(f"  {name:11s} " + "  ".join(f"{k}: {v}" for k, v in checks.items()))


def report(rows: list[dict[str, Any]]) -> None:
    shipped = {au: AU_THRESHOLDS[au] for au in geo.AU_MEASURES}
    acts = [geo.activations(r["reading"]) for r in rows]
    reference = fit_reference(rows)
    print("neutral reference fitted here:", reference)
    refitted = [geo.activations(r["reading"], reference=reference) for r in rows]
    print("thresholds fitted here:", fit_thresholds(rows, refitted))
    print("thresholds shipped:    ", shipped)
    print_checks("shipped constants (fitted on all these sets):", rows, hits_of(acts, [shipped] * len(rows)))
    print("\neach AU's rate per expression (shipped constants, pooled):")
    rate_table(rows, acts, shipped)
    print_checks("leave-one-set-out (fitted on the other sets):", rows, leave_one_set_out(rows))
    spread = AUConfig().subject_spread
    for use_labels in (True, False):
        kept, baselines = subject_baselines(rows, use_labels)
        if not kept:
            return
        based = [
            geo.activations(r["reading"], baseline=b, spread=spread)
            for r, b in zip(kept, baselines, strict=True)
        ]
        how = "the images labelled neutral" if use_labels else "the least expressive image (labels unused)"
        print_checks(f"subject baseline = {how}:", kept, hits_of(based, [shipped] * len(kept)))
        rate_table(kept, based, shipped)
    plain = [geo.activations(r["reading"]) for r in kept]
    print_checks("the same faces without a baseline:", kept, hits_of(plain, [shipped] * len(kept)))


def with_prior(
    rows: list[dict[str, Any]], acts: list[Activation], emotion_prior: float, neutral_prior: float
) -> list[Activation]:
    """The activations after the expression prior, as the label stage applies it."""
    out = []
    for row, act in zip(rows, acts, strict=True):
        moved = {}
        for au, pair in act.items():
            delta = shift(row["probs"], au, emotion_prior, neutral_prior)
            moved[au] = (min(1.0, max(0.0, pair[0] + delta)), min(1.0, max(0.0, pair[1] + delta)))
        out.append(moved)
    return out


def report_prior(rows: list[dict[str, Any]]) -> None:
    """The checks with the expression prior: shipped weights and a grid, in-sample and left out."""
    shipped = {au: AU_THRESHOLDS[au] for au in geo.AU_MEASURES}
    cfg = AUConfig()
    acts = [geo.activations(r["reading"]) for r in rows]
    loso, loso_thresholds = loso_activations(rows)
    ours = (cfg.emotion_prior, cfg.neutral_prior)
    for weights in sorted({ours, (0.5, 1.0), (0.8, 1.0), (1.0, 1.5), (0.8, 0.5)}):
        tag = f"expression prior {weights}" + (" (shipped)" if weights == ours else "")
        inside = hits_of(with_prior(rows, acts, *weights), [shipped] * len(rows))
        print_checks(f"{tag}, in-sample:", rows, inside)
        print_checks(
            f"{tag}, leave-one-set-out:",
            rows,
            hits_of(with_prior(rows, loso, *weights), loso_thresholds),
        )
    fused = with_prior(rows, acts, cfg.emotion_prior, cfg.neutral_prior)
    print("\neach AU's rate per expression (shipped constants and prior, pooled):")
    rate_table(rows, fused, shipped)
    called = [
        (max(a[au]) >= shipped[au], max(f[au]) >= shipped[au])
        for r, a, f in zip(rows, acts, fused, strict=True)
        if r["emotion"] != "neutral"
        for au in geo.AU_MEASURES
    ]
    with_geometry = sum(g and f for g, f in called)
    prior_only = sum(f and not g for g, f in called)
    dropped = sum(g and not f for g, f in called)
    print(
        f"AUs present on expressive faces with the prior: {with_geometry + prior_only}; the geometry alone"
        f" also calls {with_geometry}, the prior adds {prior_only}, and removes {dropped}"
    )


def time_per_face() -> float:
    """Milliseconds for the whole AU estimate of one face (blendshapes + geometry), landmarks given."""
    analyzer = open_analyzer(load_recipe())
    face = analyzer.scan(decode_rgb(read_bytes(REPO / "examples" / "images" / "astronaut.png"))).faces[0]
    analyzer.close()
    estimator, runs = BlendshapeAUEstimator(), 300
    started = time.perf_counter()
    for _ in range(runs):
        estimator.estimate(face.blendshapes, face.points)
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of sets with labels.csv")
    parser.add_argument("--sets", nargs="*", help="set folders (default: each with an emotion column)")
    parser.add_argument("--cache", type=Path, help="readings pickle, reused when present (outside the repo)")
    parser.add_argument("--select", action="store_true", help="also score every subset of each AU's measures")
    args = parser.parse_args()
    data = args.data.resolve()
    sets = args.sets or sorted(
        p.parent.name for p in data.glob("*/labels.csv") if "emotion" in p.open().readline()
    )
    if not sets:
        raise SystemExit(f"no <set>/labels.csv with an emotion column under {data}: give --data")
    rows = read_faces(data, sets, args.cache)
    print(f"{len(rows)} faces with an emotion label in {', '.join(sets)}")
    print(f"AU estimate per face, landmarks given (astronaut): {time_per_face():.2f} ms")
    report(rows)
    report_prior(rows)
    if args.select:
        select_measures(rows)


if __name__ == "__main__":
    main()
