"""Source adapters on tiny synthetic files in each format (no dataset is redistributed)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from facefocal_data import build
from facefocal_data.config import Recipe, SourceConfig
from facefocal_data.sources import SOURCES, SourceItem
from facefocal_data.vision.image_io import ImageReadError

from .conftest import ASTRONAUT, TEMPLATE_RECIPE, note_case


def _jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.imread(str(ASTRONAUT)))
    return path


def _items(kind: str, input: Path, **config: object) -> list[SourceItem]:
    return list(SOURCES.create(kind, input, SourceConfig(kind=kind, **config)))


def _by_key(items: list[SourceItem]) -> dict[str, SourceItem]:
    return {item.key: item for item in items}


@pytest.fixture
def manifest_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _jpeg(root / "imgs" / "a.jpg")
    _jpeg(root / "imgs" / "b.jpg")
    outside = _jpeg(tmp_path / "secret.jpg")
    (root / "imgs" / "escape.jpg").symlink_to(outside)
    rows = [
        "path,subject_id,split,emotion,age,AU12,au4",
        "imgs/a.jpg,s1,,happy,30,1,0",
        "imgs/b.jpg,s2,test,,,,",
        "../secret.jpg,,,,,,",
        f"{outside},,,,,,",
        "https://example.com/x.jpg,,,,,,",
        "imgs/escape.jpg,,,,,,",
        "imgs/missing.jpg,,,,,,",
        "imgs/a.jpg,,,,,,",
        "imgs/b.jpg?age,,,,-3,,",
        "imgs/c.jpg,,,bored,,,",
        "imgs/d.jpg,,,,,9,",
    ]
    (root / "list.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.unit
def test_manifest_rows_carry_truth_and_unsafe_paths_are_error_items(manifest_root: Path) -> None:
    items = _items("manifest", manifest_root / "list.csv")
    by_key = _by_key(items)
    a = by_key["imgs/a.jpg"]
    assert a.error is None and a.subject_id == "s1" and a.split is None
    assert a.ground_truth == {
        "emotion": "happiness",
        "age": 30.0,
        "aus": {"AU12": 1.0, "AU04": 0.0},
        "au_value_type": "binary",
    }
    assert by_key["imgs/b.jpg"].split == "test" and by_key["imgs/b.jpg"].ground_truth == {}
    assert "'..' would leave the root" in by_key["../secret.jpg"].error
    assert (
        "absolute paths are refused"
        in next(i for i in items if i.key.endswith("secret.jpg") and i.key.startswith("/")).error
    )
    assert "URLs are not read" in by_key["https://example.com/x.jpg"].error
    assert "symlink leads outside the root" in by_key["imgs/escape.jpg"].error
    assert by_key["imgs/missing.jpg"].error is None  # missing files fail at decode, with the reason
    assert "repeats imgs/a.jpg" in by_key["imgs/a.jpg#row9"].error
    assert "age '-3'" in by_key["imgs/b.jpg?age"].error
    assert "unknown emotion 'bored'" in by_key["imgs/c.jpg"].error
    assert "AU12 = 9" in by_key["imgs/d.jpg"].error and "outside 0-1" in by_key["imgs/d.jpg"].error
    note_case("input", "manifest rows: .., absolute, URL, symlink out, bad GT", "error rows with codes")


def test_manifest_build_writes_gt_labels_and_error_rows(manifest_root: Path, tmp_path: Path) -> None:
    recipe = Recipe.model_validate(
        {
            **TEMPLATE_RECIPE,
            "source": {"kind": "manifest", "dedupe": False},
            "regions": {"named": ["mouth"], "boxes": {"count": 0}},
        }
    )
    out = tmp_path / "out"
    summary = build(manifest_root / "list.csv", out, recipe=recipe)
    assert summary.faces == 2 and summary.errors == 9
    rows = {
        r["source_path"]: r for p in (out / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()
    }
    a = rows["imgs/a.jpg"]
    assert a["source_dataset"] == "list" and a["subject_id"] == "s1"
    assert a["emotion"]["label"] == "happiness" and a["emotion"]["source"] == "gt:list"
    assert a["emotion"]["estimate"]["source"].startswith("faceapi_expr@sha256:")
    assert a["age"]["years"] == 30 and a["age"]["source"] == "gt:list"
    [au12] = [x for x in a["regions"][0]["aus"] if x["au"] == "AU12"]
    assert au12["present"] and au12["source"] == "gt:list" and au12["value_type"] == "binary"
    errors = {
        e["source_path"]: e for p in (out / "errors").glob("*.parquet") for e in pq.read_table(p).to_pylist()
    }
    assert (
        errors["../secret.jpg"]["stage"] == "source" and "leave the root" in errors["../secret.jpg"]["reason"]
    )
    assert errors["imgs/missing.jpg"]["stage"] == "decode"
    codes = {name: e["code"] for name, e in errors.items()}
    assert (
        codes["../secret.jpg"]
        == codes["https://example.com/x.jpg"]
        == codes["imgs/escape.jpg"]
        == "E_UNSAFE_PATH"
    )
    assert codes["imgs/missing.jpg"] == "E_MISSING_FILE" and codes["imgs/a.jpg#row9"] == "E_DUPLICATE_ROW"
    assert codes["imgs/b.jpg?age"] == codes["imgs/c.jpg"] == codes["imgs/d.jpg"] == "E_BAD_GROUND_TRUTH"
    assert "E_INTERNAL" not in codes.values()


@pytest.mark.unit
def test_jsonl_manifest_with_an_aus_object_and_a_broken_line(tmp_path: Path) -> None:
    _jpeg(tmp_path / "a.jpg")
    lines = [
        json.dumps({"path": "a.jpg", "aus": {"AU6": 3, "AU12": 4}, "au_value_type": "intensity_0_5"}),
        "{not json",
        json.dumps(["a list"]),
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    items = _items("manifest", tmp_path / "m.jsonl")
    assert items[0].ground_truth == {"aus": {"AU06": 3.0, "AU12": 4.0}, "au_value_type": "intensity_0_5"}
    assert "line 2 is not JSON" in items[1].error and "not a JSON object" in items[2].error


@pytest.mark.unit
def test_rafdb_list_file(tmp_path: Path) -> None:
    _jpeg(tmp_path / "Image" / "original" / "train_00001.jpg")
    _jpeg(tmp_path / "Image" / "original" / "test_0001.jpg")
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text(
        "train_00001.jpg 4\ntest_0001.jpg 1\n../../etc/passwd 9\n"
    )
    items = _by_key(_items("rafdb", tmp_path))
    assert (
        items["train_00001.jpg"].ground_truth == {"emotion": "happiness"}
        and items["train_00001.jpg"].split == "train"
    )
    assert (
        items["test_0001.jpg"].ground_truth == {"emotion": "surprise"}
        and items["test_0001.jpg"].split == "test"
    )
    assert items["test_0001.jpg"].path == tmp_path / "Image" / "original" / "test_0001.jpg"
    assert "expected 'name label(1-7)'" in items["passwd"].error


@pytest.mark.unit
def test_utkface_names(tmp_path: Path) -> None:
    _jpeg(tmp_path / "37_0_0_20170117190000000.jpg.chip.jpg")
    _jpeg(tmp_path / "holiday.jpg")
    items = _by_key(_items("utkface", tmp_path))
    assert items["37_0_0_20170117190000000.jpg.chip.jpg"].ground_truth == {"age": 37.0}
    assert "not age_gender_race_date" in items["holiday.jpg"].error


@pytest.mark.unit
def test_affectnet_csv(tmp_path: Path) -> None:
    _jpeg(tmp_path / "1" / "a.jpg")
    _jpeg(tmp_path / "1" / "b.jpg")
    rows = [
        "subDirectory_filePath,face_x,expression,valence,arousal",
        "1/a.jpg,0,1,0.5,0.2",
        "1/b.jpg,0,9,0,0",
    ]
    rows.append("../x.jpg,0,1,0,0")
    (tmp_path / "training.csv").write_text("\n".join(rows) + "\n")
    items = _by_key(_items("affectnet", tmp_path / "training.csv"))
    assert items["1/a.jpg"].ground_truth == {"emotion": "happiness"}
    assert items["1/b.jpg"].ground_truth == {} and items["1/b.jpg"].error is None  # "uncertain": no label
    assert "leave the root" in items["../x.jpg"].error


@pytest.mark.unit
def test_disfa_and_bp4d_per_frame_aus(tmp_path: Path) -> None:
    labels = tmp_path / "disfa" / "ActionUnit_Labels" / "SN001"
    labels.mkdir(parents=True)
    (labels / "SN001_au12.txt").write_text("1,3\n2,0\n3,1\n")
    (labels / "SN001_au1.txt").write_text("1,0\n2,0\n3,5\n")
    items = _items("disfa", tmp_path / "disfa", every_nth=2)
    assert [i.key for i in items] == ["SN001/00001", "SN001/00003"]
    assert items[0].ground_truth == {"aus": {"AU12": 3.0, "AU01": 0.0}, "au_value_type": "intensity_0_5"}
    assert (
        items[0].subject_id == "SN001"
        and items[0].path == tmp_path / "disfa" / "Images" / "SN001" / "00001.jpg"
    )

    coding = tmp_path / "bp4d" / "AUCoding" / "AU_OCC"
    coding.mkdir(parents=True)
    (coding / "F001_T1.csv").write_text("0,1,2,12\n10,0,9,1\n11,1,1,0\n")
    items = _items("bp4d", tmp_path / "bp4d")
    assert items[0].key == "F001/T1/0010" and items[0].subject_id == "F001"
    assert items[0].ground_truth == {
        "aus": {"AU01": 0.0, "AU12": 1.0},
        "au_value_type": "binary",
    }  # 9 = not coded
    bad = _items("bp4d", tmp_path / "bp4d", frame_pattern="../{subject}/{frame}.jpg")
    assert "leave the root" in bad[0].error

    # malformed lines are reported, never silently dropped
    (labels / "SN001_au12.txt").write_text("1,3\nframe,intensity\n²,2\n")
    (coding / "F001_T1.csv").write_text("0,1,12\n10,0,5\nnotes,x,y\n")
    reported = {i.key: i.error for i in _items("disfa", tmp_path / "disfa") if i.error}
    assert reported == {
        "SN001/SN001_au12.txt:2": "line 2: expected 'frame,intensity'",
        "SN001/SN001_au12.txt:3": "line 3: expected 'frame,intensity'",
    }
    items = _items("bp4d", tmp_path / "bp4d")
    assert [(i.key, i.code) for i in items] == [
        ("F001/T1/0010", "E_BAD_GROUND_TRUTH"),  # AU12 = 5 in an occurrence table
        ("F001_T1.csv:3", "E_BAD_ROW"),
    ]


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> None:
    """An MJPG video of BGR `frames` (the codec every OpenCV build writes)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_video_frames_are_sampled_and_decoded(tmp_path: Path) -> None:
    frame = cv2.imread(str(ASTRONAUT))
    video = tmp_path / "clips" / "talk.avi"
    video.parent.mkdir()
    _write_video(video, [frame] * 10)
    (tmp_path / "clips" / "broken.mp4").write_bytes(b"not a video")
    every_third = _items("video", tmp_path / "clips", every_nth=3)
    assert [i.key for i in every_third if i.error is None] == [f"talk.avi#{n:06d}" for n in (0, 3, 6, 9)]
    assert "unreadable video" in _by_key(every_third)["broken.mp4"].error
    at_2fps = [i.frame for i in _items("video", video, fps=2.0)]
    assert at_2fps == [0, 5]
    recipe = Recipe.model_validate(
        {**TEMPLATE_RECIPE, "source": {"kind": "video", "every_nth": 5}, "regions": {"named": ["mouth"]}}
    )
    summary = build(video, tmp_path / "out", recipe=recipe)
    assert summary.faces == 2 and summary.errors == 0


def test_a_worker_process_reads_video_frames_with_its_own_open_video(tmp_path: Path) -> None:
    """Each worker owns its decode lane's video: the frames it reads give the local build's rows."""
    base = cv2.imread(str(ASTRONAUT))
    video = tmp_path / "talk.avi"
    _write_video(video, [np.roll(base, 6 * n, axis=1) for n in range(12)])  # a wrong frame shows
    recipe = Recipe.model_validate(
        {**TEMPLATE_RECIPE, "source": {"kind": "video", "every_nth": 3}, "regions": {"named": ["mouth"]}}
    )
    build(video, tmp_path / "local", recipe=recipe)
    remote = build(video, tmp_path / "workers", recipe=recipe, engine="processes", workers=1)
    assert remote.faces == 4 and remote.errors == 0

    def rows(out: Path) -> list[dict]:
        return [r for p in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]

    local, workers = rows(tmp_path / "local"), rows(tmp_path / "workers")
    assert [r["source_path"] for r in workers] == [f"talk.avi#{n:06d}" for n in (0, 3, 6, 9)]
    assert [(r["record_id"], r["image"]["bytes"]) for r in local] == [
        (r["record_id"], r["image"]["bytes"]) for r in workers
    ]


@pytest.mark.unit
def test_unknown_source_kind_is_a_setup_error(tmp_path: Path) -> None:
    from facefocal_data.errors import RecipeError

    with pytest.raises(RecipeError, match="unknown source 'flickr'"):
        build(tmp_path, tmp_path / "o", recipe=Recipe.model_validate({"source": {"kind": "flickr"}}))
    assert not (tmp_path / "o").exists()  # refused before the output folder was made


@pytest.mark.unit
def test_splits_are_subject_disjoint_stable_and_near_the_ratios() -> None:
    from facefocal_data.config import SplitConfig
    from facefocal_data.splits import assign_split

    config = SplitConfig()
    items = [
        SourceItem(f"img{i}.jpg", Path(f"img{i}.jpg"), "d", subject_id=f"s{i % 50}") for i in range(1000)
    ]
    splits = [assign_split(item, config).split for item in items]
    by_subject: dict[str, set[str]] = {}
    for item, split in zip(items, splits, strict=True):
        by_subject.setdefault(item.subject_id or "", set()).add(split or "")
    assert all(len(s) == 1 for s in by_subject.values())  # no subject in two splits
    assert splits == [assign_split(item, config).split for item in items]  # stable
    no_subject = [assign_split(SourceItem(f"k{i}", Path("x"), "d"), config).split for i in range(2000)]
    shares = {name: no_subject.count(name) / 2000 for name in config.ratios}
    assert abs(shares["train"] - 0.8) < 0.04 and abs(shares["test"] - 0.1) < 0.03
    official = SourceItem("train_1.jpg", Path("x"), "rafdb", split="train")
    assert assign_split(official, config).split == "train"
    reshuffled = assign_split(official, SplitConfig(keep_source_split=False, ratios={"test": 1.0}))
    assert reshuffled.split == "test"


def test_split_is_written_per_row_and_counted_in_the_manifest(manifest_root: Path, tmp_path: Path) -> None:
    recipe = Recipe.model_validate(
        {
            **TEMPLATE_RECIPE,
            "source": {"kind": "manifest", "dedupe": False},
            "regions": {"named": ["mouth"], "boxes": {"count": 0}},
            "splits": {"ratios": {"train": 0.5, "val": 0.5}},
        }
    )
    summary = build(manifest_root / "list.csv", tmp_path / "out", recipe=recipe)
    rows = [r for p in (tmp_path / "out" / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    split_of = {r["source_path"]: r["split"] for r in rows}
    assert split_of["imgs/b.jpg"] == "test"  # the manifest's own split wins
    assert split_of["imgs/a.jpg"] in ("train", "val")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    counted: dict[str, int] = {}
    for part in manifest["parts"]:
        for name, n in ((part["shard"] or {}).get("splits") or {}).items():
            counted[name] = counted.get(name, 0) + n
    assert counted == summary.splits and sum(counted.values()) == len(rows) == 2


def test_manifest_boxes_become_regions_of_the_face_they_fall_on(tmp_path: Path) -> None:
    shutil.copy(ASTRONAUT, tmp_path / "a.png")
    rows = [
        {"path": "a.png", "boxes": [[190, 120, 250, 160], [0, 400, 50, 450]]},  # on the face; off it
        {"path": "a.png#bad", "boxes": [[10, 10, 5, 5]]},
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    recipe = Recipe.model_validate(
        {
            **TEMPLATE_RECIPE,
            "source": {"kind": "manifest"},
            "regions": {"named": ["mouth"], "boxes": {"count": 0}},
        }
    )
    summary = build(tmp_path / "m.jsonl", tmp_path / "out", recipe=recipe)
    assert summary.faces == 1 and summary.errors == 1
    [row] = [r for p in (tmp_path / "out" / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    boxes = {r["region_id"]: r for r in row["regions"] if r["kind"] == "box"}
    assert list(boxes) == ["box_source_00"]
    x1, y1, x2, y2 = boxes["box_source_00"]["bbox_xyxy"]
    assert x2 > x1 and y2 > y1
    cx1, cy1, cx2, _ = row["crop_box_in_source"]
    scale = row["width"] / (cx2 - cx1)
    assert abs(x1 - (190 - cx1) * scale) <= 1 and abs(y2 - (160 - cy1) * scale) <= 1
    assert boxes["box_source_00"]["observable_aus"]
    errors = [
        e for p in (tmp_path / "out" / "errors").glob("*.parquet") for e in pq.read_table(p).to_pylist()
    ]
    assert "bad boxes" in errors[0]["reason"]


@pytest.mark.unit
def test_every_code_is_raised_somewhere_and_every_raised_code_is_in_the_table() -> None:
    """Codes travel with the failure from where it is raised: each one in the table is named by a
    raiser in the package, none is named that the table lacks, and a misspelt one is refused."""
    import ast

    from facefocal_data.error_codes import CODES, KNOWN, STAGE_CODES, stage_code
    from facefocal_data.layout import ErrorEvent

    package = Path(__file__).resolve().parents[1] / "facefocal_data"
    named = {
        node.value
        for path in package.rglob("*.py")
        if path.name != "error_codes.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"E_[A-Z_]+", node.value)
    }
    assert named <= KNOWN, named - KNOWN
    assert {c.code for c in CODES} - named - set(STAGE_CODES.values()) <= {"E_NO_FACE", "E_INTERNAL"}
    assert stage_code("detect", "no_face") == "E_NO_FACE" and stage_code("label") == "E_INTERNAL"
    assert ErrorEvent("d", "k", "error", "label", "KeyError: 'x'").code == "E_INTERNAL"
    old_row = {"source_dataset": "d", "source_path": "k", "kind": "error", "stage": "validate", "reason": "r"}
    assert ErrorEvent.from_row(old_row).code == "E_INVALID_RECORD"  # a table from before codes were stored
    assert ErrorEvent.from_row({**old_row, "code": "E_FROM_A_NEWER_VERSION"}).code == "E_FROM_A_NEWER_VERSION"
    with pytest.raises(ValueError, match="unknown error code"):
        SourceItem("k", Path("k"), "d", error="broken", code="E_BROKEN")
    with pytest.raises(ValueError, match="go together"):
        SourceItem("k", Path("k"), "d", error="broken")


@pytest.mark.unit
def test_video_frames_read_in_order_or_out_of_order_equal_a_plain_sequential_decode(tmp_path: Path) -> None:
    """The forward cursor (grab instead of seek) returns exactly the frames a full decode gives."""
    from facefocal_data.sources.video import VideoFrames

    base = cv2.imread(str(ASTRONAUT))
    video = tmp_path / "count.avi"
    frames_written = []
    for n in range(40):
        frame = base.copy()
        cv2.putText(frame, str(n), (20, 200), cv2.FONT_HERSHEY_SIMPLEX, 5, (0, 0, 255), 12)
        frames_written.append(frame)
    _write_video(video, frames_written, fps=25.0)
    capture, truth = cv2.VideoCapture(str(video)), []
    while (got := capture.read())[0]:
        truth.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    capture.release()
    assert len(truth) == 40
    with VideoFrames() as frames:
        for wanted in [0, 1, 2, 5, 17, 39, 3, 30, 31, 8]:  # forward steps, a jump back, forward again
            assert np.array_equal(frames.read(video, wanted), truth[wanted]), wanted
        with pytest.raises(ImageReadError, match=r"frame 40 of count\.avi could not be read") as raised:
            frames.read(video, 40)
        assert raised.value.code == "E_BAD_VIDEO"
        assert frames._cursor is not None and frames._cursor.path == video  # one capture, kept open
    assert frames._cursor is None  # the owner's `with` released it


@pytest.mark.unit
def test_a_check_and_a_lone_decode_read_video_frames_and_leave_no_video_open(tmp_path: Path) -> None:
    """The pre-flight check owns its open video; a decode given no `frames` closes what it opened."""
    from facefocal_data import check
    from facefocal_data.stages import WorkItem, stage_decode

    base = cv2.imread(str(ASTRONAUT))
    video = tmp_path / "clip.avi"
    _write_video(video, [base] * 6)
    report = check(video, Recipe.model_validate({"source": {"kind": "video", "every_nth": 2}}))
    assert (report.inputs, report.readable, report.problems) == (3, 3, 0)
    batch = [WorkItem(SourceItem(f"clip.avi#{n:06d}", video, "d", frame=n)) for n in (0, 5, 6)]
    stage_decode(batch)
    assert [w.rgb.shape if w.rgb is not None else None for w in batch[:2]] == [base.shape, base.shape]
    assert batch[2].events[0].code == "E_BAD_VIDEO" and "frame 6 of clip.avi" in batch[2].events[0].reason
