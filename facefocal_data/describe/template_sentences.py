"""The templater's rewordings, cached per code sentence and shared by every signature that has it.

Signatures share most of the code's template sentences ("The person is about {age} years old."
is in every signature with an age), so the LLM is asked once per distinct sentence (with its
slots), request round, model, prompt version and settings, ever: a cold cache costs one request
per distinct sentence, not one per sentence of every signature. A signature's candidates are
assembled from its sentences' cached rewordings and then checked per signature as before. Each
entry is one file under `$FACEFOCAL_LLM_CACHE/sentences/`, written by rename like the completion
cache. A sentence that could not be asked (the build's budget spent, the server gone) is kept in
memory only, so the next build asks for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import LLMConfig
from ..llm.cache import LayeredCache, cache_key
from .llm import IncompleteCompletion, LLMUnavailable, reason_kind
from .template_check import SLOT, parse_candidates
from .template_prompt import TEMPLATER_PROMPT_VERSION, sentence_messages

TOKENS_PER_SENTENCE = 60
BUDGET_SPENT = "templater budget spent"


@dataclass
class Rewordings:
    """The model's slot-keeping rewordings of one code sentence (one round), and what it broke."""

    kept: list[str]
    rejected: list[list[Any]]
    seconds: float
    error: str = ""  # not asked (budget spent) or not answered: never stored on disk


class SentenceStore:
    """Rewordings by (code sentence, request parameters), in memory and on disk."""

    def __init__(self, root: Path | None, model_id: str) -> None:
        self.cache = LayeredCache(root, lambda f: Rewordings(f["kept"], f["rejected"], f["seconds"]))
        self.model_id = model_id

    def key(self, sentence: str, params: dict[str, Any]) -> str:
        payload = {"v": TEMPLATER_PROMPT_VERSION, "model": self.model_id, "params": params}
        return cache_key(payload | {"sentence": sentence})

    def get(self, sentence: str, params: dict[str, Any]) -> tuple[Rewordings | None, bool]:
        """(the rewordings, whether they came from disk)."""
        return self.cache.get(self.key(sentence, params))

    def put(self, sentence: str, params: dict[str, Any], rewordings: Rewordings) -> None:
        entry = None
        if not rewordings.error:
            entry = {"sentence": sentence, "model": self.model_id, "params": params}
            entry |= {k: getattr(rewordings, k) for k in ("kept", "rejected", "seconds")}
        self.cache.put(self.key(sentence, params), rewordings, entry)


class Budget:
    """Wall-clock seconds the build's templater has spent asking the LLM, against a limit."""

    def __init__(self, limit: float | None) -> None:
        self.limit, self.used = limit, 0.0
        self.since: float | None = None  # start of the asking phase now running

    def spent(self) -> bool:
        running = time.perf_counter() - self.since if self.since is not None else 0.0
        return self.limit is not None and self.used + running >= self.limit

    def start(self) -> None:
        self.since = time.perf_counter()

    def stop(self) -> None:
        if self.since is not None:
            self.used += time.perf_counter() - self.since
            self.since = None


class Reworder:
    """Asks the LLM to reword code sentences (each distinct one once), within the build's budget."""

    def __init__(
        self, cfg: LLMConfig, client: Any, stats: Any, lock: threading.Lock, store: SentenceStore
    ) -> None:
        self.cfg, self.client, self.stats, self.lock, self.store = cfg, client, stats, lock, store
        self.budget = Budget(cfg.templates.budget_seconds)

    def params(self, attempt: int) -> dict[str, Any]:
        """The request's settings for round `attempt`; with the sentence, they key its rewordings."""
        settings = self.cfg.templates
        return {
            "temperature": settings.temperature,
            "seed": self.cfg.seed + attempt,
            "max_tokens": TOKENS_PER_SENTENCE * settings.candidates,
            "candidates": settings.candidates,
        }

    def lookup(self, sentence: str, attempt: int) -> Rewordings | None:
        return self.store.get(sentence, self.params(attempt))[0]

    def ask_all(self, sentences: Iterable[str], attempt: int) -> None:
        """Rewordings of every sentence not in the store yet, `concurrency` requests at a time."""
        missing = []
        for sentence in dict.fromkeys(sentences):
            found, from_disk = self.store.get(sentence, self.params(attempt))
            with self.lock:
                self.stats.sentence_disk_hits += from_disk
            if found is None:
                missing.append(sentence)
        if not missing:
            return
        self.budget.start()
        try:
            futures = [self.client.pool.submit(self._ask, s, attempt) for s in missing]
            for future in futures:
                future.result()
        finally:
            self.budget.stop()

    def _ask(self, sentence: str, attempt: int) -> None:
        params = self.params(attempt)
        if self.budget.spent():
            with self.lock:
                self.stats.sentences_unasked += 1
            self.store.put(sentence, params, Rewordings([], [], 0.0, BUDGET_SPENT))
            return
        started = time.perf_counter()
        try:
            kept, rejected = self._rewordings(sentence, params)
            error = ""
        except LLMUnavailable as exc:
            kept, rejected, error = [], [], f"llm unavailable: {exc}"
        seconds = round(time.perf_counter() - started, 3)
        self.store.put(sentence, params, Rewordings(kept, rejected, seconds, error))
        with self.lock:
            self.stats.sentences_asked += not error
            self.stats.sentences_reworded += bool(kept)
            self.stats.rejected_reasons.update(reason_kind(r) for _, reasons in rejected for r in reasons)

    def _rewordings(self, sentence: str, params: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
        """The model's rewordings that keep the sentence's slots, and the ones that do not."""
        request = {k: v for k, v in params.items() if k != "candidates"}
        messages = sentence_messages(sentence, params["candidates"])
        try:
            answer = self.client.complete(messages, request, None, whole_lines=True)
        except IncompleteCompletion as exc:
            return [], [["", [str(exc)]]]
        want = sorted(s.lower() for s in SLOT.findall(sentence))
        kept, rejected = [], []
        for line in parse_candidates(answer):
            if sorted(s.lower() for s in SLOT.findall(line)) == want:
                kept.append(line)
            else:
                rejected.append([line, ["changes the slots of its sentence"]])
        return kept, rejected
