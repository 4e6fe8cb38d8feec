"""A trainer's predictions back onto the build's records and regions (no trainer venv needed).

LLaMA-Factory's `generated_predictions.jsonl` holds only text, in the export's row order; the
keys rebuilt from the build must put each prediction on its (record, region), refuse a file whose
rows do not line up with the export, and give lines `facefocal evaluate --strict` takes whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facefocal_data.errors import FacefocalError
from facefocal_data.evaluate import evaluate
from facefocal_data.exporters import ExportOptions, export
from facefocal_data.exporters.base import iter_records
from facefocal_data.trainers.keys import export_predictions, main


def _generated(folder: Path, dataset: str, out: Path, order: slice = slice(None)) -> Path:
    """What LLaMA-Factory's predict mode writes: each row's last answer as its label."""
    rows = json.loads((folder / f"{dataset}.json").read_text())[order]
    lines = [
        {"prompt": "", "predict": f"prediction {n}", "label": row["messages"][-1]["content"]}
        for n, row in enumerate(rows)
    ]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out


@pytest.mark.parametrize("stage", ["au", "region", "dialogue", "emotion"])
def test_predictions_land_on_their_regions(mixed_build, tmp_path: Path, stage: str) -> None:  # type: ignore[no-untyped-def]
    build, _ = mixed_build
    folder = tmp_path / "lf"
    export(build, "llamafactory", folder, ExportOptions(stage=stage, name=f"ff_{stage}", seed=3))
    dataset = f"ff_{stage}_train"
    lines = export_predictions(build, folder, dataset, _generated(folder, dataset, tmp_path / "gen.jsonl"))
    rows = json.loads((folder / f"{dataset}.json").read_text())
    assert len(lines) == len(rows) > 0
    regions = {r.record_id: {g.region_id: g for g in r.regions} for r in iter_records(build, "train")}
    for line, row in zip(lines, rows, strict=True):
        assert line["record_id"] in regions
        if stage in ("emotion", "age"):
            assert line["region_id"] == "face"
        else:  # the last question names the region's box (Qwen2.5-VL pixels; the crop is not resized)
            box = regions[line["record_id"]][line["region_id"]].bbox_xyxy
            assert str(list(box)) in [m["content"] for m in row["messages"] if m["role"] == "user"][-1]
    out = tmp_path / "preds.jsonl"
    main([str(build), str(folder), dataset, str(tmp_path / "gen.jsonl"), "-o", str(out)])
    scored = evaluate(build, out, split="train", resamples=10)
    assert scored.report.valid == len(rows) and scored.report.skipped == 0


def test_predictions_out_of_order_are_refused(mixed_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build, _ = mixed_build
    folder = tmp_path / "lf"
    export(build, "llamafactory", folder, ExportOptions(stage="region", name="ff_region"))
    generated = _generated(folder, "ff_region_train", tmp_path / "gen.jsonl", slice(None, None, -1))
    with pytest.raises(FacefocalError, match="is not the export's row"):
        export_predictions(build, folder, "ff_region_train", generated)
    with pytest.raises(FacefocalError, match="holds no dataset"):
        export_predictions(build, folder, "ff_region_test_typo", generated)
