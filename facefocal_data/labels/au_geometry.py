"""AU evidence from landmark geometry in a pose-free face frame, combined with the blendshapes.

MediaPipe's blendshape channels for brow lowering, lip-corner depression, nose wrinkling and lip
stretching barely move on real faces, so these AUs (and AU01/AU02/AU10/AU12, to steady them) also
read the 478 landmarks. The landmarks are first put in a frame of the face itself: origin between
the eyes, x along the eye line, y up along nasion→subnasale (orthogonalised), z out of the face, in
inter-ocular distances. Yaw, pitch, roll and face size then do not move the measures (the mesh's z
is a relative depth on the x scale, so a 3D frame undoes head rotation to first order).

Each measure is turned into a z-score against neutral faces (`NEUTRAL`: mean and SD over the 42
neutral faces of the four labelled dev sets, see docs/LABELS.md) and signed so that + is the AU's
direction; an AU's activation is the mean of its measures' z-scores over `Z_FULL` (3 neutral SDs
= 1.0), clipped to 0-1. A blendshape channel counts as one measure. The `present` thresholds live
in the recipe (`labels.au.thresholds`).

Which measures each AU averages was chosen by leaving each dev set out in turn
(`benchmarks/bench_aus.py --select`). Measures of a feature's *shape* carry from one set to another:
the brow's slope (head against tail) for AU04, the lip corner against the lip beside it and against
the lip line for AU15. Heights against the eyes carry a set's anatomy as well: JAFFE's neutral
brows sit 0.41 inter-ocular above the eye, other sets' 0.28-0.30, and the blendshape model reads
them as raised too (browInnerUp 0.86), so no single-image measure tried separates them from a raise.
"""

from __future__ import annotations

import numpy as np

Z_FULL = 3.0  # mean z-score that reads as full activation

# Landmark indices, (subject's right, subject's left).
_INNER_BROW = ((107, 66, 55, 65), (336, 296, 285, 295))
_OUTER_BROW = ((70, 63, 46, 53), (300, 293, 276, 283))
_BROW_HEAD = ((107, 55), (336, 285))
_BROW_TAIL = ((70, 46), (300, 276))
_EYE_INNER, _EYE_OUTER = (133, 362), (33, 263)
_ALA = (98, 327)
_CORNER, _INNER_CORNER = (61, 291), (78, 308)
_LIP_BESIDE_CORNER = ((40, 91), (270, 321))  # upper and lower outer lip near each corner
_INNER_BESIDE_CORNER = ((191, 95), (415, 324))
_CHEEK = (132, 361)
_NASION, _SUBNASALE = 168, 2
_UPPER_LIP_TOP, _UPPER_LIP_IN, _LOWER_LIP_IN, _LOWER_LIP_BOTTOM = 0, 13, 14, 17

# measure → (mean, sd) over the neutral dev faces (both sides pooled for sided measures)
NEUTRAL: dict[str, tuple[float, float]] = {
    "inner_brow_height": (0.3333, 0.0649),
    "outer_brow_height": (0.2604, 0.0425),
    "brow_slope": (0.0315, 0.0258),
    "ala_to_eye": (0.7496, 0.04),
    "inner_corner_lift": (0.0031, 0.0075),
    "corner_vs_mouth_centre": (0.0235, 0.0299),
    "corner_depth": (-0.3215, 0.0274),
    "outer_corner_lift": (0.0225, 0.0163),
    "corner_vs_lip_line": (0.0574, 0.0336),
    "brow_gap": (0.4674, 0.0225),
    "lip_to_nose": (0.2679, 0.0374),
    "mouth_width": (0.363, 0.0328),
    "bs:browInnerUp": (0.311, 0.3789),
    "bs:browOuterUp*": (0.2707, 0.2935),
    "bs:mouthSmile*": (0.0121, 0.0465),
    "bs:mouthFrown*": (0.0173, 0.0722),
    "bs:mouthUpperUp*": (0.0007, 0.01),
}

# AU → its signed measures; "bs:" is a blendshape channel ("*" = the side's Left/Right)
AU_MEASURES: dict[str, tuple[str, ...]] = {
    "AU01": ("+inner_brow_height", "+bs:browInnerUp"),
    "AU02": ("+outer_brow_height", "+bs:browOuterUp*"),
    "AU04": ("-brow_slope",),
    "AU09": ("-ala_to_eye", "-brow_gap"),
    "AU10": ("-lip_to_nose", "+bs:mouthUpperUp*"),
    "AU12": ("+inner_corner_lift", "+corner_vs_mouth_centre", "+bs:mouthSmile*"),
    "AU15": ("-inner_corner_lift", "-outer_corner_lift", "-corner_vs_lip_line", "+bs:mouthFrown*"),
    "AU20": ("+mouth_width", "-corner_depth", "-bs:mouthSmile*"),
}


def face_frame(points: np.ndarray) -> np.ndarray:
    """(478, 3) points in the face's own frame, in inter-ocular distances (y up, x to its left)."""
    p = np.asarray(points, dtype=np.float64)
    right_eye = (p[_EYE_OUTER[0]] + p[_EYE_INNER[0]]) / 2
    left_eye = (p[_EYE_OUTER[1]] + p[_EYE_INNER[1]]) / 2
    x = left_eye - right_eye
    scale = max(float(np.linalg.norm(x)), 1e-6)
    x /= scale
    up = p[_NASION] - p[_SUBNASALE]
    up -= x * float(up @ x)
    y = up / max(float(np.linalg.norm(up)), 1e-6)
    axes = np.stack([x, y, np.cross(x, y)], axis=1)
    return (p - (right_eye + left_eye) / 2) @ axes / scale


Mesh = list[list[float]]  # the face-frame points as plain lists: ~60 small means stay cheap


def _y(q: Mesh, idx: tuple[int, ...] | int) -> float:
    if isinstance(idx, int):
        return q[idx][1]
    return sum(q[i][1] for i in idx) / len(idx)


def _x(q: Mesh, idx: tuple[int, ...]) -> float:
    return sum(q[i][0] for i in idx) / len(idx)


def _sided(q: Mesh, side: int) -> dict[str, float]:
    """Measures of one side (0: subject's right, 1: left)."""
    corner, inner = _CORNER[side], _INNER_CORNER[side]
    mouth_centre = _y(q, (_UPPER_LIP_IN, _LOWER_LIP_IN))
    return {
        "inner_brow_height": _y(q, _INNER_BROW[side]) - _y(q, _EYE_INNER[side]),
        "outer_brow_height": _y(q, _OUTER_BROW[side]) - _y(q, _EYE_OUTER[side]),
        "brow_slope": _y(q, _BROW_HEAD[side]) - _y(q, _BROW_TAIL[side]),
        "ala_to_eye": _y(q, (_EYE_INNER[side], _EYE_OUTER[side])) - _y(q, _ALA[side]),
        "inner_corner_lift": _y(q, inner) - _y(q, _INNER_BESIDE_CORNER[side]),
        "corner_vs_mouth_centre": _y(q, corner) - mouth_centre,
        "corner_depth": q[corner][2] - q[_UPPER_LIP_TOP][2],
        "outer_corner_lift": _y(q, corner) - _y(q, _LIP_BESIDE_CORNER[side]),
        "corner_vs_lip_line": _y(q, corner) - _y(q, (_UPPER_LIP_TOP, _LOWER_LIP_BOTTOM)),
    }


def _central(q: Mesh) -> dict[str, float]:
    width = q[_CORNER[1]][0] - q[_CORNER[0]][0]
    return {
        "brow_gap": _x(q, _BROW_HEAD[1]) - _x(q, _BROW_HEAD[0]),
        "lip_to_nose": _y(q, _SUBNASALE) - _y(q, _UPPER_LIP_TOP),
        "mouth_width": width / max(q[_CHEEK[1]][0] - q[_CHEEK[0]][0], 1e-6),
    }


Reading = tuple[dict[str, float], dict[str, float]]  # (subject's right, left): measure -> value


def measures(points: np.ndarray) -> Reading:
    """Every landmark measure for the subject's right and left side (central ones appear in both)."""
    q: Mesh = face_frame(points).tolist()
    central = _central(q)
    return {**_sided(q, 0), **central}, {**_sided(q, 1), **central}


def read_face(blendshapes: dict[str, float], points: np.ndarray) -> Reading:
    """The landmark measures plus the blendshape channels the AUs use, per side."""
    channels = {n[1:] for names in AU_MEASURES.values() for n in names if n[1:].startswith("bs:")}
    right, left = measures(points)
    for key in sorted(channels):
        right[key] = blendshapes.get(key[3:].replace("*", "Right"), 0.0)
        left[key] = blendshapes.get(key[3:].replace("*", "Left"), 0.0)
    return right, left


def activations(
    reading: Reading,
    baseline: Reading | None = None,
    reference: dict[str, tuple[float, float]] | None = None,
    spread: float = 1.0,
) -> dict[str, tuple[float, float]]:
    """AU → (right, left) activation 0-1: the mean signed z-score of its measures / Z_FULL.

    The z-score is taken from the neutral faces' mean, or from `baseline` (the same person's most
    neutral face) when given; the SD is the neutral faces' × `spread` (one person's neutral face
    varies less than a population's). `reference` replaces `NEUTRAL` (the benchmark refits it).
    """
    reference = NEUTRAL if reference is None else reference
    out: dict[str, tuple[float, float]] = {}
    for au, names in AU_MEASURES.items():
        values = []
        for index, side in enumerate(reading):
            zs = []
            for name in names:
                key = name[1:]
                mean, sd = reference[key]
                ref = baseline[index][key] if baseline is not None else mean
                zs.append((1.0 if name[0] == "+" else -1.0) * (side[key] - ref) / (sd * spread))
            values.append(min(1.0, max(0.0, sum(zs) / len(zs) / Z_FULL)))
        out[au] = (values[0], values[1])
    return out


def expressiveness(reading: Reading, reference: dict[str, tuple[float, float]] | None = None) -> float:
    """How far a face is from neutral (mean AU activation): picks a person's most neutral image."""
    return float(np.mean([max(pair) for pair in activations(reading, reference=reference).values()]))


def geometric_activations(
    blendshapes: dict[str, float], points: np.ndarray, baseline: Reading | None = None, spread: float = 1.0
) -> dict[str, tuple[float, float]]:
    """AU → (right, left) activation of the AUs in `AU_MEASURES` for one face."""
    return activations(read_face(blendshapes, points), baseline, spread=spread)
