"""The stage primitives: a batch of work items through decode, faces, labels, records, texts.

Each stage is a function over a batch of work items and never raises for one bad item: the item
gets an error event with the stage and reason, and the batch goes on. Stages never know which
engine runs them (engines.py decides where; pipeline.py is the build that drives them).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import CropConfig, DescribeConfig, LabelsConfig, RegionsConfig
from .describe import DESCRIBERS
from .faces import FaceAnalyzer, FaceScan
from .labels.stage import Labeler, apply_ground_truth
from .layout import ErrorEvent
from .record import FaceRecord, make_record_id
from .regions.propose import clip_box
from .regions.proposer import RegionProposer
from .sources import SourceItem
from .sources.video import VideoFrames
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


def stage_decode(
    batch: list[WorkItem], max_pixels: int = MAX_PIXELS, frames: VideoFrames | None = None
) -> None:
    """Read and decode each item. `frames`: the lane's open video, kept across batches (its owner
    closes it); without it, a video opened for this batch is closed at the batch's end."""
    own = frames is None
    frames = VideoFrames() if frames is None else frames
    try:
        for work in batch:
            _decode_one(work, max_pixels, frames)
    finally:
        if own:
            frames.close()


def _decode_one(work: WorkItem, max_pixels: int, frames: VideoFrames) -> None:
    if work.item.error is not None:
        work.fail("source", work.item.error, code=work.item.code or "")
        return

    def run() -> None:
        if work.item.frame is not None:
            work.rgb = frames.read(work.item.path, work.item.frame)
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


def make_describer(describe: DescribeConfig) -> Any:
    """The describer the recipe's `describe:` section picks; None for `describer: none`."""
    return None if describe.describer == "none" else DESCRIBERS.create(describe.describer, describe)


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
    """Stage: faces -> regions -> labels -> descriptions -> canonical records, per the recipe's
    `crop:`, `regions:`, `labels:` and `describe:` sections; `recipe_hash` goes into each record id."""

    def __init__(
        self,
        recipe_hash: str,
        geometry_source: str,
        crop: CropConfig,
        regions: RegionsConfig,
        labels: LabelsConfig,
        describe: DescribeConfig | None = None,
    ) -> None:
        """``describe=None``: records only; the engine describes them where the describer lives."""
        self.recipe_hash, self.crop, self.age_bins = recipe_hash, crop, labels.age.bins
        self.proposer = RegionProposer(regions, crop.size, labels.au_vocabulary)
        self.labeler = Labeler(labels)
        self.describer = None if describe is None else make_describer(describe)
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
        item, crop_cfg = work.item, self.crop
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
            emotion = self.labeler.label_emotion(work.rgb, face)  # first: it informs the AUs
            self.labeler.label_regions(work.rgb, face, regions, baseline, emotion)
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
                emotion=emotion,
                age=self.labeler.label_age(work.rgb, face),
            )
            if item.ground_truth:
                apply_ground_truth(record, item.ground_truth, item.dataset, self.age_bins)
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


def chunked(items: Iterable[SourceItem], size: int) -> Iterable[list[SourceItem]]:
    batch: list[SourceItem] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
