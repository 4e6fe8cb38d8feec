"""Which crop to give the face-api.js nets: accuracy and UAR per emotion set, age MAE per age set.

Faces are found with the project's FaceAnalyzer (default recipe); the largest face of each image is
labelled under every crop rule in `facefocal_data.labels.faceapi.CROP_RULES`, each also with an
area-averaging resize instead of face-api.js's tfjs bilinear one (`+area`). The facex emotion model
gets the same boxes (made square, as its backend does), and the agegender age model its own
aligned chip, as baselines. Frame-filling crops are padded onto a 2x black canvas first (the
detector misses many of them; see --pad-sets); any other image with no face found is retried so.

The labelled images are research-use only: they are read from the folder given, never copied.
Not a test: read the numbers. `--latency` times each net per face (1 thread) on the astronaut.
The age report also counts the faces whose reading sits at a model's range edge (`range_edge`)
and their true ages.

Run: python benchmarks/bench_faceapi_crops.py [ROOT=../shared/labelled-dev] [--latency]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from facefocal_data.face_types import Face
from facefocal_data.faces import FaceAnalyzer
from facefocal_data.labels.age import AgeGenderAge
from facefocal_data.labels.emotion import EMOTIONS, FacexEmotion
from facefocal_data.labels.faceapi import CROP_RULES, FaceApiAge, FaceApiEmotion, face_patch
from facefocal_data.vision.faceapi_nets import INPUT_SIZE, pad_to_square, to_batch_tensor

EMOTION_SETS = ("jaffe", "rafd_youth", "er40", "muxspace")
AGE_SETS = ("utkface",)
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Tally:
    """Predictions per method for one data set."""

    gold: list[str] = field(default_factory=list)
    ages: list[float] = field(default_factory=list)
    emotion: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    age: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    edge: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # method -> true ages
    images: int = 0
    padded: int = 0
    missed: int = 0


def read_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def on_canvas(rgb: np.ndarray) -> np.ndarray:
    """The image centred on a black canvas twice its size, so the detector sees a whole head."""
    h, w = rgb.shape[:2]
    canvas = np.zeros((2 * h, 2 * w, 3), np.uint8)
    canvas[h // 2 : h // 2 + h, w // 2 : w // 2 + w] = rgb
    return canvas


def landmark_area(face: Face) -> float:
    x0, y0, x1, y1 = face.landmark_box
    return (x1 - x0) * (y1 - y0)


def largest_face(analyzer: FaceAnalyzer, rgb: np.ndarray) -> Face | None:
    faces = analyzer.scan(rgb).faces
    return max(faces, key=landmark_area) if faces else None


def area_batch(patches: list[np.ndarray]) -> np.ndarray:
    """Like face-api.js's toBatchTensor, but an area-averaging resize (no aliasing on big faces)."""
    out = [
        cv2.resize(
            pad_to_square(p.astype(np.float32)), (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA
        )
        for p in patches
    ]
    return np.stack(out).astype(np.float32)


def faceapi_inputs(rgb: np.ndarray, face: Face) -> tuple[list[str], np.ndarray]:
    """Method names and one batch: every crop rule, with tfjs bilinear and with area resizing."""
    patches = [face_patch(rgb, rule(face), clip) for rule, clip in CROP_RULES.values()]
    names = list(CROP_RULES) + [f"{n}+area" for n in CROP_RULES]
    return names, np.concatenate([to_batch_tensor(patches), area_batch(patches)])


def top(probs: dict[str, float]) -> str:
    return max(probs, key=lambda k: probs[k])


class Bench:
    def __init__(self) -> None:
        self.analyzer = FaceAnalyzer()
        self.emotion, self.age = FaceApiEmotion(), FaceApiAge()
        self.facex, self.agegender = FacexEmotion(), AgeGenderAge()

    def face(self, rgb: np.ndarray, pad: bool, tally: Tally) -> tuple[np.ndarray, Face | None]:
        if pad:
            tally.padded += 1
            return (canvas := on_canvas(rgb)), largest_face(self.analyzer, canvas)
        face = largest_face(self.analyzer, rgb)
        if face is None:
            tally.padded += 1
            return (canvas := on_canvas(rgb)), largest_face(self.analyzer, canvas)
        return rgb, face

    def label_emotion(self, rgb: np.ndarray, face: Face, tally: Tally) -> None:
        names, batch = faceapi_inputs(rgb, face)
        for name, probs in zip(names, self.emotion.scores(batch), strict=True):
            tally.emotion[f"faceapi/{name}"].append(top(probs))
        for name, (rule, _clip) in CROP_RULES.items():
            tally.emotion[f"facex/{name}"].append(top(self.facex.probabilities(rgb, rule(face))))

    def label_age(self, rgb: np.ndarray, face: Face, tally: Tally) -> None:
        names, batch = faceapi_inputs(rgb, face)
        years, _male = self.age.predict(batch)
        for name, y in zip(names, years, strict=True):
            tally.age[f"faceapi/{name}"].append(max(0.0, float(y)))
            if y <= 0:
                tally.edge[f"faceapi/{name} below"].append(tally.ages[-1])
        estimate = self.agegender.estimate(rgb, face)
        tally.age["agegender/chip"].append(estimate.years)
        if estimate.range_edge is not None:
            tally.edge[f"agegender/chip {estimate.range_edge}"].append(tally.ages[-1])

    def run_set(self, folder: Path, column: str, pad: bool) -> Tally:
        tally = Tally()
        with (folder / "labels.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            tally.images += 1
            rgb, face = self.face(read_rgb(folder / row["path"]), pad, tally)
            if face is None:
                tally.missed += 1
                continue
            if column == "emotion":
                tally.gold.append(row["emotion"])
                self.label_emotion(rgb, face, tally)
            else:
                tally.ages.append(float(row["age"]))
                self.label_age(rgb, face, tally)
        return tally


def accuracy_uar(gold: list[str], pred: list[str]) -> tuple[float, float]:
    """Accuracy, and UAR: the mean recall over the gold classes present."""
    hits = [g == p for g, p in zip(gold, pred, strict=True)]
    recalls = [np.mean([h for g, h in zip(gold, hits, strict=True) if g == c]) for c in sorted(set(gold))]
    return float(np.mean(hits)), float(np.mean(recalls))


def report_emotion(name: str, tally: Tally) -> None:
    counts = ", ".join(f"{c} {tally.gold.count(c)}" for c in EMOTIONS if c in tally.gold)
    print(
        f"\n{name}: {len(tally.gold)} faces of {tally.images} images ({tally.padded} on a 2x canvas,"
        f" {tally.missed} missed); gold: {counts}"
    )
    print(f"  {'method':<26} {'acc':>6} {'UAR':>6}")
    for method, pred in sorted(tally.emotion.items()):
        acc, uar = accuracy_uar(tally.gold, pred)
        print(f"  {method:<26} {acc:6.3f} {uar:6.3f}")


def report_age(name: str, tally: Tally) -> None:
    print(
        f"\n{name}: {len(tally.ages)} faces of {tally.images} images ({tally.padded} on a 2x canvas,"
        f" {tally.missed} missed)"
    )
    print(f"  {'method':<26} {'MAE':>6} {'bias':>6}")
    gold = np.array(tally.ages)
    for method, pred in sorted(tally.age.items()):
        err = np.array(pred) - gold
        print(
            f"  {method:<26} {np.abs(err).mean():6.2f} {err.mean():+6.2f}  highest reading {max(pred):5.1f}"
        )
    print(
        f"  at the model's range edge (age.range_edge); faces with true age >= 80: {int((gold >= 80).sum())}"
    )
    for method, truth in sorted(tally.edge.items()):
        print(f"  {method:<32} {len(truth):3d} faces, true ages {min(truth):.0f}-{max(truth):.0f}")


def timings_ms(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and fastest run: on a shared machine the fastest is the uncontended cost."""
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), 1000 * min(times)


def latency(bench: Bench, runs: int) -> None:
    """Per-face time of each net on one thread: bare model call, and with its crop preparation."""
    rgb = read_rgb(REPO / "examples" / "images" / "astronaut.png")
    face = largest_face(bench.analyzer, rgb)
    assert face is not None
    one = bench.emotion.batch(rgb, [face])
    eight = np.repeat(one, 8, axis=0)
    rows = [
        ("faceapi expression, model", lambda: bench.emotion.infer(one)),
        ("faceapi expression, crop+model", lambda: bench.emotion.face_probabilities(rgb, face)),
        ("faceapi expression, batch 8 / 8", lambda: bench.emotion.infer(eight)),
        ("faceapi age-gender, model", lambda: bench.age.infer(one)),
        ("faceapi age-gender, crop+model", lambda: bench.age.estimate(rgb, face)),
        ("faceapi age-gender, batch 8 / 8", lambda: bench.age.infer(eight)),
        ("facex emotion, crop+model", lambda: bench.facex.probabilities(rgb, face.detection.box)),
        ("agegender age, chip+model", lambda: bench.agegender.estimate(rgb, face)),
    ]
    print(f"\nlatency per face, 1 thread, {runs} runs ({rgb.shape[1]}x{rgb.shape[0]} astronaut)")
    print(f"  {'':<34} {'median':>9} {'fastest':>9}")
    for name, call in rows:
        per_face = 8 if "batch 8" in name else 1
        median, fastest = timings_ms(call, runs)
        print(f"  {name:<34} {median / per_face:6.2f} ms {fastest / per_face:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path("../shared/labelled-dev"))
    parser.add_argument("--pad-sets", default="muxspace,utkface", help="sets whose faces fill the frame")
    parser.add_argument("--sets", default=",".join(EMOTION_SETS + AGE_SETS))
    parser.add_argument("--latency", action="store_true", help="also time each net per face")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    bench = Bench()
    pad_sets = set(args.pad_sets.split(",")) if args.pad_sets else set()
    for name in args.sets.split(","):
        if not name:
            continue
        tally = bench.run_set(args.root / name, "age" if name in AGE_SETS else "emotion", name in pad_sets)
        (report_age if name in AGE_SETS else report_emotion)(name, tally)
    if args.latency:
        latency(bench, args.runs)
    bench.analyzer.close()


if __name__ == "__main__":
    main()
