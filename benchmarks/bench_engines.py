"""Engines, the driver's cost and resume, measured in one run on the same images (template text).

The images are the examples, each repeated with a slightly different scale (distinct pixels).

- throughput of local (1 process) and of 1, 2 and 3 worker processes and Ray actors (local Ray,
  `ray.init` in the first Ray run only);
- per face: the driver's own time (assigning, taking results in, committing parts and the
  manifest) as wall time (`summary.driver_seconds`, with the committer's waits on fsync) and as
  CPU time (`driver_cpu_seconds`: what limits how many workers one driver feeds, as commits that
  arrive during a save are grouped into the next one); the driver process's whole CPU time (that
  plus the pool's or Ray's own threads, and start-up); bytes sent from the workers to the driver
  (IPC / object store) and bytes written (shards + errors tables);
- the same with the driver describing, validating and writing (how every engine ran before the
  workers wrote the parts; the LLM describer still runs so);
- a saturation model: faces/s one driver can commit against faces/s one 2-core node labels;
- the manifest save (one per commit group) as the build grows;
- resume cost: a build stopped at 50 % (`limit`) and rerun, against one uninterrupted build:
  (first half + rerun) / uninterrupted, where 1.0 means resuming costs nothing extra.
Not a test: read the ratios, not the absolute numbers (the machine may be shared: load printed).

Run: python benchmarks/bench_engines.py [--images DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ray
import ray.data
from bench_pipeline import REPO
from PIL import Image

from facefocal_data import build, staging
from facefocal_data.config import Recipe
from facefocal_data.layout import Manifest, Part, ShardEntry
from facefocal_data.ray_join import connect

RECIPE = Recipe.model_validate({"describe": {"describer": "template"}, "source": {"dedupe": False}})


@dataclass
class Run:
    name: str
    workers: int
    wall: float
    faces: int
    driver_s: float  # summary.driver_seconds: main thread + committer thread, wall
    commit_s: float  # the committer thread's part of it (the run record's `commit`)
    driver_cpu: float  # summary.driver_cpu_seconds
    process_cpu: float  # this process's CPU seconds during the build
    transfer: int
    written: int

    def row(self) -> str:
        per = 1000 / max(1, self.faces)
        return (
            f"{self.name:<24}{self.workers:>3} {self.wall:7.1f} {self.faces / self.wall:8.2f}"
            f" {(self.driver_s - self.commit_s) * per:7.2f} {self.commit_s * per:7.2f}"
            f" {self.driver_cpu * per:8.2f} {self.process_cpu * per:8.2f}"
            f" {self.transfer / max(1, self.faces):10.0f} {self.written / max(1, self.faces):10.0f}"
        )


HEADER = (
    f"{'':<24}{'':>3} {'':>7} {'':>8} {'driver, ms/face':^33}\n"
    f"{'engine':<24}{'n':>3} {'wall s':>7} {'faces/s':>8} {'main':>7} {'commit':>7} {'CPU':>8} {'process':>8}"
    f" {'IPC B':>10} {'written B':>10}\n{'':<24}{'':>3} {'':>7} {'':>8} {'wall':>7} {'wall':>7} {'':>8}"
    f" {'CPU':>8} {'/face':>10} {'/face':>10}"
)


def stage_distinct(src: Path, repeat: int, dest: Path) -> list[Path]:
    """Each example image `repeat` times, each copy scaled a little differently: distinct pixels
    and crops (exact copies would let Parquet's dictionary encoding shrink the bytes written)."""
    images = sorted(p for p in src.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    paths = []
    for r in range(repeat):
        for source in images:
            image = Image.open(source).convert("RGB")
            scale = 1.0 - 0.005 * r
            path = dest / f"r{r:03d}_{source.stem}.png"
            image.resize((round(image.width * scale), round(image.height * scale))).save(path)
            paths.append(path)
    return paths


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def written_bytes(out: Path) -> int:
    return sum(p.stat().st_size for folder in ("shards", "errors") for p in (out / folder).glob("*.parquet"))


def timed_build(name: str, folder: Path, out: Path, workers: int = 1, **kwargs: object) -> Run:
    start, cpu = time.perf_counter(), own_cpu()
    summary = build(folder, out, recipe=RECIPE, workers=workers, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    process_cpu = own_cpu() - cpu
    transfer, written = summary.transfer_bytes, written_bytes(out)
    commit = json.loads((out / "manifest.json").read_text())["runs"][-1]["stage_seconds"]["commit"]
    driver = (
        summary.driver_seconds,
        commit if summary.driver_seconds else 0.0,
        summary.driver_cpu_seconds,
        process_cpu,
    )
    return Run(name, workers, wall, summary.faces, *driver, transfer, written)


@contextmanager
def driver_writes() -> Iterator[None]:
    """Workers send the records back and the driver describes and writes (the path before)."""
    before = staging.workers_write
    staging.workers_write = lambda recipe: False  # type: ignore[assignment]
    try:
        yield
    finally:
        staging.workers_write = before  # type: ignore[assignment]


def manifest_save_ms(parts: int, tmp: Path) -> float:
    """One manifest save (schema check + JSON + atomic rename) with `parts` parts of 10 faces."""
    ids = [[f"{i:010d}{j:010d}" for j in range(10)] for i in range(parts)]  # 20 hex, as record ids
    shards = [ShardEntry(f"shards/part-{i:05d}.parquet", 10, "0" * 64, 90_000, ids[i]) for i in range(parts)]
    manifest = Manifest(
        "bench",
        "0" * 64,
        {},
        [],
        "t",
        "t",
        "0",
        parts=[
            Part(i, [f"r{i:06d}_{j}.png" for j in range(8)], shard, None) for i, shard in enumerate(shards)
        ],
    )
    started = time.perf_counter()
    manifest.save(tmp)
    return (time.perf_counter() - started) * 1000


def engine_runs(folder: Path, tmp: Path) -> list[Run]:
    runs = [timed_build("local", folder, tmp / "local")]
    for n in (1, 2, 3):
        runs.append(timed_build("processes", folder, tmp / f"p{n}", n, engine="processes"))
    with driver_writes():
        runs.append(timed_build("processes, driver writes", folder, tmp / "p2-driver", 2, engine="processes"))
    started = time.perf_counter()
    connect()  # the local Ray and Ray Data's first dataset, once: not in the first Ray run's time
    ray.data.from_items([{"warm": 1}]).take(1)
    print(
        f"one-time: ray.init (local Ray, 127.0.0.1) + a first dataset {time.perf_counter() - started:.1f} s"
    )
    for n in (1, 2, 3):
        runs.append(timed_build("ray", folder, tmp / f"ray{n}", n, engine="ray"))
    with driver_writes():
        runs.append(timed_build("ray, driver writes", folder, tmp / "ray2-driver", 2, engine="ray"))
    return runs


def report_model(runs: list[Run]) -> None:
    """Where a cluster saturates: the driver commits 1/cost faces/s; a 2-core node labels what
    2 workers label here. The worst driver cost among the worker-writing runs is taken."""
    writing = [r for r in runs if r.name in ("processes", "ray")]
    worst = max(writing, key=lambda r: r.driver_cpu / r.faces)
    worst_wall = max(writing, key=lambda r: r.driver_s / r.faces)
    node = max((r for r in writing if r.workers == 2), key=lambda r: r.faces / r.wall)
    before = next(r for r in runs if r.name == "processes, driver writes")
    node_rate = node.faces / node.wall
    print(
        f"\nmodel: a 2-core node labels {node_rate:.1f} faces/s ({node.name} x2, this machine);"
        f" one driver commits {worst.faces / worst.driver_cpu:,.0f} faces/s of CPU"
        f" (worst {1000 * worst.driver_cpu / worst.faces:.2f} ms/face, {worst.name} x{worst.workers})"
        f" -> feeds {worst.faces / worst.driver_cpu / node_rate:,.0f} two-core nodes;"
    )
    for run in (r for r in writing if r.name == "ray"):
        busy = run.process_cpu / run.wall
        print(f"       ray x{run.workers}: its driver process (with Ray Data) kept {busy:.0%} of a core busy")
    wall_ms = 1000 * worst_wall.driver_s / worst_wall.faces
    print(
        f"       counting wall time, the committer's fsync waits too (worst {wall_ms:.2f} ms/face,"
        f" {worst_wall.name} x{worst_wall.workers}): {1000 / wall_ms / node_rate:,.0f} nodes"
    )
    print(
        f"       driver describing and writing (before): {1000 * before.driver_s / before.faces:.2f} ms/face"
        f" wall, {1000 * before.driver_cpu / before.faces:.2f} CPU"
        f" -> {before.faces / before.driver_cpu / node_rate:,.0f} nodes;"
        f" IPC {before.transfer / before.faces:,.0f} B/face, {before.transfer / max(1, worst.transfer):.0f}x"
        f" what workers that write send ({worst.transfer / worst.faces:,.0f} B/face)"
    )


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=REPO / "examples" / "images")
    parser.add_argument("--repeat", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facefocal-bench-") as name:
        tmp = Path(name)
        folder = tmp / "images"
        folder.mkdir()
        paths = stage_distinct(args.images, args.repeat, folder)
        load = os.getloadavg()[0]
        runs = engine_runs(folder, tmp)
        half = timed_build("resume half", folder, tmp / "resume", limit=len(paths) // 2)
        rest = timed_build("resume rest", folder, tmp / "resume")
        saves = {n: manifest_save_ms(n, tmp) for n in (100, 1000, 10000)}
        manifest_bytes = (tmp / "p3" / "manifest.json").stat().st_size
    print(f"images {len(paths)}   faces {runs[0].faces}   cores {os.cpu_count()}   load at start {load:.2f}")
    print(HEADER)
    for run in runs:
        print(run.row())
    one = runs[0]
    report_model(runs)
    print(
        "manifest save: "
        + ", ".join(f"{n:,} parts {ms:.0f} ms" for n, ms in saves.items())
        + f"   (this build's manifest: {manifest_bytes / runs[0].faces:.0f} B/face)"
    )
    cost = (half.wall + rest.wall) / one.wall
    print(f"resume: half {half.wall:.1f} s + rest {rest.wall:.1f} s vs whole {one.wall:.1f} s", end="")
    print(f"   cost = {cost:.2f}")


if __name__ == "__main__":
    main()
