"""Content-addressed completion cache: the same request is never paid for twice.

The key is a hash of everything that decides the answer (prompt version, model, parameters,
messages, which carry the facts); the value is the completion. Each entry is one file written to
a unique temporary name and renamed into place, so concurrent writers (threads, processes,
machines on a shared disk) never leave a torn entry: the last identical write wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def cache_key(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CompletionCache:
    """On-disk map from request hash to completion (``{"text", "finish_reason"}``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None  # absent, or unreadable: ask again

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_json(self._path(key), value)


def write_json(path: Path, value: Any) -> None:
    """`value` as JSON at `path`, written to a unique temporary name and renamed into place, so
    concurrent writers (threads, processes, machines) never leave a torn file: the last one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(value, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LayeredCache(Generic[T]):
    """Values in memory, backed by a `CompletionCache` when given a root: the first lookup of a key
    reads its file, later ones the memory; a value stored without an entry stays in memory only
    (the templater's "could not ask" results, asked again by the next build)."""

    def __init__(self, root: Path | None, decode: Callable[[dict[str, Any]], T]) -> None:
        self.disk = CompletionCache(root) if root is not None else None
        self.decode = decode
        self.memory: dict[str, T] = {}

    def get(self, key: str) -> tuple[T | None, bool]:
        """(the value, whether it came from disk)."""
        if key in self.memory:
            return self.memory[key], False
        found = self.disk.get(key) if self.disk else None
        if found is None:
            return None, False
        self.memory[key] = self.decode(found)
        return self.memory[key], True

    def put(self, key: str, value: T, entry: dict[str, Any] | None) -> None:
        self.memory[key] = value
        if self.disk is not None and entry is not None:
            self.disk.put(key, entry)
