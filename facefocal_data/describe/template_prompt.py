"""The templater's prompt: a signature's slots with example values, and one worked example.

The model writes wording only: every number and name is a slot, filled later by code, so the
example values are those of an invented face (a template that copies one of them instead of
writing its slot names a fact this face does not have, and the fact check rejects it).
Change TEMPLATER_PROMPT_VERSION whenever the wording changes: it keys the template cache.
"""

from __future__ import annotations

from .slots import Signature

TEMPLATER_PROMPT_VERSION = "templater-v1"

SYSTEM = (
    "You write sentence templates for a dataset of face descriptions. A template is one short "
    "paragraph of plain, natural English with slots in curly braces such as {region}. A program "
    "fills each slot later, so never write a number, an action unit code, an emotion word, or the "
    "words left or right: write the slot instead. Use every slot you are given exactly once and no "
    "other slot. Write {Region} for a slot at the start of a sentence. Say nothing else about the "
    "person: no clothing, hair, gender, identity or background. Answer with the templates only, "
    "one per line."
)
# slot -> (what it is, the example value shown to the model)
SLOT_HELP: dict[str, tuple[str, str]] = {
    "region": ("the part of the face", "the mouth area"),
    "aus": (
        "a list of action units with their intensity",
        "a strong AU17 (Chin Raiser) and a slight AU23 (Lip Tightener)",
    ),
    "emotion": ("the face's emotion, a noun", "sadness"),
    "cues": ("the action units here that fit that emotion", "AU15 (Lip Corner Depressor)"),
    "p": ("the probability of that emotion", "0.81"),
    "age": ("the age in years", "52"),
    "age_low": ("the low end of the likely age range", "44"),
    "age_high": ("the high end of the likely age range", "61"),
    "age_bin": ("the age group", "50-59"),
}
AU_EXAMPLES = (
    "a strong AU15 (Lip Corner Depressor)",
    "a slight AU17 (Chin Raiser)",
    "a moderate AU23 (Lip Tightener)",
)
EXAMPLE = Signature("mouth", False, 2, 1, "estimate", False, True, ("years", "range", "bin"), False)
EXAMPLE_ANSWER = [
    "Around {region} there is {au_1}, together with {au_2}. {Cues} is a typical sign of {emotion},"
    " the emotion the face shows. The person is about {age} years old, most likely between {age_low}"
    " and {age_high}, in the {age_bin} age group.",
    "{Region} shows {au_1} and {au_2}; the whole face is estimated to express {emotion}, and {cues}"
    " often goes with it. The person looks {age}, probably {age_low} to {age_high} years old, so in"
    " the {age_bin} bracket.",
    "Looking at {region}, one sees {au_1} as well as {au_2}. The face as a whole expresses {emotion},"
    " and {cues} here agrees with that. An estimated age of {age} years, with a likely range of"
    " {age_low} to {age_high}, places the person in the {age_bin} group.",
]


def _slot_lines(signature: Signature) -> list[str]:
    lines = []
    for slot in [*signature.required(), *signature.optional()]:
        if slot.startswith("au_"):
            example = AU_EXAMPLES[(int(slot[3:]) - 1) % len(AU_EXAMPLES)]
            lines.append(f'{{{slot}}}: an action unit with its intensity, e.g. "{example}"')
        else:
            what, example = SLOT_HELP[slot]
            optional = " (optional)" if slot in signature.optional() else ""
            lines.append(f'{{{slot}}}: {what}{optional}, e.g. "{example}"')
    return lines


def _notes(signature: Signature) -> list[str]:
    notes = []
    if signature.aus == 0:
        notes.append("No action unit is active in this region: say that it is at rest.")
    if signature.cues == 1:
        notes.append("{cues} is one action unit: use a singular verb with it.")
    elif signature.cues == 2:
        notes.append("{cues} is two or more action units: use a plural verb with it.")
    if signature.emotion == "uncertain":
        notes.append("The emotion estimate is uncertain: say that it is uncertain or a best guess.")
    elif signature.emotion == "gt":
        notes.append("The emotion was annotated by a person: say that it is annotated.")
    if signature.age_gt:
        notes.append("The age was annotated by a person: say that it is annotated.")
    if signature.family == "face":
        notes.append("The text describes the whole face.")
    return notes


def _request(signature: Signature, count: int) -> str:
    lines = ["Slots:", *_slot_lines(signature)]
    notes = _notes(signature)
    if notes:
        lines += ["Notes:", *notes]
    lines.append(f"Write {count} different templates, one per line.")
    return "\n".join(lines)


def templater_messages(signature: Signature, count: int) -> list[dict[str, str]]:
    """System rules, the worked example (request + answer), then this signature's request."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": _request(EXAMPLE, len(EXAMPLE_ANSWER))},
        {"role": "assistant", "content": "\n".join(EXAMPLE_ANSWER)},
        {"role": "user", "content": _request(signature, count)},
    ]
