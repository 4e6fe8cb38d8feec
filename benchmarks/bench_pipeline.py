"""Pipeline throughput and efficiency, measured in one run on the same images.

Prints faces/s end to end (`facefocal_data.build`, shards written and validated) and the
efficiency ratio: the summed time of the bare model calls (detector, landmarker, emotion, age,
replayed on the exact inputs the pipeline fed them) divided by the pipeline's own time for the
same work.
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
from facefocal_data.engines import open_builder
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.sources import SourceItem
from facefocal_data.stages import RecordBuilder, WorkItem
from facefocal_data.vision.image_io import decode_rgb, read_bytes

REPO = Path(__file__).resolve().parents[1]
# the vision and label stages with the template describer (the LLM has its own benchmark)
VISION_RECIPE = Recipe.model_validate({"describe": {"describer": "template"}, "source": {"dedupe": False}})


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


def models_of(analyzer: FaceAnalyzer, builder: RecordBuilder) -> dict[str, object]:
    """Every model the pipeline calls, by name; each has a bare `infer(input)`."""
    labeler = builder.labeler
    models: dict[str, object] = {f"detector:{name}": m for name, m in analyzer.detector.models.items()}
    models["landmarker"] = analyzer.landmarker
    models.update({"emotion": labeler.emotion, "age": labeler.age})
    return {name: m for name, m in models.items() if m is not None}


def capture_model_inputs(models: dict[str, object], analyzer: FaceAnalyzer, builder: RecordBuilder,
                         paths: list[Path]) -> dict[str, list]:  # fmt: skip
    """Run faces + labels once, keeping every input handed to each model."""
    inputs: dict[str, list] = {name: [] for name in models}
    originals = {name: m.infer for name, m in models.items()}  # type: ignore[attr-defined]

    def recorder(name: str):  # type: ignore[no-untyped-def]
        def infer(x):  # type: ignore[no-untyped-def]
            inputs[name].append(x.copy())
            return originals[name](x)

        return infer

    for name, model in models.items():
        model.infer = recorder(name)  # type: ignore[attr-defined]
    for path in paths:
        work = WorkItem(SourceItem(path.name, path, "bench"), rgb=decode_rgb(read_bytes(path)))
        work.scan = analyzer.scan(work.rgb)
        builder([work])
    for name, model in models.items():
        model.infer = originals[name]  # type: ignore[attr-defined]
    return inputs


def bare_seconds(models: dict[str, object], inputs: dict[str, list]) -> dict[str, float]:
    seconds = {}
    for name, model in models.items():
        start = time.perf_counter()
        for x in inputs[name]:
            model.infer(x)  # type: ignore[attr-defined]
        seconds[name] = time.perf_counter() - start
    return seconds


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
        analyzer = FaceAnalyzer(VISION_RECIPE.detector, VISION_RECIPE.landmarks, VISION_RECIPE.crop)
        builder = open_builder(VISION_RECIPE, analyzer.geometry_source, describe=True)
        load_s = time.perf_counter() - start

        start = time.perf_counter()
        summary = build(folder, Path(tmp) / "out", recipe=VISION_RECIPE)
        end_to_end_s = time.perf_counter() - start
        pipeline_s = end_to_end_s - load_s

        models = models_of(analyzer, builder)
        inputs = capture_model_inputs(models, analyzer, builder, paths)
        bare = bare_seconds(models, inputs)
        analyzer.close()

    bare_s = sum(bare.values())
    print(f"images                  {len(paths)}  ({args.repeat} x {args.images})")
    print(f"faces written           {summary.faces}   regions {summary.regions}")
    print(f"model load              {load_s:.2f} s")
    print(f"end to end              {end_to_end_s:.2f} s   {summary.faces / end_to_end_s:.2f} faces/s")
    print(f"pipeline (minus load)   {pipeline_s:.2f} s   {summary.faces / pipeline_s:.2f} faces/s")
    for name, seconds in bare.items():
        print(f"bare {name:<18} {len(inputs[name]):4d} calls in {seconds:.2f} s")
    print(f"efficiency (bare / pipeline) = {bare_s / pipeline_s:.2f}   (goal >= 0.90)")


if __name__ == "__main__":
    main()
