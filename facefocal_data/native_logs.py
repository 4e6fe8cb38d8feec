"""Drop the C++ runtimes' start-up chatter from stderr, keep everything else.

MediaPipe and LiteRT log INFO/WARNING lines from C++ ("GPU support is not available", "Created
TensorFlow Lite XNNPACK delegate") straight to file descriptor 2; no setting silences them all.
The CLI routes fd 2 through a filter that drops only these known lines.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

NOISE = (
    "Created TensorFlow Lite XNNPACK delegate",
    "All log messages before absl::InitializeLog()",
    "GPU suport is not available",
    "GPU support is not available",
    "FaceBlendshapesGraph acceleration to xnnpack",
    "Feedback manager requires a model with a single signature",
    "libpng warning: iCCP",
    # Ray: the token probe's own failure (the error line that follows says what to do), and a note
    # about actor arguments kept in the object store (the recipe, owned by the driver, never lost)
    "Failed to get cluster ID from GCS server",
    "has constructor arguments in the object store and max_restarts",
)


@contextmanager
def filtered_stderr() -> Iterator[TextIO]:
    """Route fd 2 through a line filter; yields a stream on the real stderr (for live displays)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): leave it alone
        yield sys.stderr
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    real = os.fdopen(os.dup(saved), "w", buffering=1)

    def pump() -> None:
        with os.fdopen(read_fd, "r", errors="replace") as lines:
            for line in lines:
                if not any(noise in line for noise in NOISE):
                    real.write(line)
                    real.flush()

    thread = threading.Thread(target=pump, name="facefocal-stderr", daemon=True)
    thread.start()
    try:
        yield real
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        thread.join(timeout=5)
        real.flush()
