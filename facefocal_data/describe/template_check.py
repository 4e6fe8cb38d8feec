"""Checks on a candidate template before and after its slots are filled.

Before: the slots are exactly the signature's (none missing, none unknown, an AU slot once),
and the words around them state no fact themselves (no digit, no AU code, no emotion word, no
side), since a fact written into a template would be wrong for the next face. After filling:
articles agree, sentences start with a capital, and the fact check gates the text like every
other; link-grammar (when installed) rejects a template whose filled sentences do not parse
(describe/grammar_gate.py, which also parses every text a template writes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .compose import fix_articles
from .factcheck import EMOTION_WORDS
from .slots import Signature

SLOT = re.compile(r"\{(\w+)\}")
LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.):]|template\s*\d*\s*[:.])\s*", re.IGNORECASE)
WORD = re.compile(r"[a-z]+")
EMOTION_NAMES = frozenset(w for words in EMOTION_WORDS.values() for w in words)
HEDGES = (
    "uncertain",
    "best guess",
    "possibly",
    "perhaps",
    "may ",
    "might",
    "unclear",
    "not clear",
    "hard to",
)
ANNOTATED = ("annotat", "labelled", "labeled")
SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
SENTENCE_START = re.compile(r"((?<!\d)[.!?]\s+)([a-z])")


def parse_candidates(answer: str) -> list[str]:
    """One template per line; list marks and quotes stripped, lines without a slot dropped."""
    out = []
    for line in answer.splitlines():
        line = LIST_MARK.sub("", line.strip()).strip().strip('"').strip()
        if "{" in line and line not in out:
            out.append(line)
    return out


def template_problems(template: str, signature: Signature) -> list[str]:
    """Why a template may not be used for `signature` (before filling); empty when it may."""
    slots = [s.lower() for s in SLOT.findall(template)]
    allowed = {*signature.required(), *signature.optional()}
    problems = [f"unknown slot {{{s}}}" for s in sorted(set(slots) - allowed)]
    problems += [f"misses slot {{{s}}}" for s in signature.required() if s not in slots]
    problems += [f"repeats slot {{{s}}}" for s in sorted(set(slots)) if slots.count(s) > 1 and s != "region"]
    outside = SLOT.sub(" ", template)
    lower = outside.lower()
    if "{" in outside or "}" in outside:
        problems.append("has a stray brace")
    if re.search(r"\d", outside):
        problems.append("writes a number")
    if re.search(r"\bAU\s?\d*\b", outside):
        problems.append("writes an AU code")
    words = set(WORD.findall(lower))
    problems += [f"writes the emotion word {w!r}" for w in sorted(words & EMOTION_NAMES)]
    problems += [f"writes the side {w!r}" for w in sorted(words & {"left", "right"})]
    if signature.emotion == "uncertain" and not any(h in lower + " " for h in HEDGES):
        problems.append("does not say the emotion is uncertain")
    if (signature.emotion == "gt" or signature.age_gt) and not any(a in lower for a in ANNOTATED):
        problems.append("does not say the label is annotated")
    return problems


class _Values(dict[str, str]):
    """Slot values; {Region} is the value with a capital letter."""

    def __missing__(self, key: str) -> str:
        value = self[key.lower()]
        return value[:1].upper() + value[1:]


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with its slots filled, articles agreeing, each sentence capitalised."""
    text = SLOT.sub(lambda m: _Values(values)[m.group(1)], template)
    text = SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split()))
    text = fix_articles(text)
    if text and text[-1] not in ".!?":
        text += "."
    text = SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return text[:1].upper() + text[1:]
