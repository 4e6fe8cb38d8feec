"""Stage: a face's landmarks -> its regions (named and boxes), each with the AUs it can show."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..config import CropConfig, RegionsConfig
from ..facs import DEFAULT_AU_VOCABULARY
from ..record import Region
from .named import NAMED_REGIONS, RegionDef
from .propose import ActionAreas, BoxSampling, region_box, sample_boxes


class RegionProposer:
    """Stage: landmarks (crop px) -> regions, per the recipe's `regions:` section, in crops of
    `crop_size` px; each region lists the AUs of `au_vocabulary` (`labels.au_vocabulary`) it can show."""

    def __init__(
        self,
        regions: RegionsConfig | None = None,
        crop_size: int = CropConfig().size,
        au_vocabulary: Iterable[str] = DEFAULT_AU_VOCABULARY,
    ) -> None:
        cfg = regions or RegionsConfig()
        by_name = {r.name: r for r in NAMED_REGIONS}
        names = list(by_name) if cfg.named == "all" else cfg.named
        self.defs: list[RegionDef] = [by_name[n] for n in names]
        self.defs += [
            RegionDef(name, tuple(c.landmarks), c.pad_x, c.pad_y, c.description)
            for name, c in cfg.custom.items()
        ]
        b = cfg.boxes
        self.sampling = BoxSampling(b.count, b.min_side, b.max_side, b.max_aspect, b.seed)
        self.fixed = [list(box) for box in b.fixed]
        self.size = crop_size
        self.threshold = cfg.au_overlap
        self.vocabulary = list(au_vocabulary)

    def propose(
        self, points: np.ndarray, key: str, source_boxes: list[list[int]] | None = None
    ) -> list[Region]:
        """Regions of one face; ``key`` seeds its random boxes so reruns give the same boxes.

        ``source_boxes`` are the source's own boxes for this face, already in crop pixels.
        """
        areas = ActionAreas(points, self.size, self.vocabulary)
        regions = []
        for rdef in self.defs:
            box = region_box(points, rdef, self.size)
            regions.append(Region(rdef.name, "named", box, areas.observable(box, self.threshold)))
        for i, box in enumerate(self.fixed):
            clipped = [min(max(v, 0), self.size) for v in box]
            regions.append(
                Region(f"box_user_{i:02d}", "box", clipped, areas.observable(clipped, self.threshold))
            )
        for i, box in enumerate(source_boxes or []):
            regions.append(Region(f"box_source_{i:02d}", "box", box, areas.observable(box, self.threshold)))
        for i, box in enumerate(sample_boxes(self.sampling, self.size, key)):
            regions.append(Region(f"box_{i:02d}", "box", box, areas.observable(box, self.threshold)))
        return regions
