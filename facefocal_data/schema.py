"""JSON Schema validation of rows and manifests (jsonschema-rs: ~1M records/s, draft 2020-12)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs

from .paths import data_dir
from .record import json_view

MAX_REASONS = 3


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((data_dir("schemas") / f"{name}.schema.json").read_text())


@cache
def _validator(name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(load_schema(name))


def problems(instance: dict[str, Any], schema: str) -> list[str]:
    """Human-readable reasons the instance breaks the schema; empty when valid."""
    validator = _validator(schema)
    if validator.is_valid(instance):
        return []
    out = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        out.append(f"{where}: {error.message}")
        if len(out) >= MAX_REASONS:
            break
    return out


def row_problems(row: dict[str, Any]) -> list[str]:
    """Validate a stored row (image bytes are checked by length, not content)."""
    return problems(json_view(row), "face_record")
