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
from ..vision.image_io import ImageReadError
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
                yield SourceItem(
                    key,
                    path,
                    self.dataset,
                    error="unreadable video (OpenCV cannot open it)",
                    code="E_BAD_VIDEO",
                )
                continue
            for frame in frame_indices(count, native, self.every_nth, self.fps):
                yield SourceItem(f"{key}#{frame:06d}", path, self.dataset, subject_id=None, frame=frame)


class FrameCursor:
    """One open video, read forward: a frame a little ahead of the last one is reached by `grab`
    (demux only, no colour conversion) instead of a seek, which decodes again from the previous
    keyframe. Seeking for every sampled frame makes every-frame sampling of a long video quadratic;
    the cursor keeps it linear. Frames asked for out of order (or far ahead) still seek."""

    MAX_GRABS = 300  # beyond this a seek is cheaper than decoding the frames in between

    def __init__(self, path: Path) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        self.next = 0  # the frame the next `read` returns without seeking

    def read(self, frame: int) -> np.ndarray | None:
        if not self.next <= frame <= self.next + self.MAX_GRABS:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
            self.next = frame
        while self.next < frame:
            if not self.capture.grab():
                return None
            self.next += 1
        ok, bgr = self.capture.read()
        self.next += 1
        return bgr if ok else None

    def close(self) -> None:
        self.capture.release()


class VideoFrames:
    """The open video of one decode lane (the local engine's decode thread, one worker process,
    one Ray actor, one pre-flight check): frames of one video asked for in order, as the build
    asks for them, are read forward from one capture. Its owner closes it (or uses `with`); one
    thread reads from it at a time."""

    def __init__(self) -> None:
        self._cursor: FrameCursor | None = None

    def read(self, path: Path, frame: int) -> np.ndarray:
        """One frame as RGB; a frame that cannot be read raises with the reason."""
        if frame < 0:
            raise ImageReadError(
                "E_BAD_VIDEO", f"frame {frame} of {path.name} could not be read (frames count from 0)"
            )
        if self._cursor is None or self._cursor.path != path:
            self.close()
            self._cursor = FrameCursor(path)
        bgr = self._cursor.read(frame)
        if bgr is None:
            raise ImageReadError("E_BAD_VIDEO", f"frame {frame} of {path.name} could not be read")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        """Release the open video; a later `read` opens it again."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def __enter__(self) -> VideoFrames:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
