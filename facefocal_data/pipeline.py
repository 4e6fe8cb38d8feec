"""The build: source → faces → landmarks → regions → record → validated shard.

`build()` reads the source, opens the writer and hands the items to an engine (engines.py) with a
`BuildRun`'s hooks; the stages themselves are in stages.py and never know which engine runs them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .config import Recipe, load_recipe
from .describe import DESCRIBERS, Describer
from .engines import Hooks, build_gc, open_analyzer, run_local, run_processes, run_ray
from .errors import RecipeError
from .estimators import (
    AGE_ESTIMATORS,
    AU_ESTIMATORS,
    BACKEND_MODELS,
    DETECTORS,
    EMOTION_ESTIMATORS,
    LANDMARKERS,
)
from .labels.au_baseline import subject_baselines, with_baselines
from .layout import ErrorEvent, RunRecord
from .models.manifest import MODELS, ModelSpec, model_spec
from .ray_join import connect as ray_connect
from .registry import unknown_name
from .shards import ShardWriter
from .sources import SOURCES, SourceItem
from .sources.base import read_items
from .splits import assign_split
from .stages import WorkItem, describe_items, make_describer, mark_duplicates
from .staging import TaskResult, drop_seen, recipe_stamp, tally_item, workers_write


@dataclass
class BuildSummary:
    """What a build did; also written to ``summary.json`` in the output directory."""

    out: str
    images: int = 0
    skipped_done: int = 0
    ignored_files: int = 0
    faces: int = 0
    regions: int = 0
    errors: int = 0
    no_face: int = 0
    seconds: float = 0.0
    error_reasons: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)  # faces written per split
    stage_seconds: dict[str, float] = field(default_factory=dict)  # summed over items (any process)
    describe: dict[str, Any] = field(default_factory=dict)  # the LLM describer's counts
    driver_seconds: float = 0.0  # in the driver's own code: assigning, receiving, committing
    driver_cpu_seconds: float = 0.0  # the same as CPU time (without waits on fsync)
    transfer_bytes: int = 0  # results sent from workers to the driver (processes, Ray)
    describe_live: Any = None  # the describer's running stats while the build runs (progress bars)

    @property
    def faces_per_second(self) -> float:
        return self.faces / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "describe_live"}
        return {**data, "faces_per_second": round(self.faces_per_second, 3)}


def models_for(recipe: Recipe) -> list[ModelSpec]:
    """The weights a recipe loads (recorded in the manifest)."""
    labels = recipe.labels
    chosen = [
        ("detector", recipe.detector.backend),
        ("landmarks", recipe.landmarks.backend),
        ("au", labels.au.backend),
        ("emotion", labels.emotion.backend),
        ("age", labels.age.backend),
    ]
    names = dict.fromkeys(n for key in chosen for n in BACKEND_MODELS.get(key, ()))
    if (server_model := embedded_model(recipe)) is not None:
        names[server_model] = None
    return [model_spec(n) for n in names]


def embedded_model(recipe: Recipe) -> str | None:
    """The model the embedded LLM server loads; None when no LLM describes or one at a URL does."""
    describe = recipe.describe
    embedded = describe.describer == "llm" and describe.llm.base_url is None
    return describe.llm.server.model if embedded else None


def check_names(recipe: Recipe) -> None:
    """Every name the recipe picks from a registry exists. Backends load only after --out is open
    (in each worker), so a typo is caught here, before the output folder is touched."""
    labels = recipe.labels
    SOURCES.require(recipe.source.kind, "source.kind")
    DETECTORS.require(recipe.detector.backend, "detector.backend")
    LANDMARKERS.require(recipe.landmarks.backend, "landmarks.backend")
    AU_ESTIMATORS.require(labels.au.backend, "labels.au.backend", optional=True)
    if labels.au.subject_baseline and labels.au.backend != "mediapipe":
        raise RecipeError(
            f"labels.au.subject_baseline needs labels.au.backend: mediapipe (got {labels.au.backend!r})"
        )
    EMOTION_ESTIMATORS.require(labels.emotion.backend, "labels.emotion.backend", optional=True)
    AGE_ESTIMATORS.require(labels.age.backend, "labels.age.backend", optional=True)
    DESCRIBERS.require(recipe.describe.describer, "describe.describer", optional=True)
    llms = [m.name for m in MODELS if m.task == "llm"]
    if (server_model := embedded_model(recipe)) is not None and server_model not in llms:
        raise unknown_name("describe.llm.server.model", "LLM", server_model, llms)


Progress = Callable[[int, int, BuildSummary], None]
"""``on_progress(done, total, summary)``: after each batch (the CLI draws its bar from it)."""


@runtime_checkable
class LiveDescriber(Protocol):
    """A describer with a server behind it: opened once the face models loaded, aborted on Ctrl-C,
    its running counts shown while the build runs."""

    stats: Any
    on_text: Any

    def open(self) -> None: ...

    def abort(self) -> None: ...


class BuildRun:
    """One run of a build: the engine's hooks (start, finish, commit, abort) and the close, over one
    writer, one describer and one summary (state the hooks share lives here, not in closures)."""

    def __init__(
        self,
        recipe: Recipe,
        writer: ShardWriter,
        summary: BuildSummary,
        total: int,
        on_progress: Progress | None,
        started: float,
    ) -> None:
        """`started`: when the build began (perf_counter), so the seconds include reading the source."""
        self.recipe, self.writer, self.summary, self.total = recipe, writer, summary, total
        self.on_progress, self.started = on_progress, started
        self.describer: Describer | None = None
        self.seen = writer.digests()  # content digest -> first source key, this run and those before

    def hooks(self, workers_write_to: Path | None) -> Hooks:
        """The engine's hooks; with `workers_write_to` the workers describe, so nothing opens here."""
        start = self.start_describer if workers_write_to is None else _nothing
        return Hooks(start, self.finish, self.abort, commit=self.commit, out=workers_write_to)

    def progress(self) -> None:
        self.summary.seconds = time.perf_counter() - self.started
        if self.on_progress is not None:
            self.on_progress(self.summary.images, self.total, self.summary)

    def start_describer(self) -> None:
        """After the face models loaded (their errors first), before the first image."""
        self.describer = make_describer(self.recipe.describe)
        if isinstance(self.describer, LiveDescriber):
            self.describer.on_text = lambda _stats: self.progress()
            self.describer.open()
            self.summary.describe_live = self.describer.stats

    def finish(self, batch: list[WorkItem]) -> None:
        """Labelled items from this process or a worker: dedupe, describe, validate and write."""
        dedupe = self.recipe.source.dedupe
        if dedupe:
            mark_duplicates(batch, self.seen)
        describe_items(self.describer, batch)
        for work in batch:
            started_add = time.perf_counter()
            digest = work.digest if dedupe and not work.failed else None
            rejected = self.writer.add(work.item.key, work.records, work.events, digest)
            work.timed("validate", time.perf_counter() - started_add)
            _tally(self.summary, work, rejected)
        self.progress()

    def commit(self, result: TaskResult) -> None:
        """A worker's staged parts, in input order: drop duplicates across workers, count, commit."""
        if self.recipe.source.dedupe:
            drop_seen(self.writer.out, self.recipe, result, self.seen)
        for tally in result.items:
            _count(self.summary, tally.splits, tally.regions, tally.events, tally.seconds)
        self.writer.add_staged(result.parts)
        self.progress()

    def abort(self) -> None:
        """Ctrl-C / SIGTERM: drop the batch being described, keep the rest."""
        if isinstance(self.describer, LiveDescriber):
            self.describer.abort()

    def close(self, engine: str, workers: int) -> None:
        """Commit what is buffered (even when interrupted) with this run's record; close the describer."""
        self.summary.seconds = time.perf_counter() - self.started
        self.writer.close(run=_run_record(self.summary, engine, workers))
        if self.describer is not None:
            self.describer.close()
            stats = getattr(self.describer, "stats", None)
            self.summary.describe = stats.to_dict() if stats else {}
            self.summary.describe_live = None


def _nothing() -> None:
    return None


def build(
    input: str | Path,
    out: str | Path,
    recipe: Recipe | str | Path | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    on_progress: Progress | None = None,
    workers: int = 1,
    engine: str = "local",
    ray_address: str | None = None,
    ray_token_file: str | Path | None = None,
) -> BuildSummary:
    """Build a dataset from ``input`` into ``out``; reruns skip source items already written.

    ``workers`` > 1 runs vision and labels in that many processes (each loads the models once);
    ``engine="processes"`` does so for any ``workers`` (1 too); ``engine="ray"`` runs them as Ray
    Data actors (``workers`` of them) on a local Ray (bound to 127.0.0.1) or the cluster at
    ``ray_address`` (or $RAY_ADDRESS), sending the cluster's token from $RAY_AUTH_TOKEN,
    ``ray_token_file`` or ~/.ray/auth_token. Worker processes and actors also describe, validate
    and write the parts (an LLM describer excepted: it describes here); this process commits them
    in input order, so the rows are the same whichever engine ran.
    ``on_progress(done, total, summary)`` is called after each batch (the CLI draws its bar).
    """
    if engine not in ENGINES:
        raise RecipeError(f"unknown engine {engine!r}; choose {', '.join(ENGINES)}")
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    check_names(recipe)
    started = time.perf_counter()
    summary = BuildSummary(out=str(out))
    # the source is read before --out is opened: a source that cannot be read leaves no trace there
    items, summary.ignored_files = read_items(recipe.source.kind, input, recipe.source)
    if engine == "ray":  # a cluster that cannot be joined leaves no trace in --out either
        ray_connect(ray_address, ray_token_file)
    writer = ShardWriter(Path(out), recipe_stamp(recipe), models_for(recipe), overwrite=overwrite)
    todo = _todo(items, writer, recipe, limit, summary)
    run = BuildRun(recipe, writer, summary, len(todo), on_progress, started)
    remote = engine in ("ray", "processes") or workers > 1
    hooks = run.hooks(writer.out.resolve() if remote and workers_write(recipe) else None)
    runs_on = "processes" if remote and engine == "local" else engine
    try:
        if todo:
            with build_gc():
                _run_engine(runs_on, todo, recipe, workers, hooks)
    finally:
        run.close(engine, workers)
    if remote:  # the driver's main thread, and its committer thread
        summary.driver_seconds = round(hooks.stats.seconds + writer.commit_seconds, 4)
        summary.driver_cpu_seconds = round(hooks.stats.cpu_seconds + writer.commit_cpu_seconds, 4)
        summary.transfer_bytes = hooks.stats.transfer_bytes
    summary.seconds = time.perf_counter() - started
    _write_summary(Path(out), summary)
    return summary


ENGINES = ("local", "processes", "ray")


def _todo(
    items: list[SourceItem], writer: ShardWriter, recipe: Recipe, limit: int | None, summary: BuildSummary
) -> list[SourceItem]:
    """The items this run labels: not written before, split assigned, at most `limit`."""
    todo = [assign_split(it, recipe.splits) for it in items if not writer.is_done(it.key)]
    summary.skipped_done = len(items) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    if recipe.labels.au.subject_baseline and todo:  # from every item, so a resumed build agrees
        todo = with_baselines(
            todo, subject_baselines(items, partial(open_analyzer, recipe), recipe.source.max_pixels)
        )
    return todo


def _run_engine(engine: str, todo: list[SourceItem], recipe: Recipe, workers: int, hooks: Hooks) -> None:
    if engine == "ray":
        run_ray(todo, recipe, workers, hooks)
    elif engine == "processes":
        run_processes(todo, recipe, workers, hooks)
    else:
        run_local(todo, recipe, hooks)


def _run_record(summary: BuildSummary, engine: str, workers: int) -> RunRecord:
    """This run's accounting, appended to the manifest's `runs` (the writer adds commit seconds
    and the time it finished)."""
    counts = {
        k: getattr(summary, k) for k in ("images", "skipped_done", "faces", "regions", "errors", "no_face")
    }
    seconds = round(summary.seconds, 3)
    return RunRecord(engine, workers, seconds, counts, dict(summary.stage_seconds), dict(summary.splits))


def _tally(summary: BuildSummary, work: WorkItem, rejected: list[ErrorEvent]) -> None:
    item = tally_item(work, rejected)
    _count(summary, item.splits, item.regions, item.events, item.seconds)


def _count(
    summary: BuildSummary,
    splits: dict[str, int],
    regions: int,
    events: list[ErrorEvent],
    seconds: dict[str, float],
) -> None:
    """One source item into the summary: its faces per split, regions, events and stage seconds."""
    summary.images += 1
    summary.faces += sum(splits.values())
    for stage, spent in seconds.items():
        summary.stage_seconds[stage] = round(summary.stage_seconds.get(stage, 0.0) + spent, 4)
    for split, faces in splits.items():
        summary.splits[split] = summary.splits.get(split, 0) + faces
    summary.regions += regions
    for event in events:
        if event.kind == "no_face":
            summary.no_face += 1
        else:
            summary.errors += 1
        reason = event.reason.split(":")[0]
        summary.error_reasons[reason] = summary.error_reasons.get(reason, 0) + 1


def _write_summary(out: Path, summary: BuildSummary) -> None:
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1))
