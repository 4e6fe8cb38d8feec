"""The real LLM path: llama.cpp's server (xllamacpp) with SmolLM2 from the model cache.

Marked slow (tens of seconds): `make test` runs them, `make test-fast` skips them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.describe.factcheck import check_text
from facefocal_data.describe.facts import face_facts, region_facts
from facefocal_data.llm import EmbeddedServer
from facefocal_data.record import FaceRecord

from .conftest import ASTRONAUT, note_case

pytestmark = pytest.mark.slow

FEW_REGIONS = {"named": ["mouth", "eye_left", "forehead"], "boxes": {"count": 1}}


def _recipe(**llm: Any) -> Recipe:
    """Free rewriting per region (the templater's own tests are in test_templater.py)."""
    llm = {"mode": "region", **llm}
    return Recipe.model_validate({"regions": FEW_REGIONS, "describe": {"describer": "llm", "llm": llm}})


def _records(out: Path) -> list[FaceRecord]:
    rows = [row for p in sorted((out / "shards").glob("*.parquet")) for row in pq.read_table(p).to_pylist()]
    return [FaceRecord.from_row(row) for row in rows]


def _assert_gated(record: FaceRecord, style: str = "short") -> None:
    """Every text is LLM text that passes the gate now, or the template with the reasons why."""
    pairs = [(r.description, region_facts(record, r)) for r in record.regions]
    pairs.append((record.face_description, face_facts(record)))
    for described, facts in pairs:
        assert described is not None and described.text
        if described.describer == "llm":
            assert not described.fallback_used and check_text(described.text, facts, style) == []
        else:
            assert described.describer == "template" and check_text(described.text, facts, "long") == []
            assert bool(described.checks) == described.fallback_used  # a fallback says why


def _children() -> list[str]:
    """Command lines of this process's live embedded-server children."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if "facefocal_data.llm.child" in cmd and int(ppid) == os.getpid():
            found.append(cmd)
    return found


def test_default_build_starts_the_embedded_server_and_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    summary = build(ASTRONAUT, tmp_path / "out", recipe=_recipe())
    assert summary.faces == 1 and summary.describe["texts"] == 5  # 4 regions + the face
    assert summary.describe["requests"] >= 5
    [record] = _records(tmp_path / "out")
    _assert_gated(record)
    assert not _children()  # stopped when the run ended
    models = [
        m["name"]
        for m in __import__("json").loads((tmp_path / "out" / "manifest.json").read_text())["models"]
    ]
    assert "smollm2_135m" in models


def test_rerun_makes_no_calls_at_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    with EmbeddedServer(parallel=2) as server:
        recipe = _recipe(base_url=server.base_url, model=server.alias)
        first = build(ASTRONAUT, tmp_path / "a", recipe=recipe)
        before = server.metrics()
        second = build(ASTRONAUT, tmp_path / "b", recipe=recipe)
        after = server.metrics()
    assert first.describe["requests"] >= 5 and before["tokens_predicted_total"] > 0
    answered = first.describe["requests"] - first.describe["failed_requests"]  # a timeout is not cached
    assert second.describe["requests"] == first.describe["failed_requests"]
    assert second.describe["cache_hits"] == answered
    assert after["prompt_tokens_total"] == before["prompt_tokens_total"]
    assert after["tokens_predicted_total"] == before["tokens_predicted_total"]
    texts_a = [r.description.text for r in _records(tmp_path / "a")[0].regions]
    texts_b = [r.description.text for r in _records(tmp_path / "b")[0].regions]
    assert texts_a == texts_b


def test_killing_the_server_mid_run_finishes_on_template_text(
    tmp_path: Path, group_photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    server = EmbeddedServer(parallel=1)
    server.start()
    recipe = _recipe(base_url=server.base_url, model=server.alias, cache=False, retries=1, concurrency=1)

    def kill_after_first_text(done: int, total: int, summary: Any) -> None:
        live = summary.describe_live
        if live is not None and live.texts >= 1 and server.alive():
            server.kill()

    try:
        summary = build(group_photo, tmp_path / "out", recipe=recipe, on_progress=kill_after_first_text)
    finally:
        server.stop()
    assert summary.faces == 6
    records = _records(tmp_path / "out")
    texts = [r.description for rec in records for r in rec.regions] + [
        rec.face_description for rec in records
    ]
    assert len(texts) == 6 * 5
    gone = [t for t in texts if t.fallback_used and any("llm unavailable" in c for c in t.checks)]
    assert len(gone) >= len(texts) - 2  # at most what was in flight when it died came back
    assert any("circuit open" in c for t in gone for c in t.checks)
    for record in records:
        _assert_gated(record)
    note_case("fault", "embedded LLM server killed mid-run", "finishes on template text")


def test_face_mode_and_rating_with_the_real_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    recipe = Recipe.model_validate(
        {
            "regions": FEW_REGIONS,
            "describe": {
                "describer": "llm",
                "llm": {"mode": "face", "describe_face": False},
                "rating": {"enabled": True},
            },
        }
    )
    summary = build(ASTRONAUT, tmp_path / "out", recipe=recipe)
    assert summary.faces == 1
    [record] = _records(tmp_path / "out")
    _assert_gated(record)
    assert record.face_description.describer == "template"  # describe_face: false
    for region in record.regions:
        rating = region.description.rating
        if region.description.describer == "llm" and rating is not None:
            assert all(
                v is None or 1 <= v <= 10 for v in (rating.accuracy, rating.consistency, rating.overall)
            )
            assert rating.judge.startswith("smollm2_135m@sha256:")
