"""Open verified weights in their runtimes (LiteRT for .tflite, onnxruntime for .onnx)."""

from __future__ import annotations

import os
from typing import Any

from ..errors import BackendUnavailableError
from .store import load_model_bytes


def tflite_interpreter(name: str, num_threads: int = 1) -> Any:
    """A LiteRT interpreter over the hash-checked bytes of model `name`, tensors allocated."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailableError(
            "ai-edge-litert is not installed; `pip install ai-edge-litert`"
        ) from exc
    interpreter = Interpreter(model_content=load_model_bytes(name), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def onnx_session(name: str, num_threads: int = 1) -> Any:
    """An onnxruntime CPU session over the hash-checked bytes of model `name`."""
    return onnx_session_from_bytes(load_model_bytes(name), num_threads)


def onnx_session_from_bytes(model: bytes, num_threads: int = 1) -> Any:
    """An onnxruntime CPU session over a serialised ModelProto (one we built from verified weights)."""
    # onnxruntime ≥ 1.2x sends usage telemetry and writes $TMPDIR/.ses and ~/.cache/Microsoft/…;
    # an offline data tool must not (read before the library loads; the user may set it to 0)
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailableError("onnxruntime is not installed; `pip install onnxruntime`") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
