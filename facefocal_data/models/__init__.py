"""Model manifest and the verified user cache."""

from .manifest import MODELS, ModelSpec, model_spec
from .store import fetch, load_model_bytes, statuses

__all__ = ["MODELS", "ModelSpec", "fetch", "load_model_bytes", "model_spec", "statuses"]
