"""Subject-baseline AU mode (`labels.au.subject_baseline`): each face against its own neutral face.

Landmark geometry varies as much between people as between expressions, which is why FACS coders
score a face against the same person's neutral face. When a source gives several images per
subject (`subject_id`), a pre-pass reads every image of each subject and picks a baseline: the
mean reading of the images the source labels neutral, else the least expressive image. The build
then measures each of that subject's faces relative to it. It costs one more face pass over those
images, so it is optional; images without a subject are measured as usual.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from ..faces import Face, FaceAnalyzer
from ..sources import SourceItem
from ..vision.image_io import ImageReadError, decode_rgb, read_bytes
from .au_geometry import Reading, expressiveness, read_face


def largest(faces: list[Face]) -> Face:
    """The subject of a subject's image: its largest face."""
    return max(faces, key=lambda f: f.landmark_box[2] - f.landmark_box[0])


def choose_baseline(readings: list[tuple[Reading, bool]]) -> Reading:
    """The mean of the readings labelled neutral, else the least expressive reading."""
    neutral = [reading for reading, is_neutral in readings if is_neutral]
    if not neutral:
        return min((reading for reading, _ in readings), key=expressiveness)
    return (_mean_side([r[0] for r in neutral]), _mean_side([r[1] for r in neutral]))


def _mean_side(sides: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([side[key] for side in sides])) for key in sides[0]}


def _read(analyzer: FaceAnalyzer, item: SourceItem, max_pixels: int) -> Reading | None:
    """The item's largest face's reading; None when it cannot be read or has no face."""
    if item.error is not None or item.frame is not None:
        return None
    try:
        scan = analyzer.scan(decode_rgb(read_bytes(item.path), max_pixels))
    except (ImageReadError, OSError, ValueError):
        return None  # the build reports it as that item's error
    if not scan.faces:
        return None
    face = largest(scan.faces)
    return read_face(face.blendshapes, face.points)


def subject_baselines(
    items: list[SourceItem], open_analyzer: Callable[[], FaceAnalyzer], max_pixels: int
) -> dict[tuple[str, str], Reading]:
    """(dataset, subject) → baseline reading, for every subject with at least two readable faces;
    `open_analyzer` loads the build's face models, only when some subject has two images."""
    groups: dict[tuple[str, str], list[SourceItem]] = defaultdict(list)
    for item in items:
        if item.subject_id is not None:
            groups[(item.dataset, item.subject_id)].append(item)
    groups = {key: group for key, group in groups.items() if len(group) >= 2}
    if not groups:
        return {}
    analyzer = open_analyzer()
    baselines = {}
    try:
        for key, group in groups.items():
            readings = []
            for item in group:
                reading = _read(analyzer, item, max_pixels)
                if reading is not None:
                    readings.append((reading, item.ground_truth.get("emotion") == "neutral"))
            if len(readings) >= 2:
                baselines[key] = choose_baseline(readings)
    finally:
        analyzer.close()
    return baselines


def with_baselines(todo: list[SourceItem], baselines: dict[tuple[str, str], Reading]) -> list[SourceItem]:
    """The items to build, each of a subject with a baseline carrying it."""
    return [
        dataclasses.replace(item, au_baseline=baselines[(item.dataset, item.subject_id)])
        if item.subject_id is not None and (item.dataset, item.subject_id) in baselines
        else item
        for item in todo
    ]
