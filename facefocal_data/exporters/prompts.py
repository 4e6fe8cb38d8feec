"""Prompt pools: several paraphrases per task, picked by a seeded generator per sample.

A model fine-tuned on one fixed question learns the question; paraphrases teach the task. The
pools are written next to every export (`prompts.json`) so a run can be reproduced. `<bbox>`
marks where a region's box goes; each exporter renders it in its model's coordinates.
"""

from __future__ import annotations

import hashlib
import random

# the system prompt every export writes unless told otherwise (`--system`); it names no coordinates
DEFAULT_SYSTEM = (
    "You are an expert in facial expression analysis. Describe a face region by region: the facial"
    " action units (FACS) active in a region given as a box [x1, y1, x2, y2], the emotion cues they"
    " carry, and the apparent age."
)

PROMPT_POOLS: dict[str, tuple[str, ...]] = {
    "region": (
        "Describe the facial region <bbox>: which action units are active there, and what do they say"
        " about the emotion and age?",
        "Look at the region <bbox> of this face. Describe its muscle movements (action units), the emotion"
        " cues and the age estimate.",
        "What is happening in the face region <bbox>? Name the active action units and relate them to the"
        " face's emotion and age.",
        "Give a multi-attribute description of the region <bbox>: action units with intensity, emotion"
        " cues, estimated age.",
    ),
    "au": (
        "Which facial action units are active in the region <bbox>?",
        "List the action units (FACS code and name) present in the face region <bbox>.",
        "Name the active AUs inside <bbox>, with their intensity.",
    ),
    "emotion": (
        "What emotion does this face show?",
        "Which basic emotion is expressed by this person?",
        "Classify the facial expression: anger, disgust, fear, happiness, sadness, surprise or neutral?",
    ),
    "age": (
        "How old does this person look?",
        "Estimate the age of this person in years.",
        "What is the apparent age of the face?",
    ),
    "dialogue_first": (
        "Let's go through this face region by region. Start with <bbox>: what do you see?",
        "I will ask about several regions of this face. First, describe the region <bbox>.",
    ),
    "dialogue_next": (
        "And the region <bbox>?",
        "Now describe <bbox>.",
        "What about the region <bbox>?",
    ),
}


def pick(task: str, seed: int, *keys: str) -> str:
    """The same (task, seed, keys) always gives the same paraphrase."""
    digest = hashlib.sha256(":".join([task, str(seed), *keys]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little")).choice(PROMPT_POOLS[task])
