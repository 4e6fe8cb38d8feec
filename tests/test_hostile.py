"""Hostile inputs: every kind gives one error row with its exact code, and every good input its row.

The corpus is generated here (nothing downloaded). A file this user may not read needs an
ordinary user: it is in test_fs_faults.py, which runs the build in a user namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.validate import validate_dir

from .conftest import ASTRONAUT, TEMPLATE_RECIPE, note_case

# file name -> expected error code; None: a good input that must give exactly one face row
CORPUS: dict[str, str | None] = {
    "cmyk.jpg": None,
    "grey.png": None,
    "grey16.png": None,
    "palette_alpha.png": None,
    "rgba.png": None,
    "exif_rotated.jpg": None,  # orientation honoured: the face is found upright
    "animated.gif": None,  # first frame
    "webp.webp": None,
    "unicode_名前 é.jpg": None,
    "with spaces.png": None,
    "latin1_\\xe9t\\xe9.png": None,  # a name whose bytes are not UTF-8: kept as \xNN escapes
    "astronaut_original.png": None,
    "dup_of_astronaut.png": "E_DUPLICATE_IMAGE",  # same bytes as astronaut_original.png (read first)
    "zero.jpg": "E_EMPTY_FILE",
    "truncated.jpg": "E_TRUNCATED",
    "bad_crc.png": "E_CORRUPT",
    "notes.jpg": "E_NOT_AN_IMAGE",
    "random.jpg": "E_NOT_AN_IMAGE",
    "one.png": "E_TOO_SMALL",
    "tiny16.png": "E_NO_FACE",
    "huge.png": "E_TOO_LARGE",
    "photo.heic": "E_UNSUPPORTED_FORMAT",
    "loop_a.jpg": "E_UNREADABLE",
    "loop_b.jpg": "E_UNREADABLE",
    "folder.jpg": "E_IS_DIRECTORY",
    "pipe.jpg": "E_UNREADABLE",  # a FIFO: reading it would block the build forever
    "zeros.jpg": "E_UNREADABLE",  # a link to /dev/zero: reading it would fill the memory
    "sparse_2g.jpg": "E_TOO_LARGE",  # 2 GiB on disk (sparse), refused before reading
    "dangling.jpg": "E_MISSING_FILE",
    "cat.png": "E_NO_FACE",
}


def make_corpus(root: Path) -> None:
    face = Image.open(ASTRONAUT).convert("RGB")
    face.convert("CMYK").save(root / "cmyk.jpg")
    face.convert("L").save(root / "grey.png")
    Image.fromarray(np.asarray(face.convert("L")).astype(np.uint16) * 257).save(root / "grey16.png")
    palette = face.convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    palette.save(root / "palette_alpha.png")
    face.convert("RGBA").save(root / "rgba.png")
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° counter-clockwise to view": store it turned clockwise
    face.rotate(-90, expand=True).save(root / "exif_rotated.jpg", exif=exif)
    face.save(
        root / "animated.gif", save_all=True, append_images=[face.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    )
    face.save(root / "webp.webp")
    face.save(root / "unicode_名前 é.jpg")
    face.save(root / "with spaces.png", compress_level=1)
    with open(os.path.join(os.fsencode(root), "latin1_été.png".encode("latin-1")), "wb") as handle:
        face.save(handle, format="PNG", compress_level=2)
    for name in ("astronaut_original.png", "dup_of_astronaut.png"):
        (root / name).write_bytes(ASTRONAUT.read_bytes())
    (root / "zero.jpg").write_bytes(b"")
    jpeg = (root / "cmyk.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    grey = bytearray((root / "grey.png").read_bytes())
    idat = grey.index(b"IDAT") + 40
    grey[idat : idat + 8] = b"\x00" * 8  # inside the compressed data: the CRC no longer matches
    (root / "bad_crc.png").write_bytes(bytes(grey))
    (root / "notes.jpg").write_text("meeting notes, not a picture")
    (root / "random.jpg").write_bytes(os.urandom(4096))
    Image.new("RGB", (1, 1)).save(root / "one.png")
    face.resize((16, 16)).save(root / "tiny16.png")
    Image.new("L", (8000, 8000)).save(root / "huge.png")  # 64 M pixels, over a 50 M cap
    (root / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + os.urandom(200))
    (root / "loop_a.jpg").symlink_to("loop_b.jpg")
    (root / "loop_b.jpg").symlink_to("loop_a.jpg")
    (root / "folder.jpg").mkdir()
    os.mkfifo(root / "pipe.jpg")
    (root / "zeros.jpg").symlink_to("/dev/zero")
    with (root / "sparse_2g.jpg").open("wb") as handle:
        handle.truncate(2 << 30)
    (root / "dangling.jpg").symlink_to(root / "gone.jpg")
    shutil.copy(ASTRONAUT.parent / "chelsea.png", root / "cat.png")


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "2-worker-processes"])
def test_hostile_corpus_gives_exact_codes_and_every_good_row(tmp_path: Path, workers: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_corpus(corpus)
    out = tmp_path / "out"
    summary = build(corpus, out, recipe=Recipe.model_validate(TEMPLATE_RECIPE), workers=workers)
    rows = [r for p in (out / "shards").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    errors = {
        e["source_path"]: e for p in (out / "errors").glob("*.parquet") for e in pq.read_table(p).to_pylist()
    }
    got = {name: errors[name]["code"] if name in errors else None for name in CORPUS}
    assert got == CORPUS
    by_source = {r["source_path"] for r in rows}
    assert by_source == {name for name, code in CORPUS.items() if code is None}
    assert len(rows) == len(by_source)  # one face each
    assert summary.images == len(CORPUS) and validate_dir(out).ok
    for name, error in errors.items():
        assert error["reason"] and not error["reason"].startswith("E_"), name  # a human reason too
    assert not list(tmp_path.glob("*.tmp")) and not list(out.rglob("*.tmp*"))
    again = build(corpus, out, recipe=Recipe.model_validate(TEMPLATE_RECIPE))
    assert again.skipped_done == len(CORPUS) and again.images == 0  # every name, odd ones too, resumes
    for name, code in CORPUS.items():
        note_case("input", name, code or "one face row")
    note_case("input", f"the whole corpus with {workers} worker process(es)", "the same codes and rows")


def test_a_duplicate_added_before_a_rerun_is_caught_across_runs(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ASTRONAUT, images / "first.png")
    out = tmp_path / "out"
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    assert build(images, out, recipe=recipe).faces == 1
    shutil.copy(ASTRONAUT, images / "later_copy.png")  # the same bytes under a new name
    again = build(images, out, recipe=recipe)
    assert (again.images, again.faces, again.skipped_done) == (1, 0, 1)
    errors = [e for p in (out / "errors").glob("*.parquet") for e in pq.read_table(p).to_pylist()]
    assert [(e["source_path"], e["code"]) for e in errors] == [("later_copy.png", "E_DUPLICATE_IMAGE")]
    assert "first.png" in errors[0]["reason"]
    assert validate_dir(out).ok
    note_case("input", "a copy added before a rerun (earlier run has the bytes)", "E_DUPLICATE_IMAGE")


def test_files_we_did_not_write_are_never_deleted_or_overwritten(tmp_path: Path) -> None:
    from facefocal_data.errors import OutputConflictError

    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ASTRONAUT, images / "a.png")
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    theirs = out / "shards" / "their_table.parquet"  # someone's own data in a folder named like ours
    pq.write_table(pa.table({"x": [1, 2]}), theirs)
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    assert build(images, out, recipe=recipe).faces == 1
    assert pq.read_table(theirs).column("x").to_pylist() == [1, 2]  # left alone
    squatter = out / "errors" / "errors-00001.parquet"  # where the next part's errors would go
    pq.write_table(pa.table({"x": [3]}), squatter)
    shutil.copy(ASTRONAUT.parent / "chelsea.png", images / "cat.png")
    with pytest.raises(OutputConflictError, match="not written by facefocal and would be overwritten"):
        build(images, out, recipe=recipe)
    assert pq.read_table(squatter).column("x").to_pylist() == [3]
    note_case("misuse", "foreign Parquet files in the output folder", "kept; one in our way stops the build")


def test_check_finds_every_decode_and_source_problem_before_a_build_and_writes_nothing(
    tmp_path: Path,
) -> None:
    from collections import Counter

    from facefocal_data import check

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_corpus(corpus)
    before = sorted(p.name for p in corpus.iterdir())
    report = check(corpus, Recipe.model_validate(TEMPLATE_RECIPE))
    needs_models = {name for name, code in CORPUS.items() if code == "E_NO_FACE"}  # the build's call
    expected = Counter(code for name, code in CORPUS.items() if code and name not in needs_models)
    assert report.codes == dict(expected)
    assert report.readable == sum(code is None for code in CORPUS.values()) + len(needs_models)
    assert report.inputs == len(CORPUS) and sorted(p.name for p in corpus.iterdir()) == before
    assert all(e.split(": ", 1)[1] for examples in report.examples.values() for e in examples)

    cli = [sys.executable, "-c", "from facefocal_data.cli import main; main()", "check"]
    strict = subprocess.run([*cli, str(corpus), "--json", "--strict"], capture_output=True, text=True)
    assert strict.returncode == 1 and json.loads(strict.stdout)["codes"] == dict(expected)
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copy(ASTRONAUT, clean / "a.png")
    ok = subprocess.run([*cli, str(clean), "--strict"], capture_output=True, text=True)
    assert ok.returncode == 0 and "no problems found" in ok.stdout and "1 readable" in ok.stdout
    note_case(
        "input",
        "`facefocal check` on the corpus before building",
        "every code but E_NO_FACE, nothing written",
    )
