"""Read and decode an input image into RGB, turning every failure into a short reason."""

from __future__ import annotations

import io
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..error_codes import ItemError

MAX_FILE_BYTES = 1 << 30  # no image format we read needs a 1 GiB file for 50 M pixels
MAX_PIXELS = 50_000_000  # default cap (source.max_pixels); Pillow's own bomb guard stays on too
MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}  # refuse decompression bombs instead of exhausting memory


class ImageReadError(ItemError):
    """The file could not become an RGB image: the reason stored in errors, with its code."""


MISSING_FILE = "unreadable: file not found"  # a Ray node that cannot see a path adds its name


def read_bytes(path: Path) -> bytes:
    """The file's bytes; only a regular file of sane size is read (a pipe would block the build
    forever, a link to /dev/zero would fill the memory)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError("E_UNREADABLE", "unreadable: not a regular file (a pipe, device or socket)")
        if info.st_size > MAX_FILE_BYTES:
            raise ImageReadError(
                "E_TOO_LARGE", f"image too large: {info.st_size} bytes on disk (cap {MAX_FILE_BYTES})"
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImageReadError("E_IS_DIRECTORY", "unreadable: path is a directory") from None
    except PermissionError:
        raise ImageReadError("E_PERMISSION", "unreadable: permission denied") from None
    except FileNotFoundError:
        raise ImageReadError("E_MISSING_FILE", f"{MISSING_FILE} (dangling link or removed)") from None
    except OSError as exc:
        raise ImageReadError("E_UNREADABLE", f"unreadable: {exc.strerror or exc}") from None
    if not data:
        raise ImageReadError("E_EMPTY_FILE", "empty file (0 bytes)")
    return data


def decode_rgb(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode with EXIF orientation applied; truncated or corrupt data is an error, not a guess.

    The pixel count is checked from the header before any pixel is decoded, so a huge image
    costs no memory; animated images give their first frame.
    """
    container = _container_format(data)
    if container:
        raise ImageReadError(
            "E_UNSUPPORTED_FORMAT", f"unsupported format: {container} (convert it to JPEG or PNG)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                size = f"{image.width}x{image.height}"
                raise ImageReadError(
                    "E_TOO_LARGE", f"image too large: {size} pixels (cap {max_pixels}, source.max_pixels)"
                )
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
    except UnidentifiedImageError:
        kind = sniff_format(data)
        if kind:
            raise ImageReadError(
                "E_CORRUPT", f"corrupt image: {kind} header but unreadable content"
            ) from None
        raise ImageReadError("E_NOT_AN_IMAGE", "not an image: no known image format in the file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError("E_TOO_LARGE", f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower():
            raise ImageReadError("E_TRUNCATED", f"truncated image: {reason}") from None
        raise ImageReadError("E_CORRUPT", f"corrupt image: {reason}") from None
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise ImageReadError("E_TOO_SMALL", f"image too small: {rgb.shape[1]}x{rgb.shape[0]} pixels")
    return rgb


def _container_format(data: bytes) -> str | None:
    """HEIC / AVIF (ISO base media files), which this toolkit's decoders do not read."""
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC/HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    return None


def sniff_format(data: bytes) -> str | None:
    """The format a file's first bytes claim, to tell a damaged image from a non-image."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in MAGIC.items() if data.startswith(magic)), None)


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return np.asarray(background)
    if image.mode in ("I;16", "I;16B", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        arr = cv2.normalize(arr, np.empty_like(arr), 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        return np.ascontiguousarray(np.stack([arr] * 3, axis=-1))
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def encode(rgb: np.ndarray, image_format: str, jpeg_quality: int = 95) -> bytes:
    """Encode a crop for storage (JPEG or PNG)."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if image_format == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise ImageReadError("E_INTERNAL", f"could not encode crop as {image_format}")
    return buf.tobytes()
