"""Describer `llm`: fluent text from any OpenAI-compatible server, written only when it passes the gate.

Per text: prompt (facts + template draft + worked example) → completion (cached by content) →
fact check → on failure one retry with the reasons → else the template text, with the failures
recorded and `fallback_used` set. Requests run `concurrency` at a time; the openai client retries
429/5xx/connection errors with backoff; a circuit breaker stops asking a server that is gone.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import DescribeConfig
from ..llm.client import IncompleteCompletion, LLMClient, LLMUnavailable, Messages, UsageStats
from ..record import Description, FaceRecord, Rating, Region
from .factcheck import check_text
from .facts import Facts, face_facts, region_facts
from .prompt import (
    PROMPT_VERSION,
    RATING_SCHEMA,
    face_messages,
    rating_messages,
    region_messages,
    retry_messages,
)
from .template import describe_face, describe_region

__all__ = ["IncompleteCompletion", "LLMDescriber", "LLMStats", "LLMUnavailable"]


class DescribeAborted(BaseException):
    """The build is stopping (Ctrl-C, SIGTERM): the batch in hand is dropped and redone on resume.

    A BaseException so that no per-item error handler turns it into an error row.
    """


@dataclass
class LLMStats(UsageStats):
    """Counts for the summary and the benchmark: the endpoint's usage, and the gate's outcomes."""

    texts: int = 0
    passed_first: int = 0
    passed_retry: int = 0
    fallbacks: int = 0
    rated: int = 0
    fallback_reasons: Counter[str] = field(default_factory=Counter)

    def count_text(self, passed: str | None, failures: Sequence[str]) -> None:
        """One text written: passed the gate `first` or on `retry`, or (None) fell back."""
        self.texts += 1
        self.passed_first += passed == "first"
        self.passed_retry += passed == "retry"
        if passed is None:
            self.fallbacks += 1
            self.fallback_reasons.update({reason_kind(f) for f in failures})

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "fallback_reasons"}
        data["first_pass_rate"] = round(self.passed_first / self.texts, 4) if self.texts else None
        data["fallback_rate"] = round(self.fallbacks / self.texts, 4) if self.texts else None
        data["fallback_reasons"] = dict(self.fallback_reasons.most_common(10))
        return data


def reason_kind(reason: str) -> str:
    """A failure reason without its specifics, for counting ('AU04 is named…' → 'AU# is named…')."""
    reason = re.sub(r"^attempt \d+: ", "", reason)
    return re.sub(r"AU\d+|\d+(?:\.\d+)?|'[^']*'|\([^)]*\)", "#", reason)[:80]


class LLMDescriber:
    """Backend `llm`. Call `describe_batch(records)`; `close()` stops the embedded server."""

    def __init__(self, config: DescribeConfig, client: Any = None, stats: LLMStats | None = None) -> None:
        """`stats`: the counts to keep (a subclass's, e.g. the templater's), shared with the client."""
        self.cfg, self.seed, self.rating = config.llm, config.seed, config.rating
        self.stats = LLMStats() if stats is None else stats
        self.client = LLMClient(self.cfg, self.stats, PROMPT_VERSION, client)
        self.lock = threading.Lock()
        self.on_text: Callable[[LLMStats], None] | None = None
        self.aborted = threading.Event()

    @property
    def model_id(self) -> str:
        return self.client.model_id

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Start the embedded server (when no base_url) and the client; idempotent."""
        self.client.open()

    def abort(self) -> None:
        """Stop asking: queued texts are cancelled and `describe_batch` raises DescribeAborted."""
        self.aborted.set()

    def close(self) -> None:
        self.client.close()

    # -- describing ------------------------------------------------------------------------
    def __call__(self, record: FaceRecord) -> None:
        self.describe_batch([record])

    def describe_batch(self, records: list[FaceRecord]) -> None:
        """Fill every region's and face's description; texts are requested concurrently."""
        self.open()
        pool = self.client.pool
        assert pool is not None
        jobs: list[Callable[[], None]] = []
        for record in records:
            if self.cfg.mode == "face":
                jobs.append(lambda record=record: self._face_call(record))  # type: ignore[misc]
            else:
                jobs += [lambda r=record, g=region: self._region(r, g) for region in record.regions]  # type: ignore[misc]
            if self.cfg.describe_face:
                jobs.append(lambda record=record: self._face_summary(record))  # type: ignore[misc]
            else:
                record.face_description = describe_face(record, self.seed)
        futures = [pool.submit(job) for job in jobs]
        try:
            for future in futures:
                future.result()
        finally:
            if self.aborted.is_set():
                for future in futures:
                    future.cancel()
        if self.aborted.is_set():
            raise DescribeAborted("the build is stopping")

    def _region(self, record: FaceRecord, region: Region, first_answer: str | None = None) -> None:
        facts = region_facts(record, region)
        template = describe_region(record, region, self.seed)
        draft = describe_region(record, region, self.seed, with_bin=False).text
        messages = region_messages(facts, draft, self.cfg.style)
        region.description = self._describe(facts, template, messages, first_answer)

    def _face_summary(self, record: FaceRecord) -> None:
        facts = face_facts(record)
        draft = describe_face(record, self.seed, with_bin=False).text
        messages = region_messages(facts, draft, self.cfg.style)
        record.face_description = self._describe(facts, describe_face(record, self.seed), messages)

    def _face_call(self, record: FaceRecord) -> None:
        """Mode `face`: one JSON answer for all regions; a region it misses or gets wrong goes alone."""
        items = [
            (region_facts(record, r), describe_region(record, r, self.seed, with_bin=False).text)
            for r in record.regions
        ]
        messages, schema = face_messages(items, self.cfg.style)
        answers: dict[str, Any] = {}
        fmt = {"type": "json_schema", "json_schema": {"name": "regions", "schema": schema}}
        try:
            raw = self.client.complete(messages, self._params(0, len(items)), fmt)
            answers = json.loads(raw)
        except (LLMUnavailable, IncompleteCompletion, ValueError):
            pass  # every region then asks on its own (and falls back if the server is gone)
        for region in record.regions:
            answer = answers.get(region.region_id) if isinstance(answers, dict) else None
            self._region(record, region, answer if isinstance(answer, str) and answer.strip() else None)

    def _describe(
        self, facts: Facts, template: Description, messages: Messages, first: str | None = None
    ) -> Description:
        failures: list[str] = []
        for attempt in (0, 1):
            if self.aborted.is_set():
                raise DescribeAborted("the build is stopping")
            text = ""
            try:
                text = (
                    first if attempt == 0 and first else self.client.complete(messages, self._params(attempt))
                )
                problems = check_text(text, facts, self.cfg.style)
            except LLMUnavailable as exc:
                return self._fallback(template, [*failures, f"llm unavailable: {exc}"])
            except IncompleteCompletion as exc:
                problems = [str(exc)]
            if not problems:
                described = Description(text, "llm", self.model_id, PROMPT_VERSION, failures, False)
                below = self._rate(described, facts) if self.rating.enabled else None
                if below is not None:
                    return self._fallback(template, [*failures, below])
                self._count(passed="first" if attempt == 0 else "retry")
                return described
            failures += [f"attempt {attempt + 1}: {p}" for p in problems]
            if text:
                messages = retry_messages(messages, text, problems)
        return self._fallback(template, failures)

    def _fallback(self, template: Description, failures: list[str]) -> Description:
        self._count(passed=None, failures=failures)
        return Description(template.text, "template", None, template.prompt_version, failures, True)

    def _count(self, passed: str | None, failures: Sequence[str] = ()) -> None:
        with self.lock:
            self.stats.count_text(passed, failures)
        if self.on_text is not None:
            self.on_text(self.stats)

    def _rate(self, described: Description, facts: Facts) -> str | None:
        """The judge's scores stored on the text; the reason to keep the template when rated too low."""
        params = {**self._params(0), "temperature": 0.0, "max_tokens": 60}
        rated = rate(self.client, described, facts, params)
        if not rated:
            return None
        with self.lock:
            self.stats.rated += 1
        floor, overall = self.rating.min_overall, described.rating.overall if described.rating else None
        if floor is not None and (overall is None or overall < floor):
            return f"rated {overall}/10, below {floor}"
        return None

    # -- one request's settings -----------------------------------------------------------
    def _params(self, attempt: int, texts: int = 1) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "temperature": cfg.temperature,
            "seed": cfg.seed + attempt,
            "max_tokens": cfg.max_tokens * texts,
            "frequency_penalty": cfg.frequency_penalty,
        }


RATING_KEYS = ("accuracy", "consistency", "overall")


def rate(client: LLMClient, described: Description, facts: Facts, params: dict[str, Any]) -> bool:
    """Ask the judge to score a text (stored as `described.rating`); False when it could not."""
    fmt = {"type": "json_schema", "json_schema": {"name": "rating", "schema": RATING_SCHEMA}}
    try:
        scores = json.loads(client.complete(rating_messages(facts, described.text), params, fmt))
        accuracy, consistency, overall = (
            int(scores[k]) if isinstance(scores.get(k), int) else None for k in RATING_KEYS
        )
        described.rating = Rating(accuracy, consistency, overall, judge=client.model_id)
    except (LLMUnavailable, IncompleteCompletion, ValueError, AttributeError) as exc:
        described.checks = [*described.checks, f"rating unavailable: {exc}"]
        return False
    return True
