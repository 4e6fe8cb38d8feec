"""Named anatomical regions as MediaPipe-478 landmark sets.

Left/right are the *subject's* sides: MediaPipe's LEFT_* sets (263, 362, …) lie on the image's
right in an unmirrored photo. A region's box is the bounding box of its landmarks, padded by a
fraction of the inter-ocular distance so the padding scales with the face, not the crop.
Index sets are MediaPipe's connection sets and pyVHR's region sets, re-sided.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegionDef:
    """A named region: landmarks whose padded bounding box is the region."""

    name: str
    landmarks: tuple[int, ...]
    pad_x: float = 0.08  # × inter-ocular distance, each side
    pad_y: float = 0.08
    description: str = ""


def _u(*sets: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    return tuple(sorted({i for s in sets for i in s}))


# fmt: off
BROW_RIGHT = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
BROW_LEFT = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
EYE_RIGHT = (
    7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246, 468, 469, 470,
    471, 472
)
EYE_LEFT = (
    249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466, 473, 474,
    475, 476, 477
)
GLABELLA = (9, 8, 107, 336, 55, 285, 168, 193, 417)
FOREHEAD = (10, 109, 67, 103, 338, 297, 332, 151, 108, 69, 104, 337, 299, 333, 9)
NOSE = (
    1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327,
    344, 440
)
NOSE_LOWER = (1, 2, 4, 5, 19, 45, 48, 64, 94, 97, 98, 115, 220, 275, 278, 294, 326, 327, 344, 440)
NASOLABIAL_RIGHT = (129, 203, 98, 206, 216, 92, 186, 61, 165)
NASOLABIAL_LEFT = (358, 423, 327, 426, 436, 322, 410, 291, 391)
CHEEK_UPPER_RIGHT = (116, 111, 117, 118, 119, 100, 47, 126, 101, 123, 137, 50, 36, 205, 147, 187)
CHEEK_UPPER_LEFT = (345, 340, 346, 347, 348, 329, 277, 355, 330, 352, 366, 280, 266, 425, 376, 411)
CHEEK_LOWER_RIGHT = (215, 138, 135, 210, 212, 57, 216, 207, 192, 214)
CHEEK_LOWER_LEFT = (435, 367, 364, 430, 432, 287, 436, 427, 416, 434)
MOUTH = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191,
    267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415
)
CHIN = (152, 148, 176, 377, 400, 175, 199, 200, 18, 83, 313, 201, 421, 208, 428, 171, 396)
JAW = (172, 58, 132, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361)
FACE_OVAL = (
    10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234,
    251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454
)

NAMED_REGIONS: tuple[RegionDef, ...] = (
    RegionDef("forehead", FOREHEAD, 0.05, 0.02, "from the hairline down to just above the brows"),
    RegionDef("brow_left", BROW_LEFT, 0.06, 0.08, "subject's left eyebrow"),
    RegionDef("brow_right", BROW_RIGHT, 0.06, 0.08, "subject's right eyebrow"),
    RegionDef("glabella", GLABELLA, 0.04, 0.04, "between the brows, above the nose bridge"),
    RegionDef("eye_left", EYE_LEFT, 0.08, 0.10, "subject's left eye and lids"),
    RegionDef("eye_right", EYE_RIGHT, 0.08, 0.10, "subject's right eye and lids"),
    RegionDef("nose", NOSE, 0.04, 0.04, "nose bridge, dorsum, tip and nostrils"),
    RegionDef("nasolabial_left", NASOLABIAL_LEFT, 0.04, 0.04, "subject's left nasolabial fold"),
    RegionDef("nasolabial_right", NASOLABIAL_RIGHT, 0.04, 0.04, "subject's right nasolabial fold"),
    RegionDef("cheek_upper_left", CHEEK_UPPER_LEFT, 0.03, 0.03, "subject's left upper cheek, under the eye"),
    RegionDef(
        "cheek_upper_right", CHEEK_UPPER_RIGHT, 0.03, 0.03, "subject's right upper cheek, under the eye"
    ),
    RegionDef(
        "cheek_lower_left", CHEEK_LOWER_LEFT, 0.03, 0.03, "subject's left lower cheek, beside the mouth"
    ),
    RegionDef(
        "cheek_lower_right", CHEEK_LOWER_RIGHT, 0.03, 0.03, "subject's right lower cheek, beside the mouth"
    ),
    RegionDef("mouth", MOUTH, 0.08, 0.08, "lips and mouth opening"),
    RegionDef("chin", CHIN, 0.04, 0.04, "chin boss and the area below the lower lip"),
    RegionDef("jaw", JAW, 0.04, 0.04, "lower face contour from ear to ear"),
    RegionDef(
        "upper_face",
        _u(FOREHEAD, BROW_LEFT, BROW_RIGHT, EYE_LEFT, EYE_RIGHT, GLABELLA),
        0.04,
        0.04,
        "forehead, brows and eyes",
    ),
    RegionDef(
        "lower_face",
        _u(NOSE_LOWER, MOUTH, CHEEK_LOWER_LEFT, CHEEK_LOWER_RIGHT, CHIN, JAW),
        0.04,
        0.04,
        "nose, mouth, lower cheeks and chin",
    ),
    RegionDef("full_face", FACE_OVAL, 0.02, 0.02, "the whole face oval"),
)
# fmt: on
