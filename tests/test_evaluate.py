"""`facefocal evaluate`: every metric on a small hand-computed case, cross-checked with scikit-learn."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
)
from sklearn.preprocessing import MultiLabelBinarizer
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.describe.compose import compose_region
from facefocal_data.describe.facts import region_facts
from facefocal_data.evaluate import evaluate
from facefocal_data.evaluate.metrics import (
    FactCount,
    age_scores,
    au_scores,
    emotion_scores,
    fact_count,
    faithfulness,
    text_scores,
)
from facefocal_data.exporters.base import iter_records


def test_au_scores_by_hand_and_against_sklearn() -> None:
    gold = [{"AU12", "AU25"}, {"AU12"}, set(), {"AU04"}]
    pred = [{"AU12"}, {"AU12", "AU04"}, {"AU25"}, set()]
    scores = au_scores(gold, pred)
    # AU12: tp 2, fp 0, fn 0 -> 1.0; AU25: tp 0 fp 1 fn 1 -> 0; AU04: tp 0 fp 1 fn 1 -> 0
    assert scores["per_au"]["AU12"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert scores["per_au"]["AU25"]["f1"] == scores["per_au"]["AU04"]["f1"] == 0.0
    assert scores["macro_f1"] == pytest.approx(1 / 3)
    binarizer = MultiLabelBinarizer(classes=sorted(scores["per_au"]))
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(pred)
    assert scores["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    p, r, _, _ = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    assert [v["precision"] for v in scores["per_au"].values()] == pytest.approx(list(p))
    assert [v["recall"] for v in scores["per_au"].values()] == pytest.approx(list(r))


def test_emotion_scores_by_hand_and_against_sklearn() -> None:
    gold = ["happiness", "happiness", "happiness", "sadness", "anger"]
    pred = ["happiness", "happiness", "sadness", "sadness", None]
    scores = emotion_scores(gold, pred)
    assert scores["accuracy"] == scores["war"] == pytest.approx(3 / 5)
    assert scores["uar"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # recall per gold class, averaged
    assert scores["accuracy"] == pytest.approx(accuracy_score(gold, [p or "none" for p in pred]))
    with pytest.warns(UserWarning):  # sklearn notes the "none" prediction no gold label has
        assert scores["uar"] == pytest.approx(balanced_accuracy_score(gold, [p or "none" for p in pred]))
    confusion = scores["confusion"]
    assert confusion["rows"] == ["anger", "happiness", "sadness"] and confusion["columns"][-1] == "none"
    expected = confusion_matrix(gold, [p or "none" for p in pred], labels=confusion["columns"])
    assert confusion["matrix"] == expected[: len(confusion["rows"])].tolist()


def test_age_scores_by_hand_and_against_sklearn() -> None:
    edges = [0, 3, 10, 20, 30, 40, 50, 60, 70]
    gold, pred = [25.0, 34.0, 61.0], [29.0, 41.0, None]
    scores = age_scores(gold, pred, edges)
    assert scores["mae"] == pytest.approx((4 + 7) / 2) == mean_absolute_error(gold[:2], pred[:2])
    assert scores["bin_accuracy"] == pytest.approx(1 / 3)  # 25/29 same bin; 34/41 neighbours; none missing
    assert scores["within_one_bin"] == pytest.approx(2 / 3)


def test_text_scores_identity_and_a_hand_computed_bleu_1() -> None:
    same = text_scores(["the mouth shows a smile"], ["the mouth shows a smile"])
    assert same["bleu_1"] == pytest.approx(1.0) and same["bleu_4"] == pytest.approx(1.0)
    assert same["rouge_l"] == pytest.approx(1.0)
    short = text_scores(["the cat sat on the mat"], ["the cat sat"])
    assert short["bleu_1"] == pytest.approx(math.exp(1 - 6 / 3))  # precision 1, brevity penalty e^(1-r/c)
    # ROUGE-L: LCS 3, P = 3/3, R = 3/6 -> F = 2PR/(P+R) = 2/3
    assert short["rouge_l"] == pytest.approx(2 / 3)
    # CIDEr-D by hand: every n-gram occurs in one of the two references, so idf = log 2 > 0; a
    # hypothesis equal to its reference has cosine 1 at every n and no length penalty: 10 x 1 each
    assert text_scores(["a b c d", "e f g h"], ["a b c d", "e f g h"])["cider_d"] == pytest.approx(10.0)
    # one right, one sharing nothing: (10 + 0) / 2
    assert text_scores(["a b c d", "e f g h"], ["a b c d", "x y z w"])["cider_d"] == pytest.approx(5.0)


@pytest.fixture(scope="module")
def mouth(mixed_build):  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    record = next(iter_records(out))
    region = next(r for r in record.regions if r.region_id == "mouth")
    return record, region


def test_right_emotion_but_a_wrong_au_lowers_precision_and_raises_hallucination(mouth) -> None:  # type: ignore[no-untyped-def]
    record, region = mouth
    facts = region_facts(record, region)
    good = region.description.text
    bad = good + " AU04 (Brow Lowerer) is active too."
    right, wrong = faithfulness(fact_count(good, facts)), faithfulness(fact_count(bad, facts))
    assert (
        right["fact_precision"] == 1.0 and right["hallucination_rate"] == 0.0 and right["fact_recall"] == 1.0
    )
    assert wrong["fact_precision"] < right["fact_precision"]
    assert wrong["hallucination_rate"] > 0 and wrong["fact_recall"] == 1.0
    teeth = faithfulness(fact_count(good + " The teeth are visible.", facts))
    assert teeth["region_grounding"] == pytest.approx(1 / 2)
    assert faithfulness(FactCount()) == {
        "fact_precision": None,
        "fact_recall": None,
        "hallucination_rate": None,
        "region_grounding": None,
    }


def test_an_au_stated_in_plain_words_is_credited(mouth) -> None:  # type: ignore[no-untyped-def]
    """`au_naming: plain` names no code: its appearance wording states the AU."""
    record, region = mouth
    facts = region_facts(record, region)
    plain = compose_region(record, region, 0, "plain").text
    assert "AU" not in plain
    score = faithfulness(fact_count(plain, facts))
    assert score["fact_recall"] == 1.0 and score["fact_precision"] == 1.0
    wrong = faithfulness(fact_count(plain + " The brows are lowered and pulled together.", facts))
    assert wrong["hallucination_rate"] > 0


def _perfect_lines(out: Path) -> list[dict]:
    lines = []
    for record in iter_records(out):
        for region in record.regions:
            aus = [a.au for a in region.aus if a.present]
            lines.append(
                {
                    "record_id": record.record_id,
                    "region_id": region.region_id,
                    "text": region.description.text,
                    "aus": aus,
                }
            )
        lines.append(
            {
                "record_id": record.record_id,
                "region_id": "face",
                "text": record.face_description.text,
                "emotion": record.emotion.label,
                "age": record.age.years,
            }
        )
    return lines


def test_a_perfect_prediction_file_scores_one_and_zero_error_everywhere(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    pred = tmp_path / "perfect.jsonl"
    pred.write_text("\n".join(json.dumps(line) for line in _perfect_lines(out)) + "\n")
    results = evaluate(out, pred, resamples=50).results
    overall = results["overall"]
    assert results["skipped"] == {} and results["scored"] == results["lines"]
    assert (
        overall["au"]["macro_f1"] == 1.0
        and overall["emotion"]["accuracy"] == 1.0
        and overall["emotion"]["uar"] == 1.0
    )
    assert overall["age"]["mae"] == 0.0 and overall["age"]["bin_accuracy"] == 1.0
    assert overall["text"]["bleu_4"] == pytest.approx(1.0) and overall["text"]["rouge_l"] == pytest.approx(
        1.0
    )
    faith = overall["faithfulness"]
    assert faith["fact_precision"] == faith["fact_recall"] == 1.0 and faith["hallucination_rate"] == 0.0
    assert faith["region_grounding"] in (None, 1.0)


def test_bad_lines_are_counted_and_the_rest_is_scored(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    good = _perfect_lines(out)[:3]
    lines = [json.dumps(line) for line in good]
    lines += [
        "{not json",
        json.dumps({"record_id": "0" * 20, "region_id": "mouth", "text": "x"}),
        json.dumps({"record_id": good[0]["record_id"], "region_id": "elbow", "text": "x"}),
        json.dumps({"record_id": good[0]["record_id"]}),
        json.dumps(good[1]),
    ]
    pred = tmp_path / "messy.jsonl"
    pred.write_text("\n".join(lines) + "\n")
    evaluation = evaluate(out, pred, resamples=20)
    assert evaluation.report.valid == 3 and evaluation.report.skipped == 5
    assert evaluation.results["skipped"] == {
        "malformed line": 1,
        "unknown record id": 1,
        "unknown region id": 1,
        "missing or invalid fields": 1,
        "duplicate key": 1,
    }
    runner = CliRunner()
    res = runner.invoke(
        app, ["evaluate", str(out), "--pred", str(pred), "--resamples", "20", "-o", str(tmp_path / "r")]
    )
    assert res.exit_code == 0 and "scored 3 of 8 lines; skipped 5" in res.output
    assert (tmp_path / "r" / "results.md").read_text().count("|") > 20
    assert (
        runner.invoke(
            app, ["evaluate", str(out), "--pred", str(pred), "--strict", "--resamples", "0"]
        ).exit_code
        == 1
    )


def test_shuffled_control_scores_clearly_below_the_template_baseline(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = mixed_build
    template = evaluate(out, baseline="template", resamples=50).results["overall"]
    shuffled = evaluate(out, baseline="shuffled", resamples=50).results["overall"]
    majority = evaluate(out, baseline="majority", resamples=50).results["overall"]
    assert shuffled["faithfulness"]["fact_precision"] < template["faithfulness"]["fact_precision"] - 0.2
    assert shuffled["au"]["macro_f1"] < template["au"]["macro_f1"] - 0.3
    assert shuffled["text"]["cider_d"] < template["text"]["cider_d"]
    assert "emotion" in majority and majority["au"]["macro_f1"] < template["au"]["macro_f1"]


def test_template_baseline_reads_the_estimators_labels_not_the_ground_truth(mixed_build) -> None:  # type: ignore[no-untyped-def]
    from facefocal_data.evaluate import baseline_predictions
    from facefocal_data.labels.stage import apply_ground_truth

    out, _ = mixed_build
    record = next(iter_records(out))
    assert record.emotion.label == "happiness"
    apply_ground_truth(record, {"emotion": "sadness", "age": 70}, "lab", [0, 3, 10, 20, 30, 40, 50, 60, 70])
    texts = [p.text for p in baseline_predictions([record], "template")]
    assert texts and all("happiness" in t and "sadness" not in t for t in texts)
    assert not any("70 years" in t for t in texts)
