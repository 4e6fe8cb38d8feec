"""The canonical FACS table: code → name → facial area, in one place.

Estimators, describers and the fact checker all read it, so an AU is never named two ways.
Names follow the FACS manual. Each action area is a list of MediaPipe-478 landmark groups; the
area is the union of the groups' convex hulls, so a bilateral AU is two patches, one per side:
the right side first, then the left (the subject's sides).
"""

from __future__ import annotations

AU_NAMES: dict[str, str] = {
    "AU01": "Inner Brow Raiser",
    "AU02": "Outer Brow Raiser",
    "AU04": "Brow Lowerer",
    "AU05": "Upper Lid Raiser",
    "AU06": "Cheek Raiser",
    "AU07": "Lid Tightener",
    "AU09": "Nose Wrinkler",
    "AU10": "Upper Lip Raiser",
    "AU11": "Nasolabial Deepener",
    "AU12": "Lip Corner Puller",
    "AU13": "Sharp Lip Puller",
    "AU14": "Dimpler",
    "AU15": "Lip Corner Depressor",
    "AU16": "Lower Lip Depressor",
    "AU17": "Chin Raiser",
    "AU18": "Lip Pucker",
    "AU20": "Lip Stretcher",
    "AU22": "Lip Funneler",
    "AU23": "Lip Tightener",
    "AU24": "Lip Pressor",
    "AU25": "Lips Part",
    "AU26": "Jaw Drop",
    "AU27": "Mouth Stretch",
    "AU28": "Lip Suck",
    "AU41": "Lid Droop",
    "AU42": "Slit",
    "AU43": "Eyes Closed",
    "AU44": "Squint",
    "AU45": "Blink",
    "AU46": "Wink",
}

# Each basic emotion's prototype AUs (EMFACS): the AUs a posed face of that emotion is expected to
# show. Descriptions call these "cues" of the emotion; the AU stage reads the expression model's
# probabilities through them (labels/au_prior.py). Neutral has none.
EMOTION_PROTOTYPES: dict[str, frozenset[str]] = {
    "happiness": frozenset({"AU06", "AU12"}),
    "sadness": frozenset({"AU01", "AU04", "AU15"}),
    "surprise": frozenset({"AU01", "AU02", "AU05", "AU26"}),
    "fear": frozenset({"AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"}),
    "anger": frozenset({"AU04", "AU05", "AU07", "AU23"}),
    "disgust": frozenset({"AU09", "AU10", "AU15", "AU16"}),
    "neutral": frozenset(),
}

# AUs that cannot show together: when the first (measured more reliably) is present, the others are
# not (lips apart or jaw dropped cannot be pressed together; closed eyes cannot be widened).
EXCLUDES: dict[str, tuple[str, ...]] = {"AU25": ("AU24",), "AU26": ("AU24",), "AU43": ("AU05",)}

# Where the appearance change shows, in words a description can use.
AU_AREAS_TEXT: dict[str, str] = {
    "AU01": "inner brows and central forehead",
    "AU02": "outer brows and lateral forehead",
    "AU04": "brows and glabella",
    "AU05": "upper eyelids",
    "AU06": "cheeks below the eyes and the outer eye corners",
    "AU07": "eyelids",
    "AU09": "nose and glabella",
    "AU10": "upper lip and nasolabial furrow",
    "AU11": "nasolabial furrow",
    "AU12": "lip corners and cheeks",
    "AU13": "lip corners",
    "AU14": "lip corners and cheek dimples",
    "AU15": "lip corners and chin",
    "AU16": "lower lip",
    "AU17": "chin and lower lip",
    "AU18": "lips",
    "AU20": "lip corners and lower cheeks",
    "AU22": "lips",
    "AU23": "lips",
    "AU24": "lips",
    "AU25": "mouth opening",
    "AU26": "jaw and mouth",
    "AU27": "jaw and mouth",
    "AU28": "lips",
    "AU41": "upper eyelids",
    "AU42": "eye opening",
    "AU43": "eyes",
    "AU44": "eyes",
    "AU45": "eyes",
    "AU46": "one eye",
}

# Intensity words for a 0-1 activation, FACS-style A-E grades (trace .. maximum).
INTENSITY_WORDS: tuple[tuple[float, str], ...] = (
    (0.2, "trace"),
    (0.4, "slight"),
    (0.6, "moderate"),
    (0.8, "strong"),
    (1.01, "extreme"),
)


def intensity_word(value: float) -> str:
    """The word for a 0-1 activation: trace < .2 ≤ slight < .4 ≤ moderate < .6 ≤ strong < .8 ≤ extreme."""
    for upper, word in INTENSITY_WORDS:
        if value < upper:
            return word
    return INTENSITY_WORDS[-1][1]


# Landmark groups, subject's right (low MediaPipe indices, image left) and left.
# fmt: off
_EYE_R = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
_EYE_L = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
_UPPER_LID_R = [33, 246, 161, 160, 159, 158, 157, 173, 133, 30, 29, 27, 28, 56]
_UPPER_LID_L = [263, 466, 388, 387, 386, 385, 384, 398, 362, 260, 259, 257, 258, 286]
_INNER_BROW_R = [107, 66, 55, 65, 108, 9]
_INNER_BROW_L = [336, 296, 285, 295, 337, 9]
_OUTER_BROW_R = [70, 63, 46, 53, 105, 52, 104, 68, 71]
_OUTER_BROW_L = [300, 293, 276, 283, 334, 282, 333, 298, 301]
_BROWS_GLABELLA = [
    70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 9, 8, 168, 336, 296, 334, 293, 300, 285, 295, 282,
    283, 276
]
_INFRAORBITAL_R = [33, 7, 163, 144, 145, 153, 154, 155, 133, 111, 117, 118, 119, 120, 121, 143, 116]
_INFRAORBITAL_L = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 340, 346, 347, 348, 349, 350, 372, 345
]
_NOSE_DORSUM = [168, 6, 197, 195, 5, 4, 45, 275, 220, 440, 8, 9, 48, 278, 122, 351]
_UPPER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 98, 327, 2, 164, 167, 393]
_NASOLABIAL_R = [129, 203, 98, 206, 216, 92, 186, 61]
_NASOLABIAL_L = [358, 423, 327, 426, 436, 322, 410, 291]
_CORNER_CHEEK_R = [61, 146, 185, 57, 186, 92, 206, 216, 212]
_CORNER_CHEEK_L = [291, 375, 409, 287, 410, 322, 426, 436, 432]
_CORNER_R = [61, 146, 185, 57, 76, 62]
_CORNER_L = [291, 375, 409, 287, 306, 292]
_DIMPLE_R = [61, 57, 43, 202, 212, 214]
_DIMPLE_L = [291, 287, 273, 422, 432, 434]
_DEPRESSOR_R = [61, 57, 43, 106, 182, 204, 194]
_DEPRESSOR_L = [291, 287, 273, 335, 406, 424, 418]
_STRETCH_R = [61, 57, 43, 212, 214, 135, 138, 192]
_STRETCH_L = [291, 287, 273, 432, 434, 364, 367, 416]
_LOWER_LIP = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
_CHIN_LOWER_LIP = [17, 84, 314, 18, 200, 199, 175, 152, 148, 377, 83, 313, 201, 421]
_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
_INNER_LIPS = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191
]
_JAW_MOUTH = [61, 291, 0, 17, 152, 148, 377, 176, 400, 18, 200, 172, 397, 136, 365]

AU_ACTION_AREAS: dict[str, list[list[int]]] = {
    "AU01": [_INNER_BROW_R + _INNER_BROW_L],
    "AU02": [_OUTER_BROW_R, _OUTER_BROW_L],
    "AU04": [_BROWS_GLABELLA],
    "AU05": [_UPPER_LID_R, _UPPER_LID_L],
    "AU06": [_INFRAORBITAL_R, _INFRAORBITAL_L],
    "AU07": [_EYE_R, _EYE_L],
    "AU09": [_NOSE_DORSUM],
    "AU10": [_UPPER_LIP],
    "AU11": [_NASOLABIAL_R, _NASOLABIAL_L],
    "AU12": [_CORNER_CHEEK_R, _CORNER_CHEEK_L],
    "AU13": [_CORNER_R, _CORNER_L],
    "AU14": [_DIMPLE_R, _DIMPLE_L],
    "AU15": [_DEPRESSOR_R, _DEPRESSOR_L],
    "AU16": [_LOWER_LIP],
    "AU17": [_CHIN_LOWER_LIP],
    "AU18": [_LIPS],
    "AU20": [_STRETCH_R, _STRETCH_L],
    "AU22": [_LIPS],
    "AU23": [_LIPS],
    "AU24": [_LIPS],
    "AU25": [_INNER_LIPS],
    "AU26": [_JAW_MOUTH],
    "AU27": [_JAW_MOUTH],
    "AU28": [_LIPS],
    "AU41": [_UPPER_LID_R, _UPPER_LID_L],
    "AU42": [_EYE_R, _EYE_L],
    "AU43": [_EYE_R, _EYE_L],
    "AU44": [_EYE_R, _EYE_L],
    "AU45": [_EYE_R, _EYE_L],
    "AU46": [_EYE_R, _EYE_L],
}

# What the default recipe labels: the AUs the default AU backend (MediaPipe blendshapes plus landmark
# geometry) estimates.
DEFAULT_AU_VOCABULARY: tuple[str, ...] = (
    "AU01",
    "AU02",
    "AU04",
    "AU05",
    "AU06",
    "AU07",
    "AU09",
    "AU10",
    "AU12",
    "AU14",
    "AU15",
    "AU16",
    "AU17",
    "AU18",
    "AU20",
    "AU22",
    "AU24",
    "AU25",
    "AU26",
    "AU28",
    "AU43",
)
# fmt: on


def normalise_au(code: str | int) -> str:
    """'1', 1, 'au1', 'AU01' -> 'AU01'; unknown codes raise with the known list."""
    text = str(code).strip().upper().removeprefix("AU")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"not an action unit code: {code!r}")
    au = f"AU{int(text):02d}"
    if au not in AU_NAMES:
        raise ValueError(f"unknown action unit {au}; known: {', '.join(AU_NAMES)}")
    return au
