"""Engines and resume, measured in one run on the same images (template describer).

- local, 1 worker vs 2 worker processes: faces/s and the speed-up (goal >= 1.7x on 2+ cores);
- Ray Data (2 actors, local Ray) vs local 2 workers: the engine's overhead on one machine
  (`ray.init` included; Ray pays off across machines, not on one);
- resume cost: a build stopped at 50 % (`limit`) and rerun, against one uninterrupted build:
  (first half + rerun) / uninterrupted, where 1.0 means resuming costs nothing extra.
Not a test: read the ratios, not the absolute numbers.

Run: python benchmarks/bench_engines.py [--images DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from bench_pipeline import REPO, stage_images

from facefocal_data import build
from facefocal_data.config import Recipe

RECIPE = Recipe.model_validate({"describe": {"describer": "template"}, "source": {"dedupe": False}})


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_build(folder: Path, out: Path, **kwargs: object) -> tuple[float, int, float]:
    """(wall seconds, faces, cores busy on average)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    summary = build(folder, out, recipe=RECIPE, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    return wall, summary.faces, (cpu_seconds() - cpu) / wall


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=REPO / "examples" / "images")
    parser.add_argument("--repeat", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facefocal-bench-") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        paths = stage_images(args.images, args.repeat, folder)
        one_s, faces, one_cores = timed_build(folder, Path(tmp) / "w1")
        two_s, _, two_cores = timed_build(folder, Path(tmp) / "w2", workers=2)
        ray_s, _, _ = timed_build(folder, Path(tmp) / "ray", engine="ray", workers=2)
        half_s, _, _ = timed_build(folder, Path(tmp) / "resume", limit=len(paths) // 2)
        rest_s, _, _ = timed_build(folder, Path(tmp) / "resume")
    print(f"images {len(paths)}   faces {faces}   cores {os.cpu_count()}")
    print(f"local, 1 worker    {one_s:6.1f} s  {faces / one_s:6.2f} faces/s  cores busy {one_cores:.2f}")
    print(
        f"local, 2 workers   {two_s:6.1f} s  {faces / two_s:6.2f} faces/s  cores busy {two_cores:.2f}"
        f"   speed-up {one_s / two_s:.2f}x"
    )
    print(
        f"ray, 2 actors      {ray_s:6.1f} s  {faces / ray_s:6.2f} faces/s"
        f"   overhead vs 2 workers {ray_s - two_s:+.1f} s"
    )
    cost = (half_s + rest_s) / one_s
    print(f"resume: half {half_s:.1f} s + rest {rest_s:.1f} s vs whole {one_s:.1f} s   cost = {cost:.2f}")


if __name__ == "__main__":
    main()
