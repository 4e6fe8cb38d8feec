"""Pipeline throughput and efficiency, measured in one run on the same images.

Prints faces/s end to end (`facefocal_data.build`, shards written and validated) and the
efficiency ratio: the summed time of the bare model calls (detector + landmarker, replayed on the
exact inputs the pipeline fed them) divided by the pipeline's own time for the same work.
1.0 would mean the pipeline adds nothing around inference; the goal is ≥ 0.9.

Run: python benchmarks/bench_pipeline.py [--images DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from facefocal_data import build
from facefocal_data.config import Recipe
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.vision.image_io import decode_rgb, read_bytes

REPO = Path(__file__).resolve().parents[1]


def stage_images(src: Path, repeat: int, dest: Path) -> list[Path]:
    """Copies of every image, `repeat` times, so the run is long enough to time."""
    images = sorted(p for p in src.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    paths = []
    for r in range(repeat):
        for img in images:
            path = dest / f"r{r:03d}_{img.name}"
            shutil.copy(img, path)
            paths.append(path)
    return paths


def capture_model_inputs(analyzer: FaceAnalyzer, paths: list[Path]) -> tuple[list, list]:
    """Run the face stage once, keeping every tensor/crop handed to the two models."""
    det_inputs, lm_inputs = [], []
    det_infer, lm_infer = analyzer.detector.infer, analyzer.landmarker.infer

    def det_record(tensor):  # type: ignore[no-untyped-def]
        det_inputs.append(tensor.copy())
        return det_infer(tensor)

    def lm_record(rgb):  # type: ignore[no-untyped-def]
        lm_inputs.append(rgb.copy())
        return lm_infer(rgb)

    analyzer.detector.infer, analyzer.landmarker.infer = det_record, lm_record
    for path in paths:
        analyzer.scan(decode_rgb(read_bytes(path)))
    analyzer.detector.infer, analyzer.landmarker.infer = det_infer, lm_infer
    return det_inputs, lm_inputs


def bare_seconds(analyzer: FaceAnalyzer, det_inputs: list, lm_inputs: list) -> tuple[float, float]:
    start = time.perf_counter()
    for tensor in det_inputs:
        analyzer.detector.infer(tensor)
    mid = time.perf_counter()
    for rgb in lm_inputs:
        analyzer.landmarker.infer(rgb)
    return mid - start, time.perf_counter() - mid


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")  # before mediapipe loads
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=REPO / "examples" / "images")
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facefocal-bench-") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        paths = stage_images(args.images, args.repeat, folder)

        start = time.perf_counter()
        analyzer = FaceAnalyzer(Recipe())
        load_s = time.perf_counter() - start

        start = time.perf_counter()
        summary = build(folder, Path(tmp) / "out")
        end_to_end_s = time.perf_counter() - start
        pipeline_s = end_to_end_s - load_s

        det_inputs, lm_inputs = capture_model_inputs(analyzer, paths)
        bare_det_s, bare_lm_s = bare_seconds(analyzer, det_inputs, lm_inputs)
        analyzer.close()

    bare_s = bare_det_s + bare_lm_s
    print(f"images                  {len(paths)}  ({args.repeat} x {args.images})")
    print(f"faces written           {summary.faces}   regions {summary.regions}")
    print(f"model load              {load_s:.2f} s")
    print(f"end to end              {end_to_end_s:.2f} s   {summary.faces / end_to_end_s:.2f} faces/s")
    print(f"pipeline (minus load)   {pipeline_s:.2f} s   {summary.faces / pipeline_s:.2f} faces/s")
    print(f"bare detector calls     {len(det_inputs)} in {bare_det_s:.2f} s")
    print(f"bare landmarker calls   {len(lm_inputs)} in {bare_lm_s:.2f} s")
    print(f"efficiency (bare / pipeline) = {bare_s / pipeline_s:.2f}   (goal >= 0.90)")


if __name__ == "__main__":
    main()
