"""Misuse: a planted API key is found in no file and no message anywhere along the whole tool
chain (build, validate, stats, records, export, card, report, evaluate), and a build writes
nothing outside its output folder: no temporary files, no change to the inputs.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from facefocal_data.paths import facefocal_home

from .conftest import ASTRONAUT, note_case
from .test_describe import FakeServer, completion, draft_of

KEY = "sk-planted-7f3a9c1e5b2d4f60"


def _replies() -> Any:
    """A server that leaks the key every way it can: in a 401, a 500, garbage, and an answer."""
    leaks = itertools.cycle(
        [
            (401, {"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}}),
            (500, {"error": {"message": f"upstream failed for {KEY}"}}),
            (200, f"<html>{KEY}</html>".encode()),
            (200, None),  # a text that repeats the key after the draft
            (200, "draft"),  # a good answer, so some texts are the LLM's
        ]
    )

    def reply(body: dict[str, Any]) -> tuple[int, Any]:
        status, payload = next(leaks)
        if payload is None:
            return status, completion(f"{draft_of(body)} Key: {KEY}.")
        if payload == "draft":
            return status, completion(draft_of(body))
        return status, payload

    return reply


def _cli(*args: str, env: dict[str, str]) -> str:
    """Run one facefocal command; its stdout and stderr together (they are outputs too)."""
    command = [sys.executable, "-c", "from facefocal_data.cli import main; main()", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout + done.stderr


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_planted_key_is_nowhere_in_any_output_and_nothing_is_written_outside_the_output(
    tmp_path: Path,
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ASTRONAUT, images / "astronaut.png")
    shutil.copy(ASTRONAUT.parent / "chelsea.png", images / "cat.png")
    before = _tree(images)
    temp, home = tmp_path / "tmp", tmp_path / "home"
    temp.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "MY_LLM_KEY": KEY,
        "TMPDIR": str(temp),
        "HOME": str(home),
        "FACEFOCAL_HOME": str(facefocal_home()),
        "FACEFOCAL_LLM_CACHE": str(tmp_path / "llm-cache"),
    }
    server = FakeServer(_replies())
    try:
        llm = {
            "base_url": server.url,
            "model": "m",
            "api_key_env": "MY_LLM_KEY",
            "retries": 1,
            "mode": "region",
        }
        settings = {
            "regions": {"named": ["mouth", "eye_left"], "boxes": {"count": 1}},
            "describe": {"describer": "llm", "llm": llm},
        }
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(yaml.safe_dump(settings))
        out = tmp_path / "out"
        said = [_cli("build", str(images), "-o", str(out), "-r", str(recipe), "--json", env=env)]
    finally:
        server.close()
    assert server.requests > 0
    said.append(_cli("validate", str(out), env=env))
    said.append(_cli("stats", str(out), "--json", env=env))
    said.append(_cli("records", str(out), env=env))
    said.append(_cli("export", str(out), "-f", "qwen2.5-vl", "-o", str(tmp_path / "export"), env=env))
    said.append(_cli("card", str(out), env=env))
    said.append(_cli("report", str(out), "-o", str(tmp_path / "site"), env=env))
    said.append(_cli("evaluate", str(out), "--baseline", "template", "-o", str(tmp_path / "eval"), env=env))

    assert KEY not in "\n".join(said)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 20
    leaking = [p for p in written if KEY.encode() in p.read_bytes()]
    assert leaking == []
    assert _tree(images) == before  # inputs untouched
    assert list(temp.iterdir()) == []  # no temporary file left outside the output folder
    # in $HOME only matplotlib's own font cache (what any plotting does); no telemetry, no other cache
    in_home = {p.relative_to(home).parts[:2] for p in home.rglob("*") if p.is_file()}
    assert in_home <= {(".cache", "matplotlib"), (".config", "matplotlib")}, in_home
    note_case("misuse", "API key planted; server echoes it in 401/500/garbage/text", "in no output")
    note_case("misuse", "temp files / input changes outside the output folder", "none")
