"""Read TensorFlow.js weights (a weights manifest plus its .bin shards) into numpy, as tfjs does.

The face-api.js nets ship in this format; decoding it here means no TensorFlow is needed. The
dequantisation is tfjs-core's `decodeWeights`: ``q * scale + min`` computed in double precision and
stored as float32, so the arrays equal the tensors the JavaScript library builds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

_QUANT_DTYPES: dict[str, np.dtype[Any]] = {
    "uint8": np.dtype("<u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}
_PLAIN_DTYPES: dict[str, np.dtype[Any]] = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}


def weight_specs(manifest: bytes) -> list[dict[str, Any]]:
    """The weight entries of every group in a `*-weights_manifest.json`, in storage order."""
    groups = json.loads(manifest)
    if not isinstance(groups, list):
        raise ValueError("a TFJS weights manifest is a JSON list of weight groups")
    return [spec for group in groups for spec in group["weights"]]


def _decode_one(spec: dict[str, Any], buffer: bytes, offset: int) -> tuple[np.ndarray, int]:
    """One weight's float32 array and the offset just past its bytes."""
    shape = tuple(int(d) for d in spec["shape"])
    count = math.prod(shape)
    quant = spec.get("quantization")
    if spec.get("dtype", "float32") != "float32":
        raise ValueError(f"weight {spec['name']}: only float32 weights are supported")
    stored = _QUANT_DTYPES[quant["dtype"]] if quant else _PLAIN_DTYPES["float32"]
    end = offset + count * stored.itemsize
    if end > len(buffer):
        raise ValueError(f"weight {spec['name']} runs past the end of the weights data")
    raw = np.frombuffer(buffer, dtype=stored, count=count, offset=offset)
    if quant and quant["dtype"] != "float16":
        values = (raw.astype(np.float64) * float(quant["scale"]) + float(quant["min"])).astype(np.float32)
    else:
        values = raw.astype(np.float32)
    return values.reshape(shape), end


def decode_weights(manifest: bytes, data: bytes) -> dict[str, np.ndarray]:
    """Name -> float32 array for every weight, checking the data is exactly as long as declared."""
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for spec in weight_specs(manifest):
        weights[spec["name"]], offset = _decode_one(spec, data, offset)
    if offset != len(data):
        raise ValueError(f"the weights data has {len(data) - offset} bytes the manifest does not describe")
    return weights
