"""facefocal-data: region-level face understanding data, from face images to validated shards.

The Python API mirrors the CLI: ``facefocal_data.build(...)`` is what ``facefocal build`` runs,
and ``facefocal_data.Build(path)`` is a finished build read back (records, ``find``, errors,
``validate``, ``rewrite``, ``to_pandas``). Heavy modules load on first use, so importing the
package has no side effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import FacefocalError, NotABuildError

if TYPE_CHECKING:
    from .config import Recipe, load_recipe
    from .dataset import Build
    from .pipeline import BuildSummary, build
    from .preflight import CheckReport, check
    from .truth.audit import AuditReport, audit
    from .truth.calibration import Calibration, calibrate

__all__ = [
    "AuditReport",
    "Build",
    "BuildSummary",
    "Calibration",
    "CheckReport",
    "FacefocalError",
    "NotABuildError",
    "Recipe",
    "__version__",
    "audit",
    "build",
    "calibrate",
    "check",
    "load_recipe",
]


def __getattr__(name: str) -> Any:
    if name in ("build", "BuildSummary"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "Build":
        from .dataset import Build

        return Build
    if name in ("check", "CheckReport"):
        from . import preflight

        return getattr(preflight, name)
    if name in ("audit", "AuditReport"):
        from .truth import audit

        return getattr(audit, name)
    if name in ("calibrate", "Calibration"):
        from .truth import calibration

        return getattr(calibration, name)
    if name in ("Recipe", "load_recipe"):
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module 'facefocal_data' has no attribute {name!r}")
