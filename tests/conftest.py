"""Shared fixtures: real models (fetched once into the user cache), real images, built datasets."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facefocal_data.config import Recipe
from facefocal_data.engines import open_builder
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.record import FaceRecord
from facefocal_data.sources import SourceItem
from facefocal_data.stages import WorkItem

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# the deterministic describer: tests of the vision pipeline do not wait for an LLM
TEMPLATE_RECIPE = {"describe": {"describer": "template"}}
EXAMPLES = REPO / "examples" / "images"
ASTRONAUT = EXAMPLES / "astronaut.png"
CAT = EXAMPLES / "chelsea.png"


def _load_group_maker():  # type: ignore[no-untyped-def]
    """The same composite the examples ship, built fresh from the astronaut."""
    spec = importlib.util.spec_from_file_location(
        "make_group_photo", REPO / "examples" / "make_group_photo.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_group_photo


make_group_photo = _load_group_maker()


@pytest.fixture(scope="session", autouse=True)
def models_ready(request: pytest.FixtureRequest) -> None:
    """The real weights, verified; `make test` fetches them first, this is a no-op then. The
    `unit` tier (`-m unit`) needs none, so a session of unit tests only neither fetches nor checks."""
    if all(item.get_closest_marker("unit") for item in request.session.items):
        return
    from facefocal_data.models import fetch

    bad = [s for s in fetch() if not s.ok]
    assert not bad, f"models not usable: {bad}"


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    return np.asarray(Image.open(ASTRONAUT).convert("RGB"))


@pytest.fixture(scope="module")
def astronaut(astronaut_rgb: np.ndarray) -> FaceRecord:
    """The astronaut built with the template describer, once per test module (tests rewrite its
    texts); a module may define its own `astronaut`."""
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    work = WorkItem(SourceItem("astronaut.png", ASTRONAUT, "examples"), rgb=astronaut_rgb)
    work.scan = analyzer.scan(astronaut_rgb)
    open_builder(recipe, analyzer.geometry_source, describe=True)([work])
    analyzer.close()
    return work.records[0]


@pytest.fixture(scope="session")
def group_photo(astronaut_rgb: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("group") / "group_of_six.png"
    Image.fromarray(make_group_photo(astronaut_rgb)).save(path)
    return path


@pytest.fixture(scope="session")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory, group_photo: Path) -> Path:
    """Good images next to every kind of bad file the build must survive."""
    root = tmp_path_factory.mktemp("mixed")
    good = ASTRONAUT.read_bytes()
    (root / "a_astronaut.png").write_bytes(good)
    (root / "b_group.png").write_bytes(group_photo.read_bytes())
    jpeg = cv2.imencode(".jpg", cv2.imread(str(ASTRONAUT)))[1].tobytes()
    (root / "c_truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    corrupt = bytearray(good)
    corrupt[100:4000] = os.urandom(3900)
    (root / "d_corrupt.png").write_bytes(bytes(corrupt))
    (root / "e_empty.jpg").write_bytes(b"")
    (root / "f_notes.jpg").write_text("these are meeting notes, not a picture\n")
    (root / "g_folder.png").mkdir()
    (root / "h_dangling.jpg").symlink_to(root / "does-not-exist.jpg")
    (root / "i_cat.png").write_bytes(CAT.read_bytes())
    (root / "readme.md").write_text("not an image extension: ignored and counted\n")
    return root


EXPECTED_BAD = {
    "c_truncated.jpg": "truncated image",
    "d_corrupt.png": "corrupt image",
    "e_empty.jpg": "empty file",
    "f_notes.jpg": "not an image",
    "g_folder.png": "unreadable",
    "h_dangling.jpg": "unreadable",
}


@pytest.fixture(scope="session")
def mixed_build(mixed_folder: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from facefocal_data import build

    out = tmp_path_factory.mktemp("out") / "mixed"
    summary = build(mixed_folder, out, recipe=Recipe.model_validate(TEMPLATE_RECIPE))
    return out, summary


# (kind, case, outcome) of every hostile input, fault and misuse a test tried in this run
_RELIABILITY_CASES: set[tuple[str, str, str]] = set()


def note_case(kind: str, case: str, outcome: str) -> None:
    """Note a reliability case a test tried and passed; the run ends with the list of them."""
    _RELIABILITY_CASES.add((kind, case, outcome))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RELIABILITY_CASES:
        return
    terminalreporter.section(f"reliability: {len(_RELIABILITY_CASES)} cases tried (docs/RELIABILITY.md)")
    for kind, case, outcome in sorted(_RELIABILITY_CASES):
        terminalreporter.write_line(f"{kind:<9} {case:<62} -> {outcome}")
