"""Reading a prediction file: every bad line is counted and reported, the valid part is scored."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import load_schema
from ..textfiles import lines, parse_json


@dataclass
class Prediction:
    record_id: str
    region_id: str  # "face" for the face-level line
    text: str | None = None
    aus: list[str] | None = None
    emotion: str | None = None
    age: float | str | None = None


@dataclass
class LoadReport:
    lines: int = 0
    valid: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # the first few, with line numbers

    def bad(self, kind: str, line: int, detail: str) -> None:
        self.problems[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"line {line}: {kind}: {detail}")

    @property
    def skipped(self) -> int:
        return sum(self.problems.values())


def load_predictions(path: Path, known: dict[str, set[str]]) -> tuple[list[Prediction], LoadReport]:
    """Predictions whose (record, region) exist in the data; `known` maps record id -> region ids."""
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(load_schema("prediction"))
    report, seen, out = LoadReport(), set(), []
    for number, line, bad in lines(Path(path)):
        report.lines += 1
        if bad:
            report.bad("malformed line", number, f"the line {bad}")
            continue
        prediction = _parse(line, number, validator, report)
        if prediction is None:
            continue
        key = (prediction.record_id, prediction.region_id)
        if prediction.record_id not in known:
            report.bad("unknown record id", number, prediction.record_id)
        elif prediction.region_id != "face" and prediction.region_id not in known[prediction.record_id]:
            report.bad("unknown region id", number, f"{prediction.record_id}/{prediction.region_id}")
        elif key in seen:
            report.bad("duplicate key", number, f"{prediction.record_id}/{prediction.region_id}")
        else:
            seen.add(key)
            out.append(prediction)
    report.valid = len(out)
    return out, report


def _parse(line: str, number: int, validator: Any, report: LoadReport) -> Prediction | None:
    try:
        data = parse_json(line)
    except ValueError as exc:
        report.bad("malformed line", number, str(exc))
        return None
    errors = [e.message for e in validator.iter_errors(data)] if isinstance(data, dict) else ["not an object"]
    if errors:
        report.bad("missing or invalid fields", number, "; ".join(errors)[:200])
        return None
    aus = data.get("aus")
    return Prediction(
        record_id=data["record_id"],
        region_id=data["region_id"],
        text=data.get("text"),
        aus=None if aus is None else [str(a) for a in aus],
        emotion=data.get("emotion"),
        age=data.get("age"),
    )
