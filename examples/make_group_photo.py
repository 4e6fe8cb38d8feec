"""Make `images/group_of_six.jpg`: six copies of the public-domain astronaut face on one canvas.

Sizes differ (50-100 %) and every other face is mirrored, so the picture exercises multi-face
detection, small faces and the subject's-left convention. The tests build the same picture.
Run: python examples/make_group_photo.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SCALES = (1.0, 0.8, 0.6, 0.9, 0.7, 0.5)


def make_group_photo(astronaut_rgb: np.ndarray) -> np.ndarray:
    """Six astronaut faces at different sizes, some mirrored, on a 1240x760 grey canvas."""
    face = astronaut_rgb[20:280, 110:350]
    canvas = np.full((760, 1240, 3), 200, np.uint8)
    for k, scale in enumerate(SCALES):
        patch = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if k % 2:
            patch = patch[:, ::-1]
        y, x = 20 + (k // 3) * 370, 20 + (k % 3) * 410
        canvas[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return canvas


if __name__ == "__main__":
    rgb = np.asarray(Image.open(HERE / "images" / "astronaut.png").convert("RGB"))
    Image.fromarray(make_group_photo(rgb)).save(HERE / "images" / "group_of_six.jpg", quality=90)
