"""A real Ray cluster, joined the way Ray users join one: `ray start --head` plus worker nodes
(token authentication on, every port on 127.0.0.1), `--ray-address` and the head's token.

The build through it writes the record ids a local build writes; a worker node killed while it
holds a batch costs no face and writes none twice; a wrong or missing token, and a node without
the models, are one clear line and exit 2.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageOps

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.dataset import Build
from facefocal_data.paths import facefocal_home

from .conftest import EXAMPLES, TEMPLATE_RECIPE, note_case
from .ray_cluster import REPO, LocalCluster
from .test_resume import _record_ids as record_ids

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs the [ray] extra"),
]

RECIPE = {**TEMPLATE_RECIPE, "output": {"shard_rows": 2}}  # many small parts: a kill lands between two
CLI = [sys.executable, "-c", "from facefocal_data.cli import main; main()"]
GATE = "16_gate.png"  # in the last batch of 8: the build is past its first parts there
UNSEEN = "17_elsewhere.jpg"  # listed by the driver, on no node: a mount only the driver has


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/images with flipped and scaled copies (17 images, 15 faces), then one unseen path."""
    root = tmp_path_factory.mktemp("cluster-inputs") / "faces"
    root.mkdir()
    images = [Image.open(p).convert("RGB") for p in sorted(EXAMPLES.glob("*.*"))]  # the group last
    singles = images[:3]  # astronaut, camera (a face each), chelsea (a cat: no face)
    variants = [*images, *(ImageOps.mirror(image) for image in singles), singles[2].rotate(90, expand=True)]
    for scale in (0.8, 0.6, 0.4):
        variants += [image.resize((int(image.width * scale), int(image.height * scale))) for image in singles]
    for index, image in enumerate(variants):
        image.save(root / (GATE if index == 16 else f"{index:02d}.png"))
    (root / UNSEEN).symlink_to(root.parent / "only-on-the-driver" / "x.jpg")
    assert sorted(p.name for p in root.iterdir())[16:] == [GATE, UNSEEN]
    return root


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster-recipe") / "recipe.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    return path


@pytest.fixture(scope="module")
def local_ids(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("cluster-local") / "out"
    summary = build(inputs, out, recipe=Recipe.model_validate(RECIPE))
    assert 12 <= summary.faces <= 20, summary.faces
    return record_ids(out)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A head (no CPUs: work runs on the worker nodes only) and two worker nodes of one CPU."""
    cluster = LocalCluster(tmp_path_factory.mktemp("ray"), secrets.token_hex(24), facefocal_home())
    try:
        cluster.start("head", cpus=0, head=True)
        cluster.keep_workers(["a", "b"])
        yield cluster
    finally:
        cluster.stop()


def parts(out: Path) -> list[dict]:
    manifest = out / "manifest.json"
    return json.loads(manifest.read_text())["parts"] if manifest.is_file() else []


def build_command(inputs: Path, out: Path, recipe: Path, *more: str) -> list[str]:
    return [*CLI, "build", str(inputs), "-o", str(out), "--recipe", str(recipe), "--engine", "ray", *more]


def run_build(cluster: LocalCluster, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=cluster.driver_env(**env), cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_a_build_through_the_cluster_writes_the_local_record_ids(
    cluster: LocalCluster, inputs: Path, recipe_file: Path, local_ids: list[str], tmp_path: Path
) -> None:
    cluster.keep_workers(["a", "b"])
    token_file = tmp_path / "head-token"
    token_file.write_text(cluster.token)
    command = build_command(inputs, tmp_path / "out", recipe_file, "--workers", "2")
    command += ["--ray-address", cluster.address, "--ray-token-file", str(token_file)]
    done = run_build(cluster, command, HOME=str(tmp_path / "no-home"))  # the token from the file only
    assert done.returncode == 0, done.stderr[-3000:]
    assert record_ids(tmp_path / "out") == local_ids
    unseen = [e for e in Build(tmp_path / "out").errors() if e.source_path == UNSEEN]
    assert unseen and "Ray node 127.0.0.1" in unseen[0].reason and "cannot see" in unseen[0].reason
    assert unseen[0].code == "E_MISSING_FILE"
    cluster.assert_loopback()


class Gate:
    """Holds one input file shut with a write lease (fcntl F_SETLEASE): whoever opens it blocks
    until the gate opens, and /proc/locks names the blocked process. The deterministic hook for
    "a node holds unfinished work": the kernel opens the gate by itself after lease-break-time."""

    def __init__(self, path: Path) -> None:
        self.inode = path.stat().st_ino
        self.previous = signal.signal(signal.SIGIO, signal.SIG_IGN)  # the kernel's "someone opened it"
        self.fd = os.open(path, os.O_RDONLY)
        fcntl.fcntl(self.fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)

    def waiting(self) -> list[int]:
        """Processes blocked opening the file."""
        lease_ids, pids = set(), []
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" not in fields and fields[1] == "LEASE" and fields[5].endswith(f":{self.inode}"):
                lease_ids.add(fields[0])
            elif "->" in fields and fields[0] in lease_ids:
                pids.append(int(fields[fields.index("->") + 4]))
        return pids

    def open(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        signal.signal(signal.SIGIO, self.previous)


def wait_for(what: str, check: Callable[[], Any], timeout: float, build: subprocess.Popen[bytes]) -> Any:
    """Poll `check` until it gives something truthy; fail on a timeout or on a build that ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        if build.poll() is not None:
            pytest.fail(f"the build ended ({build.returncode}) before the {what}")
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout} s")


def kill_the_node_at_the_gate(
    cluster: LocalCluster, gate: Gate, build: subprocess.Popen[bytes], out: Path
) -> None:
    """Once the build committed parts and a node's actor is blocked on the gate: kill that node."""
    blocked = wait_for("actor at the gate", gate.waiting, 180, build)[0]
    victim = cluster.node_of(blocked)
    assert victim in ("a", "b"), f"process {blocked} at the gate belongs to no worker node"
    wait_for("committed part", lambda: parts(out), 30, build)
    done_before = {key for part in parts(out) for key in part["sources"]}
    assert build.poll() is None and GATE not in done_before and len(done_before) < 18
    cluster.assert_loopback((build.pid,))
    cluster.kill(victim)  # its raylet, agents, and the actor holding the gated batch


def test_a_worker_node_killed_mid_build_costs_no_face_and_writes_none_twice(
    cluster: LocalCluster, inputs: Path, recipe_file: Path, local_ids: list[str], tmp_path: Path
) -> None:
    cluster.keep_workers(["a", "b"])
    out = tmp_path / "out"
    # one actor: it reaches the gate with the last batch, so the node it runs on holds work in flight,
    # and the other node has the CPU Ray restarts it on
    command = build_command(inputs, out, recipe_file, "--workers", "1", "--ray-address", cluster.address)
    gate = Gate(inputs / GATE)
    with (tmp_path / "build.log").open("wb") as log:
        build = subprocess.Popen(command, env=cluster.driver_env(), cwd=REPO, stdout=log, stderr=log)
        try:
            kill_the_node_at_the_gate(cluster, gate, build, out)
        finally:
            gate.open()
            try:
                build.wait(timeout=240)
            finally:
                build.kill()
    outcome = "the build finished"
    if build.returncode != 0:
        outcome = "a rerun resumed"
        rerun = run_build(cluster, command)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
    note_case("fault", "Ray worker node killed while holding a batch", outcome)
    ids = record_ids(out)
    sources = [key for part in parts(out) for key in part["sources"]]
    assert len(ids) == len(set(ids)) == len(local_ids) and sorted(ids) == sorted(local_ids)
    assert len(sources) == len(set(sources)) == 18  # every source item written once, in one part


def test_a_wrong_or_missing_token_is_one_clear_line(
    cluster: LocalCluster, inputs: Path, recipe_file: Path, tmp_path: Path
) -> None:
    command = build_command(inputs, tmp_path / "out", recipe_file, "--ray-address", cluster.address)
    wrong = run_build(cluster, command, RAY_AUTH_TOKEN="not-the-cluster-token")
    missing = run_build(cluster, command, HOME=str(tmp_path / "no-token-here"))
    assert wrong.returncode == missing.returncode == 2
    assert (
        f"error: the Ray cluster at {cluster.address} refused the token from $RAY_AUTH_TOKEN" in wrong.stderr
    )
    assert "wants a token" in missing.stderr and "--ray-token-file" in missing.stderr
    for done in (wrong, missing):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "out").exists()  # the output folder is opened after the cluster is joined


def test_a_node_without_the_models_says_to_fetch_them_on_that_node(
    cluster: LocalCluster, inputs: Path, recipe_file: Path, tmp_path: Path
) -> None:
    cluster.keep_workers(["bare"], homes={"bare": tmp_path / "empty-facefocal-home"})  # the only CPUs
    command = build_command(inputs, tmp_path / "out", recipe_file, "--ray-address", cluster.address)
    done = run_build(cluster, command)
    assert done.returncode == 2, done.stderr[-3000:]
    [line] = done.stderr.strip().splitlines()  # one line: no traceback, no Ray Data retry notes
    assert line.startswith("error: Ray node 127.0.0.1") and "model" in line
    assert "`facefocal models fetch` on that node" in line
