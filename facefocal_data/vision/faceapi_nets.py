"""The face-api.js expression and age-gender nets as ONNX graphs built from their TFJS weights.

face-api.js (MIT) defines each net as TensorFlow.js code, not as a graph file; we rebuild the same
layers (`FaceFeatureExtractor` with four `denseBlock4`, and `TinyXception` with two main blocks)
from the verified weights at load time and run them with onnxruntime, batched, without TensorFlow.
The input side (`NetInput.toBatchTensor(112, true)`: centred zero padding to a square, then tfjs's
bilinear resize without half-pixel centres) is reproduced exactly in numpy. A slow test compares
both against the real library in node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError

INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)
EXPRESSION_LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
OPSET = 17


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow 'same' padding for one axis: (before, after, output size); extra goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class _Graph:
    """Accumulates ONNX nodes and initialisers, tracking the (square) spatial size for 'same' pads."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        try:
            from onnx import helper, numpy_helper
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BackendUnavailableError(
                "the faceapi backends build their nets with the onnx package; `pip install onnx`"
            ) from exc

        self._helper, self._numpy_helper = helper, numpy_helper
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.size = INPUT_SIZE

    def const(self, array: np.ndarray) -> str:
        name = f"c{len(self.initializers)}"
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = f"t{len(self.nodes)}"
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def conv(self, x: str, weight: np.ndarray, bias: np.ndarray | None, stride: int, group: int = 1) -> str:
        """A TF-layout filter ([kh, kw, in, out], or [kh, kw, C, 1] depthwise) as ONNX Conv, 'same'."""
        kernel = weight.shape[0]
        before, after, out = same_pads(self.size, kernel, stride)
        w = self.const(weight.transpose(3, 2, 0, 1) if group == 1 else weight.transpose(2, 3, 0, 1))
        inputs = [x, w] if bias is None else [x, w, self.const(bias)]
        self.size = out
        pads = [before, before, after, after]
        return self.op(
            "Conv", *inputs, kernel_shape=[kernel, kernel], strides=[stride, stride], pads=pads, group=group
        )

    def plain_conv(self, x: str, prefix: str, stride: int) -> str:
        return self.conv(x, self.weights[f"{prefix}/filters"], self.weights[f"{prefix}/bias"], stride)

    def separable(self, x: str, prefix: str, stride: int = 1) -> str:
        """tf.separableConv2d then the bias: depthwise (carries stride and padding), then pointwise."""
        depthwise = self.weights[f"{prefix}/depthwise_filter"]
        x = self.conv(x, depthwise, None, stride, group=depthwise.shape[2])
        return self.conv(x, self.weights[f"{prefix}/pointwise_filter"], self.weights[f"{prefix}/bias"], 1)

    def relu(self, x: str) -> str:
        return self.op("Relu", x)

    def add(self, *terms: str) -> str:
        """Right-nested sum, a + (b + (c + d)), in the order face-api.js adds."""
        total = terms[-1]
        for term in reversed(terms[:-1]):
            total = self.op("Add", term, total)
        return total

    def max_pool_same(self, x: str) -> str:
        before, after, out = same_pads(self.size, 3, 2)
        self.size = out
        pads = [before, before, after, after]
        return self.op("MaxPool", x, kernel_shape=[3, 3], strides=[2, 2], pads=pads)

    def normalised_input(self) -> str:
        """(x - mean RGB) / 255 on the NHWC input, then NCHW for the convolutions."""
        mean = self.const(np.array(MEAN_RGB, np.float32).reshape(1, 1, 1, 3))
        scaled = self.op("Div", self.op("Sub", "image", mean), self.const(np.array(255.0, np.float32)))
        return self.op("Transpose", scaled, perm=[0, 3, 1, 2])

    def pooled_features(self, x: str) -> str:
        """avgPool 7x7 stride 2 'valid' (the 7x7 map becomes 1x1), flattened to [N, C]."""
        pooled = self.op("AveragePool", x, kernel_shape=[7, 7], strides=[2, 2])
        return self.op("Flatten", pooled, axis=1)

    def dense(self, x: str, prefix: str) -> str:
        w, b = self.weights[f"{prefix}/weights"], self.weights[f"{prefix}/bias"]
        return self.op("Add", self.op("MatMul", x, self.const(w)), self.const(b))

    def model(self, outputs: dict[str, tuple[str, int]]) -> bytes:
        """Serialised ModelProto: NHWC float32 input 'image' of 0-255 RGB values, batch dynamic."""
        from onnx import TensorProto, checker

        helper = self._helper
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3])
        self.nodes += [helper.make_node("Identity", [src], [name]) for name, (src, _) in outputs.items()]
        outs = [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", k]) for n, (_, k) in outputs.items()
        ]
        graph = helper.make_graph(self.nodes, "faceapi", [image], outs, self.initializers)
        proto = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facefocal"
        )
        proto.ir_version = 8
        checker.check_model(proto)
        return proto.SerializeToString()


def _dense_block4(g: _Graph, x: str, prefix: str, first: bool) -> str:
    """face-api.js `denseBlock4`: stride-2 entry conv, three separable convs, dense residual sums."""
    entry = g.plain_conv(x, f"{prefix}/conv0", 2) if first else g.separable(x, f"{prefix}/conv0", 2)
    out1 = g.relu(entry)
    out2 = g.separable(out1, f"{prefix}/conv1")
    out3 = g.separable(g.relu(g.add(out1, out2)), f"{prefix}/conv2")
    out4 = g.separable(g.relu(g.add(out1, out2, out3)), f"{prefix}/conv3")
    return g.relu(g.add(out1, out2, out3, out4))


def expression_model(weights: dict[str, np.ndarray]) -> bytes:
    """FaceExpressionNet: FaceFeatureExtractor -> avgPool -> fc -> softmax; output 'probs' [N, 7]."""
    g = _Graph(weights)
    x = g.normalised_input()
    for i in range(4):
        x = _dense_block4(g, x, f"dense{i}", first=i == 0)
    probs = g.op("Softmax", g.dense(g.pooled_features(x), "fc"), axis=1)
    return g.model({"probs": (probs, len(EXPRESSION_LABELS))})


def _reduction_block(g: _Graph, x: str, prefix: str, activate_input: bool) -> str:
    """TinyXception `reductionBlock`: two separable convs, 3x3/2 max pool, plus a 1x1/2 shortcut."""
    size = g.size
    out = g.separable(g.relu(x) if activate_input else x, f"{prefix}/separable_conv0")
    out = g.max_pool_same(g.separable(g.relu(out), f"{prefix}/separable_conv1"))
    g.size = size
    shortcut = g.plain_conv(x, f"{prefix}/expansion_conv", 2)
    return g.op("Add", out, shortcut)


def _main_block(g: _Graph, x: str, prefix: str) -> str:
    out = x
    for i in range(3):
        out = g.separable(g.relu(out), f"{prefix}/separable_conv{i}")
    return g.op("Add", out, x)


def age_gender_model(weights: dict[str, np.ndarray], main_blocks: int = 2) -> bytes:
    """AgeGenderNet: TinyXception(2) -> avgPool -> fc.age [N, 1] (years) and fc.gender softmax [N, 2]."""
    g = _Graph(weights)
    x = g.relu(g.plain_conv(g.normalised_input(), "entry_flow/conv_in", 2))
    x = _reduction_block(g, x, "entry_flow/reduction_block_0", activate_input=False)
    x = _reduction_block(g, x, "entry_flow/reduction_block_1", activate_input=True)
    for i in range(main_blocks):
        x = _main_block(g, x, f"middle_flow/main_block_{i}")
    x = _reduction_block(g, x, "exit_flow/reduction_block", activate_input=True)
    features = g.pooled_features(g.relu(g.separable(x, "exit_flow/separable_conv")))
    gender = g.op("Softmax", g.dense(features, "fc/gender"), axis=1)
    return g.model({"age": (g.dense(features, "fc/age"), 1), "gender": (gender, 2)})


def pad_to_square(image: np.ndarray) -> np.ndarray:
    """face-api.js `padToSquare(x, isCenterImage=true)`: zeros on both sides of the short axis.

    The trailing side gets ``round(diff / 2)`` (JavaScript rounding, halves up), the leading side
    the rest.
    """
    h, w = image.shape[:2]
    if h == w:
        return image
    diff = abs(h - w)
    after = math.floor(diff * 0.5 + 0.5)
    pad = ((0, 0), (diff - after, after)) if h > w else ((diff - after, after), (0, 0))
    return np.pad(image, (*pad, (0, 0)))


def resize_bilinear_tf(image: np.ndarray, size: int) -> np.ndarray:
    """tfjs `resizeBilinear(alignCorners=false, halfPixelCenters=false)` on the CPU backend, exactly.

    Source coordinates are ``out * (in / size)`` (no half-pixel offset, no antialiasing); the blend is
    done in double precision from float32 inputs and rounded to float32 once, as the kernel does.
    """
    h, w = image.shape[:2]
    ys, xs = (h / size) * np.arange(size), (w / size) * np.arange(size)
    y0, x0 = np.floor(ys).astype(np.intp), np.floor(xs).astype(np.intp)
    y1, x1 = np.minimum(h - 1, np.ceil(ys)).astype(np.intp), np.minimum(w - 1, np.ceil(xs)).astype(np.intp)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    img = image.astype(np.float32).astype(np.float64)
    top_left, top_right = img[y0][:, x0], img[y0][:, x1]
    bottom_left, bottom_right = img[y1][:, x0], img[y1][:, x1]
    top = top_left + (top_right - top_left) * fx
    bottom = bottom_left + (bottom_right - bottom_left) * fx
    return (top + (bottom - top) * fy).astype(np.float32)


def to_batch_tensor(patches: Sequence[np.ndarray], size: int = INPUT_SIZE) -> np.ndarray:
    """face-api.js `NetInput.toBatchTensor(size, true)` for RGB patches of any shape: [N, size, size, 3]."""
    out = np.empty((len(patches), size, size, 3), np.float32)
    for i, patch in enumerate(patches):
        square = pad_to_square(np.asarray(patch, np.float32))
        out[i] = square if square.shape[0] == size else resize_bilinear_tf(square, size)
    return out
