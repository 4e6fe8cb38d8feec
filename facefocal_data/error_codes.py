"""Stable error codes for error rows: what a script can match on while the reason text stays human.

Every reason the pipeline writes starts with a fixed phrase; this table maps those phrases to a
code once, in one place, and a test pins every code to a real failing input. `E_INTERNAL` means a
reason no rule knows: a bug to report.
"""

from __future__ import annotations

import re

# (code, stage or None for any stage, pattern matched at the start of the reason, meaning)
RULES: tuple[tuple[str, str | None, str, str], ...] = (
    (
        "E_MISSING_FILE",
        None,
        r"unreadable: file not found",
        "the path does not exist (or is a dangling link)",
    ),
    ("E_IS_DIRECTORY", None, r"unreadable: path is a directory", "a directory where an image was expected"),
    ("E_PERMISSION", None, r"unreadable: permission denied", "the file cannot be read by this user"),
    ("E_UNREADABLE", None, r"unreadable:", "the file could not be read (other I/O error)"),
    ("E_EMPTY_FILE", None, r"empty file", "zero bytes"),
    ("E_NOT_AN_IMAGE", None, r"not an image", "no known image format in the bytes"),
    ("E_TRUNCATED", None, r"truncated image", "an image cut short"),
    ("E_CORRUPT", None, r"corrupt image", "image header but undecodable content"),
    ("E_TOO_LARGE", None, r"image too large", "over the pixel cap (decompression-bomb guard)"),
    ("E_TOO_SMALL", None, r"image too small", "under 8 pixels a side"),
    ("E_UNSUPPORTED_FORMAT", None, r"unsupported format", "HEIC / AVIF: convert to JPEG or PNG"),
    (
        "E_DUPLICATE_IMAGE",
        "dedupe",
        r"duplicate image",
        "the same bytes as an image already in this build",
    ),
    ("E_UNSAFE_PATH", "source", r"unsafe path", "a listed path would leave the dataset root"),
    ("E_BAD_GROUND_TRUTH", "source", r"bad ground truth", "a ground-truth value out of range or unknown"),
    ("E_BAD_BOXES", "source", r"row \d+: bad boxes", "region boxes that are not [x1, y1, x2, y2]"),
    ("E_DUPLICATE_ROW", "source", r"row \d+ repeats", "a list names the same file twice"),
    (
        "E_BAD_ROW",
        "source",
        r"(row \d+ has no |line \d+|.*expected 'name label|name is not)",
        "a malformed row",
    ),
    ("E_BAD_VIDEO", None, r"(unreadable video|frame \d+ of)", "a video or frame OpenCV cannot read"),
    ("E_BAD_FRAME_PATTERN", "source", r"source\.frame_pattern", "the recipe's frame pattern does not fit"),
    ("E_NO_FACE", "detect", r"no face|\d+ detection", "no usable face in the image"),
    ("E_INVALID_RECORD", "validate", r"", "a built row failed the JSON Schema (a bug: please report)"),
    ("E_DESCRIBE", "describe", r"", "the describer failed on this item"),
)


def error_code(stage: str, reason: str) -> str:
    for code, rule_stage, pattern, _meaning in RULES:
        if (rule_stage is None or rule_stage == stage) and re.match(pattern, reason):
            return code
    return "E_INTERNAL"
