"""Reading sampled video frames: one seek per frame (the old way) against the forward cursor.

A seek decodes again from the previous keyframe, so sampling every frame of a long video with a
seek each costs GOP/2 decodes per frame; the cursor reaches the next frame with `grab`. Both read
the same frames of the same MPEG-4 video (written here by OpenCV's encoder, with motion so the
P-frames carry data); the frames are checked equal. Not a test: read the ratios.

Run: python benchmarks/bench_video.py [--frames N] [--size WxH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facefocal_data.sources.video import VideoFrames


def write_video(path: Path, frames: int, width: int, height: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (width, height))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    for n in range(frames):
        writer.write(np.roll(base, 4 * n, axis=1))  # motion, so frames differ and P-frames carry data
    writer.release()


def seek_each(path: Path, frame: int) -> np.ndarray:
    """The reader before the cursor: open, seek, read, close for every frame."""
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def timed(read: object, path: Path, picks: list[int]) -> tuple[float, list[np.ndarray]]:
    start = time.perf_counter()
    frames = [read(path, f) for f in picks]  # type: ignore[operator]
    return time.perf_counter() - start, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        write_video(video, args.frames, width, height)
        print(f"{args.frames} frames {width}x{height} MPEG-4")
        print(f"{'every_nth':>9} {'seek each (s)':>14} {'cursor (s)':>11} {'speed-up':>9}")
        for every_nth in (1, 5, 25):
            picks = list(range(0, args.frames, every_nth))
            old, old_frames = timed(seek_each, video, picks)
            with VideoFrames() as frames:
                new, new_frames = timed(frames.read, video, picks)
            same = all(np.array_equal(a, b) for a, b in zip(old_frames, new_frames, strict=True))
            note = "" if same else "  (frames differ: the seek is not frame-exact)"
            print(f"{every_nth:>9} {old:>14.2f} {new:>11.2f} {old / new:>8.1f}x{note}")


if __name__ == "__main__":
    main()
