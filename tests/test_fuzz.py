"""Fuzz targets for every parser of user files: manifests (CSV, JSONL), the ground-truth formats
(RAF-DB, UTKFace names, AffectNet, DISFA, BP4D), image list files, prediction files, review
decisions, Label Studio exports and recipes.

Whatever the bytes, a parser yields items (each usable, or an error item whose reason has a known
code) or raises our own clear error; it never crashes with anything else, never lets a path leave
the root, and never passes ground truth outside the vocabulary. Runs briefly in CI
(`FACEFOCAL_FUZZ_EXAMPLES`, default 100 per target); `make fuzz` runs thousands.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facefocal_data.config import SourceConfig, load_recipe
from facefocal_data.errors import FacefocalError
from facefocal_data.evaluate.predictions import load_predictions
from facefocal_data.exporters.labelstudio import read_tasks
from facefocal_data.review import read_decisions
from facefocal_data.sources import SOURCES, SourceItem
from facefocal_data.sources.base import GT_EMOTIONS, MAX_AGE, printable

from .conftest import note_case

pytestmark = pytest.mark.unit  # no models, servers or network (make test-unit)

EXAMPLES = int(os.environ.get("FACEFOCAL_FUZZ_EXAMPLES", "100"))
OUTCOME = f"{EXAMPLES} random inputs per target: no crash"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces of the formats and of the usual ways to break them, glued at random
FRAGMENTS = [
    *(
        s.encode()
        for s in (
            "path",
            "subject_id",
            "split",
            "emotion",
            "age",
            "AU12",
            "au04",
            "aus",
            "au_value_type",
            "intensity_0_5",
            "boxes",
            "subDirectory_filePath",
            "expression",
            "a.png",
            "x/../../etc/passwd",
            "/etc/passwd",
            "http://host/a.png",
            "C:\\a.png",
            "train_00001.jpg",
            "happiness",
            "-3",
            "999",
            "1e309",
            "NaN",
            "Infinity",
            "²",
            "٣",
            "9",
            "0",
            "1",
            "5",
            "[[1,2,30,40]]",
            '"[[0,0,1e999,1]]"',
            "\\ud800",
            "[" * 50,
        )
    ),
    *(
        b",",
        b"\n",
        b"\r\n",
        b'"',
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b" ",
        b"\t",
        b"\x00",
        b"\xff",
        b"\xef\xbb\xbf",
    ),
]
SOUP = st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=6), max_size=80).map(b"".join)
BYTES = SOUP | st.binary(max_size=400)
KEYS = st.sampled_from(
    ["path", "subject_id", "split", "emotion", "age", "aus", "au_value_type", "boxes", "AU06"]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["a.png"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)
JSON_ROWS = st.lists(st.dictionaries(KEYS, JSON_VALUES, max_size=8) | JSON_VALUES, max_size=6)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        (root / "a.png").write_bytes(b"not read by a parser")
        yield root


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def jsonl(rows: list) -> bytes:
    return "\n".join(json.dumps(row) for row in rows).encode()


def check_items(items: list[SourceItem], root: Path) -> None:
    """Usable items stay under the root with clean truth; error items carry a reason with a known code."""
    for item in items:
        shown = printable(item)
        for text in (shown.key, shown.dataset, shown.subject_id, shown.split, shown.error):
            if text is not None:
                text.encode("utf-8")  # can be written to Parquet
        if item.error is not None:
            assert item.code not in (None, "E_INTERNAL"), item.error
            continue
        resolved = item.path.resolve()
        assert resolved.is_relative_to(root.resolve()), item.path
        truth = item.ground_truth
        assert truth.get("emotion") in (None, *GT_EMOTIONS)
        assert 0 <= float(truth.get("age", 0)) <= MAX_AGE  # type: ignore[arg-type]
        top = 5 if truth.get("au_value_type") == "intensity_0_5" else 1
        aus: dict = truth.get("aus", {})  # type: ignore[assignment]
        assert all(math.isfinite(v) and 0 <= v <= top for v in aus.values())


def run_source(kind: str, given_path: Path, root: Path) -> None:
    config = SourceConfig(kind=kind, root=str(root))
    check_items(list(SOURCES.create(kind, given_path, config)), root)


@FUZZ
@given(BYTES)
def test_fuzz_csv_manifest(data: bytes) -> None:
    with folder() as root:
        run_source(
            "manifest", write(root / "m.csv", b"path,subject_id,split,emotion,age,AU12,boxes\n" + data), root
        )
        run_source("manifest", write(root / "n.csv", data), root)
    note_case("fuzz", "CSV manifest", OUTCOME)


@FUZZ
@given(BYTES, JSON_ROWS)
def test_fuzz_jsonl_manifest(data: bytes, rows: list) -> None:
    with folder() as root:
        run_source("manifest", write(root / "m.jsonl", data), root)
        run_source("manifest", write(root / "r.jsonl", jsonl(rows)), root)
    note_case("fuzz", "JSONL manifest", OUTCOME)


@FUZZ
@given(BYTES)
def test_fuzz_rafdb_list(data: bytes) -> None:
    with folder() as root:
        write(root / "EmoLabel" / "list_patition_label.txt", data)
        (root / "Image" / "original").mkdir(parents=True)
        run_source("rafdb", root, root / "Image" / "original")
    note_case("fuzz", "RAF-DB list file", OUTCOME)


@FUZZ
@given(st.lists(st.text(min_size=1, max_size=40) | st.binary(min_size=1, max_size=40), max_size=8))
def test_fuzz_utkface_names(names: list) -> None:
    with folder() as root:
        data = root / "faces"
        data.mkdir()
        for name in names:
            raw = name if isinstance(name, bytes) else name.encode("utf-8", "surrogatepass")
            raw = raw.replace(b"/", b"_").replace(b"\x00", b"_")[:200]
            if raw in (b".", b".."):
                continue
            with open(os.path.join(os.fsencode(data), raw + b".jpg"), "wb") as handle:
                handle.write(b"x")
        run_source("utkface", data, data)
    note_case("fuzz", "UTKFace file names", OUTCOME)


@FUZZ
@given(BYTES)
def test_fuzz_affectnet_csv(data: bytes) -> None:
    with folder() as root:
        run_source("affectnet", write(root / "t.csv", b"subDirectory_filePath,expression\n" + data), root)
    note_case("fuzz", "AffectNet CSV", OUTCOME)


@FUZZ
@given(BYTES, st.sampled_from(["SN001_au12.txt", "SN001_au9.txt", "SN001_au99.txt"]))
def test_fuzz_disfa_labels(data: bytes, name: str) -> None:
    with folder() as root:
        write(root / "ActionUnit_Labels" / "SN001" / name, data)
        run_source("disfa", root, root)
    note_case("fuzz", "DISFA label files", OUTCOME)


@FUZZ
@given(BYTES)
def test_fuzz_bp4d_occurrence(data: bytes) -> None:
    with folder() as root:
        write(root / "AUCoding" / "AU_OCC" / "F001_T1.csv", b"0,1,2,4,6,12\n" + data)
        run_source("bp4d", root, root)
    note_case("fuzz", "BP4D occurrence tables", OUTCOME)


@FUZZ
@given(BYTES)
def test_fuzz_image_list_file(data: bytes) -> None:
    with folder() as root:
        items = list(SOURCES.create("image_folder", write(root / "list.txt", data), SourceConfig()))
        for item in items:
            shown = printable(item)
            shown.key.encode("utf-8")
            assert item.error is None or item.code not in (None, "E_INTERNAL"), item.error
    note_case("fuzz", "image list file", OUTCOME)


@FUZZ
@given(BYTES, JSON_ROWS)
def test_fuzz_prediction_file(data: bytes, rows: list) -> None:
    with folder() as root:
        for content in (data, jsonl(rows)):
            predictions, report = load_predictions(write(root / "p.jsonl", content), {"r1": {"mouth"}})
            assert report.valid == len(predictions) and report.valid + report.skipped == report.lines
            assert all(p.record_id == "r1" for p in predictions)
    note_case("fuzz", "prediction JSONL", OUTCOME)


def refuses_cleanly(parse: Callable[[Path], object], path: Path) -> None:
    try:
        parse(path)
    except FacefocalError as exc:
        assert str(exc)


@FUZZ
@given(BYTES, JSON_VALUES)
def test_fuzz_review_decisions(data: bytes, value: object) -> None:
    with folder() as root:
        refuses_cleanly(read_decisions, write(root / "d.json", data))
        refuses_cleanly(read_decisions, write(root / "e.json", json.dumps({"decisions": [value]}).encode()))
    note_case("fuzz", "review decisions.json", OUTCOME)


@FUZZ
@given(BYTES, JSON_VALUES)
def test_fuzz_labelstudio_export(data: bytes, value: object) -> None:
    with folder() as root:
        refuses_cleanly(read_tasks, write(root / "t.json", data))
        refuses_cleanly(read_tasks, write(root / "u.json", json.dumps([value]).encode()))
        task = {"data": {"record_id": "r1"}, "annotations": [{"result": value}]}
        refuses_cleanly(read_tasks, write(root / "v.json", json.dumps([task]).encode()))
    note_case("fuzz", "Label Studio export", OUTCOME)


@FUZZ
@given(BYTES, JSON_VALUES)
def test_fuzz_recipe(data: bytes, value: object) -> None:
    with folder() as root:
        refuses_cleanly(load_recipe, write(root / "r.yaml", data))
        nested = {"describe": {"llm": value}, "source": value}
        refuses_cleanly(load_recipe, write(root / "s.yaml", json.dumps(nested).encode()))
    note_case("fuzz", "recipe YAML", OUTCOME)


def test_fuzz_targets_cover_every_registered_source_with_files() -> None:
    """A new source adapter that reads a user file must get a fuzz target here."""
    fuzzed = {"manifest", "rafdb", "utkface", "affectnet", "disfa", "bp4d", "image_folder"}
    no_text_files = {"video"}  # reads only video files, which OpenCV decodes (tested in test_sources)
    assert set(SOURCES.names()) == fuzzed | no_text_files


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
