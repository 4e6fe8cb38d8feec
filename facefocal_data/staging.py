"""Workers write the parts: what a worker does with its labelled batch, and what it sends back.

With `--workers N` (processes) and `--engine ray`, the per-face work after the labels runs where
the faces were labelled: describe (phrase bank or template: pure code), validate against the
JSON Schema, encode and write the part files (`shards.PartStager`, under hidden staged names).
Only a `TaskResult` travels back: the staged parts' file names, row counts and record ids, and
per item its counts, error events and stage seconds. The driver drops duplicates found across
workers (rare: a rewrite of that part), tallies, and commits the parts into the manifest in input
order. An LLM describer stays on the driver (its server's slots bound the calls, not the
workers): then workers send the records back and the driver describes and writes, as before.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Recipe
from .errors import OutputWriteError
from .layout import ErrorEvent, StagedPart
from .shards import PartStager, RecipeStamp, restage_without
from .stages import WorkItem, describe_items, mark_duplicates


def recipe_stamp(recipe: Recipe) -> RecipeStamp:
    """What the build's files keep of `recipe` (the writer's and the workers' view of it)."""
    return RecipeStamp(recipe.name, recipe.content_hash(), recipe.output, recipe.model_dump(mode="json"))


def workers_write(recipe: Recipe) -> bool:
    """Whether workers write the parts: yes, unless an LLM (bounded by its server) describes."""
    return recipe.describe.describer != "llm"


@dataclass
class ItemTally:
    """One source item's outcome, for the driver's summary: no rows, no image bytes."""

    dataset: str
    key: str
    splits: dict[str, int]  # faces written, per split
    regions: int
    events: list[ErrorEvent]
    seconds: dict[str, float]
    digest: str | None  # sha256 of its bytes, when it was labelled and duplicates are checked


@dataclass
class TaskResult:
    """What a worker sends back for a batch: its staged parts and one tally per item, in order."""

    parts: list[StagedPart]
    items: list[ItemTally] = field(default_factory=list)


def tally_item(work: WorkItem, rejected: list[ErrorEvent], digest: str | None = None) -> ItemTally:
    """One item's written faces per split, regions, events and stage seconds (rejected records dropped)."""
    dropped = {e.record_id for e in rejected}
    kept = [r for r in work.records if r.record_id not in dropped]
    splits: dict[str, int] = {}
    for record in kept:
        splits[record.split or "none"] = splits.get(record.split or "none", 0) + 1
    regions = sum(len(r.regions) for r in kept)
    return ItemTally(
        work.item.dataset, work.item.key, splits, regions, work.events + rejected, work.seconds, digest
    )


def write_task(batch: list[WorkItem], out: Path, recipe: Recipe, describer: Any, where: str = "") -> bytes:
    """Describe, validate and write a labelled batch as staged parts; the pickled `TaskResult`.

    `where` names this worker's node in a write error (a cluster node without the output mount)."""
    dedupe = recipe.source.dedupe
    if dedupe:
        mark_duplicates(batch, {})  # within the batch; the driver checks across batches
    describe_items(describer, batch)
    stager, tallies = PartStager(out, recipe_stamp(recipe)), []
    for work in batch:
        started = time.perf_counter()
        digest = work.digest if dedupe and not work.failed else None
        rejected = stager.add(work.item.key, work.records, work.events, digest)
        work.timed("validate", time.perf_counter() - started)
        tallies.append(tally_item(work, rejected, digest))
    started = time.perf_counter()
    try:
        parts = stager.write()
    except OSError as exc:
        raise OutputWriteError(
            f"{where}cannot write to {out}: {exc.strerror or exc}; the parts committed before are kept"
            " — fix the output folder (every worker must see it) and rerun the same command to resume"
        ) from None
    share = (time.perf_counter() - started) / max(1, len(tallies))
    for tally in tallies:
        tally.seconds["write"] = tally.seconds.get("write", 0.0) + share
    return pickle.dumps(TaskResult(parts, tallies), protocol=pickle.HIGHEST_PROTOCOL)


def drop_seen(out: Path, recipe: Recipe, result: TaskResult, seen: dict[str, str]) -> TaskResult:
    """Items whose bytes an earlier item had (in input order, this run or a committed one) lose
    their rows and get the local build's dedupe error; the others' digests join `seen`."""
    drop: dict[str, ErrorEvent] = {}
    for tally in result.items:
        if tally.digest is None:
            continue
        if tally.digest in seen:
            reason = f"duplicate image: same bytes as {seen[tally.digest]}"
            event = ErrorEvent(tally.dataset, tally.key, "error", "dedupe", reason)
            drop[tally.key] = event
            tally.splits, tally.regions, tally.events, tally.digest = {}, 0, [event], None
        else:
            seen[tally.digest] = tally.key
    if drop:
        result.parts = [
            restage_without(
                out, recipe_stamp(recipe), part, {k: e for k, e in drop.items() if k in part.sources}
            )
            if drop.keys() & set(part.sources)
            else part
            for part in result.parts
        ]
    return result
