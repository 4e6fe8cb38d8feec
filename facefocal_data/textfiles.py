"""Reading text files users give us (manifests, label lists, prediction files) line by line.

One bad line must become one error row, not a crash of the whole file: bytes that are not UTF-8
are kept as lone surrogates (``surrogateescape``) so the line holding them can be named, and a
CSV line the csv module refuses (a field over its size limit) is reported and skipped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_UNDECODABLE = re.compile("[\ud800-\udfff]")  # lone surrogates: undecodable bytes


def read_text(path: Path) -> str:
    """The file's text without a BOM; undecodable bytes survive as surrogates (see `problem`)."""
    return Path(path).read_bytes().decode("utf-8-sig", errors="surrogateescape")


def problem(text: str) -> str | None:
    """Why a piece of text from a user file cannot be used, or None."""
    if _UNDECODABLE.search(text):
        return "is not UTF-8 text"
    if "\x00" in text:
        return "contains a NUL byte"
    return None


def parse_json(text: str) -> Any:
    """`json.loads` whose every failure is a ValueError: bad JSON, nesting too deep for the parser,
    and lone surrogates escaped as ``\\udXXX`` (text no file or Parquet column can hold)."""
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeEncodeError:
        raise ValueError("JSON text holds a lone surrogate (not valid Unicode)") from None
    return value


def lines(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line number, line, problem) for each non-blank line."""
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if line.strip():
            yield number, line, problem(line)


def csv_rows(path: Path) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, cells) for each row; a row that cannot be read comes back as its error text."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num == before:  # nothing consumed: the reader cannot go on
                yield before + 1, f"line {before + 1}: {exc}"
                return
            yield reader.line_num, f"line {reader.line_num}: {exc}"
            continue
        bad = next((p for p in map(problem, row) if p), None)
        yield reader.line_num, f"line {reader.line_num} {bad}" if bad else row


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, {header: cell}) for each row after the header; extra cells are dropped."""
    header: list[str] | None = None
    for number, row in csv_rows(path):
        if isinstance(row, str):
            yield number, row
        elif header is None:
            header = [cell.strip() for cell in row]
        elif any(cell.strip() for cell in row):
            yield number, dict(zip(header, row, strict=False))
