"""link-grammar on every templated text, cheaply: batched runs and a cache by sentence shape.

A template accepted with its signature's first text can fail to parse with another text's values
(a region noun, an AU wording), so every filled text is parsed before it is written. Two things
keep that cheap: one `link-parser` run reads all the sentences of a round at once (a run costs
about 0.4 s to start, whatever it reads), and results are cached by the sentence's *shape*:
bracketed annotations removed (link-grammar cannot attach them), every number written with one
digit of the same length ("about 29 years" and "about 41 years" are one entry), case-folded.
The cache lives in memory for the build and, when the LLM cache is on, in one JSON file per
link-grammar version under `$FACEFOCAL_LLM_CACHE/grammar/`, so later builds parse only new shapes.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..llm.cache import write_json
from .quality import BRACKETED, parser_available, parser_version, sentences, unparsed

NUMBER = re.compile(r"\d+")
SAVE_EVERY = 500  # new shapes parsed before the disk file is rewritten (also on close)
# link-grammar reads "clearly" as a sentence adverb too, where "strongly" cannot stand: a long list of
# AU clauses parses with it and fails with any other bank adverb, so it keeps its own shape
OWN_SHAPE = frozenset({"clearly"})
MISSING = "skipped: link-parser is not installed (Debian: apt-get install link-grammar)"


def adverb_pattern(adverbs: Iterable[str]) -> re.Pattern[str] | None:
    """The phrase bank's one-word intensity adverbs that share a shape ("markedly", "fully",
    "slightly"; not "clearly", nor two-word ones such as "very strongly", parsed as they are)."""
    words = sorted({a for a in adverbs if a.isalpha() and a not in OWN_SHAPE})
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])") if words else None


def shaped(sentence: str, adverbs: re.Pattern[str] | None = None) -> str:
    """What link-grammar reads for a sentence: bracketed annotations removed, each number as
    5s of its length (a lone 1 kept: it can decide agreement), each one-word bank intensity
    adverb as "strongly" (they stand in the same places of the bank's own wordings), spaces
    normalised."""
    text = BRACKETED.sub("", sentence)
    text = NUMBER.sub(lambda m: m.group() if m.group() == "1" else "5" * len(m.group()), text)
    if adverbs is not None:
        text = adverbs.sub("strongly", text)
    return " ".join(text.split())


class GrammarGate:
    """Which texts have a sentence link-grammar cannot parse; results cached by sentence shape."""

    def __init__(
        self, enabled: bool, root: Path | None, stats: Any, lock: threading.Lock, adverbs: Iterable[str] = ()
    ) -> None:
        """`root`: the folder of the on-disk cache (None: memory only); `stats`: TemplaterStats;
        `adverbs`: the bank's intensity adverbs, one shape for all."""
        self.enabled, self.root, self.stats, self.lock = enabled, root, stats, lock
        self.adverbs = adverb_pattern(adverbs)
        self.memory: dict[str, bool] = {}  # shape, case-folded → parses
        self.from_disk: set[str] = set()
        self.unsaved = 0
        self.path: Path | None = None
        self.ready = False

    def _open(self) -> bool:
        """Whether the gate runs; on first use, says once why not, and loads the disk cache."""
        if not self.ready:
            self.ready = True
            if not self.enabled:
                self.stats.grammar_gate = "off (templates.grammar: false)"
            elif not parser_available():
                self.enabled = False
                self.stats.grammar_gate = MISSING
                warnings.warn(f"templater grammar check {MISSING}", RuntimeWarning, stacklevel=3)
            else:
                version = parser_version()
                self.stats.grammar_gate = f"link-grammar {version}"
                self._load(version)
        return self.enabled

    def _load(self, version: str) -> None:
        if self.root is None:
            return
        safe = re.sub(r"[^\w.-]", "_", version)
        self.path = self.root / f"link-grammar-{safe}.json"
        try:
            found = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(found, dict):
            self.memory.update({k: bool(v) for k, v in found.items()})
            self.from_disk = set(found)

    def failures(self, texts: Iterable[str]) -> set[str]:
        """The texts with a sentence that does not parse; one link-parser run for all the shapes
        not seen before; empty when the gate is off or the parser is missing."""
        texts = list(dict.fromkeys(texts))
        if not self._open() or not texts:
            return set()
        per_text = {t: [shaped(s, self.adverbs) for s in sentences(t)] for t in texts}
        shapes = {s.casefold(): s for ss in per_text.values() for s in ss}
        new = [s for key, s in shapes.items() if key not in self.memory]
        started = time.perf_counter()
        failed = set(unparsed(new)) if new else set()
        self.memory.update({s.casefold(): s not in failed for s in new})
        looked = sum(len(ss) for ss in per_text.values())
        from_disk = sum(s.casefold() in self.from_disk for ss in per_text.values() for s in ss)
        with self.lock:
            self.stats.grammar_sentences += looked
            self.stats.grammar_parsed += len(new)
            self.stats.grammar_disk_hits += from_disk
            self.stats.grammar_runs += bool(new)
            self.stats.grammar_seconds += time.perf_counter() - started
        self.unsaved += len(new)
        if self.unsaved >= SAVE_EVERY:
            self.save()
        return {t for t, ss in per_text.items() if not all(self.memory[s.casefold()] for s in ss)}

    def first_parsing(self, streams: list[Iterator[str]]) -> list[tuple[str | None, int]]:
        """For each text's candidates (filled texts, in order of preference), the first that parses
        and how many before it did not; all texts' current candidates are parsed in one run."""
        current = [next(s, None) for s in streams]
        failed = [0] * len(streams)
        live = [i for i, c in enumerate(current) if c is not None]
        while live:
            bad = self.failures(c for c in (current[i] for i in live) if c is not None)
            retry = [i for i in live if current[i] in bad]
            for i in retry:
                failed[i] += 1
                current[i] = next(streams[i], None)
            live = [i for i in retry if current[i] is not None]
        return list(zip(current, failed, strict=True))

    def save(self) -> None:
        """Merge what this build parsed into the disk file (written by rename: builds may share it)."""
        if self.path is None or not self.unsaved:
            return
        try:
            on_disk = json.loads(self.path.read_text()) if self.path.exists() else {}
        except (OSError, ValueError):
            on_disk = {}
        merged = (on_disk if isinstance(on_disk, dict) else {}) | self.memory
        write_json(self.path, dict(sorted(merged.items())))
        self.unsaved = 0
