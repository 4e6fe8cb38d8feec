"""The audit's numbers for one group of faces (a source dataset, or all pooled).

Each block is None where the group has no ground truth for that label. The label metrics are
`facefocal evaluate`'s (evaluate/metrics.py), so a build's estimators and a lab's VLM are scored
the same way; every number has a bootstrap 95 % interval from one pass over the resamples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..evaluate.metrics import (
    age_scores,
    au_scores,
    bootstrap_cis,
    class_recalls,
    emotion_scores,
    expected_calibration_error,
    reliability,
)
from .pairs import AgePair, EmotionPair, FaceTruth

BINS = 10  # reliability / ECE bins over the top-class probability
AU_METRICS = ("precision", "recall", "f1")


def score_group(faces: list[FaceTruth], edges: list[int], resamples: int, seed: int) -> dict[str, Any]:
    emotions = [f.emotion for f in faces if f.emotion is not None]
    ages = [f.age for f in faces if f.age is not None]
    return {
        "faces": len(faces),
        "faces_with_truth": sum(f.has_truth for f in faces),
        "emotion": emotion_block(emotions, resamples, seed) if emotions else None,
        "age": age_block(ages, edges, resamples, seed) if ages else None,
        "au": au_block([f for f in faces if f.au_gold], resamples, seed),
    }


def _with_ci(values: dict[str, Any], cis: dict[str, list[float]], names: tuple[str, ...]) -> dict[str, Any]:
    """`name` and `name_ci` for each name, in that order (the JSON's stable keys)."""
    out: dict[str, Any] = {}
    for name in names:
        out[name], out[f"{name}_ci"] = values.get(name), cis.get(name)
    return out


def emotion_block(pairs: list[EmotionPair], resamples: int, seed: int) -> dict[str, Any]:
    """Accuracy, UAR, recall per class, confusion, ECE with its reliability bins, and how right
    the labels not marked uncertain are and how many faces they cover."""
    gold, pred = [p.gold for p in pairs], [p.pred for p in pairs]
    conf = np.array([p.confidence for p in pairs])
    correct = np.array([g == p for g, p in zip(gold, pred, strict=True)])
    sure = np.array([not p.uncertain for p in pairs])

    def statistic(idx: np.ndarray) -> dict[str, float | None]:
        scores = emotion_scores([gold[i] for i in idx], [pred[i] for i in idx])
        recalls = class_recalls(scores["confusion"])  # type: ignore[arg-type]
        kept = correct[idx][sure[idx]]
        return {
            "accuracy": scores["accuracy"],  # type: ignore[dict-item]
            "uar": scores["uar"],  # type: ignore[dict-item]
            "ece": expected_calibration_error(conf[idx], correct[idx], BINS),
            "confident_accuracy": float(kept.mean()) if kept.size else None,
            "coverage": float(sure[idx].mean()),
            **{f"recall:{c}": r for c, r in recalls.items()},
        }

    whole, cis = statistic(np.arange(len(pairs))), bootstrap_cis(len(pairs), statistic, resamples, seed)
    confusion = emotion_scores(gold, pred)["confusion"]
    support = Counter(gold)
    return {
        "n": len(pairs),
        **_with_ci(whole, cis, ("accuracy", "uar", "ece")),
        "per_class_recall": {
            c: {"recall": whole[f"recall:{c}"], "recall_ci": cis.get(f"recall:{c}"), "support": support[c]}
            for c in confusion["rows"]  # type: ignore[index]
        },
        "confusion": confusion,
        "reliability": reliability(conf, correct, BINS),
        "not_uncertain": {
            "n": int(sure.sum()),
            "accuracy": whole["confident_accuracy"],
            "accuracy_ci": cis.get("confident_accuracy"),
            **_with_ci(whole, cis, ("coverage",)),
        },
    }


def age_block(pairs: list[AgePair], edges: list[int], resamples: int, seed: int) -> dict[str, Any]:
    """MAE (and bin accuracy, as evaluate gives it) and how the 80 % interval does."""
    gold, pred = [p.gold for p in pairs], [p.pred for p in pairs]

    def statistic(idx: np.ndarray) -> dict[str, float | None]:
        return age_scores([gold[i] for i in idx], [pred[i] for i in idx], edges)

    whole, cis = statistic(np.arange(len(pairs))), bootstrap_cis(len(pairs), statistic, resamples, seed)
    return {
        "n": len(pairs),
        **_with_ci(whole, cis, ("mae", "bin_accuracy", "within_one_bin")),
        "interval": interval_block([p for p in pairs if p.interval is not None], resamples, seed),
    }


def interval_block(pairs: list[AgePair], resamples: int, seed: int) -> dict[str, Any] | None:
    """Share of true ages inside the 80 % interval (0.8 if calibrated), its width, and how many
    intervals are one age wide (they cover a true age only by luck)."""
    if not pairs:
        return None
    low = np.array([p.interval[0] for p in pairs])  # type: ignore[index]
    high = np.array([p.interval[1] for p in pairs])  # type: ignore[index]
    gold = np.array([p.gold for p in pairs])
    covered, width = (low <= gold) & (gold <= high), high - low

    def statistic(idx: np.ndarray) -> dict[str, float | None]:
        return {"coverage": float(covered[idx].mean()), "mean_width": float(width[idx].mean())}

    whole, cis = statistic(np.arange(len(pairs))), bootstrap_cis(len(pairs), statistic, resamples, seed)
    return {
        "n": len(pairs),
        **_with_ci(whole, cis, ("coverage", "mean_width")),
        "zero_width": int((width == 0).sum()),
    }


def au_block(faces: list[FaceTruth], resamples: int, seed: int) -> dict[str, Any] | None:
    """Per-AU precision / recall / F1 at face level, over the faces where that AU has ground truth."""
    if not faces:
        return None
    gold = [{au for au, on in f.au_gold.items() if on} for f in faces]
    pred = [{au for au in f.au_gold if f.au_pred.get(au)} for f in faces]

    def statistic(idx: np.ndarray) -> dict[str, float | None]:
        scores = au_scores([gold[i] for i in idx], [pred[i] for i in idx])
        per_au: dict[str, dict[str, float]] = scores["per_au"]  # type: ignore[assignment]
        flat = {f"{au}:{m}": v[m] for au, v in per_au.items() for m in AU_METRICS}
        return {"macro_f1": scores["macro_f1"], **flat}  # type: ignore[dict-item]

    whole, cis = statistic(np.arange(len(faces))), bootstrap_cis(len(faces), statistic, resamples, seed)
    with_truth = Counter(au for f in faces for au in f.au_gold)
    positives = Counter(au for g in gold for au in g)
    per_au = {
        au: {
            "faces": with_truth[au],
            "support": positives[au],
            **_with_ci(_prefixed(whole, au), _prefixed(cis, au), AU_METRICS),
        }
        for au in sorted(with_truth)
    }
    return {"faces": len(faces), **_with_ci(whole, cis, ("macro_f1",)), "per_au": per_au}


def _prefixed(values: dict[str, Any], au: str) -> dict[str, Any]:
    return {name.split(":", 1)[1]: v for name, v in values.items() if name.startswith(f"{au}:")}
