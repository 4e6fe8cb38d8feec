"""Engines decide where the stages run; the stages never know which engine runs them.

Every engine hands the calling process (the driver) the batches' results in input order, so the
same input and recipe give the same rows whichever engine ran them.
- `run_local`: one process, three lanes: decode on a prefetch thread, detection and landmarks
  here, labels + description + writing on a finisher thread (`hooks.finish`).
- `run_processes`: N worker processes (spawned, so no model state is forked), each loading the
  models once; a bounded window of batches is in flight.
- `run_ray`: the same worker stage as a Ray Data actor pool (`map_batches`), on a local Ray or a
  cluster (optional extra `[ray]`).
With `hooks.out` set, processes and actors also describe, validate and write staged parts there
(`staging.write_task`) and send back a small `TaskResult` for `hooks.commit`; without it they send
the labelled records for `hooks.finish` (an LLM describer, which stays on the driver).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import multiprocessing
import multiprocessing.util
import os
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Recipe
from .errors import FacefocalError, ModelHashError, ModelMissingError
from .faces import FaceAnalyzer
from .models.store import FETCH_HINT
from .ray_join import connect
from .sources import SourceItem
from .sources.video import VideoFrames
from .stages import (
    BATCH_SIZE,
    RecordBuilder,
    WorkItem,
    chunked,
    make_describer,
    stage_decode,
    stage_faces,
)
from .staging import TaskResult, write_task
from .vision.image_io import MISSING_FILE

# The collector's thresholds while a build runs: a build allocates millions of short-lived containers
# (records, texts, label arrays); at Python's default (700, 10, 10) the collector made a young pass
# every 700 allocations and full passes over every loaded module and model object, ~0.8-1.2 s of a
# 14-18 s build of 249 faces (benchmarks/bench_build_texts.py prints it). A full pass still comes
# every ~10 million allocations (~4,500 faces), so cyclic garbage cannot pile up in a long build.
# None: Python's own.
BUILD_GC_THRESHOLDS: tuple[int, int, int] | None = (50_000, 20, 10)


@contextmanager
def build_gc() -> Iterator[None]:
    """BUILD_GC_THRESHOLDS for the duration of a build, then the caller's thresholds again."""
    before = gc.get_threshold()
    if BUILD_GC_THRESHOLDS is not None:
        gc.set_threshold(*BUILD_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass
class DriverStats:
    """The driver's own cost: seconds in its code (assigning work, taking results in, handing them
    to the writer; not waiting for results), as wall time and as this thread's CPU time, and the
    bytes of results that crossed from the workers."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    transfer_bytes: int = 0

    @contextmanager
    def timed(self) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.thread_time() - cpu


@dataclass(frozen=True)
class Hooks:
    """What the caller does around the engine: open the describer, describe + write (or commit
    what workers wrote), stop fast."""

    start: Callable[[], None]  # once the models loaded, before the first batch is finished
    finish: Callable[[list[WorkItem]], None]  # in input order, in the calling process
    abort: Callable[[], None]  # on Ctrl-C / SIGTERM, before waiting for work in flight
    commit: Callable[[TaskResult], None] | None = None  # workers' staged parts, in input order
    out: Path | None = None  # where processes / actors write staged parts; None: they send records
    stats: DriverStats = field(default_factory=DriverStats)


def _deliver(hooks: Hooks, reply: bytes) -> None:
    """One batch's reply from a worker, into the driver (timed as the driver's own cost)."""
    with hooks.stats.timed():
        hooks.stats.transfer_bytes += len(reply)
        result = pickle.loads(reply)
        if isinstance(result, TaskResult):
            assert hooks.commit is not None
            hooks.commit(result)
        else:
            hooks.finish(result)


def _prefetch_decoded(
    items: list[SourceItem], max_pixels: int, frames: VideoFrames
) -> Iterator[list[WorkItem]]:
    """Batches of decoded images; the next batch decodes on a thread during this one's inference
    (one batch at a time, so the decode thread alone reads `frames`)."""
    batches = [[WorkItem(it) for it in chunk] for chunk in chunked(items, BATCH_SIZE)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-decode") as pool:

        def decode(i: int) -> Future[None] | None:
            return pool.submit(stage_decode, batches[i], max_pixels, frames) if i < len(batches) else None

        pending = decode(0)
        for i, batch in enumerate(batches):
            assert pending is not None
            pending.result()
            pending = decode(i + 1)
            yield batch


def open_analyzer(recipe: Recipe) -> FaceAnalyzer:
    """The face stage with the recipe's `detector:`, `landmarks:` and `crop:` sections."""
    return FaceAnalyzer(recipe.detector, recipe.landmarks, recipe.crop)


def open_builder(recipe: Recipe, geometry_source: str, describe: bool = False) -> RecordBuilder:
    """The record stage with the recipe's sections; `describe=False`: records only (the engine
    describes them where the describer lives)."""
    sections = (recipe.crop, recipe.regions, recipe.labels, recipe.describe if describe else None)
    return RecordBuilder(recipe.content_hash(), geometry_source, *sections)


def run_local(todo: list[SourceItem], recipe: Recipe, hooks: Hooks) -> None:
    analyzer = open_analyzer(recipe)
    builder = open_builder(recipe, analyzer.geometry_source)
    frames = VideoFrames()
    try:
        hooks.start()

        def label_and_finish(batch: list[WorkItem]) -> None:
            builder(batch)
            hooks.finish(batch)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-finish") as finisher:
            finishing: Future[None] | None = None
            try:
                for batch in _prefetch_decoded(todo, recipe.source.max_pixels, frames):
                    stage_faces(batch, analyzer)
                    if finishing is not None:
                        finishing.result()
                    finishing = finisher.submit(label_and_finish, batch)
                if finishing is not None:
                    finishing.result()
            except BaseException:
                hooks.abort()  # before the pool waits for the finisher
                raise
    finally:
        frames.close()
        analyzer.close()


# -- worker processes ------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _exit_with(parent: int) -> None:
    """A worker process whose driver died (kill -9) exits instead of waiting on its queue forever:
    it holds models in memory and would write parts no one commits."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="facefocal-driver-watch", daemon=True).start()


def _init_worker(recipe: Recipe, out: Path | None = None, parent: int | None = None) -> None:
    """Load the models once per process; a setup error is kept and raised with the first batch.
    With `out`, this worker also describes and writes its parts there."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    if BUILD_GC_THRESHOLDS is not None:  # this process only builds
        gc.set_threshold(*BUILD_GC_THRESHOLDS)
    if parent is not None:
        _exit_with(parent)
        multiprocessing.util.Finalize(None, _close_worker, exitpriority=10)  # as the process exits
    _WORKER["frames"] = VideoFrames()
    try:
        analyzer = open_analyzer(recipe)
        _WORKER.update(analyzer=analyzer, max_pixels=recipe.source.max_pixels, recipe=recipe, out=out)
        _WORKER["builder"] = open_builder(recipe, analyzer.geometry_source)
        _WORKER["describer"] = make_describer(recipe.describe) if out is not None else None
    except Exception as exc:
        _WORKER["error"] = exc


def _close_worker() -> None:
    """What this worker process (or Ray actor) holds open: its video."""
    if (frames := _WORKER.get("frames")) is not None:
        frames.close()


MAX_TASK_IMAGES = 64  # a task's items; its part holds their faces (fewer, larger parts at scale)


def task_images(items: int, workers: int) -> int:
    """Source items per task: at least 4 tasks per worker (the last ones balance the load), in
    whole batches of `BATCH_SIZE`, at most `MAX_TASK_IMAGES` (a lost task is redone whole)."""
    batches = max(1, items // (4 * workers * BATCH_SIZE))
    return min(MAX_TASK_IMAGES, batches * BATCH_SIZE)


def _label(items: list[SourceItem]) -> list[WorkItem]:
    """A task's items labelled, `BATCH_SIZE` at a time: only one batch's pixels are held at once."""
    if "error" in _WORKER:
        raise _WORKER["error"]
    done: list[WorkItem] = []
    for chunk in chunked(items, BATCH_SIZE):
        batch = [WorkItem(item) for item in chunk]
        stage_decode(batch, _WORKER["max_pixels"], _WORKER["frames"])
        stage_faces(batch, _WORKER["analyzer"])
        _WORKER["builder"](batch)
        for work in batch:  # the pixels stay here
            work.rgb, work.scan = None, None
        done += batch
    return done


def _reply(batch: list[WorkItem], where: str = "") -> bytes:
    """What goes back to the driver: a `TaskResult` once the parts are written here, else the
    records themselves (pickled here, so the driver can count the bytes)."""
    if (out := _WORKER.get("out")) is not None:
        return write_task(batch, out, _WORKER["recipe"], _WORKER["describer"], where)
    return pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def _work(items: list[SourceItem]) -> bytes:
    return _reply(_label(items))


def run_processes(todo: list[SourceItem], recipe: Recipe, workers: int, hooks: Hooks) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(recipe, hooks.out, os.getpid())
    ) as pool:
        batches = iter(list(chunked(todo, task_images(len(todo), workers))))
        window: deque[Future[bytes]] = deque()
        for _ in range(2 * workers):
            if (batch := next(batches, None)) is not None:
                window.append(pool.submit(_work, batch))
        try:
            first = window.popleft().result() if window else None  # worker setup errors surface here
            hooks.start()
            pending: bytes | None = first
            while pending is not None:
                with hooks.stats.timed():
                    if (batch := next(batches, None)) is not None:
                        window.append(pool.submit(_work, batch))
                _deliver(hooks, pending)
                pending = window.popleft().result() if window else None
        except BaseException:
            hooks.abort()
            for future in window:
                future.cancel()
            raise


# -- Ray Data --------------------------------------------------------------------------------------
def _item_json(item: SourceItem) -> str:
    data = dataclasses.asdict(item)
    data["path"] = str(item.path)
    return json.dumps(data)


def _item_from_json(text: str) -> SourceItem:
    data = json.loads(text)
    return SourceItem(**{**data, "path": Path(data["path"])})


class RayLabeler:
    """Ray Data actor: models loaded once per actor; a batch of items in, one pickled reply out
    (a `TaskResult` when it writes the parts into `out`, else the labelled WorkItems).

    The pickles travel only between this toolkit's own processes (as with a process pool). What
    goes wrong on one node is said with that node's name: each node has its own model cache and
    its own view of the file system, so the fix is made there.
    """

    def __init__(self, recipe_json: str, out: str | None = None) -> None:
        _init_worker(Recipe.model_validate_json(recipe_json), None if out is None else Path(out))
        if isinstance(error := _WORKER.get("error"), FacefocalError):
            _WORKER["error"] = on_node(error, ray_node())

    def __del__(self) -> None:  # Ray Data drops the actor's UDF as the actor exits gracefully
        _close_worker()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        items = [_item_from_json(text) for text in batch["item"]]
        done, node = _label(items), ray_node()
        for work in done:
            name_unseen_paths(work, node)
        return {"reply": [_reply(done, f"Ray node {node}: ")]}


def ray_node() -> str:
    """This node as `ray status` lists it (its IP) and as its admin knows it (its host name)."""
    try:
        import ray

        ip = ray.util.get_node_ip_address()
    except Exception:  # outside Ray (a unit test): the host name alone
        return socket.gethostname()
    return f"{ip} ({socket.gethostname()})"


def on_node(error: FacefocalError, node: str) -> FacefocalError:
    """The same error, naming the node; weights are looked up in that node's own $FACEFOCAL_HOME."""
    text = f"Ray node {node}: {error}"
    if isinstance(error, (ModelMissingError, ModelHashError)):
        hint = "" if text.endswith(FETCH_HINT) else f"; {FETCH_HINT}"
        text += f"{hint} on that node (every node loads the weights from its own $FACEFOCAL_HOME)"
    return type(error)(text)


def name_unseen_paths(work: WorkItem, node: str) -> None:
    """A file the driver listed but this node cannot open: say so, naming the node and the path."""
    for event in work.events:
        if event.stage == "decode" and event.reason.startswith(MISSING_FILE):
            event.reason += (
                f"; Ray node {node} cannot see {work.item.path} (every node must see the input paths)"
            )


def run_ray(todo: list[SourceItem], recipe: Recipe, workers: int, hooks: Hooks) -> None:
    """Ray Data `map_batches` with the label stage as an actor pool of `workers` actors.

    Ray is joined by `ray_join.connect` (build() calls it before the output folder opens); on a
    cluster every node must see the input paths and have the models fetched.
    """
    import ray
    import ray.data  # once per process, before the driver's cost is timed

    connect()  # a no-op once build() joined; a local Ray when run_ray is called alone
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in input order, as the local engines write them
    context.enable_progress_bars = False
    context.raise_original_map_exception = True  # a setup error in an actor arrives as itself (`cause`)
    # our bar reports progress (Ray Data chats on INFO), and its errors reach us as exceptions: the
    # CLI says them once, where Ray Data would log each with its stack first
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    with hooks.stats.timed():  # assigning: the input listing, as Ray Data's blocks
        out = None if hooks.out is None else str(hooks.out)
        dataset = ray.data.from_items([{"item": _item_json(item)} for item in todo]).map_batches(
            RayLabeler,
            fn_constructor_args=(recipe.model_dump_json(), out),
            batch_size=task_images(len(todo), workers),
            compute=ray.data.ActorPoolStrategy(size=workers),
            batch_format="numpy",
        )
    started = False
    try:
        for row in dataset.iter_rows():
            if not started:
                hooks.start()
                started = True
            _deliver(hooks, bytes(row["reply"]))
    except BaseException as exc:
        hooks.abort()
        cause = getattr(exc, "cause", None)
        if isinstance(cause, FacefocalError):  # a setup error inside an actor: say it plainly, without
            raise type(cause)(str(cause).splitlines()[0]) from None  # the retry notes Ray Data adds
        raise
