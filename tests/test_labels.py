"""Labels on real images with the real models: AUs per region, emotion and age per face, text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

import facefocal_data as ff
from facefocal_data.config import Recipe, with_settings
from facefocal_data.describe.factcheck import au_mentions, check_aus, check_region
from facefocal_data.describe.template import describe_region
from facefocal_data.engines import open_builder
from facefocal_data.errors import RecipeError
from facefocal_data.faces import Face, FaceAnalyzer
from facefocal_data.facs import AU_NAMES
from facefocal_data.labels.age import AgeGenderAge, age_bin, summarise
from facefocal_data.labels.au_baseline import choose_baseline, largest
from facefocal_data.labels.au_blendshapes import SUPPORTED, BlendshapeAUEstimator
from facefocal_data.labels.au_geometry import geometric_activations, measures, read_face
from facefocal_data.labels.au_prior import PRIOR_AUS, PRIOR_TAG, excluded, shift
from facefocal_data.labels.stage import PROB_FLOOR, Labeler, apply_temperature, scale_interval
from facefocal_data.models.manifest import MODELS
from facefocal_data.pipeline import check_names
from facefocal_data.record import FaceRecord
from facefocal_data.regions.proposer import RegionProposer
from facefocal_data.sources import SourceItem
from facefocal_data.stages import WorkItem

from .conftest import ASTRONAUT, TEMPLATE_RECIPE


def _records(rgb: np.ndarray, recipe: Recipe | None = None) -> list[FaceRecord]:
    recipe = recipe or Recipe.model_validate(TEMPLATE_RECIPE)
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    work = WorkItem(SourceItem("astronaut.png", ASTRONAUT, "examples"), rgb=rgb)
    work.scan = analyzer.scan(rgb)
    open_builder(recipe, analyzer.geometry_source, describe=True)([work])
    analyzer.close()
    assert not work.events, work.events
    return work.records


@pytest.fixture(scope="module")
def astronaut(astronaut_rgb: np.ndarray) -> FaceRecord:
    [record] = _records(astronaut_rgb)
    return record


@pytest.fixture(scope="module")
def mirrored(astronaut_rgb: np.ndarray) -> FaceRecord:
    [record] = _records(np.ascontiguousarray(astronaut_rgb[:, ::-1]))
    return record


def _region(record: FaceRecord, rid: str):  # type: ignore[no-untyped-def]
    return next(r for r in record.regions if r.region_id == rid)


def _present(record: FaceRecord, rid: str) -> set[str]:
    return {a.au for a in _region(record, rid).aus if a.present}


def test_smile_gives_au12_in_the_mouth_happiness_and_a_plausible_age(astronaut: FaceRecord) -> None:
    assert "AU12" in _present(astronaut, "mouth")
    assert "AU25" in _present(astronaut, "mouth")
    assert "AU12" not in {a.au for a in _region(astronaut, "forehead").aus}
    assert astronaut.emotion is not None and astronaut.emotion.label == "happiness"
    assert astronaut.emotion.probs["happiness"] == max(astronaut.emotion.probs.values())
    assert abs(sum(astronaut.emotion.probs.values()) - 1) < 1e-3
    assert astronaut.age is not None and astronaut.age.years is not None
    assert 20 <= astronaut.age.years <= 50
    low, high = astronaut.age.interval or (0, 0)
    assert low <= astronaut.age.years <= high and astronaut.age.spread and astronaut.age.spread > 0
    assert astronaut.age.bin == age_bin(astronaut.age.years, Recipe().labels.age.bins)[0]


def test_at_least_17_aus_with_canonical_names(astronaut: FaceRecord) -> None:
    assert len(SUPPORTED) >= 17
    full = _region(astronaut, "full_face")
    assert len(full.aus) >= 17
    for label in full.aus:
        assert label.name == AU_NAMES[label.au]


def test_regions_carry_only_aus_they_can_show(astronaut: FaceRecord) -> None:
    for region in astronaut.regions:
        assert {a.au for a in region.aus} <= set(region.observable_aus)


def test_every_label_is_typed_with_confidence_and_model_provenance(astronaut: FaceRecord) -> None:
    model_ids = [m.short_id for m in MODELS]
    assert astronaut.emotion is not None and astronaut.age is not None
    sources = [astronaut.emotion.source, astronaut.age.source]
    for region in astronaut.regions:
        for label in region.aus:
            assert label.value_type == "activation" and label.value is not None and 0 <= label.value <= 1
            assert label.confidence is not None and 0 < label.confidence <= 1
            assert isinstance(label.present, bool)
            sources.append(label.source)
    for source in sources:
        assert any(mid in source for mid in model_ids), source
        assert re.search(r"@sha256:[0-9a-f]{12}", source)
    assert astronaut.emotion.confidence is not None and not astronaut.emotion.uncertain


def test_mirror_keeps_the_aus_and_swaps_the_sides(astronaut: FaceRecord, mirrored: FaceRecord) -> None:
    """Mirroring swaps which region is the subject's left; the present AUs stay the same.

    Values are not compared side for side: the blendshape model itself is not mirror-symmetric
    (eyeSquintLeft reads higher than eyeSquintRight on both the photo and its mirror).
    """
    assert mirrored.emotion is not None and mirrored.emotion.label == "happiness"
    for rid in ("mouth", "full_face", "nose", "chin"):
        _same_calls(_clear_calls(astronaut, rid), _clear_calls(mirrored, rid), rid)
    assert _clear_calls(mirrored, "mouth")["AU12"] is True
    pairs = [
        ("eye_left", "eye_right"),
        ("brow_left", "brow_right"),
        ("cheek_lower_left", "cheek_lower_right"),
        ("nasolabial_left", "nasolabial_right"),
        ("cheek_upper_left", "cheek_upper_right"),
    ]
    for left, right in pairs:
        x1, y1, x2, y2 = _region(astronaut, left).bbox_xyxy
        mx1, my1, mx2, my2 = _region(mirrored, right).bbox_xyxy
        assert [448 - x2, y1, 448 - x1, y2] == pytest.approx([mx1, my1, mx2, my2], abs=10), left
        _same_calls(_clear_calls(astronaut, left), _clear_calls(mirrored, right), left)


def _clear_calls(record: FaceRecord, rid: str) -> dict[str, bool]:
    """AU -> present, for labels at least 0.1 away from their threshold: calls noise cannot flip."""
    thresholds = Recipe().labels.au
    return {
        a.au: bool(a.present)
        for a in _region(record, rid).aus
        if a.value is not None and abs(a.value - thresholds.threshold_for(a.au)) > 0.1
    }


def _same_calls(a: dict[str, bool], b: dict[str, bool], where: str) -> None:
    """Both regions make the same call on every AU they both measure (a box edge may add one)."""
    shared = set(a) & set(b)
    assert len(shared) >= min(len(a), len(b)) - 1, where
    assert {k: a[k] for k in shared} == {k: b[k] for k in shared}, where


def test_present_threshold_comes_from_the_recipe(astronaut_rgb: np.ndarray, astronaut: FaceRecord) -> None:
    recipe = Recipe.model_validate({**TEMPLATE_RECIPE, "labels": {"au": {"thresholds": {"AU09": 0.05}}}})
    [record] = _records(astronaut_rgb, recipe)
    label = next(a for a in _region(record, "full_face").aus if a.au == "AU09")
    assert label.present and label.value is not None and 0.05 < label.value < 0.5
    default = next(a for a in _region(astronaut, "full_face").aus if a.au == "AU09")
    assert not default.present and default.value == label.value  # the default recipe's 0.32


def test_fer_backend_and_disabled_estimators(astronaut_rgb: np.ndarray) -> None:
    recipe = Recipe.model_validate(
        {**TEMPLATE_RECIPE, "labels": {"emotion": {"backend": "fer"}, "age": {"backend": "none"}}}
    )
    [record] = _records(astronaut_rgb, recipe)
    assert record.emotion is not None and record.emotion.label == "happiness"
    assert "fer_emotion@sha256:" in record.emotion.source
    assert record.age is None
    assert "age" not in (record.face_description.text.lower() if record.face_description else "")


def test_template_text_is_faithful_for_every_region(astronaut: FaceRecord, mirrored: FaceRecord) -> None:
    for record in (astronaut, mirrored):
        assert record.face_description is not None
        for region in record.regions:
            assert region.description is not None
            text = region.description.text
            assert check_region(text, region) == [], (region.region_id, text)
            for label in region.aus:
                if label.present:
                    assert f"{label.au} ({label.name})" in text
    mouth = _region(astronaut, "mouth").description
    assert mouth is not None and "the mouth" in mouth.text.lower() and "happiness" in mouth.text


@pytest.mark.unit
def test_fact_check_catches_wrong_aus_and_wrong_names() -> None:
    assert check_aus("a strong AU12 (Lip Corner Puller)", {"AU12"}) == []
    assert check_aus("AU15 (Lower Lip Depressor) is visible", {"AU15"}) == [
        "AU15 is called 'Lower Lip Depressor'; its FACS name is 'Lip Corner Depressor'"
    ]
    assert "AU04 is named but not present in the region" in check_aus("AU4 (Brow Lowerer)", {"AU12"})
    assert check_aus("AU 26 shows", {"AU26"}) == ["AU26 is named without its FACS name"]
    assert au_mentions("AU1 (Inner Brow Raiser) and AU 25") == [("AU01", "Inner Brow Raiser"), ("AU25", None)]


def test_template_is_deterministic_and_varies_with_the_seed(astronaut: FaceRecord) -> None:
    texts = {r.region_id: describe_region(astronaut, r, seed=0).text for r in astronaut.regions}
    again = {r.region_id: describe_region(astronaut, r, seed=0).text for r in astronaut.regions}
    assert texts == again
    other = {r.region_id: describe_region(astronaut, r, seed=1).text for r in astronaut.regions}
    assert texts != other
    assert len(set(texts.values())) == len(texts)  # no two regions get the same sentence


@pytest.mark.unit
@pytest.mark.parametrize(
    ("years", "expected"),
    [(0.25, "0-2"), (2.9, "0-2"), (3, "3-9"), (36.8, "30-39"), (70, "70+"), (95, "70+")],
)
def test_age_bins(years: float, expected: str) -> None:
    assert age_bin(years, [0, 3, 10, 20, 30, 40, 50, 60, 70])[0] == expected


def test_age_at_the_models_top_is_flagged_not_clipped(
    astronaut: FaceRecord, astronaut_rgb: np.ndarray
) -> None:
    import copy

    from facefocal_data.schema import row_problems

    assert astronaut.age is not None and astronaut.age.range_edge is None  # ~30 y: inside the range
    face = FaceAnalyzer().scan(astronaut_rgb).faces[0]
    reading = AgeGenderAge().estimate(astronaut_rgb, face)
    assert reading.range_edge is None and reading.probs[-1] < 0.5
    # the same reading with the mass moved into the last bin ("80 and over"): censored, so flagged
    probs = np.asarray(reading.probs)
    top = summarise(np.concatenate([probs[:-1] * 0.3, [probs[-1] * 0.3 + 0.7]]))
    assert top.range_edge == "above" and top.years < 80
    record = copy.deepcopy(astronaut)
    assert record.age is not None
    record.age.range_edge = "above"
    assert row_problems(record.to_row()) == []
    back = FaceRecord.from_row(record.to_row())
    assert back.age is not None and back.age.range_edge == "above"
    older = record.to_row()
    del older["age"]["range_edge"]  # a build from before the flag still reads
    assert row_problems(older) == [] and FaceRecord.from_row(older).age.range_edge is None  # type: ignore[union-attr]
    text = describe_region(record, record.regions[0], seed=0).text
    assert f"at least {round(record.age.years)} years" in text and "interval" not in text
    record.age.range_edge = "sideways"
    assert any("range_edge" in p for p in row_problems(record.to_row()))


def test_ground_truth_wins_and_keeps_the_estimate(astronaut_rgb: np.ndarray) -> None:
    from facefocal_data.schema import row_problems

    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    truth = {"aus": {"AU12": 1, "AU4": 0}, "emotion": "happiness", "age": 44}
    work = WorkItem(SourceItem("astronaut.png", ASTRONAUT, "mydata", ground_truth=truth), rgb=astronaut_rgb)
    work.scan = analyzer.scan(astronaut_rgb)
    open_builder(recipe, analyzer.geometry_source, describe=True)([work])
    analyzer.close()
    [record] = work.records
    au12 = next(a for a in _region(record, "mouth").aus if a.au == "AU12")
    assert (au12.value, au12.value_type, au12.present, au12.source) == (1.0, "binary", True, "gt:mydata")
    assert au12.estimate is not None and "face_landmarker@sha256:" in au12.estimate.source
    assert au12.estimate.value is not None and au12.estimate.value > 0.5
    au04 = next(a for a in _region(record, "glabella").aus if a.au == "AU04")
    assert au04.present is False and au04.source == "gt:mydata"
    assert record.emotion is not None and record.emotion.source == "gt:mydata"
    assert record.emotion.estimate is not None and record.emotion.estimate.label == "happiness"
    assert record.age is not None and (record.age.years, record.age.bin) == (44.0, "40-49")
    assert record.age.estimate is not None and "faceapi_age@sha256:" in record.age.estimate.source
    # the full reading is kept beside the truth: what audit scores and calibrate fits to
    emo = record.emotion.estimate
    assert emo.probs is not None and len(emo.probs) == 7 and abs(sum(emo.probs.values()) - 1) < 1e-3
    assert emo.value == max(emo.probs.values()) and emo.uncertain is (emo.value < 0.5)
    age = record.age.estimate
    assert age.interval is not None and age.interval[0] <= age.value <= age.interval[1]
    assert age.spread is not None and age.spread > 0
    assert au12.estimate.present is True
    mouth = _region(record, "mouth")
    assert mouth.description is not None and "AU12 (Lip Corner Puller)" in mouth.description.text
    assert check_region(mouth.description.text, mouth) == []
    assert row_problems(record.to_row()) == []
    back = FaceRecord.from_row(record.to_row())  # stored as float32: equal to about 1e-6
    assert back.emotion is not None and back.emotion.estimate is not None
    assert back.emotion.estimate.probs == pytest.approx(emo.probs, abs=1e-6)
    assert back.emotion.estimate.uncertain is emo.uncertain
    assert back.age is not None and back.age.estimate is not None
    assert back.age.estimate.interval == pytest.approx(age.interval)


@pytest.mark.unit
def test_temperature_and_interval_scale_are_applied_and_default_to_no_change() -> None:
    probs = {"happiness": 0.9, "neutral": 0.08, "anger": 0.02, "fear": 0.0}
    assert apply_temperature(probs, 1.0) is probs
    soft = apply_temperature(probs, 2.0)
    expected = {k: max(v, PROB_FLOOR) ** 0.5 for k, v in probs.items()}  # a stored 0 was under 5e-6
    total = sum(expected.values())
    assert soft == pytest.approx({k: v / total for k, v in expected.items()}, abs=1e-5)
    assert max(soft, key=soft.__getitem__) == "happiness" and soft["happiness"] < 0.9
    sharp = apply_temperature(probs, 0.5)
    assert sharp["happiness"] > 0.9 and abs(sum(sharp.values()) - 1) < 1e-4
    assert scale_interval(30.0, (25.0, 40.0), 1.0, 0.0) == [25.0, 40.0]
    assert scale_interval(30.0, (25.0, 40.0), 2.0, 0.0) == [20.0, 50.0]
    assert scale_interval(30.0, (30.0, 30.0), 2.0, 1.5) == [28.5, 31.5]  # never zero width
    assert scale_interval(1.0, (0.25, 2.0), 3.0, 0.0) == [0.0, 4.0]  # ages stay ≥ 0
    assert scale_interval(30.0, None, 2.0, 1.0) is None


def test_recipe_temperature_softens_the_label_and_sets_uncertain(astronaut_rgb: np.ndarray) -> None:
    recipe = Recipe.model_validate({"labels": {"au": {"backend": "none"}, "age": {"backend": "none"}}})
    hot = Recipe.model_validate(
        {"labels": {"au": {"backend": "none"}, "age": {"backend": "none"}, "emotion": {"temperature": 50}}}
    )
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    [face] = analyzer.scan(astronaut_rgb).faces
    analyzer.close()
    plain, soft = (
        Labeler(recipe.labels).label_emotion(astronaut_rgb, face),
        Labeler(hot.labels).label_emotion(astronaut_rgb, face),
    )
    assert plain is not None and soft is not None
    assert plain.label == soft.label == "happiness" and not plain.uncertain
    assert soft.confidence is not None and soft.confidence < 0.5 and soft.uncertain


# -- AUs from pose-free geometry ---------------------------------------------------------------


@pytest.fixture(scope="module")
def example_faces(astronaut_rgb: np.ndarray) -> dict[str, tuple[np.ndarray, Face]]:
    """The smiling astronaut and the cameraman (a neutral face, turned ~55°), largest face each."""
    camera = np.asarray(Image.open(ASTRONAUT.parent / "camera.png").convert("RGB"))
    analyzer = FaceAnalyzer()
    images = {"astronaut": astronaut_rgb, "camera": camera}
    faces = {name: (rgb, largest(analyzer.scan(rgb).faces)) for name, rgb in images.items()}
    analyzer.close()
    return faces


def _present_aus(rgb: np.ndarray, face: Face, baseline: Any = None, spread: float = 1.0) -> set[str]:
    values = BlendshapeAUEstimator().estimate_face(rgb, face, baseline, spread)
    au_cfg = Recipe().labels.au
    return {au for au, v in values.items() if max(v.left, v.right) >= au_cfg.threshold_for(au)}


def test_smile_fires_au12_and_not_the_brow_or_lip_depressor_aus(example_faces: dict[str, Any]) -> None:
    present = _present_aus(*example_faces["astronaut"])
    assert {"AU12", "AU10"} <= present
    assert not present & {"AU01", "AU02", "AU04", "AU15", "AU20"}  # a smile does not stretch the lips


def test_a_neutral_face_raises_no_brows_and_does_not_smile(example_faces: dict[str, Any]) -> None:
    assert not _present_aus(*example_faces["camera"]) & {"AU01", "AU02", "AU12"}


def test_geometry_ignores_head_rotation_face_size_and_position(example_faces: dict[str, Any]) -> None:
    """The measures are taken in the face's own frame: rotating, scaling and moving the real mesh
    in 3D leaves every one of them as it was."""
    _, face = example_faces["astronaut"]
    before = measures(face.points)
    rng = np.random.default_rng(0)
    for _ in range(5):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        angle = np.radians(rng.uniform(-35, 35))
        cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
        moved = face.points @ rotation.T * rng.uniform(0.3, 3.0) + rng.uniform(-500, 500, size=3)
        for side_before, side_after in zip(before, measures(moved), strict=True):
            assert side_after == pytest.approx(side_before, abs=1e-6)


def test_rolled_and_smaller_images_keep_the_aus(example_faces: dict[str, Any]) -> None:
    """On the pixels, not just the mesh: the landmarker sees a rolled and a half-size astronaut."""
    rgb, face = example_faces["astronaut"]
    plain = geometric_activations(face.blendshapes, face.points)
    rolled = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((256.0, 256.0), 20, 1.0), (512, 512))
    small = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA)
    analyzer = FaceAnalyzer()
    for image in (rolled, small):
        other = largest(analyzer.scan(image).faces)
        moved = geometric_activations(other.blendshapes, other.points)
        for au, (right, left) in plain.items():
            assert max(moved[au]) == pytest.approx(max(right, left), abs=0.15), au
    analyzer.close()


def test_subject_baseline_is_the_neutral_images_else_the_least_expressive(
    example_faces: dict[str, Any],
) -> None:
    smile = read_face(example_faces["astronaut"][1].blendshapes, example_faces["astronaut"][1].points)
    calm = read_face(example_faces["camera"][1].blendshapes, example_faces["camera"][1].points)
    assert choose_baseline([(smile, False), (calm, False)]) is calm  # no labels: the least expressive
    assert choose_baseline([(smile, True), (calm, False)]) == smile  # the source says it is neutral
    both = choose_baseline([(smile, True), (calm, True)])
    key = "inner_corner_lift"
    assert both[0][key] == pytest.approx((smile[0][key] + calm[0][key]) / 2)
    # against itself a smile is no smile: the geometry measures change from the person's own face
    rgb, face = example_faces["astronaut"]
    assert "AU12" not in _present_aus(rgb, face, baseline=smile, spread=0.25)


def test_subject_baseline_build_measures_each_subject_against_its_neutral_image(
    astronaut_rgb: np.ndarray, tmp_path: Path
) -> None:
    """A manifest with a subject (the astronaut, once labelled neutral, once as a padded copy) and
    an image without one: the subject's faces are read against the neutral one, the other as usual."""
    images = tmp_path / "images"
    images.mkdir()
    padded = np.zeros((640, 640, 3), np.uint8)
    padded[64:576, 64:576] = astronaut_rgb
    Image.fromarray(astronaut_rgb).save(images / "neutral.png")
    Image.fromarray(padded).save(images / "padded.png")
    Image.fromarray(padded[32:, 32:].copy()).save(images / "alone.png")
    rows = "path,subject_id,emotion\nimages/neutral.png,s1,neutral\nimages/padded.png,s1,happiness\n"
    (tmp_path / "list.csv").write_text(rows + "images/alone.png,,happiness\n")
    settings = {"source.kind": "manifest", "describe.describer": "none", "labels.au.subject_baseline": True}
    ff.build(tmp_path / "list.csv", tmp_path / "out", with_settings(Recipe(), settings))
    mouths = {}
    for part in sorted((tmp_path / "out" / "shards").glob("*.parquet")):
        for row in pq.read_table(part, columns=["source_path", "regions"]).to_pylist():
            mouth = next(r for r in row["regions"] if r["region_id"].endswith("mouth"))
            mouths[Path(row["source_path"]).stem] = {a["au"]: a for a in mouth["aus"]}
    assert set(mouths) == {"neutral", "padded", "alone"}
    assert mouths["neutral"]["AU12"]["value"] == 0.0 and not mouths["neutral"]["AU12"]["present"]
    assert mouths["padded"]["AU12"]["source"].endswith("+subject-baseline")
    assert mouths["alone"]["AU12"]["present"] and "subject-baseline" not in mouths["alone"]["AU12"]["source"]


def test_subject_baseline_needs_the_mediapipe_backend() -> None:
    recipe = Recipe.model_validate({"labels": {"au": {"backend": "pyfeat", "subject_baseline": True}}})
    with pytest.raises(RecipeError, match="subject_baseline"):
        check_names(recipe)


def _mouth_aus(labeler: Labeler, rgb: np.ndarray) -> tuple[dict[str, Any], Any]:
    """The astronaut's mouth region labelled by `labeler` with the face's real emotion, and that emotion."""
    analyzer = FaceAnalyzer()
    [face] = analyzer.scan(rgb).faces
    analyzer.close()
    regions = RegionProposer().propose(face.points, "r")
    emotion = labeler.label_emotion(rgb, face)
    labeler.label_regions(rgb, face, regions, emotion=emotion)
    mouth = next(r for r in regions if r.region_id.endswith("mouth"))
    return {a.au: a for a in mouth.aus}, emotion


def test_the_expression_prior_moves_only_the_geometric_aus(astronaut_rgb: np.ndarray) -> None:
    """The smiling astronaut (happiness ~0.95): each geometric AU moves by exactly the prior's
    shift and says so in its source; the blendshape-only AUs are untouched."""
    on = Labeler(Recipe().labels)
    no_prior = {"labels.au.emotion_prior": 0, "labels.au.neutral_prior": 0}
    off = Labeler(with_settings(Recipe(), no_prior).labels)
    (with_prior, probs), (without, _) = _mouth_aus(on, astronaut_rgb), _mouth_aus(off, astronaut_rgb)
    assert probs is not None and probs.label == "happiness"
    assert set(with_prior) == set(without)
    for au, label in with_prior.items():
        if au in PRIOR_AUS:
            moved = shift(probs.probs, au, on.cfg.au.emotion_prior, on.cfg.au.neutral_prior)
            expected = min(1.0, max(0.0, without[au].value + moved))
            assert label.value == pytest.approx(expected, abs=2e-4), au
            assert label.source.endswith(PRIOR_TAG)
        else:
            assert (label.value, label.source) == (without[au].value, without[au].source)
    assert with_prior["AU12"].present and not with_prior["AU15"].present  # a smile lends no frown


def test_lips_apart_are_never_also_pressed_together(astronaut_rgb: np.ndarray) -> None:
    """The astronaut's lips are apart (AU25) while the lip-press channel reads 0.13, above AU24's
    threshold: AU24 keeps its value but is not present, so no text says both."""
    mouth, _ = _mouth_aus(Labeler(Recipe().labels), astronaut_rgb)
    assert mouth["AU25"].present
    assert mouth["AU24"].value >= Recipe().labels.au.threshold_for("AU24")
    assert not mouth["AU24"].present
    assert excluded({"AU25", "AU12"}) == {"AU24"} and excluded({"AU43"}) == {"AU05"}
