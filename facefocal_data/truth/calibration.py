"""`facefocal calibrate`: fit recipe settings to a build's ground truth, for unlabelled images.

A lab builds its labelled images, calibrates, and builds the unlabelled ones with the recipe
written here, whose labels then mean what they say: the emotion temperature (lowest NLL), the
`uncertain_below` that keeps labels not marked uncertain at the target accuracy while covering
as many faces as possible, per-AU `present` thresholds (best F1 where that AU has ground truth)
and the age interval's scale (about 80 % of true ages inside, never one age wide).

The build's estimates are its model's output *after* the build's own settings, so fits compose
with them: a temperature fitted on tempered probabilities multiplies the build's temperature
(p^(1/T0) then ^(1/T1) is p^(1/(T0 T1))), and the interval scale multiplies the build's scale
(exact while the build's minimum half-width did not bind).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..config import Recipe, load_recipe, with_settings
from ..dataset import Build
from ..errors import FacefocalError
from ..evaluate.metrics import expected_calibration_error
from ..labels.stage import PROB_FLOOR, scale_interval, tempered
from .audit import NO_TRUTH
from .pairs import AgePair, EmotionPair, FaceTruth, read_truth
from .scores import BINS

T_RANGE = (0.05, 100.0)  # temperatures searched (the recipe allows (0, 100])
MIN_SCALE = 0.01


@dataclass
class Calibration:
    """The calibrated recipe and what was fitted (`fits`: before / after on the build)."""

    recipe: Recipe
    fits: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """The recipe as YAML, headed by comments saying where it came from; `load_recipe` reads it."""
        path = Path(path)
        header = [
            f"# Calibrated by `facefocal calibrate` on {self.fits['build']}"
            f" ({dt.date.today().isoformat()}), from the {self.fits['base']} recipe.",
            *(f"# {line}" for line in summary_lines(self.fits)),
            *(f"# note: {note}" for note in self.notes),
        ]
        body = yaml.safe_dump(self.recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
        return path


def calibrate(
    data: Build | str | Path,
    recipe: Recipe | str | Path | None = None,
    target_accuracy: float = 0.8,
    age_coverage: float = 0.8,
    min_half_width: float = 1.0,
) -> Calibration:
    """Fit to the ground truth of the build at `data`; the result is `recipe` (default: the build's
    own) with the fitted keys changed."""
    for name, value in (("target accuracy", target_accuracy), ("age coverage", age_coverage)):
        if not 0 < value <= 1:
            raise FacefocalError(f"{name} is a share in (0, 1], got {value}")
    truth = read_truth(data)
    faces = [f for f in truth.faces if f.has_truth]
    if not faces:
        raise FacefocalError(f"{truth.path} {NO_TRUTH}")
    base = truth.recipe if recipe is None else recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    built = truth.recipe
    notes: list[str] = []
    fits: dict[str, Any] = {"build": str(truth.path), "base": "build's" if recipe is None else "given"}
    emotions = [f.emotion for f in faces if f.emotion is not None]
    fits["emotion"] = fit_emotion(emotions, built, base, target_accuracy, notes)
    fits["au"] = fit_aus(faces, base)
    ages = [f.age for f in faces if f.age is not None and f.age.interval is not None]
    fits["age"] = fit_age(ages, built, base, age_coverage, min_half_width)
    if base.source.kind != "image_folder":
        notes.append(
            f"source.kind is {base.source.kind}: for a folder of images, build with --source image_folder"
        )
    return Calibration(with_settings(base, _settings(fits, base), "calibrate"), fits, notes)


def _settings(fits: dict[str, Any], base: Recipe) -> dict[str, Any]:
    """The recipe keys the fits set (dotted), for `with_settings`; unfitted keys stay as they are."""
    settings: dict[str, Any] = {"name": f"{base.name.removesuffix('-calibrated')}-calibrated"}
    if fits["emotion"]:
        settings["labels.emotion.temperature"] = fits["emotion"]["temperature"]["after"]
        settings["labels.emotion.uncertain_below"] = fits["emotion"]["uncertain_below"]["after"]
    if fits["au"]:
        fitted = {au: v["threshold"]["after"] for au, v in fits["au"].items()}
        settings["labels.au.thresholds"] = dict(sorted({**base.labels.au.thresholds, **fitted}.items()))
    if fits["age"]:
        settings["labels.age.interval_scale"] = fits["age"]["interval_scale"]["after"]
        settings["labels.age.min_half_width"] = fits["age"]["min_half_width"]["after"]
    return settings


def fit_emotion(
    pairs: list[EmotionPair], built: Recipe, base: Recipe, target: float, notes: list[str]
) -> dict[str, Any] | None:
    """Temperature by NLL, then `uncertain_below` for the target accuracy on the tempered tops."""
    usable = [p for p in pairs if p.probs]
    if len(usable) < len(pairs):
        notes.append(f"{len(pairs) - len(usable)} emotion estimates lack class probabilities (older build)")
    if not usable:
        return None
    classes = list(usable[0].probs or {})
    probs = np.array([[(p.probs or {}).get(c, 0.0) for c in classes] for p in usable])
    gold = np.array([classes.index(p.gold) if p.gold in classes else -1 for p in usable])
    if (gold < 0).any():
        notes.append(f"{int((gold < 0).sum())} faces have an emotion the estimator does not know")
    t_fit = fit_temperature(probs[gold >= 0], gold[gold >= 0])
    after = tempered(probs, t_fit)
    correct = after.argmax(axis=1) == gold
    threshold, accuracy, coverage = fit_uncertain_below(after.max(axis=1), correct, target)
    if accuracy is None:
        notes.append(f"no threshold reaches {target:.0%} accuracy: every emotion label will be uncertain")
    sure = np.array([not p.uncertain for p in usable])
    temperature = round(min(built.labels.emotion.temperature * t_fit, T_RANGE[1]), 4)
    return {
        "faces": len(usable),
        "target_accuracy": target,
        "temperature": {"before": base.labels.emotion.temperature, "after": temperature},
        "nll": {"before": _nll(probs, gold, 1.0), "after": _nll(probs, gold, t_fit)},
        "ece": {
            "before": expected_calibration_error(probs.max(axis=1), correct, BINS),
            "after": expected_calibration_error(after.max(axis=1), correct, BINS),
        },
        "uncertain_below": {"before": base.labels.emotion.uncertain_below, "after": threshold},
        "not_uncertain_accuracy": {
            "before": float(correct[sure].mean()) if sure.any() else None,
            "after": accuracy,
        },
        "coverage": {"before": float(sure.mean()), "after": coverage},
    }


def _nll(probs: np.ndarray, gold: np.ndarray, temperature: float) -> float | None:
    """Mean negative log-likelihood of the true class (faces whose class the model knows)."""
    known = gold >= 0
    if not known.any():
        return None
    scaled = tempered(probs[known], temperature)
    return float(-np.log(np.maximum(scaled[np.arange(known.sum()), gold[known]], PROB_FLOOR)).mean())


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """T minimising the NLL: convex in 1/T, so a golden-section search over log T finds it."""
    if not len(gold):
        return 1.0
    low, high = (math.log(t) for t in T_RANGE)
    log_t = _golden_min(lambda x: _nll(probs, gold, math.exp(x)) or 0.0, low, high)
    return math.exp(log_t)


def _golden_min(f: Callable[[float], float], low: float, high: float, steps: int = 80) -> float:
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(steps):
        c, d = high - ratio * (high - low), low + ratio * (high - low)
        if f(c) <= f(d):
            high = d
        else:
            low = c
    return (low + high) / 2


def fit_uncertain_below(
    top: np.ndarray, correct: np.ndarray, target: float
) -> tuple[float, float | None, float]:
    """The lowest top-probability cut whose kept faces (top ≥ cut) are ≥ target accurate: the most
    faces labelled without `uncertain`. Cuts fall between distinct values (ties stay together);
    where no cut reaches the target, 1.0 (every label uncertain)."""
    order = np.argsort(-top, kind="stable")
    tops, hits = top[order], correct[order]
    accuracy = np.cumsum(hits) / np.arange(1, len(tops) + 1)
    between = np.r_[tops[:-1] > tops[1:], True]  # a cut after position k keeps tops[: k + 1]
    ok = np.flatnonzero(between & (accuracy >= target))
    if not ok.size:
        return 1.0, None, 0.0
    k = int(ok[-1])
    cut = (tops[k] + tops[k + 1]) / 2 if k + 1 < len(tops) else math.floor(tops[k] * 1e4) / 1e4
    return round(float(cut), 6), float(accuracy[k]), (k + 1) / len(tops)


def fit_aus(faces: list[FaceTruth], base: Recipe) -> dict[str, Any]:
    """Per AU with ground truth on some face (and at least one face showing it): the threshold
    on the face's largest estimated value with the best F1; ties go to the current threshold."""
    fits = {}
    for au in sorted({au for f in faces for au in f.au_gold}):
        scored = [f for f in faces if au in f.au_gold]
        gold = np.array([f.au_gold[au] for f in scored])
        if not gold.any():
            continue
        values = np.array([f.au_value[au] for f in scored])
        current = base.labels.au.threshold_for(au)
        distinct = np.unique(values)
        candidates = np.unique(np.r_[(distinct[:-1] + distinct[1:]) / 2, distinct[0], current])
        scores = [_f1(values >= c, gold) for c in candidates]
        best = max(range(len(candidates)), key=lambda i: (scores[i], -abs(candidates[i] - current)))
        threshold = round(float(np.clip(candidates[best], 0.0, 1.0)), 5)
        fits[au] = {
            "faces": len(scored),
            "positives": int(gold.sum()),
            "threshold": {"before": current, "after": threshold},
            "f1": {"before": _f1(values >= current, gold), "after": _f1(values >= threshold, gold)},
        }
    return fits


def _f1(pred: np.ndarray, gold: np.ndarray) -> float:
    tp = int((pred & gold).sum())
    return 2 * tp / (int(pred.sum()) + int(gold.sum())) if tp else 0.0


def fit_age(
    pairs: list[AgePair], built: Recipe, base: Recipe, target: float, min_half_width: float
) -> dict[str, Any] | None:
    """Scale and minimum half-width that put `target` of the true ages inside the interval with
    the narrowest mean width. A scale alone cannot widen a one-age interval (it covers a true age
    only by luck), so the minimum half-width is searched too, from `min_half_width` up."""
    if not pairs:
        return None
    pred, gold = np.array([p.pred for p in pairs]), np.array([p.gold for p in pairs])
    below = np.maximum(pred - np.array([p.interval[0] for p in pairs]), 0)  # type: ignore[index]
    above = np.maximum(np.array([p.interval[1] for p in pairs]) - pred, 0)  # type: ignore[index]
    miss, side = np.abs(gold - pred), np.where(gold < pred, below, above)
    k = max(math.ceil(target * len(pairs)) - 1, 0)
    best: tuple[float, float, float] | None = None  # (mean width, scale, minimum half-width)
    for floor in np.unique(np.r_[min_half_width, np.ceil(miss[miss > min_half_width] * 2) / 2]):
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 where the floor covers it
            need = np.where(miss <= floor, 0.0, np.where(side > 0, miss / side, np.inf))
        scale = float(np.sort(need)[k])
        if not math.isfinite(scale):
            continue
        scale = max(math.ceil(scale * 1000) / 1000, MIN_SCALE)
        width = float(np.mean(np.maximum(scale * below, floor) + np.maximum(scale * above, floor)))
        if best is None or width < best[0]:
            best = (width, scale, float(floor))
    assert best is not None  # the largest floor covers every true age
    _, scale, floor = best
    before, after = _interval_stats(pairs, 1.0, 0.0), _interval_stats(pairs, scale, floor)
    age = base.labels.age
    return {
        "faces": len(pairs),
        "target_coverage": target,
        "interval_scale": {
            "before": age.interval_scale,
            "after": round(built.labels.age.interval_scale * scale, 3),
        },
        "min_half_width": {"before": age.min_half_width, "after": floor},
        **{k: {"before": before[k], "after": after[k]} for k in before},
    }


def _interval_stats(pairs: list[AgePair], scale: float, min_half_width: float) -> dict[str, float]:
    """Coverage, mean width and one-age intervals after `scale_interval` (what the labeller will do)."""
    intervals = [scale_interval(p.pred, p.interval, scale, min_half_width) or [p.pred] * 2 for p in pairs]
    inside = [lo <= p.gold <= hi for p, (lo, hi) in zip(pairs, intervals, strict=True)]
    widths = [hi - lo for lo, hi in intervals]
    return {
        "coverage": float(np.mean(inside)),
        "mean_width": float(np.mean(widths)),
        "zero_width": int(sum(w == 0 for w in widths)),
    }


def summary_lines(fits: dict[str, Any]) -> list[str]:
    """One line per fitted setting: before -> after, and what it does on the build."""
    lines = []
    if emotion := fits.get("emotion"):
        t, cut = emotion["temperature"], emotion["uncertain_below"]
        acc, cov = emotion["not_uncertain_accuracy"], emotion["coverage"]
        lines.append(f"labels.emotion.temperature {_pair(t)} (ECE {_pair(emotion['ece'])})")
        lines.append(
            f"labels.emotion.uncertain_below {_pair(cut)}"
            f" (not-uncertain accuracy {_pair(acc)}, coverage {_pair(cov)})"
        )
    for au, fit in (fits.get("au") or {}).items():
        lines.append(f"labels.au.thresholds.{au} {_pair(fit['threshold'])} (F1 {_pair(fit['f1'])})")
    if age := fits.get("age"):
        lines.append(
            f"labels.age.interval_scale {_pair(age['interval_scale'])}, min_half_width"
            f" {_pair(age['min_half_width'])} (coverage {_pair(age['coverage'])},"
            f" mean width {_pair(age['mean_width'])}, one-age {_pair(age['zero_width'])})"
        )
    return lines


def _pair(values: dict[str, Any]) -> str:
    def show(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)

    return f"{show(values['before'])} -> {show(values['after'])}"
