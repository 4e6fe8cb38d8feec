"""Pre-flight check: read every input the way a build would, without the models, and say what
would fail, so an overnight build is not the first to find a manifest's bad rows.

It runs the source adapter (paths, ground truth, rows), reads and decodes each image (empty,
truncated, corrupt, too large, unsupported) and finds duplicates by content hash, giving the same
error codes a build writes. Only face detection is left out: "no face" needs the models. Nothing
is written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import Recipe, load_recipe
from .pipeline import check_names
from .sources.base import read_items
from .sources.video import VideoFrames
from .stages import BATCH_SIZE, WorkItem, chunked, mark_duplicates, stage_decode

EXAMPLES_PER_CODE = 3


@dataclass
class CheckReport:
    inputs: int = 0
    readable: int = 0  # would go on to face detection
    ignored_files: int = 0  # files with other extensions, not read
    codes: dict[str, int] = field(default_factory=dict)  # error code -> inputs
    examples: dict[str, list[str]] = field(default_factory=dict)  # error code -> "key: reason"
    seconds: float = 0.0

    @property
    def problems(self) -> int:
        return sum(self.codes.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "problems": self.problems}


def check(
    input: str | Path,
    recipe: Recipe | str | Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """What a build of `input` with `recipe` would refuse, by error code; no models, no output."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    check_names(recipe)  # a backend typo would fail the build, so the check says so too
    started = time.perf_counter()
    items, ignored = read_items(recipe.source.kind, input, recipe.source)
    report = CheckReport(inputs=len(items), ignored_files=ignored)
    codes: Counter[str] = Counter()
    seen: dict[str, str] = {}
    done = 0
    with VideoFrames() as frames:
        for batch_items in chunked(items, BATCH_SIZE):
            batch = [WorkItem(item) for item in batch_items]
            stage_decode(batch, recipe.source.max_pixels, frames)
            if recipe.source.dedupe:
                mark_duplicates(batch, seen)
            for work in batch:
                work.rgb = None  # only the verdict is kept
                if not work.failed:
                    report.readable += 1
                for event in work.events:
                    codes[event.code] += 1
                    examples = report.examples.setdefault(event.code, [])
                    if len(examples) < EXAMPLES_PER_CODE:
                        examples.append(f"{event.source_path}: {event.reason}")
            done += len(batch)
            if on_progress:
                on_progress(done, len(items))
    report.codes = dict(codes.most_common())
    report.seconds = round(time.perf_counter() - started, 3)
    return report
