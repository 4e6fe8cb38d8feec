"""Export memory: peak RSS of `facefocal export` on a build of N faces and of 4N faces.

Exports stream (records are read a batch at a time and rows written as they come), so the peak
should not grow with the build: the ratio 4N / N is the figure (≈1.0 streams; ≈4 would mean the
whole build is held). The builds are the example faces built once and copied under new record
ids into more parts. Not a test: read the ratio.

Run: python benchmarks/bench_export.py [--faces N] [--format F]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from facefocal_data import build
from facefocal_data.config import Recipe

REPO = Path(__file__).resolve().parents[1]


def grow(seed: Path, out: Path, faces: int) -> None:
    """A build of `faces` rows: the seed build's rows repeated under new ids, 200 rows a part."""
    manifest = json.loads((seed / "manifest.json").read_text())
    rows = [r for p in sorted((seed / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    schema = pq.read_schema(next((seed / "shards").glob("*.parquet")))
    (out / "shards").mkdir(parents=True)
    parts = []
    for index, start in enumerate(range(0, faces, 200)):
        chunk = [
            {**rows[n % len(rows)], "record_id": f"{n:020d}", "image_path": f"{n:020d}.jpg"}
            for n in range(start, min(start + 200, faces))
        ]
        rel = f"shards/part-{index:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), out / rel)
        parts.append(
            {"index": index, "sources": [], "shard": {"file": rel, "rows": len(chunk)}, "errors": None}
        )
    (out / "manifest.json").write_text(json.dumps({**manifest, "parts": parts}))


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
