"""Where the toolkit keeps user state: never site-packages, never the working directory."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def facefocal_home() -> Path:
    """``$FACEFOCAL_HOME``, else ``~/.cache/facefocal``."""
    env = os.environ.get("FACEFOCAL_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facefocal"


def models_dir() -> Path:
    """Directory holding the verified weights files."""
    return facefocal_home() / "models"


def llm_cache_dir() -> Path:
    """``$FACEFOCAL_LLM_CACHE``, else ``$FACEFOCAL_HOME/llm-cache``: cached completions."""
    env = os.environ.get("FACEFOCAL_LLM_CACHE")
    return Path(env).expanduser() if env else facefocal_home() / "llm-cache"


def data_dir(name: str) -> Path:
    """A data folder shipped with the toolkit (``schemas``, ``pipelines``).

    Wheels carry them inside the package; an editable install reads them from the repo root.
    """
    for candidate in (PACKAGE_DIR / name, REPO_DIR / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"toolkit data folder {name!r} not found next to {PACKAGE_DIR}")
