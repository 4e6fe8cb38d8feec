"""The Label Studio round trip against a real Label Studio server (slow: installs it once).

Label Studio is installed into its own virtual environment under `$FACEFOCAL_HOME` (its pins
clash with ours), started on 127.0.0.1 only, with its data in the test's temporary folder. The
test imports our export, checks that the crops load and the rectangles carry region names,
edits through the API as annotators would, exports the project in every shape Label Studio
offers for this (JSON, JSON with every task, JSON_MIN, a snapshot) and brings each back with
`facefocal import-labelstudio`: exactly the edited texts change.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from facefocal_data.cli import app
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.paths import facefocal_home

pytestmark = pytest.mark.slow
LABEL_STUDIO = "label-studio==1.23.2"


def _label_studio() -> Path:
    """The `label-studio` executable of a venv of its own, created on first use."""
    venv = facefocal_home() / "label-studio-venv"
    executable = venv / "bin" / "label-studio"
    if executable.exists():
        return executable
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", LABEL_STUDIO]
        subprocess.run(pip, check=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot install {LABEL_STUDIO} into {venv}: {exc}")
    return executable


class Client:
    """Label Studio's REST API with a legacy token, stdlib only."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
        return raw if not raw or raw.lstrip()[:1] not in (b"{", b"[") else json.loads(raw)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path]]:
    """A fresh Label Studio on 127.0.0.1 whose document root is the export folder."""
    executable = _label_studio()
    root = tmp_path_factory.mktemp("ls")
    export_dir, data_dir = root / "export", root / "data"
    export_dir.mkdir()
    port, token = _free_port(), secrets.token_hex(20)
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(export_dir),
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
    }
    command = [str(executable), "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port)]
    command += ["--data-dir", str(data_dir), "--username", "review@example.com", "--password", token]
    command += ["--user-token", token, "--enable-legacy-api-token"]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    client = Client(f"http://127.0.0.1:{port}", token)
    try:
        _wait_until_up(client, process, root / "server.log")
        yield client, export_dir
    finally:
        process.kill()  # a throwaway server and database: nothing to shut down gracefully
        process.wait()
        log.close()


def _wait_until_up(client: Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 600  # the first start migrates a fresh database
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"Label Studio exited: {log.read_text()[-3000:]}")
        try:
            client.call("GET", "/api/projects/")
            return
        except OSError:
            time.sleep(2)
    raise AssertionError(f"Label Studio did not answer: {log.read_text()[-3000:]}")


def _edit(result: list[dict[str, Any]], region: str, text: str) -> list[dict[str, Any]]:
    """The prediction's results with one region's text replaced, as an annotator submits them."""
    edited = json.loads(json.dumps(result))
    for item in edited:
        if item["id"] == region and item["type"] == "textarea":
            item["value"]["text"] = [text]
    return edited


def _annotate(client: Client, pid: int, tasks: list[dict[str, Any]]) -> dict[str, str]:
    """Annotations through the API; returns the mouth text each face must have after the import."""
    listed = client.call("GET", f"/api/tasks/?project={pid}&page_size=1000")
    ids = {t["data"]["record_id"]: t["id"] for t in (listed["tasks"] if isinstance(listed, dict) else listed)}
    results = {t["data"]["record_id"]: t["predictions"][0]["result"] for t in tasks}
    a, b, c, d = list(results)[:4]

    def submit(record_id: str, result: list[dict[str, Any]], cancelled: bool = False) -> None:
        body = {"result": result, "was_cancelled": cancelled}
        client.call("POST", f"/api/tasks/{ids[record_id]}/annotations/", body)

    submit(a, _edit(results[a], "mouth", "Edited in Label Studio: lips apart (AU25 Lips Part)."))
    submit(b, _edit(results[b], "mouth", "An older reviewer's text."))
    time.sleep(1.1)  # the newer annotation is the one that counts
    submit(b, _edit(results[b], "mouth", "The newer reviewer's text wins."))
    submit(c, _edit(results[c], "mouth", "Skipped: must not count."), cancelled=True)
    submit(d, results[d])  # accepted as predicted: nothing changes
    return {
        a: "Edited in Label Studio: lips apart (AU25 Lips Part).",
        b: "The newer reviewer's text wins.",
    }


def _snapshot(client: Client, pid: int) -> Any:
    body = {"title": "snapshot", "serialization_options": {"predictions": {"only_id": False}}}
    created = client.call("POST", f"/api/projects/{pid}/exports/", body)
    for _ in range(120):
        if client.call("GET", f"/api/projects/{pid}/exports/{created['id']}")["status"] == "completed":
            return client.call("GET", f"/api/projects/{pid}/exports/{created['id']}/download?exportType=JSON")
        time.sleep(1)
    raise AssertionError("snapshot export did not complete")


def _exports(client: Client, pid: int) -> dict[str, Any]:
    quick = f"/api/projects/{pid}/export?exportType="
    shapes = {
        "json": client.call("GET", quick + "JSON"),
        "json-all-tasks": client.call("GET", quick + "JSON&download_all_tasks=true"),
        "json-min": client.call("GET", quick + "JSON_MIN"),
        "snapshot": _snapshot(client, pid),
    }
    # the shape that used to fail: Label Studio lists predictions by id
    assert any(isinstance(p, int) for t in shapes["json-all-tasks"] for p in t.get("predictions", []))
    assert all("record_id" in row and "data" not in row for row in shapes["json-min"])
    return shapes


def test_review_in_a_real_label_studio_changes_exactly_the_edited_texts(  # type: ignore[no-untyped-def]
    server, mixed_build, tmp_path: Path
) -> None:
    client, export_dir = server
    build, summary = mixed_build
    assert summary.faces >= 4
    export(build, "labelstudio", export_dir, ExportOptions())
    config = (export_dir / "labeling_config.xml").read_text()
    project = client.call("POST", "/api/projects/", {"title": "facefocal review", "label_config": config})
    pid = project["id"]
    labels = project["parsed_label_config"]["region"]["labels"]
    assert {"mouth", "eye_left", "box_00"} <= set(labels) and not {"named", "box"} & set(labels)
    storage = {"project": pid, "path": str(export_dir / "images"), "title": "crops", "use_blob_urls": False}
    client.call("POST", "/api/storages/localfiles/", storage)
    tasks = json.loads((export_dir / "tasks.json").read_text())
    client.call("POST", f"/api/projects/{pid}/import", tasks)
    image = tasks[0]["data"]["image"]
    assert image.startswith("/data/local-files/?d=images/")
    assert (
        client.call("GET", image) == (export_dir / image.split("?d=")[1]).read_bytes()
    )  # Label Studio serves it

    expected = _annotate(client, pid, tasks)
    before = {r.record_id: r for r in iter_records(build)}
    for shape, payload in _exports(client, pid).items():
        file = tmp_path / f"{shape}.json"
        file.write_text(json.dumps(payload))
        out = tmp_path / f"reviewed-{shape}"
        res = CliRunner().invoke(app, ["import-labelstudio", str(file), "--data", str(build), "-o", str(out)])
        assert res.exit_code == 0, (shape, res.output)
        assert "2 region texts edited, 0 unknown ids" in res.output, (shape, res.output)
        for record in iter_records(out):
            old = before[record.record_id]
            if record.record_id not in expected:
                assert record.to_row() == old.to_row(), shape
                continue
            for new_region, old_region in zip(record.regions, old.regions, strict=True):
                if new_region.region_id == "mouth":
                    assert new_region.description is not None and new_region.description.describer == "human"
                    assert new_region.description.text == expected[record.record_id], shape
                else:
                    assert new_region == old_region, shape
