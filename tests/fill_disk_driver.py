"""Run by tests/test_fs_faults.py inside a private mount namespace (``unshare --mount``).

It mounts a real tmpfs, starts a build on it, fills the filesystem once the first part is
committed, lets the build fail, keeps a copy of what is left, frees the space and reruns. The
copies are made inside the namespace because the tmpfs is invisible outside it.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def parts(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["parts"])
    except (OSError, ValueError):
        return 0


def fill(path: Path) -> None:
    """Write until the filesystem refuses: big chunks first, then small ones, so no byte is left."""
    with path.open("wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 12):
            while True:
                try:
                    handle.write(b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break


def main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    mount, out = Path(spec["mount"]), Path(spec["mount"]) / "out"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    command = [*spec["command"], "-o", str(out)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while parts(out) < 1 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    parts_before_full = parts(out)
    fill(mount / "filler")
    _, first_err = first.communicate(timeout=300)
    shutil.copytree(out, spec["after_full"], symlinks=True)
    (mount / "filler").unlink()
    second = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=300)
    shutil.copytree(out, spec["after_rerun"], symlinks=True)
    result = {
        "parts_before_full": parts_before_full,
        "first": [first.returncode, first_err],
        "second": [second.returncode, second.stderr],
    }
    Path(spec["result"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
