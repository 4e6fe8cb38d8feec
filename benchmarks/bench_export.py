"""Export memory: peak RSS of `facefocal export` on a build of N faces and of 4N faces.

Exports stream (records are read a batch at a time and rows written as they come), so the peak
should not grow with the build: the ratio 4N / N is the figure (≈1.0 streams; ≈4 would mean the
whole build is held). The builds are the example faces built once and copied under new record
ids into more parts. Not a test: read the ratio.

Run: python benchmarks/bench_export.py [--faces N] [--format F]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.dataset import Build
from facefocal_data.layout import Part, ShardEntry
from facefocal_data.models.store import sha256_file

REPO = Path(__file__).resolve().parents[1]


def grow(seed: Path, out: Path, faces: int) -> None:
    """A build of `faces` rows: the seed build's rows repeated under new ids, 200 rows a part."""
    seed_build = Build(seed)
    rows = list(seed_build.rows())
    schema = pq.read_schema(seed / seed_build.manifest.shards[0].file)
    (out / "shards").mkdir(parents=True)
    parts = []
    for index, start in enumerate(range(0, faces, 200)):
        chunk = [
            {**rows[n % len(rows)], "record_id": f"{n:020d}", "image_path": f"{n:020d}.jpg"}
            for n in range(start, min(start + 200, faces))
        ]
        rel = f"shards/part-{index:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), out / rel)
        ids = [row["record_id"] for row in chunk]
        shard = ShardEntry(rel, len(chunk), sha256_file(out / rel), (out / rel).stat().st_size, ids)
        parts.append(Part(index, [], shard, None))
    replace(seed_build.manifest, parts=parts, runs=[]).save(out)


def peak_rss_mib(data: Path, fmt: str, out: Path) -> float:
    code = (
        "import resource, sys; from facefocal_data.exporters import export;"
        f"export({str(data)!r}, {fmt!r}, {str(out)!r});"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=500)
    parser.add_argument("--format", default="qwen2.5-vl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        build(
            REPO / "examples" / "images",
            seed,
            recipe=Recipe.model_validate({"describe": {"describer": "template"}}),
        )
        peaks = {}
        for faces in (args.faces, 4 * args.faces):
            data = Path(tmp) / f"build{faces}"
            grow(seed, data, faces)
            peaks[faces] = peak_rss_mib(data, args.format, Path(tmp) / f"export{faces}")
            print(f"{faces:>6} faces: peak RSS {peaks[faces]:.0f} MiB ({args.format})")
        small, large = peaks[args.faces], peaks[4 * args.faces]
        print(f"4x the faces -> {large / small:.2f}x the peak memory (1.0 = streaming)")


if __name__ == "__main__":
    main()
