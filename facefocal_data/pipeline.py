"""The build: source → faces → landmarks → regions → record → validated shard.

Each stage is a function over a batch of work items and never raises for one bad item: the item
gets an error event with the stage and reason, and the batch goes on. The engine here runs
stages in process; engines decide where stages run, stages never know which engine runs them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Recipe, load_recipe
from .describe import DESCRIBERS
from .errors import RecipeError
from .estimators import (
    AGE_ESTIMATORS,
    AU_ESTIMATORS,
    BACKEND_MODELS,
    DETECTORS,
    EMOTION_ESTIMATORS,
    LANDMARKERS,
)
from .faces import FaceAnalyzer, FaceScan
from .labels.au_baseline import subject_baselines, with_baselines
from .labels.stage import Labeler, apply_ground_truth
from .layout import ErrorEvent, RunRecord
from .models.manifest import MODELS, ModelSpec, model_spec
from .record import FaceRecord, make_record_id
from .regions.propose import clip_box
from .regions.proposer import RegionProposer
from .registry import unknown_name
from .shards import ShardWriter
from .sources import SOURCES, SourceItem
from .sources.base import read_items
from .sources.video import close_video, read_frame
from .splits import assign_split
from .vision.geometry import ibug68
from .vision.image_io import MAX_PIXELS, ImageReadError, decode_rgb, encode, read_bytes

BATCH_SIZE = 8


@dataclass
class WorkItem:
    item: SourceItem
    rgb: np.ndarray | None = None
    scan: FaceScan | None = None
    records: list[FaceRecord] = field(default_factory=list)
    events: list[ErrorEvent] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, for the manifest
    digest: str | None = None  # sha256 of the file's bytes: duplicates are written once

    def timed(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @property
    def failed(self) -> bool:
        return bool(self.events)

    def fail(self, stage: str, reason: str, kind: str = "error", code: str = "") -> None:
        self.events.append(ErrorEvent(self.item.dataset, self.item.key, kind, stage, reason, code=code))


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


def _safely(stage: str, work: WorkItem, fn: Callable[[], None]) -> None:
    """Run one item's step; an unexpected exception becomes that item's error, not a crash."""
    started = time.perf_counter()
    try:
        fn()
    except ImageReadError as exc:
        work.fail(stage, exc.reason, code=exc.code)
    except Exception as exc:
        work.fail(stage, f"{type(exc).__name__}: {exc}")
    finally:
        work.timed(stage, time.perf_counter() - started)


def stage_decode(batch: list[WorkItem], max_pixels: int = MAX_PIXELS) -> None:
    for work in batch:
        if work.item.error is not None:
            work.fail("source", work.item.error, code=work.item.code or "")
            continue

        def run(work: WorkItem = work) -> None:
            if work.item.frame is not None:
                work.rgb = read_frame(work.item.path, work.item.frame)
            else:
                data = read_bytes(work.item.path)
                work.digest = hashlib.sha256(data).hexdigest()
                work.rgb = decode_rgb(data, max_pixels)

        _safely("decode", work, run)


def stage_faces(batch: list[WorkItem], analyzer: FaceAnalyzer) -> None:
    for work in batch:
        if work.failed or work.rgb is None:
            continue

        def run(work: WorkItem = work) -> None:
            assert work.rgb is not None
            work.scan = analyzer.scan(work.rgb)
            if not work.scan.faces:
                work.fail("detect", work.scan.empty_reason(), kind="no_face")

        _safely("detect", work, run)


MIN_BOX_INSIDE = 0.5  # a source box belongs to a face when this much of it lies in the face's crop


def boxes_in_crop(boxes: Iterable[Sequence[float]], crop_box: Sequence[float], size: int) -> list[list[int]]:
    """Source-pixel boxes mapped into one face's crop pixels; boxes mostly outside it are skipped."""
    cx1, cy1, cx2, cy2 = crop_box
    scale = size / (cx2 - cx1)
    mapped = []
    for x1, y1, x2, y2 in boxes:
        ix = max(0.0, min(x2, cx2) - max(x1, cx1))
        iy = max(0.0, min(y2, cy2) - max(y1, cy1))
        if ix * iy < MIN_BOX_INSIDE * (x2 - x1) * (y2 - y1):
            continue
        crop = [(x1 - cx1) * scale, (y1 - cy1) * scale, (x2 - cx1) * scale, (y2 - cy1) * scale]
        mapped.append(clip_box(crop, size))
    return mapped


def make_describer(recipe: Recipe) -> Any:
    name = recipe.describe.describer
    return None if name == "none" else DESCRIBERS.create(name, recipe.describe)


def describe_items(describer: Any, batch: list[WorkItem]) -> None:
    """All faces of a batch at once, so an LLM describer keeps its server slots busy."""
    batch = [w for w in batch if w.records]
    if describer is None or not batch:
        return
    started = time.perf_counter()
    try:
        _describe_all(describer, batch)
    finally:
        share = (time.perf_counter() - started) / len(batch)
        for work in batch:
            work.timed("describe", share)


def _describe_all(describer: Any, batch: list[WorkItem]) -> None:
    try:
        describer.describe_batch([r for w in batch for r in w.records])
    except Exception:  # one item's bad data must not cost the batch: describe item by item
        for work in batch:
            try:
                describer.describe_batch(work.records)
            except Exception as exc:
                work.records.clear()  # no row without its text
                work.fail("describe", f"{type(exc).__name__}: {exc}")


class RecordBuilder:
    """Stage: faces -> regions -> labels -> descriptions -> canonical records."""

    def __init__(self, recipe: Recipe, geometry_source: str, describe: bool = True) -> None:
        """``describe=False``: records only; the engine describes them where the describer lives."""
        self.recipe = recipe
        self.recipe_hash = recipe.content_hash()
        self.proposer = RegionProposer(recipe)
        self.labeler = Labeler(recipe)
        self.describer = make_describer(recipe) if describe else None
        self.geometry_source = geometry_source

    def __call__(self, batch: list[WorkItem]) -> None:
        for work in batch:
            if work.failed or work.scan is None:
                continue
            _safely("label", work, lambda work=work: self._records(work))  # type: ignore[misc]
        describe_items(self.describer, batch)

    def close(self) -> None:
        if self.describer is not None:
            self.describer.close()

    def _records(self, work: WorkItem) -> None:
        assert work.rgb is not None and work.scan is not None
        item, crop_cfg = work.item, self.recipe.crop
        h, w = work.rgb.shape[:2]
        ext = "jpg" if crop_cfg.image_format == "jpeg" else "png"
        subject_face = max(work.scan.faces, key=lambda f: f.landmark_box[2] - f.landmark_box[0])
        for index, face in enumerate(work.scan.faces):
            record_id = make_record_id(item.dataset, item.key, index, self.recipe_hash)
            points = face.points
            regions = self.proposer.propose(
                points, record_id, boxes_in_crop(item.boxes, face.crop_box, crop_cfg.size)
            )
            baseline = item.au_baseline if face is subject_face else None  # the subject: largest face
            self.labeler.label_regions(work.rgb, face, regions, baseline)
            record = FaceRecord(
                record_id=record_id,
                source_dataset=item.dataset,
                source_path=item.key,
                subject_id=item.subject_id,
                split=item.split,
                face_index=index,
                faces_in_image=len(work.scan.faces),
                image_bytes=encode(face.crop, crop_cfg.image_format, crop_cfg.jpeg_quality),
                image_path=f"{record_id}.{ext}",
                width=crop_cfg.size,
                height=crop_cfg.size,
                source_width=w,
                source_height=h,
                crop_box_in_source=[round(float(v), 2) for v in face.crop_box],
                detection_score=round(face.detection.score, 4),
                landmarks_478=np.round(points[:, :2], 2).tolist(),
                landmarks_68=np.round(ibug68(points), 2).tolist(),
                blendshapes={k: round(v, 5) for k, v in face.blendshapes.items()},
                head_pose={k: round(v, 2) for k, v in face.pose.items()},
                regions=regions,
                geometry_source=self.geometry_source,
                emotion=self.labeler.label_emotion(work.rgb, face),
                age=self.labeler.label_age(work.rgb, face),
            )
            if item.ground_truth:
                apply_ground_truth(record, item.ground_truth, item.dataset, self.recipe.labels.age.bins)
            work.records.append(record)


def mark_duplicates(batch: list[WorkItem], seen: dict[str, str]) -> None:
    """An image with the same bytes as one in `seen` (digest -> first key) is failed, so the same
    bytes are labelled and written once; the others are added to `seen`."""
    for work in batch:
        if work.digest is None or work.failed:
            continue
        if work.digest in seen:
            work.records.clear()
            work.fail("dedupe", f"duplicate image: same bytes as {seen[work.digest]}")
        else:
            seen[work.digest] = work.item.key


def _batches(items: Iterable[SourceItem], size: int) -> Iterable[list[SourceItem]]:
    batch: list[SourceItem] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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


def build(
    input: str | Path,
    out: str | Path,
    recipe: Recipe | str | Path | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    on_progress: Callable[[int, int, BuildSummary], None] | None = None,
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
    from .engines import Hooks, run_local, run_processes, run_ray
    from .ray_join import connect as ray_connect
    from .staging import TaskResult, drop_seen, workers_write

    if engine not in ("local", "processes", "ray"):
        raise RecipeError(f"unknown engine {engine!r}; choose local, processes or ray")
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    check_names(recipe)
    started = time.perf_counter()
    summary = BuildSummary(out=str(out))
    # the source is read before --out is opened: a source that cannot be read leaves no trace there
    items, summary.ignored_files = read_items(recipe.source.kind, input, recipe.source)
    if engine == "ray":  # a cluster that cannot be joined leaves no trace in --out either
        ray_connect(ray_address, ray_token_file)
    writer = ShardWriter(Path(out), recipe, models_for(recipe), overwrite=overwrite)
    todo = [assign_split(it, recipe.splits) for it in items if not writer.is_done(it.key)]
    summary.skipped_done = len(items) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    if recipe.labels.au.subject_baseline and todo:  # from every item, so a resumed build agrees
        todo = with_baselines(todo, subject_baselines(items, recipe))
    describer = None

    def progress() -> None:
        if on_progress:
            on_progress(summary.images, len(todo), summary)

    seen = writer.digests()  # content digest -> first source key, this run and those before

    def finish(batch: list[WorkItem]) -> None:
        if recipe.source.dedupe:
            mark_duplicates(batch, seen)
        describe_items(describer, batch)
        for work in batch:
            started_add = time.perf_counter()
            digest = work.digest if recipe.source.dedupe and not work.failed else None
            rejected = writer.add(work.item.key, work.records, work.events, digest)
            work.timed("validate", time.perf_counter() - started_add)
            _tally(summary, work, rejected)
        summary.seconds = time.perf_counter() - started
        progress()

    def commit(result: TaskResult) -> None:
        """A worker's staged parts, in input order: drop duplicates across workers, count, commit."""
        if recipe.source.dedupe:
            drop_seen(writer.out, recipe, result, seen)
        for tally in result.items:
            _count(summary, tally.splits, tally.regions, tally.events, tally.seconds)
        writer.add_staged(result.parts)
        summary.seconds = time.perf_counter() - started
        progress()

    def abort() -> None:  # Ctrl-C / SIGTERM: drop the batch being described, keep the rest
        if describer is not None and hasattr(describer, "abort"):
            describer.abort()

    def start_describer() -> None:
        """After the face models loaded (their errors first), before the first image."""
        nonlocal describer
        describer = make_describer(recipe)
        if describer is not None and hasattr(describer, "open"):
            describer.on_text = lambda _stats: progress()
            describer.open()
        summary.describe_live = getattr(describer, "stats", None)

    remote = engine == "ray" or engine == "processes" or workers > 1
    out_for_workers = writer.out.resolve() if remote and workers_write(recipe) else None
    start = start_describer if out_for_workers is None else lambda: None  # the workers describe
    hooks = Hooks(start, finish, abort, commit=commit, out=out_for_workers)
    try:
        if todo and engine == "ray":
            run_ray(todo, recipe, workers, hooks)
        elif todo and remote:
            run_processes(todo, recipe, workers, hooks)
        elif todo:
            run_local(todo, recipe, hooks)
    finally:
        close_video()
        summary.seconds = time.perf_counter() - started
        writer.close(
            run=_run_record(summary, engine, workers)
        )  # commits what is buffered, even when interrupted
        if describer is not None:
            describer.close()
            stats = getattr(describer, "stats", None)
            summary.describe, summary.describe_live = (stats.to_dict() if stats else {}), None
    if remote:  # the driver's main thread, and its committer thread
        summary.driver_seconds = round(hooks.stats.seconds + writer.commit_seconds, 4)
        summary.driver_cpu_seconds = round(hooks.stats.cpu_seconds + writer.commit_cpu_seconds, 4)
        summary.transfer_bytes = hooks.stats.transfer_bytes
    summary.seconds = time.perf_counter() - started
    _write_summary(Path(out), summary)
    return summary


def _run_record(summary: BuildSummary, engine: str, workers: int) -> RunRecord:
    """This run's accounting, appended to the manifest's `runs` (the writer adds commit seconds
    and the time it finished)."""
    counts = {
        k: getattr(summary, k) for k in ("images", "skipped_done", "faces", "regions", "errors", "no_face")
    }
    seconds = round(summary.seconds, 3)
    return RunRecord(engine, workers, seconds, counts, dict(summary.stage_seconds), dict(summary.splits))


def _tally(summary: BuildSummary, work: WorkItem, rejected: list[ErrorEvent]) -> None:
    rejected_ids = {e.record_id for e in rejected}
    kept = [r for r in work.records if r.record_id not in rejected_ids]
    splits: dict[str, int] = {}
    for record in kept:
        splits[record.split or "none"] = splits.get(record.split or "none", 0) + 1
    regions = sum(len(r.regions) for r in kept)
    _count(summary, splits, regions, work.events + rejected, work.seconds)


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
    import json

    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1))
