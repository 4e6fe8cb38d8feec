"""Stable error codes for error rows: what a script can match on while the reason text stays human.

A failure carries its code from where it is raised (an `ItemError`, a source item's `code`, or the
stage that fails as a whole), so no code is guessed back from the reason's wording. `CODES` is the
one table: docs/OUTPUT.md's code table is generated from it and pinned by tests/test_docs.py.
`E_INTERNAL` is a failure nothing coded: a bug to report.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    stage: str | None  # the stage that raises it; None: any stage that reads or decodes
    meaning: str


CODES: tuple[ErrorCode, ...] = (
    ErrorCode("E_MISSING_FILE", None, "the path does not exist (or is a dangling link)"),
    ErrorCode("E_IS_DIRECTORY", None, "a directory where an image was expected"),
    ErrorCode("E_PERMISSION", None, "the file cannot be read by this user"),
    ErrorCode("E_UNREADABLE", None, "the file could not be read (other I/O error)"),
    ErrorCode("E_EMPTY_FILE", None, "zero bytes"),
    ErrorCode("E_NOT_AN_IMAGE", None, "no known image format in the bytes"),
    ErrorCode("E_TRUNCATED", None, "an image cut short"),
    ErrorCode("E_CORRUPT", None, "image header but undecodable content"),
    ErrorCode("E_TOO_LARGE", None, "over the pixel cap (decompression-bomb guard)"),
    ErrorCode("E_TOO_SMALL", None, "under 8 pixels a side"),
    ErrorCode("E_UNSUPPORTED_FORMAT", None, "HEIC / AVIF: convert to JPEG or PNG"),
    ErrorCode("E_DUPLICATE_IMAGE", "dedupe", "the same bytes as an image already in this build"),
    ErrorCode("E_UNSAFE_PATH", "source", "a listed path would leave the dataset root"),
    ErrorCode("E_BAD_GROUND_TRUTH", "source", "a ground-truth value out of range or unknown"),
    ErrorCode("E_BAD_BOXES", "source", "region boxes that are not [x1, y1, x2, y2]"),
    ErrorCode("E_DUPLICATE_ROW", "source", "a list names the same file twice"),
    ErrorCode("E_BAD_ROW", "source", "a malformed row"),
    ErrorCode("E_BAD_VIDEO", None, "a video or frame OpenCV cannot read"),
    ErrorCode("E_BAD_FRAME_PATTERN", "source", "the recipe's frame pattern does not fit"),
    ErrorCode("E_NO_FACE", "detect", "no usable face in the image"),
    ErrorCode("E_INVALID_RECORD", "validate", "a built row failed the JSON Schema (a bug: please report)"),
    ErrorCode("E_DESCRIBE", "describe", "the describer failed on this item"),
    ErrorCode("E_INTERNAL", None, "a failure nothing coded (a bug: please report it with the reason)"),
)
KNOWN = frozenset(c.code for c in CODES)

# stages whose every failure means one thing: their code needs no raiser to name it
STAGE_CODES = {"dedupe": "E_DUPLICATE_IMAGE", "validate": "E_INVALID_RECORD", "describe": "E_DESCRIBE"}


def checked(code: str) -> str:
    """`code` if the table has it; a misspelt code is a bug, caught where it is written."""
    if code not in KNOWN:
        raise ValueError(f"unknown error code {code!r}; add it to error_codes.CODES")
    return code


class ItemError(Exception):
    """One item's failure (never the batch's): the human reason and the stable code it raises with."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)  # both in args: it pickles across worker processes
        self.code = checked(code)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def stage_code(stage: str, kind: str = "error") -> str:
    """The code of a failure raised without one: fixed by its stage, else `E_INTERNAL`."""
    if kind == "no_face":
        return "E_NO_FACE"
    return STAGE_CODES.get(stage, "E_INTERNAL")
