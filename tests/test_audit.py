"""`facefocal audit` and `calibrate` on real images and models, against numbers recomputed here.

Two manifests over the examples (and flipped / padded copies made here) carry ground truth the
test chooses: right for the astronaut's smile, wrong on purpose for the cameraman ("neutral":
the model says sadness at 99-100 %), so the audit has errors to find and calibrate has an
over-confident model to soften. Both manifests are built into one build.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image, ImageOps
from typer.testing import CliRunner

import facefocal_data as ff
from facefocal_data.cli import app
from facefocal_data.config import load_recipe, with_settings
from facefocal_data.labels.stage import apply_temperature
from facefocal_data.models.store import sha256_file
from facefocal_data.record import ESTIMATE_DETAIL_FIELDS
from facefocal_data.truth.calibration import fit_uncertain_below
from facefocal_data.validate import validate_dir

from .conftest import EXAMPLES

SMILE = {"emotion": "happiness", "age": 35, "AU06": 1, "AU12": 1}
POSED = {  # astronaut: truth the model should match; cameraman: an emotion it will get wrong
    "astronaut": SMILE,
    "camera": {"emotion": "neutral", "age": 45, "AU06": 0, "AU12": 0},
}
CROWD = {"group_of_six": SMILE, "chelsea": {"emotion": "neutral", "age": 9}}  # the cat has no face


def _variants(name: str, folder: Path) -> list[str]:
    """The example, mirrored and padded: new bytes (not deduplicated), the same face."""
    image = Image.open(EXAMPLES / name).convert("RGB")
    stem = Path(name).stem
    made = {
        f"{stem}.png": image,
        f"flip_{stem}.png": ImageOps.mirror(image),
        f"pad_{stem}.png": ImageOps.expand(image, border=image.width // 4, fill=(128, 128, 128)),
    }
    for file, picture in made.items():
        picture.save(folder / file)
    return list(made)


def _manifest(path: Path, truth: dict[str, dict[str, Any]], extra: list[dict[str, Any]]) -> None:
    images = path.parent / "images"
    rows = []
    for stem, labels in truth.items():
        name = next(p.name for p in EXAMPLES.iterdir() if p.stem == stem)
        rows += [{"path": f"images/{file}", **labels} for file in _variants(name, images)]
    rows += extra
    columns = ["path", "emotion", "age", "AU06", "AU12"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("labelled")
    (root / "images").mkdir()
    (root / "images" / "broken.png").write_bytes((EXAMPLES / "astronaut.png").read_bytes()[:3000])
    _manifest(root / "posed.csv", POSED, [])
    _manifest(root / "crowd.csv", CROWD, [{"path": "images/broken.png", "emotion": "fear"}])
    return {"root": root, "posed": root / "posed.csv", "crowd": root / "crowd.csv"}


UNCALIBRATED = {
    "labels.au.thresholds": {"AU05": 0.05, "AU14": 0.3, "AU18": 0.3, "AU22": 0.3, "AU24": 0.3},
    "labels.emotion.temperature": 1.0,
    "labels.emotion.uncertain_below": 0.5,
    "labels.age.interval_scale": 1.0,
    "labels.age.min_half_width": 0.0,
}


def _recipe():  # type: ignore[no-untyped-def]
    """The default recipe without its calibration (manifest source, no descriptions), so the tests
    see what calibrate fits from the model's raw reading."""
    settings = {"source.kind": "manifest", "describe.describer": "none", **UNCALIBRATED}
    return with_settings(load_recipe(), settings)


@pytest.fixture(scope="module")
def audited(labelled: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """posed.csv built by audit itself (input + source), crowd.csv added to the same build."""
    out = tmp_path_factory.mktemp("audit") / "build"
    ff.audit(labelled["posed"], source="manifest", out=out, recipe=_recipe(), resamples=10)
    ff.build(labelled["crowd"], out, _recipe())
    return out, ff.audit(out, resamples=200)


def _rows(out: Path) -> pd.DataFrame:
    rows = [r for p in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    return pd.DataFrame(rows)


def _face_aus(regions: list[dict[str, Any]], au: str) -> tuple[bool, bool] | None:
    """(truth, estimate) at face level: present in any region that lists the AU."""
    labels = [a for r in regions for a in r["aus"] if a["au"] == au and a["source"].startswith("gt:")]
    if not labels:
        return None
    return any(a["present"] for a in labels), any(a["estimate"]["present"] for a in labels)


def _expected(frame: pd.DataFrame) -> dict[str, Any]:
    """The audit's headline numbers, computed here from the stored rows, independently."""
    emotion = pd.DataFrame(
        {
            "gold": frame["emotion"].map(lambda e: e["label"]),
            "pred": frame["emotion"].map(lambda e: e["estimate"]["label"]),
            "conf": frame["emotion"].map(lambda e: e["estimate"]["value"]),
            "sure": frame["emotion"].map(lambda e: not e["estimate"]["uncertain"]),
        }
    )
    emotion["hit"] = emotion["gold"] == emotion["pred"]
    bins = np.clip(np.ceil(emotion["conf"] * 10) - 1, 0, 9)
    cells = emotion.groupby(bins).agg(n=("hit", "size"), acc=("hit", "mean"), conf=("conf", "mean"))
    age = pd.DataFrame(
        {
            "gold": frame["age"].map(lambda a: a["years"]),
            "pred": frame["age"].map(lambda a: a["estimate"]["value"]),
            "low": frame["age"].map(lambda a: a["estimate"]["interval"][0]),
            "high": frame["age"].map(lambda a: a["estimate"]["interval"][1]),
        }
    )
    au06 = pd.DataFrame([_face_aus(r, "AU06") for r in frame["regions"]], columns=["gold", "pred"])
    tp = int((au06["gold"] & au06["pred"]).sum())
    return {
        "accuracy": emotion["hit"].mean(),
        "uar": emotion.groupby("gold")["hit"].mean().mean(),
        "ece": float((cells["n"] / len(emotion) * (cells["acc"] - cells["conf"]).abs()).sum()),
        "not_uncertain_accuracy": emotion.loc[emotion["sure"], "hit"].mean()
        if emotion["sure"].any()
        else None,
        "coverage": emotion["sure"].mean(),
        "mae": (age["gold"] - age["pred"]).abs().mean(),
        "interval_coverage": ((age["low"] <= age["gold"]) & (age["gold"] <= age["high"])).mean(),
        "mean_width": (age["high"] - age["low"]).mean(),
        "zero_width": int((age["high"] == age["low"]).sum()),
        "au06_precision": tp / au06["pred"].sum(),
        "au06_recall": tp / au06["gold"].sum(),
    }


def _observed(group: dict[str, Any]) -> dict[str, Any]:
    emotion, age, au06 = group["emotion"], group["age"], group["au"]["per_au"]["AU06"]
    return {
        "accuracy": emotion["accuracy"],
        "uar": emotion["uar"],
        "ece": emotion["ece"],
        "not_uncertain_accuracy": emotion["not_uncertain"]["accuracy"],
        "coverage": emotion["not_uncertain"]["coverage"],
        "mae": age["mae"],
        "interval_coverage": age["interval"]["coverage"],
        "mean_width": age["interval"]["mean_width"],
        "zero_width": age["interval"]["zero_width"],
        "au06_precision": au06["precision"],
        "au06_recall": au06["recall"],
    }


def test_audit_numbers_are_those_recomputed_from_the_shards(audited: tuple[Path, Any]) -> None:
    out, report = audited
    frame = _rows(out)
    assert sorted(frame["source_dataset"].unique()) == ["crowd", "posed"] and len(frame) == 24
    results = report.results
    assert _observed(results["pooled"]) == pytest.approx(_expected(frame), abs=1e-9)
    for name, group in results["by_dataset"].items():
        assert _observed(group) == pytest.approx(_expected(frame[frame["source_dataset"] == name]), abs=1e-9)
    pooled = results["pooled"]["emotion"]
    cameramen = frame[frame["emotion"].map(lambda e: e["label"]) == "neutral"]
    read_neutral = int(sum(e["estimate"]["label"] == "neutral" for e in cameramen["emotion"]))
    assert len(cameramen) == 3 and read_neutral < 3, "the cameraman reads mostly sad to the model"
    assert pooled["n"] == 24 and pooled["accuracy"] == pytest.approx((21 + read_neutral) / 24)
    assert pooled["confusion"]["rows"] == ["happiness", "neutral"]
    assert pooled["confusion"]["matrix"][0][0] == 21 and sum(pooled["confusion"]["matrix"][1]) == 3
    assert pooled["per_class_recall"]["neutral"]["recall"] == pytest.approx(read_neutral / 3)
    assert pooled["per_class_recall"]["happiness"] == {"recall": 1.0, "recall_ci": [1.0, 1.0], "support": 21}
    low, high = pooled["accuracy_ci"]
    assert low < pooled["accuracy"] < high
    assert results["pooled"]["au"]["per_au"]["AU12"]["f1"] == 1.0  # the smile is seen; AU06 partly


def test_detection_rate_counts_images_without_a_face(audited: tuple[Path, Any]) -> None:
    out, report = audited
    errors = pd.concat([pd.read_parquet(p) for p in (out / "errors").glob("*.parquet")])
    frame = _rows(out)
    for name in ("posed", "crowd"):
        mine = errors[errors["source_dataset"] == name]
        with_face = frame.loc[frame["source_dataset"] == name, "source_path"].nunique()
        no_face = mine.loc[mine["kind"] == "no_face", "source_path"].nunique()
        unreadable = mine.loc[mine["stage"] == "decode", "source_path"].nunique()
        expected = {"images": with_face + no_face, "with_face": with_face, "no_face": no_face}
        got = report.results["by_dataset"][name]["detection"]
        assert {k: got[k] for k in expected} == expected and got["unreadable"] == unreadable
        assert got["detection_rate"] == with_face / (with_face + no_face)
    crowd = report.results["by_dataset"]["crowd"]["detection"]
    assert (crowd["with_face"], crowd["no_face"], crowd["unreadable"]) == (3, 3, 1)  # the cats; broken.png
    assert report.results["pooled"]["detection"]["detection_rate"] == 9 / 12


def test_audit_json_keys_plot_and_cli(audited: tuple[Path, Any], tmp_path: Path) -> None:
    out, report = audited
    result = CliRunner().invoke(
        app, ["audit", str(out), "--json", "--resamples", "200", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == report.results == json.loads((tmp_path / "audit.json").read_text())
    assert list(data) == ["build", "resamples", "seed", "bins", "pooled", "by_dataset"]
    group = data["by_dataset"]["posed"]
    assert list(group) == ["detection", "faces", "faces_with_truth", "emotion", "age", "au"]
    assert set(group["emotion"]) >= {"accuracy_ci", "uar", "ece", "reliability", "confusion", "not_uncertain"}
    assert len(group["emotion"]["reliability"]) == 10
    assert set(group["age"]["interval"]) == {
        "n",
        "coverage",
        "coverage_ci",
        "mean_width",
        "mean_width_ci",
        "zero_width",
    }
    assert set(group["au"]["per_au"]["AU06"]) == {
        "faces", "support", "precision", "precision_ci", "recall", "recall_ci", "f1", "f1_ci"
    }  # fmt: skip
    with Image.open(tmp_path / "audit.png") as png:
        assert png.size == (1600, 500)
    table = CliRunner().invoke(
        app, ["audit", str(out), "--resamples", "20", "--plot", str(tmp_path / "p.png")]
    )
    assert table.exit_code == 0 and "emotion UAR" in table.stdout and "AU06 f1" in table.stdout
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_audit_builds_an_input_first_through_the_cli(
    labelled: dict[str, Path], audited: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = audited  # posed.csv is in it already: the build resumes with nothing to do
    recipe = tmp_path / "uncalibrated.yaml"
    recipe.write_text(yaml.safe_dump(_recipe().model_dump(mode="json"), sort_keys=False))
    args = ["audit", str(labelled["posed"]), "--source", "manifest", "--out", str(out), "--json"]
    args += ["--recipe", str(recipe)]
    result = CliRunner().invoke(app, [*args, "--resamples", "10"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["by_dataset"]) == {"posed", "crowd"}
    no_out = CliRunner().invoke(app, ["audit", str(labelled["posed"]), "--source", "manifest"])
    assert no_out.exit_code == 2 and no_out.output.count("\n") == 1 and "give --out" in no_out.output


def test_without_ground_truth_or_folder_exit_2_with_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    ff.build(EXAMPLES / "astronaut.png", plain, with_settings(load_recipe(), {"describe.describer": "none"}))
    for command in (["audit", str(plain)], ["calibrate", str(plain), "--out", str(tmp_path / "r.yaml")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert "has no ground truth" in result.output
    for command in (["audit", str(tmp_path / "nope")], ["calibrate", str(tmp_path / "nope"), "-o", "r.yaml"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2 and result.output.count("\n") == 1 and "does not exist" in result.output
    not_build = CliRunner().invoke(app, ["audit", str(EXAMPLES)])
    assert not_build.exit_code == 2 and "not a build" in not_build.output


def test_calibrate_writes_a_recipe_that_softens_the_wrong_confident_labels(
    labelled: dict[str, Path], audited: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = audited
    path = tmp_path / "calibrated.yaml"
    args = ["calibrate", str(out), "--out", str(path), "--json", "--target-accuracy", "1.0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    fits = json.loads(result.stdout)
    recipe = load_recipe(path)  # the written YAML parses as a Recipe
    built = _recipe()
    emotion = recipe.labels.emotion
    assert emotion.temperature > 1.5  # 3 of 24 labels wrong at 99-100 %: the model is over-confident
    assert fits["emotion"]["nll"]["after"] < fits["emotion"]["nll"]["before"]
    # some cameramen read sad: to be always right, those labels must be marked uncertain, not all
    assert fits["emotion"]["not_uncertain_accuracy"]["after"] == 1.0
    assert 0 < fits["emotion"]["coverage"]["after"] < 1 == fits["emotion"]["coverage"]["before"]
    assert (
        emotion.uncertain_below
        == fits["emotion"]["uncertain_below"]["after"]
        != built.labels.emotion.uncertain_below
    )
    au06 = recipe.labels.au.thresholds["AU06"]  # the smiles' AU06 is 0.44-0.65: 0.5 misses some
    assert au06 < 0.44 and fits["au"]["AU06"]["f1"]["after"] == 1.0 > fits["au"]["AU06"]["f1"]["before"]
    assert recipe.labels.au.thresholds["AU05"] == built.labels.au.thresholds["AU05"]  # no truth: left
    assert "AU04" not in recipe.labels.au.thresholds
    age = recipe.labels.age
    assert age.min_half_width >= 1.0 and fits["age"]["coverage"]["after"] >= 0.8
    assert fits["age"]["zero_width"]["after"] == 0
    assert recipe.model_dump(exclude={"labels", "name"}) == built.model_dump(exclude={"labels", "name"})
    _rebuild_applies_the_fit(labelled["posed"], out, recipe, tmp_path / "again")


def _rebuild_applies_the_fit(manifest: Path, first: Path, recipe: Any, out: Path) -> None:
    """The same images built with the calibrated recipe: what calibrate fitted is what the label
    stage does (temperature before `uncertain`, widened age intervals, the new AU06 threshold)."""
    ff.build(manifest, out, recipe)
    before = _rows(first).set_index("source_path")
    after = _rows(out).set_index("source_path")
    for key, row in after.iterrows():
        old = before.loc[key, "emotion"]["estimate"]
        probs = apply_temperature(
            {p["label"]: p["p"] for p in old["probs"]}, recipe.labels.emotion.temperature
        )
        top = max(probs.values())
        assert row["emotion"]["estimate"]["uncertain"] == (top < recipe.labels.emotion.uncertain_below), key
        assert row["emotion"]["estimate"]["value"] < old["value"]
        low, high = row["age"]["estimate"]["interval"]
        assert high - low >= 2 * recipe.labels.age.min_half_width - 0.02 or low == 0
    gained = sum(e["estimate"]["uncertain"] for e in after["emotion"])
    assert gained > sum(e["estimate"]["uncertain"] for e in before.loc[after.index, "emotion"])
    smiles = after[after.index.str.contains("astronaut")]
    assert all(_face_aus(r, "AU06") == (True, True) for r in smiles["regions"])


def test_a_build_from_before_the_detail_fields_still_validates_and_audits(
    audited: tuple[Path, Any], tmp_path: Path
) -> None:
    """Estimates without probs / uncertain / interval / present: uncertain and present come from
    the build's own thresholds, and the interval block is left out."""
    out, report = audited
    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for part in manifest["parts"]:
        if part.get("shard"):
            path = old / part["shard"]["file"]
            rows = [_strip_details(r) for r in pq.read_table(path).to_pylist()]
            pq.write_table(pa.Table.from_pylist(rows), path)
            part["shard"]["sha256"], part["shard"]["bytes"] = sha256_file(path), path.stat().st_size
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert validate_dir(old).ok, validate_dir(old).problems
    again = ff.audit(old, resamples=10).results["pooled"]
    assert again["emotion"]["accuracy"] == report.results["pooled"]["emotion"]["accuracy"]
    assert (
        again["emotion"]["not_uncertain"]["coverage"]
        == report.results["pooled"]["emotion"]["not_uncertain"]["coverage"]
    )
    assert again["au"]["per_au"]["AU06"]["f1"] == report.results["pooled"]["au"]["per_au"]["AU06"]["f1"]
    assert again["age"]["interval"] is None
    calibration = ff.calibrate(old)
    assert calibration.fits["emotion"] is None and calibration.fits["age"] is None
    assert any("lack class probabilities" in note for note in calibration.notes)


def _strip_details(row: dict[str, Any]) -> dict[str, Any]:
    def strip(label: dict[str, Any] | None) -> None:
        if label and label.get("estimate"):
            label["estimate"] = {
                k: v for k, v in label["estimate"].items() if k not in ESTIMATE_DETAIL_FIELDS
            }

    strip(row["emotion"])
    strip(row["age"])
    for region in row["regions"]:
        for au in region["aus"]:
            strip(au)
    return row


def test_uncertain_below_keeps_ties_together_and_gives_up_when_the_target_is_out_of_reach() -> None:
    top = np.array([0.9, 0.9, 0.8, 0.7, 0.6])
    right = np.array([True, False, True, True, False])
    assert fit_uncertain_below(top, right, 0.75) == (0.65, 0.75, 0.8)
    assert fit_uncertain_below(top, right, 0.6) == (0.6, 0.6, 1.0)  # every face: down to the lowest
    # the first 0.9 alone would be 100 % right, but a cut cannot split equal probabilities
    assert fit_uncertain_below(top, right, 0.9) == (1.0, None, 0.0)  # unreachable: all uncertain
