"""Box coordinates per model family, from boxes in pixels of the stored crop.

- Qwen2.5-VL: absolute pixels of the image *as its processor resizes it* (`smart_resize` with the
  same min/max pixels the trainer uses); our crops are multiples of 28, so with budgets that
  include them the resize is the identity and the boxes are the stored ones.
- Qwen2-VL and Qwen3-VL: integers 0-1000 relative to the image.
- LLaMA-Factory resizes an image itself before the processor sees it (into `image_min_pixels`..
  `image_max_pixels`, sides cut with `int()`), then the processor's `smart_resize` runs with the
  budget the model ships with (Qwen2.5-VL: 3136..12845056): Qwen2.5-VL boxes for LLaMA-Factory
  follow both steps.
Tests check these against transformers' own image processor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FACTOR = 28
DEFAULT_MIN_PIXELS = 56 * 56
DEFAULT_MAX_PIXELS = 14 * 14 * 4 * 1280  # 1,003,520: the processor's and ms-swift's default
MAX_RATIO = 200
# the pixel budget in Qwen2.5-VL's preprocessor_config.json, which LLaMA-Factory leaves unchanged
PROCESSOR_MIN_PIXELS, PROCESSOR_MAX_PIXELS = 56 * 56, 28 * 28 * 16384


def smart_resize(
    height: int, width: int, min_pixels: int = DEFAULT_MIN_PIXELS, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[int, int]:
    """(height, width) Qwen2/2.5-VL's processor resizes an image to: multiples of 28 within the budget."""
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"aspect ratio above {MAX_RATIO}: {width}x{height}")
    h_bar = max(FACTOR, round(height / FACTOR) * FACTOR)
    w_bar = max(FACTOR, round(width / FACTOR) * FACTOR)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(FACTOR, math.floor(height / beta / FACTOR) * FACTOR)
        w_bar = max(FACTOR, math.floor(width / beta / FACTOR) * FACTOR)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / FACTOR) * FACTOR
        w_bar = math.ceil(width * beta / FACTOR) * FACTOR
    return h_bar, w_bar


def llamafactory_size(
    height: int, width: int, image_min_pixels: int, image_max_pixels: int
) -> tuple[int, int]:
    """(height, width) of the image LLaMA-Factory hands Qwen2.5-VL: its own pre-resize (as in its
    `mm_plugin._preprocess_image`), then the processor's smart_resize with the model's budget."""
    if width * height > image_max_pixels:
        factor = math.sqrt(image_max_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    if width * height < image_min_pixels:
        factor = math.sqrt(image_min_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    return smart_resize(height, width, PROCESSOR_MIN_PIXELS, PROCESSOR_MAX_PIXELS)


def qwen25_box(box: Sequence[float], height: int, width: int, min_pixels: int, max_pixels: int) -> list[int]:
    """A crop-pixel box in the resized image's absolute pixels (what Qwen2.5-VL reads and writes)."""
    return resized_box(box, height, width, *smart_resize(height, width, min_pixels, max_pixels))


def resized_box(box: Sequence[float], height: int, width: int, new_h: int, new_w: int) -> list[int]:
    """A box in pixels of a `width` x `height` image, in pixels of that image resized to `new_w` x `new_h`."""
    sx, sy = new_w / width, new_h / height
    x1, y1, x2, y2 = box
    return [
        max(0, min(round(x1 * sx), new_w)),
        max(0, min(round(y1 * sy), new_h)),
        max(0, min(round(x2 * sx), new_w)),
        max(0, min(round(y2 * sy), new_h)),
    ]


def norm1000_box(box: Sequence[float], height: int, width: int) -> list[int]:
    """A crop-pixel box as integers 0-1000 (Qwen2-VL, Qwen3-VL)."""
    x1, y1, x2, y2 = box
    return [
        round(x1 / width * 1000),
        round(y1 / height * 1000),
        round(x2 / width * 1000),
        round(y2 / height * 1000),
    ]
