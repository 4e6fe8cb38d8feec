"""Per-frame AU datasets: DISFA-style intensity files and BP4D-style occurrence tables.

- `disfa`: ``ActionUnit_Labels/<subject>/<subject>_au<N>.txt``, lines ``frame,intensity`` (0-5,
  DISFA's protocol: present from 2); frames as images at `source.frame_pattern` (default
  ``Images/{subject}/{frame:05d}.jpg``) or, when those are absent, read from
  ``Videos_LeftCamera/LeftVideo<subject>_comp.avi``.
- `bp4d`: ``AUCoding/AU_OCC/<subject>_<task>.csv``, a header row of AU numbers after the frame
  column, values 0/1 (9 = not coded, left out); frames at `source.frame_pattern` (default
  ``Sequences/{subject}/{task}/{frame:04d}.jpg``).
`source.every_nth` keeps every Nth labelled frame. Subject ids are carried for subject-disjoint
splits. Frame paths come from the pattern and must stay under the root.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ..config import SourceConfig
from ..textfiles import csv_rows, lines
from .base import SOURCES, SourceItem, UnsafePathError, confined, item_with_truth

DISFA_FILE = re.compile(r"^(?P<subject>.+)_au(?P<au>\d+)\.txt$", re.IGNORECASE)


class _FrameSource:
    default_pattern = ""
    default_dataset = ""

    def __init__(self, root: str | Path, config: SourceConfig) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"dataset folder {self.root} does not exist")
        self.pattern = config.frame_pattern or self.default_pattern
        self.every_nth = config.every_nth
        self.dataset = config.dataset or self.default_dataset
        self.ignored: list[Path] = []

    def _item(
        self, key: str, fields: dict[str, object], truth: dict[str, object], subject: str
    ) -> SourceItem:
        try:
            path = confined(self.root, self.pattern.format(**fields))
        except UnsafePathError as exc:
            return SourceItem(
                key, self.root, self.dataset, subject_id=subject, error=exc.reason, code=exc.code
            )
        except (KeyError, ValueError, IndexError) as exc:
            return SourceItem(
                key,
                self.root,
                self.dataset,
                error=f"source.frame_pattern {self.pattern!r}: {exc}",
                code="E_BAD_FRAME_PATTERN",
            )
        return self._locate(key, path, truth, subject, fields)

    def _locate(
        self, key: str, path: Path, truth: dict[str, object], subject: str, fields: dict[str, object]
    ) -> SourceItem:
        return item_with_truth(key, path, self.dataset, truth, subject_id=subject)


@SOURCES.register("disfa")
class DisfaSource(_FrameSource):
    default_pattern = "Images/{subject}/{frame:05d}.jpg"
    default_dataset = "disfa"

    def __iter__(self) -> Iterator[SourceItem]:
        labels = self.root / "ActionUnit_Labels"
        if not labels.is_dir():
            raise FileNotFoundError(f"DISFA labels folder {labels} does not exist")
        for subject_dir in sorted(p for p in labels.iterdir() if p.is_dir()):
            frames: dict[int, dict[str, str]] = defaultdict(dict)
            for file in sorted(subject_dir.glob("*.txt")):
                if (match := DISFA_FILE.match(file.name)) is None:
                    self.ignored.append(file)
                    continue
                for number, line, bad in lines(file):
                    parts = [p.strip() for p in line.split(",")]
                    if bad or len(parts) != 2 or not is_number(parts[0]):
                        why = f"line {number} {bad}" if bad else f"line {number}: expected 'frame,intensity'"
                        where = f"{subject_dir.name}/{file.name}:{number}"
                        yield SourceItem(
                            where,
                            file,
                            self.dataset,
                            subject_id=subject_dir.name,
                            error=why,
                            code="E_BAD_ROW",
                        )
                        continue
                    frames[int(parts[0])][match.group("au")] = parts[1]
            for n, frame in enumerate(sorted(frames)):
                if n % self.every_nth:
                    continue
                truth: dict[str, object] = {"aus": frames[frame], "au_value_type": "intensity_0_5"}
                fields = {"subject": subject_dir.name, "frame": frame}
                yield self._item(f"{subject_dir.name}/{frame:05d}", fields, truth, subject_dir.name)

    def _locate(
        self, key: str, path: Path, truth: dict[str, object], subject: str, fields: dict[str, object]
    ) -> SourceItem:
        video = self.root / "Videos_LeftCamera" / f"LeftVideo{subject}_comp.avi"
        if not path.exists() and video.is_file():  # labels count frames from 1
            frame = int(fields["frame"]) - 1  # type: ignore[call-overload]
            if frame < 0:
                return SourceItem(
                    key,
                    video,
                    self.dataset,
                    subject_id=subject,
                    error="bad ground truth: frame 0, but DISFA labels count frames from 1",
                    code="E_BAD_GROUND_TRUTH",
                )
            return item_with_truth(key, video, self.dataset, truth, subject_id=subject, frame=frame)
        return item_with_truth(key, path, self.dataset, truth, subject_id=subject)


@SOURCES.register("bp4d")
class BP4DSource(_FrameSource):
    default_pattern = "Sequences/{subject}/{task}/{frame:04d}.jpg"
    default_dataset = "bp4d"

    def __iter__(self) -> Iterator[SourceItem]:
        coding = self.root / "AUCoding" / "AU_OCC"
        if not coding.is_dir():
            raise FileNotFoundError(f"BP4D AU coding folder {coding} does not exist")
        for table in sorted(coding.glob("*.csv")):
            subject, _, task = table.stem.partition("_")
            header: list[str] | None = None
            labelled = 0
            for number, row in csv_rows(table):
                if isinstance(row, str):
                    yield SourceItem(
                        f"{table.name}:{number}", table, self.dataset, error=row, code="E_BAD_ROW"
                    )
                    continue
                if header is None:
                    header = row
                    continue
                if not row or not is_number(row[0]):
                    yield SourceItem(
                        f"{table.name}:{number}",
                        table,
                        self.dataset,
                        error=f"line {number}: expected a frame number first",
                        code="E_BAD_ROW",
                    )
                    continue
                frame, labelled = int(row[0]), labelled + 1
                if (labelled - 1) % self.every_nth:
                    continue
                # 9 = not coded: left out; any other value but 0/1 is reported by the truth check
                aus = {h: v for h, v in zip(header[1:], row[1:], strict=False) if v.strip() not in ("9", "")}
                fields = {"subject": subject, "task": task, "frame": frame}
                yield self._item(f"{subject}/{task}/{frame:04d}", fields, {"aus": aus}, subject)


def is_number(text: str) -> bool:
    """A plain decimal frame number (``str.isdigit`` also takes '²', which `int` refuses)."""
    return text.isascii() and text.isdigit()
