"""Issue 16's targets on a real default build of a folder of face images.

`facefocal build DIR` with the default recipe (no describer flag) `--runs` times into fresh
folders, then, over the last build's texts: faces/s end to end and the describe stage's share of
stage time (each run: the share moves with machine load, so read all of them), distinct-2 over
all region texts (and over size-matched random samples), the commonest sentence's share, words
per region text, the fact check's pass rate (every region and face text against its labels),
`facefocal evaluate`'s own reading of AUs, emotion and age from each region text (precision /
recall / hallucination), and link-grammar failures over a seeded sample of unique sentences.
Each run also prints the seconds the cyclic garbage collector ran (all threads); `--gc-compare`
alternates the build's collector thresholds (engines.BUILD_GC_THRESHOLDS) with Python's defaults.
Then the default describer alone re-describes the last build's records (CPU ms a face, best of
`--describe-repeats`): what describing costs without the vision stages beside it on the cores.

Run: python benchmarks/bench_build_texts.py DIR [--runs 3] [--grammar-sample 1000] [--gc-compare]
Not a test: machines are noisy; read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import copy
import gc
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_describe import (
    ISSUE_SAMPLE_SIZES,
    fact_reading,
    gate_pass,
    link_grammar_figures,
    sampled_distinct_2,
)

from facefocal_data import engines
from facefocal_data.config import DescribeConfig
from facefocal_data.describe.quality import variety
from facefocal_data.exporters.base import iter_records
from facefocal_data.pipeline import BuildSummary, build
from facefocal_data.record import FaceRecord
from facefocal_data.stages import make_describer


def _run_line(summary: BuildSummary) -> str:
    total = sum(summary.stage_seconds.values())
    share = summary.stage_seconds.get("describe", 0.0) / total if total else 0.0
    return (
        f"{summary.faces} faces in {summary.seconds:.1f} s ({summary.faces_per_second:.1f} faces/s); "
        f"describe {summary.stage_seconds.get('describe', 0.0):.2f} s "
        f"of {total:.1f} s stage time = {share:.1%}"
    )


class GcClock:
    """Seconds the cyclic garbage collector ran, all threads together (a gc.callbacks entry)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now, thread = time.perf_counter(), threading.get_ident()
        if phase == "start":
            self._started[thread] = now
        elif thread in self._started:
            self.seconds += now - self._started.pop(thread)


def _timed_build(images: Path, out: Path, thresholds: tuple[int, int, int] | None) -> str:
    """One build with the collector at `thresholds` (None: Python's), its line and gc seconds."""
    clock, kept = GcClock(), engines.BUILD_GC_THRESHOLDS
    engines.BUILD_GC_THRESHOLDS = thresholds
    gc.callbacks.append(clock)
    try:
        line = _run_line(build(images, out))
    finally:
        gc.callbacks.remove(clock)
        engines.BUILD_GC_THRESHOLDS = kept
    said = "Python's default" if thresholds is None else str(thresholds)
    return f"{line}; gc {clock.seconds:.2f} s (thresholds {said})"


def describer_cpu_ms(records: list[FaceRecord], repeats: int) -> float:
    """The default describer's CPU milliseconds a face over `records`, best of `repeats` (each
    pass over fresh copies; the first texts of a process fill its caches, as in a build)."""
    describer, best = make_describer(DescribeConfig()), float("inf")
    try:
        for _ in range(repeats):
            fresh = copy.deepcopy(records)
            started = time.process_time()
            describer.describe_batch(fresh)
            best = min(best, time.process_time() - started)
    finally:
        describer.close()
    return 1000 * best / max(1, len(records))


def text_figures(records: list[FaceRecord], grammar_sample: int, seed: int) -> dict[str, Any]:
    """What the issue measures over a build's texts."""
    region_texts = [region.description.text for record in records for region in record.regions]
    stats = variety(region_texts)
    row: dict[str, Any] = {
        "region texts": len(region_texts),
        "distinct-2, all region texts": stats.distinct_2,  # word pairs, as the issue counts them
        "distinct-2, punctuation as tokens": stats.distinct_2_punctuation,
        "distinct-2 of 184 / 3,542 random region texts": " / ".join(
            f"{sampled_distinct_2(region_texts, k):.4f}" for k in ISSUE_SAMPLE_SIZES
        ),
        "top sentence share": stats.top_sentence_share,
        "top sentence": stats.top_sentence,
        "words per region text": stats.words_per_text,
        "fact check pass": gate_pass(records),
        "evaluator reading P / R / halluc.": fact_reading(records),
        "fallbacks": sum(
            bool(text.fallback_used)
            for record in records
            for text in [record.face_description, *(g.description for g in record.regions)]
        ),
    }
    faces = [record.face_description.text for record in records]
    return row | link_grammar_figures(region_texts + faces, grammar_sample, seed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images", type=Path, help="a folder of face images")
    parser.add_argument("--runs", type=int, default=3, help="builds, each into a fresh folder")
    parser.add_argument("--grammar-sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--gc-compare", action="store_true", help="every other run with Python's default gc thresholds"
    )
    parser.add_argument("--describe-repeats", type=int, default=5, help="passes of the describer alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"out{run}"
            thresholds = None if args.gc_compare and run % 2 else engines.BUILD_GC_THRESHOLDS
            print(f"build {run + 1}: {_timed_build(args.images, out, thresholds)}", flush=True)
        records = list(iter_records(out, pixels=False))
    ms = describer_cpu_ms(records, args.describe_repeats)
    print(f"describer alone: {ms:.2f} ms CPU a face (best of {args.describe_repeats}, {len(records)} faces)")
    for key, value in text_figures(records, args.grammar_sample, args.seed).items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")


if __name__ == "__main__":
    main()
