"""Video files: frames sampled every Nth frame (`source.every_nth`) or at a rate (`source.fps`).

Input is one video or a folder of them (recursive). A video OpenCV cannot open is one error
row; each sampled frame is an item keyed ``<video>#<frame>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..config import SourceConfig
from .base import SOURCES, SourceItem

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


def frame_indices(count: int, native_fps: float, every_nth: int, fps: float | None) -> list[int]:
    """Which frames to keep: every Nth, or the frame nearest each 1/fps step."""
    if fps is None or native_fps <= 0:
        return list(range(0, count, every_nth))
    step = native_fps / fps
    picks, t = [], 0.0
    while round(t) < count:
        picks.append(round(t))
        t += max(step, 1.0)
    return sorted(set(picks))


@SOURCES.register("video")
class VideoSource:
    def __init__(self, root: str | Path, config: SourceConfig) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"input {self.root} does not exist")
        self.every_nth, self.fps = config.every_nth, config.fps
        base = self.root if self.root.is_dir() else self.root.parent
        self.dataset = config.dataset or base.resolve().name or "videos"
        self.ignored: list[Path] = []

    def _videos(self) -> list[tuple[str, Path]]:
        if not self.root.is_dir():
            return [(self.root.name, self.root)]
        found = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
                found.append((path.relative_to(self.root).as_posix(), path))
            elif path.is_file():
                self.ignored.append(path)
        return found

    def __iter__(self) -> Iterator[SourceItem]:
        for key, path in self._videos():
            capture = cv2.VideoCapture(str(path))
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
            native = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            capture.release()
            if count <= 0:
                yield SourceItem(key, path, self.dataset, error="unreadable video (OpenCV cannot open it)")
                continue
            for frame in frame_indices(count, native, self.every_nth, self.fps):
                yield SourceItem(f"{key}#{frame:06d}", path, self.dataset, subject_id=None, frame=frame)


def read_frame(path: Path, frame: int) -> np.ndarray:
    """One frame as RGB; a frame that cannot be read raises with the reason."""
    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, bgr = capture.read()
    finally:
        capture.release()
    if not ok or bgr is None:
        raise ValueError(f"frame {frame} of {path.name} could not be read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
