"""`facefocal evaluate`: score a model's region descriptions and predictions against a build.

Gold comes from the shards: the present AUs of each region, the face's emotion and age, and each
region's description as the reference text. A prediction line without structured fields is
scored from its text alone, through the fact checker's extractors; faithfulness compares the
facts a text states with the labels. Every metric is given overall and per region type, with a
bootstrap 95 % interval.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import Build, as_build
from ..describe.factcheck import aus_stated
from ..describe.facts import Facts, face_facts, region_facts
from ..describe.template import describe_region
from ..errors import FacefocalError
from ..facs import normalise_au
from ..record import FaceRecord, Region
from .metrics import (
    FactCount,
    age_scores,
    age_stated,
    au_scores,
    bootstrap_ci,
    emotion_of,
    emotion_scores,
    fact_count,
    faithfulness,
    text_scores,
)
from .predictions import LoadReport, Prediction, load_predictions

BASELINES = ("majority", "template", "shuffled")
DEFAULT_AGE_EDGES = [0, 3, 10, 20, 30, 40, 50, 60, 70]


@dataclass
class Pair:
    """One scored (record, region) with its prediction."""

    record: FaceRecord
    region: Region | None  # None: the face line
    prediction: Prediction
    kind: str  # region type: "mouth", "eye", "box", "face", …

    @property
    def facts(self) -> Facts:
        return face_facts(self.record) if self.region is None else region_facts(self.record, self.region)

    @property
    def reference(self) -> str | None:
        described = self.record.face_description if self.region is None else self.region.description
        return None if described is None else described.text


@dataclass
class Evaluation:
    results: dict[str, Any] = field(default_factory=dict)
    report: LoadReport = field(default_factory=LoadReport)


def region_kind(region: Region | None) -> str:
    if region is None:
        return "face"
    if region.kind == "box":
        return "box"
    return region.region_id.removesuffix("_left").removesuffix("_right")


def _pred_aus(prediction: Prediction) -> set[str]:
    if prediction.aus is not None:
        out = set()
        for code in prediction.aus:
            try:
                out.add(normalise_au(code))
            except ValueError:
                continue
        return out
    return aus_stated(prediction.text or "")


def _pred_emotion(prediction: Prediction) -> str | None:
    if prediction.emotion is not None:
        return prediction.emotion.strip().lower()
    return emotion_of(prediction.text or "")


def _pred_age(prediction: Prediction) -> float | None:
    if isinstance(prediction.age, int | float):
        return float(prediction.age)
    if isinstance(prediction.age, str):
        numbers = [float(n) for n in prediction.age.replace("+", "").split("-") if n.strip().isdigit()]
        return float(np.mean(numbers)) if numbers else None
    return age_stated(prediction.text or "")


def _pairs(records: list[FaceRecord], predictions: list[Prediction]) -> list[Pair]:
    by_id = {r.record_id: r for r in records}
    pairs = []
    for prediction in predictions:
        record = by_id[prediction.record_id]
        region = (
            None
            if prediction.region_id == "face"
            else next(g for g in record.regions if g.region_id == prediction.region_id)
        )
        pairs.append(Pair(record, region, prediction, region_kind(region)))
    return pairs


Score = Callable[[np.ndarray], dict[str, Any]]


def _stat(score: Score, name: str) -> Callable[[np.ndarray], float | None]:
    """One named metric of a scoring function over resampled indices, as a bootstrap statistic."""

    def statistic(idx: np.ndarray) -> float | None:
        value = score(idx)[name]
        return None if value is None else float(value)

    return statistic


def _with_cis(
    scores: dict[str, Any], n: int, score: Score, names: tuple[str, ...], resamples: int
) -> dict[str, Any]:
    for name in names:
        scores[f"{name}_ci"] = bootstrap_ci(n, _stat(score, name), resamples)
    return scores


def _au_part(pairs: list[Pair], resamples: int) -> dict[str, Any] | None:
    regional = [(p.region, p.prediction) for p in pairs if p.region is not None]
    if not regional:
        return None
    gold = [{a.au for a in region.aus if a.present} for region, _ in regional]
    pred = [_pred_aus(prediction) for _, prediction in regional]

    def score(idx: np.ndarray) -> dict[str, Any]:
        return au_scores([gold[i] for i in idx], [pred[i] for i in idx])

    return _with_cis(au_scores(gold, pred), len(gold), score, ("macro_f1",), resamples)


def _emotion_part(faces: list[FacePrediction], resamples: int) -> dict[str, Any] | None:
    gold = [r.emotion.label for r, _ in faces if r.emotion is not None]
    pred = [e for r, (e, _) in faces if r.emotion is not None]
    if not gold:
        return None

    def score(idx: np.ndarray) -> dict[str, Any]:
        return emotion_scores([gold[i] for i in idx], [pred[i] for i in idx])

    return _with_cis(emotion_scores(gold, pred), len(gold), score, ("accuracy", "uar"), resamples)


def _age_part(faces: list[FacePrediction], edges: list[int], resamples: int) -> dict[str, Any] | None:
    aged = [(r.age.years, a) for r, (_, a) in faces if r.age is not None and r.age.years is not None]
    if not aged:
        return None
    gold, pred = [g for g, _ in aged], [a for _, a in aged]

    def score(idx: np.ndarray) -> dict[str, Any]:
        return age_scores([gold[i] for i in idx], [pred[i] for i in idx], edges)

    scores: dict[str, Any] = dict(age_scores(gold, pred, edges))
    scores["errors"] = [round(abs(g - a), 2) for g, a in aged if a is not None]  # for the histogram
    return _with_cis(scores, len(aged), score, ("mae", "bin_accuracy", "within_one_bin"), resamples)


def _text_stat(refs: list[str], hyps: list[str], name: str) -> Callable[[np.ndarray], float | None]:
    """One corpus text metric (only it is computed) over resampled indices."""
    return _stat(lambda idx: text_scores([refs[i] for i in idx], [hyps[i] for i in idx], name), name)


def _text_parts(pairs: list[Pair], resamples: int, text_ci: bool) -> dict[str, dict[str, Any]]:
    texts = [p for p in pairs if p.prediction.text and p.reference]
    if not texts:
        return {}
    refs, hyps = [p.reference or "" for p in texts], [p.prediction.text or "" for p in texts]
    text: dict[str, Any] = dict(text_scores(refs, hyps))
    if text_ci:  # corpus metrics cost more: fewer resamples
        for name in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider_d"):
            text[f"{name}_ci"] = bootstrap_ci(len(refs), _text_stat(refs, hyps, name), resamples // 50)
    counts = [fact_count(p.prediction.text or "", p.facts) for p in texts]

    def score(idx: np.ndarray) -> dict[str, Any]:
        return dict(faithfulness(sum((counts[i] for i in idx), FactCount())))

    names = ("fact_precision", "fact_recall", "hallucination_rate", "region_grounding")
    faithful = _with_cis(dict(faithfulness(sum(counts, FactCount()))), len(counts), score, names, resamples)
    return {"text": text, "faithfulness": faithful}


def _score_group(
    pairs: list[Pair], edges: list[int], resamples: int, text_ci: bool = False
) -> dict[str, Any]:
    faces = _face_predictions(pairs)
    parts = {
        "au": _au_part(pairs, resamples),
        "emotion": _emotion_part(faces, resamples // 5) if faces else None,
        "age": _age_part(faces, edges, resamples // 5) if faces else None,
    }
    scored = {k: v for k, v in parts.items() if v is not None}
    return {"n": len(pairs), **scored, **_text_parts(pairs, resamples, text_ci)}


FacePrediction = tuple[FaceRecord, tuple[str | None, float | None]]


def _face_predictions(pairs: list[Pair]) -> list[FacePrediction]:
    """Emotion and age per record: from its face line, else from its first region line that has them."""
    chosen: dict[str, tuple[FaceRecord, tuple[str | None, float | None]]] = {}
    for pair in sorted(pairs, key=lambda p: p.region is not None):
        emotion, age = _pred_emotion(pair.prediction), _pred_age(pair.prediction)
        rid = pair.record.record_id
        if rid not in chosen:
            chosen[rid] = (pair.record, (emotion, age))
        else:
            record, (e, a) = chosen[rid]
            chosen[rid] = (record, (e or emotion, a if a is not None else age))
    return list(chosen.values())


def evaluate(
    data_dir: Build | str | Path,
    predictions: str | Path | None = None,
    split: str | None = None,
    baseline: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Score a prediction file (or a baseline) against the build at `data_dir`."""
    build = as_build(data_dir)
    records = list(build.records(split, pixels=False))
    if not records:
        raise FacefocalError(f"no records in {build.path}" + (f" for split {split!r}" if split else ""))
    evaluation = Evaluation()
    if baseline is not None:
        preds = baseline_predictions(records, baseline, seed)
        evaluation.report.lines = evaluation.report.valid = len(preds)
    elif predictions is not None:
        known = {r.record_id: {g.region_id for g in r.regions} for r in records}
        preds, evaluation.report = load_predictions(Path(predictions), known)
    else:
        raise FacefocalError("give --pred FILE or --baseline NAME")
    pairs = _pairs(records, preds)
    groups: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[pair.kind].append(pair)
    evaluation.results = {
        "data": str(build.path),
        "split": split,
        "predictions": str(predictions) if predictions else f"baseline:{baseline}",
        "lines": evaluation.report.lines,
        "scored": evaluation.report.valid,
        "skipped": dict(evaluation.report.problems),
        "overall": _score_group(pairs, DEFAULT_AGE_EDGES, resamples, text_ci=True),
        "by_region_type": {  # every group gets every metric's interval, with fewer resamples
            k: _score_group(v, DEFAULT_AGE_EDGES, resamples // 5, text_ci=True)
            for k, v in sorted(groups.items())
        },
    }
    return evaluation


def baseline_predictions(records: list[FaceRecord], name: str, seed: int = 0) -> list[Prediction]:
    """Predictions a lab's model should beat: majority class, template text, shuffled text."""
    if name not in BASELINES:
        raise FacefocalError(f"unknown baseline {name!r}; choose {', '.join(BASELINES)}")
    regions = [(r, g) for r in records for g in r.regions if g.description is not None]
    if name == "template":
        return [
            Prediction(r.record_id, g.region_id, text=describe_region(*_as_estimated(r, g), seed).text)
            for r, g in regions
        ]
    if name == "shuffled":
        texts = [g.description.text for _, g in regions if g.description is not None]
        random.Random(seed).shuffle(texts)
        return [
            Prediction(r.record_id, g.region_id, text=t) for (r, g), t in zip(regions, texts, strict=True)
        ]
    emotions = Counter(r.emotion.label for r in records if r.emotion is not None)
    ages = [r.age.years for r in records if r.age is not None and r.age.years is not None]
    common_text = Counter(g.description.text for _, g in regions if g.description).most_common(1)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    seen: Counter[str] = Counter()
    for _, g in regions:
        seen[region_kind(g)] += 1
        by_kind[region_kind(g)].update(a.au for a in g.aus if a.present)
    out = []
    for record, region in regions:
        kind = region_kind(region)
        aus = [au for au, n in by_kind[kind].items() if n > seen[kind] / 2]
        out.append(
            Prediction(
                record.record_id,
                region.region_id,
                text=common_text[0][0] if common_text else None,
                aus=aus,
                emotion=emotions.most_common(1)[0][0] if emotions else None,
                age=statistics.median(ages) if ages else None,
            )
        )
    return out


def _as_estimated(record: FaceRecord, region: Region) -> tuple[FaceRecord, Region]:
    """The record as the estimators saw it: where ground truth won, its kept `estimate` comes back.

    The template baseline must not read the gold labels it is scored against. Builds from before
    estimates kept `present`, `uncertain` and the age interval fall back to the default thresholds.
    """
    from dataclasses import replace

    from ..config import AUConfig

    au_cfg = AUConfig()
    aus = [
        replace(
            a,
            value=a.estimate.value,
            value_type="activation",
            present=a.estimate.present
            if a.estimate.present is not None
            else (a.estimate.value or 0) >= au_cfg.threshold_for(a.au),
        )
        if a.estimate is not None and a.source.startswith("gt:")
        else a
        for a in region.aus
    ]
    emotion, age = record.emotion, record.age
    if emotion is not None and emotion.estimate is not None and emotion.source.startswith("gt:"):
        est = emotion.estimate
        emotion = replace(
            emotion,
            label=est.label or emotion.label,
            confidence=est.value,
            probs=est.probs or {},
            uncertain=bool(est.uncertain),
        )
    if age is not None and age.estimate is not None and age.source.startswith("gt:"):
        est = age.estimate
        age = replace(age, years=est.value, bin=est.label, interval=est.interval, spread=est.spread)
    return replace(record, emotion=emotion, age=age), replace(region, aus=aus)


def write_outputs(evaluation: Evaluation, out: Path) -> list[Path]:
    """results.json, results.md and the plots."""
    from .report import markdown, plots

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.md"]
    paths[0].write_text(json.dumps(evaluation.results, indent=1))
    paths[1].write_text(markdown(evaluation))
    return paths + plots(evaluation, out)


__all__ = ["BASELINES", "Evaluation", "baseline_predictions", "evaluate", "write_outputs"]
