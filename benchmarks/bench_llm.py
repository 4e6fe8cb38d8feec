"""LLM describer throughput, server utilisation, gate pass rate and warm-cache rerun, in one run.

Builds records for the example faces (vision + labels, template text), then describes their
regions through the embedded llama.cpp server with a fresh completion cache:
- descriptions per second (cold cache);
- utilisation: the server's achieved completion tokens/s while the describer drives it, over
  the tokens/s of a single stream measured just before (goal ≥ 0.80: the describer keeps the
  server busy);
- the fact-check pass rate at the first attempt, after the retry, and the fallback rate;
- the same describe again with the warm cache (seconds, and calls made: should be 0).
Not a test: machines are noisy; read the ratios, not the absolute numbers.

Run: python benchmarks/bench_llm.py [--images DIR] [--regions N] [--parallel P]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from facefocal_data.config import DescribeConfig, Recipe
from facefocal_data.describe.facts import region_facts
from facefocal_data.describe.llm import LLMDescriber
from facefocal_data.describe.prompt import region_messages
from facefocal_data.describe.template import describe_region
from facefocal_data.engines import open_builder
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.llm import EmbeddedServer
from facefocal_data.record import FaceRecord
from facefocal_data.sources import SourceItem
from facefocal_data.stages import WorkItem, stage_decode, stage_faces

REPO = Path(__file__).resolve().parents[1]


def example_records(images: Path, regions_per_face: int) -> list[FaceRecord]:
    recipe = Recipe.model_validate({"describe": {"describer": "template"}})
    analyzer = FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)
    builder = open_builder(recipe, analyzer.geometry_source, describe=True)
    batch = [WorkItem(SourceItem(p.name, p, "examples")) for p in sorted(images.iterdir()) if p.is_file()]
    stage_decode(batch)
    stage_faces(batch, analyzer)
    builder(batch)
    analyzer.close()
    records = [r for w in batch for r in w.records]
    for record in records:
        record.regions = record.regions[:regions_per_face]
    return records


def single_stream_tokens_per_s(server: EmbeddedServer, records: list[FaceRecord], n: int = 4) -> float:
    """Completion tokens/s of one request at a time (the server's baseline)."""
    from openai import OpenAI

    client = OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
    tokens, seconds = 0, 0.0
    for i in range(n):
        record = records[i % len(records)]
        region = record.regions[i % len(record.regions)]
        draft = describe_region(record, region, with_bin=False).text
        messages = region_messages(region_facts(record, region), draft, "short")
        start = time.perf_counter()
        response = client.chat.completions.create(
            model=server.alias, messages=messages, max_tokens=200, temperature=0.2, seed=100 + i
        )
        seconds += time.perf_counter() - start
        tokens += response.usage.completion_tokens if response.usage else 0
    return tokens / seconds


def describe(
    records: list[FaceRecord], server: EmbeddedServer, concurrency: int
) -> tuple[float, LLMDescriber]:
    config = DescribeConfig.model_validate(
        {
            "describer": "llm",
            "llm": {"base_url": server.base_url, "model": server.alias, "concurrency": concurrency},
        }
    )
    describer = LLMDescriber(config)
    copies = [FaceRecord.from_row(r.to_row()) for r in records]
    start = time.perf_counter()
    describer.describe_batch(copies)
    seconds = time.perf_counter() - start
    describer.close()
    return seconds, describer


def main() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=REPO / "examples" / "images")
    parser.add_argument("--regions", type=int, default=6, help="regions described per face")
    parser.add_argument("--parallel", type=int, default=2, help="server slots = describer concurrency")
    args = parser.parse_args()
    records = example_records(args.images, args.regions)
    with tempfile.TemporaryDirectory(prefix="facefocal-llm-bench-") as cache:
        os.environ["FACEFOCAL_LLM_CACHE"] = cache
        with EmbeddedServer(parallel=args.parallel) as server:
            baseline = single_stream_tokens_per_s(server, records)
            cold_s, cold = describe(records, server, args.parallel)
            warm_s, warm = describe(records, server, args.parallel)
    stats = cold.stats
    achieved = stats.completion_tokens / cold_s
    texts = stats.texts
    print(f"faces {len(records)}   texts {texts} ({args.regions} regions per face + the face)")
    print(f"cold: {cold_s:.1f} s   {texts / cold_s:.2f} descriptions/s   {stats.requests} requests")
    print(f"single-stream decode     {baseline:.1f} tokens/s")
    print(
        f"achieved while describing {achieved:.1f} tokens/s   "
        f"utilisation = {achieved / baseline:.2f}  (goal >= 0.80)"
    )
    print(
        f"fact check: first attempt {stats.passed_first / texts:.0%}   after retry "
        f"{(stats.passed_first + stats.passed_retry) / texts:.0%}   fallback {stats.fallbacks / texts:.0%}"
    )
    for reason, count in stats.fallback_reasons.most_common(5):
        print(f"   {count:3d} x {reason}")
    print(f"warm rerun: {warm_s:.2f} s   requests {warm.stats.requests}   cache hits {warm.stats.cache_hits}")
    print(f"speed-up with a warm cache = {cold_s / max(warm_s, 1e-6):.0f}x")


if __name__ == "__main__":
    main()
