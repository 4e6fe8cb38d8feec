"""How good a set of descriptions reads: variety (distinct-n, the commonest sentence) and grammar.

Grammar is measured with CMU's link-grammar parser, through the `link-parser` program of
Debian's `link-grammar` package (the Python binding is packaged only for the system Python, and
the PyPI bindings are unmaintained): a sentence fails when the parser finds no complete linkage
of it. Tests and benchmarks measure with it, and the templater gates its texts with it
(describe/grammar_gate.py); it is an optional system package and no build depends on it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
# a bracketed annotation: "(AU12, Lip Corner Puller)", "(Cheek Raiser)", "(probability 0.97)"
BRACKETED = re.compile(r"\s*\([^()]*\)")
WORD_TOKEN = re.compile(r"[\w'-]+")
TOKEN = re.compile(r"[\w'-]+|[^\w\s]")  # words and punctuation marks
ERROR_LINE = re.compile(r"^\+\+\+\+\+ error \d+$")
PARSER = "link-parser"
PARSE_TIMEOUT_S = 10  # per sentence; a sentence the parser gives up on counts as failed
MIN_PER_RUN = 50  # sentences: fewer per parallel run and its ~0.4 s start is not worth it


def sentences(text: str) -> list[str]:
    """A text's sentences (split after . ! ? before a capital; decimals like 0.97 stay whole)."""
    return [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]


def tokens(text: str, punctuation: bool = False) -> list[str]:
    """The text's lower-case words; with `punctuation`, its punctuation marks as tokens too."""
    return (TOKEN if punctuation else WORD_TOKEN).findall(text.lower())


def distinct_n(texts: Iterable[str], n: int, punctuation: bool = False) -> float:
    """Unique n-grams over all n-grams in all texts (Li et al. 2016), n-grams within a text.

    Word n-grams by default, as issue 16 counts "word pairs" (its 2.4 % for the template's texts
    is this measure: 0.025 for the template over 150 faces of the dev sets, 0.011 with punctuation
    marks as tokens). `punctuation` counts the marks as tokens: a stricter figure, also reported."""
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        words = tokens(text, punctuation)
        grams.update(zip(*(words[i:] for i in range(n)), strict=False))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


@dataclass(frozen=True)
class Variety:
    texts: int
    sentences: int
    distinct_1: float
    distinct_2: float
    distinct_2_punctuation: float  # punctuation marks counted as tokens
    top_sentence: str
    top_sentence_share: float  # of all sentences
    words_per_text: float


def variety(texts: list[str]) -> Variety:
    """Distinct-1/2, the commonest sentence and its share of all sentences, words per text."""
    counts = Counter(s for text in texts for s in sentences(text))
    total = sum(counts.values())
    top, top_n = counts.most_common(1)[0] if counts else ("", 0)
    words = sum(len(text.split()) for text in texts)
    return Variety(
        texts=len(texts),
        sentences=total,
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        distinct_2_punctuation=distinct_n(texts, 2, punctuation=True),
        top_sentence=top,
        top_sentence_share=top_n / total if total else 0.0,
        words_per_text=words / len(texts) if texts else 0.0,
    )


def parser_available() -> bool:
    """Whether `link-parser` (Debian: apt-get install link-grammar) is on the PATH."""
    return shutil.which(PARSER) is not None


@functools.cache
def parser_version() -> str:
    """link-grammar's version ("5.12.0"), which keys the grammar cache; "unknown" if not printed."""
    run = subprocess.run([PARSER, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"link-grammar-([\w.]+)", run.stdout + run.stderr)
    return found.group(1) if found else "unknown"


def unparsed(items: Iterable[str], jobs: int | None = None) -> list[str]:
    """The sentences link-grammar finds no complete linkage for (each unique sentence parsed once).

    `link-parser` runs in batch mode: it echoes each input line and prints `+++++ error N` after
    each one it could not parse without null links. It is single-threaded, so a long list is split
    over `jobs` runs side by side (default: the CPUs this process may use), one chunk each.
    """
    unique = list(dict.fromkeys(" ".join(s.split()) for s in items if s.strip()))
    if not unique:
        return []
    lines = [s.lstrip("!") for s in unique]  # a leading "!" would be read as a parser command
    jobs = max(1, min(jobs or _usable_cpus(), len(lines) // MIN_PER_RUN))
    chunks = [lines[i::jobs] for i in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:  # each thread waits on its own parser process
        failed = set().union(*pool.map(_failed_lines, chunks))
    return [s for s, line in zip(unique, lines, strict=True) if line in failed]


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process is allowed on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _failed_lines(lines: list[str]) -> set[str]:
    """The lines one `link-parser` run marks with an error line after echoing them."""
    run = subprocess.run(
        [PARSER, "en", "-batch", "-echo", "-graphics=0", "-verbosity=0", f"-timeout={PARSE_TIMEOUT_S}"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
        check=True,
    )
    failed: set[str] = set()
    wanted, last = set(lines), None
    for line in run.stdout.splitlines():
        if ERROR_LINE.match(line.strip()):
            if last is not None:
                failed.add(last)
        elif line.strip() in wanted:
            last = line.strip()
    return failed


def unparsed_share(texts: Iterable[str], annotations: bool = True) -> tuple[float, list[str]]:
    """(share of the unique sentences link-grammar cannot parse, those sentences).

    `annotations=False` removes bracketed annotations first: link-grammar has no rule for a
    bracket after a participle or adjective ("The lips are parted (AU25)." fails, "The lips are
    parted." parses), which says nothing about the prose around it."""
    unique = list(dict.fromkeys(s for text in texts for s in sentences(text)))
    if not annotations:
        unique = list(dict.fromkeys(BRACKETED.sub("", s) for s in unique))
    failed = unparsed(unique)
    return (len(failed) / len(unique) if unique else 0.0), failed
