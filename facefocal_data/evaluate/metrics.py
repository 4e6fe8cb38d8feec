"""The metrics, as small pure functions over aligned gold / predicted lists (tested by hand)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..describe.factcheck import as_digits, aus_stated, emotions_stated, parts_stated
from ..describe.facts import Facts
from ..errors import BackendUnavailableError


# -- labels ----------------------------------------------------------------------------------------
def au_scores(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict[str, object]:
    """Per-AU precision/recall/F1 (multi-label, one set per region) and their macro F1."""
    aus = sorted(set().union(*gold, *pred)) if gold else []
    per_au = {}
    for au in aus:
        tp = sum(au in g and au in p for g, p in zip(gold, pred, strict=True))
        fp = sum(au not in g and au in p for g, p in zip(gold, pred, strict=True))
        fn = sum(au in g and au not in p for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_au[au] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    macro = float(np.mean([v["f1"] for v in per_au.values()])) if per_au else 0.0
    return {"per_au": per_au, "macro_f1": macro}


def emotion_scores(gold: Sequence[str], pred: Sequence[str | None]) -> dict[str, object]:
    """Accuracy (= WAR), UAR (mean recall over the gold classes) and the confusion matrix."""
    labels = sorted(set(gold))
    predicted = sorted({p or "none" for p in pred} - set(labels))
    columns = labels + predicted
    counts = Counter(zip(gold, [p or "none" for p in pred], strict=True))  # one pass: bootstraps call this
    matrix = [[counts[(row, col)] for col in columns] for row in labels]
    confusion = {"rows": labels, "columns": columns, "matrix": matrix}
    recalls = list(class_recalls(confusion).values())
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    accuracy = correct / len(gold) if gold else 0.0
    return {
        "accuracy": accuracy,
        "war": accuracy,
        "uar": float(np.mean(recalls)) if recalls else 0.0,
        "confusion": confusion,
    }


def class_recalls(confusion: dict[str, Any]) -> dict[str, float]:
    """Recall of each gold class: a row of `emotion_scores`' confusion (its columns start with the rows)."""
    matrix = confusion["matrix"]
    return {row: matrix[i][i] / sum(matrix[i]) for i, row in enumerate(confusion["rows"]) if sum(matrix[i])}


def reliability(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Equal-width bins of the top-class probability, (low, high] (0 goes in the first): how many
    faces, how sure the model was and how often it was right. The reliability diagram's bars."""
    conf, hits = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    index = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        out.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": count,
                "confidence": float(conf[inside].mean()) if count else None,
                "accuracy": float(hits[inside].mean()) if count else None,
            }
        )
    return out


def expected_calibration_error(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = 10
) -> float | None:
    """ECE: the bins' |accuracy - confidence| weighted by their share of faces; 0 is a model whose
    stated probability is how often it is right."""
    n = len(confidence)
    if not n:
        return None
    cells = [b for b in reliability(confidence, correct, bins) if b["count"]]
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in cells))


def age_scores(
    gold: Sequence[float], pred: Sequence[float | None], edges: Sequence[int]
) -> dict[str, float | None]:
    """MAE in years (over numeric predictions), bin accuracy and within-one-bin accuracy."""

    def bin_index(years: float) -> int:
        return max(i for i, e in enumerate(edges) if e <= max(years, edges[0]))

    errors = [abs(g - p) for g, p in zip(gold, pred, strict=True) if p is not None]
    hits = [bin_index(g) == bin_index(p) if p is not None else False for g, p in zip(gold, pred, strict=True)]
    near = [
        abs(bin_index(g) - bin_index(p)) <= 1 if p is not None else False
        for g, p in zip(gold, pred, strict=True)
    ]
    return {
        "mae": float(np.mean(errors)) if errors else None,
        "bin_accuracy": float(np.mean(hits)) if hits else 0.0,
        "within_one_bin": float(np.mean(near)) if near else 0.0,
    }


# -- text ------------------------------------------------------------------------------------------
def _tokens(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower()))


def _text_libraries() -> tuple[Any, Any, Any]:
    try:
        from pycocoevalcap.cider.cider import Cider
        from rouge_score import rouge_scorer
        from sacrebleu.metrics import BLEU
    except ImportError as exc:
        raise BackendUnavailableError(
            f"text metrics need the [eval] extra: pip install 'facefocal-data[eval]' ({exc})"
        ) from None
    return BLEU, rouge_scorer, Cider


def text_scores(refs: Sequence[str], hyps: Sequence[str], only: str | None = None) -> dict[str, float]:
    """BLEU-1..4 (sacrebleu, corpus), ROUGE-L F (rouge-score, mean), CIDEr-D (pycocoevalcap).

    ``only`` computes one of them (the bootstrap asks for one metric per resample).
    """
    BLEU, rouge_scorer, Cider = _text_libraries()
    if not refs:
        return {}
    refs_t, hyps_t = [_tokens(r) for r in refs], [_tokens(h) for h in hyps]
    out = {}
    for n in range(1, 5):
        if only in (None, f"bleu_{n}"):
            bleu = BLEU(max_ngram_order=n, tokenize="none", effective_order=True)
            out[f"bleu_{n}"] = bleu.corpus_score(hyps_t, [refs_t]).score / 100
    if only in (None, "rouge_l"):
        scorer = rouge_scorer.RougeScorer(["rougeL"])
        pairs = zip(refs_t, hyps_t, strict=True)
        out["rouge_l"] = float(np.mean([scorer.score(r, h)["rougeL"].fmeasure for r, h in pairs]))
    if only in (None, "cider_d"):
        gts = {i: [r or "empty"] for i, r in enumerate(refs_t)}
        res = {i: [h or "empty"] for i, h in enumerate(hyps_t)}
        out["cider_d"] = float(Cider().compute_score(gts, res)[0])
    return out


# -- faithfulness ---------------------------------------------------------------------------------
AGE_STATED = re.compile(
    r"(?<![\d.])(\d{1,3})(?:\s*(?:-|–|to)\s*\d{1,3})?\s*(?:years?|yrs?\b|-year)", re.IGNORECASE
)


# an age said without "years": "looks about 29", "an age of 40", "estimated at 35", "is perhaps 29"
AGE_STATED_BARE = re.compile(
    r"\b(?:about|around|roughly|approximately|aged?|age of|age is|estimated at|at least|perhaps|maybe|"
    r"probably|likely|close to|some)"
    r"\s+(\d{1,3})(?!\d|\.\d)",  # a full stop may follow ("is about 47."), a decimal may not
    re.IGNORECASE,
)


def age_stated(text: str) -> float | None:
    """The first age the text states, in digits or in words ("a twenty-nine-year-old")."""
    text = as_digits(text)
    match = AGE_STATED.search(text) or AGE_STATED_BARE.search(text)
    return float(match.group(1)) if match else None


def emotion_of(text: str) -> str | None:
    stated = emotions_stated(text)
    return next(iter(stated)) if len(stated) == 1 else None


AGE_TOLERANCE = 5.0  # an age stated within the 80 % interval, or this close to the estimate, is right


@dataclass
class FactCount:
    stated: int = 0
    correct: int = 0
    contradicted: int = 0
    gold: int = 0
    recalled: int = 0
    parts_named: int = 0
    parts_grounded: int = 0

    def __add__(self, other: FactCount) -> FactCount:
        return FactCount(
            *(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True))
        )


def fact_count(text: str, facts: Facts) -> FactCount:
    """The facts a text states (AUs, emotion, age), scored against the labels, and its face parts."""
    count = FactCount()
    gold_aus = {a.au for a in facts.aus}
    stated_aus = aus_stated(text)  # by code, by name, or in plain words
    count.stated += len(stated_aus)
    count.correct += len(stated_aus & gold_aus)
    count.contradicted += len(stated_aus - gold_aus)
    count.gold += len(gold_aus)
    count.recalled += len(stated_aus & gold_aus)
    if facts.emotion is not None:
        count.gold += 1
        for emotion in emotions_stated(text):
            count.stated += 1
            right = emotion == facts.emotion
            count.correct += right
            count.contradicted += not right
            count.recalled += right
    if facts.age_years is not None:
        count.gold += 1
        age = age_stated(text)
        if age is not None:
            low, high = facts.age_range or (facts.age_years, facts.age_years)
            right = low <= age <= high or abs(age - facts.age_years) <= AGE_TOLERANCE
            count.stated += 1
            count.correct += right
            count.contradicted += not right
            count.recalled += right
    parts = parts_stated(text)
    count.parts_named = len(parts)
    count.parts_grounded = len(parts & facts.parts)
    return count


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def faithfulness(total: FactCount) -> dict[str, float | None]:
    return {
        "fact_precision": _ratio(total.correct, total.stated),
        "fact_recall": _ratio(total.recalled, total.gold),
        "hallucination_rate": _ratio(total.contradicted, total.stated),
        "region_grounding": _ratio(total.parts_grounded, total.parts_named),
    }


# -- confidence intervals ---------------------------------------------------------------------------
def bootstrap_ci(
    n: int, statistic: Callable[[np.ndarray], float | None], resamples: int = 1000, seed: int = 0
) -> list[float] | None:
    """95 % percentile interval of `statistic(indices)` over resamples of the n items."""
    return bootstrap_cis(n, lambda idx: {"value": statistic(idx)}, resamples, seed).get("value")


def bootstrap_cis(
    n: int,
    statistic: Callable[[np.ndarray], dict[str, float | None]],
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95 % percentile intervals of several named statistics over the same resamples: one pass
    when the statistics share their work (a confusion matrix gives accuracy, UAR and each recall).
    A name whose statistic was None in every resample has no interval (absent from the result)."""
    if n < 2 or resamples < 1:
        return {}
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = defaultdict(list)
    for _ in range(resamples):
        for name, value in statistic(rng.integers(0, n, n)).items():
            if value is not None:
                values[name].append(value)
    return {name: [float(v) for v in np.percentile(found, [2.5, 97.5])] for name, found in values.items()}
