"""Engines decide where the stages run; the stages never know which engine runs them.

Both engines hand `finish` (describe + write, in the calling process) the batches in input
order, so the same input and recipe give the same rows whichever engine ran them.
- `run_local`: one process, three lanes: decode on a prefetch thread, detection and landmarks
  here, labels + description + writing on a finisher thread.
- `run_processes`: N worker processes (spawned, so no model state is forked), each loading the
  models once and returning labelled records; a bounded window of batches is in flight.
- `run_ray`: the same label stage as a Ray Data actor pool (`map_batches`), on a local Ray or a
  cluster (optional extra `[ray]`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Recipe
from .errors import FacefocalError
from .faces import FaceAnalyzer
from .pipeline import BATCH_SIZE, RecordBuilder, WorkItem, _batches, stage_decode, stage_faces
from .ray_join import connect
from .sources import SourceItem


@dataclass(frozen=True)
class Hooks:
    """What the caller does around the engine: open the describer, describe + write, stop fast."""

    start: Callable[[], None]  # once the models loaded, before the first batch is finished
    finish: Callable[[list[WorkItem]], None]  # in input order, in the calling process
    abort: Callable[[], None]  # on Ctrl-C / SIGTERM, before waiting for work in flight


def _prefetch_decoded(items: list[SourceItem], max_pixels: int) -> Iterator[list[WorkItem]]:
    """Batches of decoded images; the next batch decodes on a thread during this one's inference."""
    batches = [[WorkItem(it) for it in chunk] for chunk in _batches(items, BATCH_SIZE)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-decode") as pool:
        pending = pool.submit(stage_decode, batches[0], max_pixels) if batches else None
        for i, batch in enumerate(batches):
            assert pending is not None
            pending.result()
            pending = pool.submit(stage_decode, batches[i + 1], max_pixels) if i + 1 < len(batches) else None
            yield batch


def run_local(todo: list[SourceItem], recipe: Recipe, hooks: Hooks) -> None:
    analyzer = FaceAnalyzer(recipe)
    builder = RecordBuilder(recipe, analyzer.geometry_source, describe=False)
    try:
        hooks.start()

        def label_and_finish(batch: list[WorkItem]) -> None:
            builder(batch)
            hooks.finish(batch)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facefocal-finish") as finisher:
            finishing: Future[None] | None = None
            try:
                for batch in _prefetch_decoded(todo, recipe.source.max_pixels):
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
        analyzer.close()


# -- worker processes ------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(recipe: Recipe) -> None:
    """Load the models once per process; a setup error is kept and raised with the first batch."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        analyzer = FaceAnalyzer(recipe)
        _WORKER["analyzer"] = analyzer
        _WORKER["max_pixels"] = recipe.source.max_pixels
        _WORKER["builder"] = RecordBuilder(recipe, analyzer.geometry_source, describe=False)
    except Exception as exc:
        _WORKER["error"] = exc


def _work(items: list[SourceItem]) -> list[WorkItem]:
    if "error" in _WORKER:
        raise _WORKER["error"]
    batch = [WorkItem(item) for item in items]
    stage_decode(batch, _WORKER["max_pixels"])
    stage_faces(batch, _WORKER["analyzer"])
    _WORKER["builder"](batch)
    for work in batch:  # only records and events travel back
        work.rgb, work.scan = None, None
    return batch


def run_processes(todo: list[SourceItem], recipe: Recipe, workers: int, hooks: Hooks) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(recipe,)
    ) as pool:
        batches = iter(list(_batches(todo, BATCH_SIZE)))
        window: deque[Future[list[WorkItem]]] = deque()
        for _ in range(2 * workers):
            if (batch := next(batches, None)) is not None:
                window.append(pool.submit(_work, batch))
        try:
            first = window.popleft().result() if window else []  # worker setup errors surface here
            hooks.start()
            pending: list[WorkItem] | None = first
            while pending is not None:
                if (batch := next(batches, None)) is not None:
                    window.append(pool.submit(_work, batch))
                hooks.finish(pending)
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
    """Ray Data actor: models loaded once per actor; a batch of items in, pickled WorkItems out.

    The pickles travel only between this toolkit's own processes (as with a process pool).
    """

    def __init__(self, recipe_json: str) -> None:
        _init_worker(Recipe.model_validate_json(recipe_json))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        items = [_item_from_json(text) for text in batch["item"]]
        return {"work": [pickle.dumps(work) for work in _work(items)]}


def run_ray(todo: list[SourceItem], recipe: Recipe, workers: int, hooks: Hooks) -> None:
    """Ray Data `map_batches` with the label stage as an actor pool of `workers` actors.

    Ray is joined by `ray_join.connect` (build() calls it before the output folder opens); on a
    cluster every node must see the input paths and have the models fetched.
    """
    import ray

    connect()  # a no-op once build() joined; a local Ray when run_ray is called alone
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in input order, as the local engines write them
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # our bar reports progress; Ray Data chats on INFO
    dataset = ray.data.from_items([{"item": _item_json(item)} for item in todo]).map_batches(
        RayLabeler,
        fn_constructor_args=(recipe.model_dump_json(),),
        batch_size=BATCH_SIZE,
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_format="numpy",
    )
    started = False
    try:
        for batch in dataset.iter_batches(batch_size=BATCH_SIZE, batch_format="numpy"):
            if not started:
                hooks.start()
                started = True
            hooks.finish([pickle.loads(blob) for blob in batch["work"]])
    except BaseException as exc:
        hooks.abort()
        cause = getattr(exc, "cause", None)
        if isinstance(cause, FacefocalError):  # a setup error inside an actor: say it plainly
            raise cause from None
        raise
