"""Describer `llm`: fluent text from any OpenAI-compatible server, written only when it passes the gate.

Per text: prompt (facts + template draft + worked example) → completion (cached by content) →
fact check → on failure one retry with the reasons → else the template text, with the failures
recorded and `fallback_used` set. Requests run `concurrency` at a time; the openai client retries
429/5xx/connection errors with backoff; a circuit breaker stops asking a server that is gone.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..config import DescribeConfig
from ..errors import RecipeError
from ..paths import llm_cache_dir
from ..record import Description, FaceRecord, Rating, Region
from .cache import CompletionCache, cache_key
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

Messages = list[dict[str, str]]


class LLMUnavailable(Exception):
    """The server could not answer (after the client's retries), or the breaker is open."""


class DescribeAborted(BaseException):
    """The build is stopping (Ctrl-C, SIGTERM): the batch in hand is dropped and redone on resume.

    A BaseException so that no per-item error handler turns it into an error row.
    """


class IncompleteCompletion(Exception):
    """An answer that did not finish normally: never checked, never written."""


@dataclass
class LLMStats:
    """Counts for the summary and the benchmark: calls, cache hits, gate outcomes, tokens."""

    requests: int = 0
    cache_hits: int = 0
    texts: int = 0
    passed_first: int = 0
    passed_retry: int = 0
    fallbacks: int = 0
    rated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    request_seconds: float = 0.0
    fallback_reasons: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "fallback_reasons"}
        data["first_pass_rate"] = round(self.passed_first / self.texts, 4) if self.texts else None
        data["fallback_rate"] = round(self.fallbacks / self.texts, 4) if self.texts else None
        data["fallback_reasons"] = dict(self.fallback_reasons.most_common(10))
        return data


class CircuitBreaker:
    """Open after N consecutive failures; after a cooldown, let one request probe the server."""

    def __init__(self, failures: int, cooldown_s: float) -> None:
        self.limit, self.cooldown_s = failures, cooldown_s
        self.failures, self.opened_at, self.last_error = 0, 0.0, ""
        self.lock = threading.Lock()

    def blocked(self) -> str | None:
        with self.lock:
            if self.failures < self.limit:
                return None
            if time.monotonic() - self.opened_at >= self.cooldown_s:
                self.opened_at = time.monotonic()  # half-open: this caller probes
                return None
            return f"circuit open after {self.failures} consecutive failures (last: {self.last_error})"

    def success(self) -> None:
        with self.lock:
            self.failures = 0

    def failure(self, reason: str) -> None:
        with self.lock:
            self.failures += 1
            self.last_error = reason
            if self.failures >= self.limit:
                self.opened_at = time.monotonic()


def reason_kind(reason: str) -> str:
    """A failure reason without its specifics, for counting ('AU04 is named…' → 'AU# is named…')."""
    reason = re.sub(r"^attempt \d+: ", "", reason)
    return re.sub(r"AU\d+|\d+(?:\.\d+)?|'[^']*'|\([^)]*\)", "#", reason)[:80]


class LLMDescriber:
    """Backend `llm`. Call `describe_batch(records)`; `close()` stops the embedded server."""

    def __init__(self, config: DescribeConfig, client: Any = None) -> None:
        self.cfg, self.seed, self.rating = config.llm, config.seed, config.rating
        self.client = client
        self.server: Any = None
        self.model_name = self.cfg.model or self.cfg.server.model
        self.model_id = self.model_name
        self.cache = CompletionCache(llm_cache_dir()) if self.cfg.cache else None
        self.breaker = CircuitBreaker(self.cfg.breaker_failures, self.cfg.breaker_cooldown)
        self.stats = LLMStats()
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.on_text: Callable[[LLMStats], None] | None = None
        self.aborted = threading.Event()
        self._api_key = ""

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Start the embedded server (when no base_url) and the client; idempotent."""
        if self.pool is not None:
            return
        if self.client is None:
            from openai import OpenAI

            base_url = self.cfg.base_url
            if base_url is None:
                from ..llm import EmbeddedServer

                server = self.cfg.server
                self.server = EmbeddedServer(server.model, server.threads, server.parallel, server.context)
                base_url = self.server.start()
                self.model_name, self.model_id = self.server.alias, self.server.model_id
            elif self.cfg.model is None:
                raise RecipeError(
                    "describe.llm.model: name the model to ask when describe.llm.base_url is set"
                )
            self._api_key = os.environ.get(self.cfg.api_key_env, "")
            self.client = OpenAI(
                base_url=base_url,
                api_key=self._api_key or "not-needed",
                max_retries=self.cfg.retries,
                timeout=self.cfg.timeout,
            )
        self.pool = ThreadPoolExecutor(self.cfg.concurrency, thread_name_prefix="facefocal-llm")

    def abort(self) -> None:
        """Stop asking: queued texts are cancelled and `describe_batch` raises DescribeAborted."""
        self.aborted.set()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    # -- describing ------------------------------------------------------------------------
    def __call__(self, record: FaceRecord) -> None:
        self.describe_batch([record])

    def describe_batch(self, records: list[FaceRecord]) -> None:
        """Fill every region's and face's description; texts are requested concurrently."""
        self.open()
        assert self.pool is not None
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
        futures = [self.pool.submit(job) for job in jobs]
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
            raw = self._complete(messages, self._params(0, len(items)), fmt)
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
                text = first if attempt == 0 and first else self._complete(messages, self._params(attempt))
                problems = check_text(text, facts, self.cfg.style)
            except LLMUnavailable as exc:
                return self._fallback(template, [*failures, f"llm unavailable: {exc}"])
            except IncompleteCompletion as exc:
                problems = [str(exc)]
            if not problems:
                described = Description(text, "llm", self.model_id, PROMPT_VERSION, failures, False)
                below = self._rate(described, facts)
                if below is not None:
                    return self._fallback(template, [*failures, below])
                self._count(passed_first=attempt == 0)
                return described
            failures += [f"attempt {attempt + 1}: {p}" for p in problems]
            if text:
                messages = retry_messages(messages, text, problems)
        return self._fallback(template, failures)

    def _fallback(self, template: Description, failures: list[str]) -> Description:
        with self.lock:
            self.stats.texts += 1
            self.stats.fallbacks += 1
            self.stats.fallback_reasons.update({reason_kind(f) for f in failures})
        self._notify()
        return Description(template.text, "template", None, template.prompt_version, failures, True)

    def _count(self, passed_first: bool) -> None:
        with self.lock:
            self.stats.texts += 1
            if passed_first:
                self.stats.passed_first += 1
            else:
                self.stats.passed_retry += 1
        self._notify()

    def _notify(self) -> None:
        if self.on_text is not None:
            self.on_text(self.stats)

    # -- rating ----------------------------------------------------------------------------
    def _rate(self, described: Description, facts: Facts) -> str | None:
        """Store the judge's scores on the text; the reason to keep the template when rated too low."""
        if not self.rating.enabled:
            return None
        fmt = {"type": "json_schema", "json_schema": {"name": "rating", "schema": RATING_SCHEMA}}
        params = {**self._params(0), "temperature": 0.0, "max_tokens": 60}
        try:
            scores = json.loads(self._complete(rating_messages(facts, described.text), params, fmt))
            accuracy, consistency, overall = (
                int(scores[k]) if isinstance(scores.get(k), int) else None for k in RATING_KEYS
            )
            described.rating = Rating(accuracy, consistency, overall, judge=self.model_id)
        except (LLMUnavailable, IncompleteCompletion, ValueError, AttributeError) as exc:
            described.checks = [*described.checks, f"rating unavailable: {exc}"]
            return None
        with self.lock:
            self.stats.rated += 1
        floor, overall = self.rating.min_overall, described.rating.overall
        if floor is not None and (overall is None or overall < floor):
            return f"rated {overall}/10, below {floor}"
        return None

    # -- one request -----------------------------------------------------------------------
    def _params(self, attempt: int, texts: int = 1) -> dict[str, Any]:
        return {
            "temperature": self.cfg.temperature,
            "seed": self.cfg.seed + attempt,
            "max_tokens": self.cfg.max_tokens * texts,
            "frequency_penalty": self.cfg.frequency_penalty,
        }

    def _complete(
        self, messages: Messages, params: dict[str, Any], fmt: dict | None = None, whole_lines: bool = False
    ) -> str:
        """The text of one completion, from the cache or the server; only `stop` answers count
        (`whole_lines`: an answer cut off by max_tokens counts without its unfinished last line)."""
        key = cache_key(
            {
                "v": PROMPT_VERSION,
                "model": self.model_id,
                "params": params,
                "messages": messages,
                "format": fmt,
            }
        )
        hit = self.cache.get(key) if self.cache else None
        if hit is not None:
            with self.lock:
                self.stats.cache_hits += 1
        else:
            hit = self._request(messages, params, fmt)
            if self.cache:
                self.cache.put(key, hit)
        if whole_lines and hit.get("finish_reason") == "length" and "\n" in (hit.get("text") or ""):
            hit = {"text": hit["text"].rsplit("\n", 1)[0], "finish_reason": "stop"}
        if hit.get("finish_reason") != "stop":
            raise IncompleteCompletion(
                f"completion did not finish (finish_reason={hit.get('finish_reason')})"
            )
        text = (hit.get("text") or "").strip()
        if not text:
            raise IncompleteCompletion("empty completion")
        return text

    def _request(self, messages: Messages, params: dict[str, Any], fmt: dict | None) -> dict[str, Any]:
        blocked = self.breaker.blocked()
        if blocked:
            raise LLMUnavailable(blocked)
        extra = {"response_format": fmt} if fmt else {}
        started = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.model_name, messages=messages, **params, **extra
            )
            choice = response.choices[0]
            text = choice.message.content
            if text and len(self._api_key) >= 4:  # a server (or model) that repeats the key: never cached
                text = text.replace(self._api_key, "[redacted]")
            hit = {"text": text, "finish_reason": choice.finish_reason}
        except Exception as exc:  # connection, timeout, 4xx/5xx after retries, or a malformed body
            reason = self.redact(f"{type(exc).__name__}: {exc}")[:300]
            self.breaker.failure(reason)
            raise LLMUnavailable(reason) from None
        self.breaker.success()
        usage = getattr(response, "usage", None)
        with self.lock:
            self.stats.requests += 1
            self.stats.request_seconds += time.perf_counter() - started
            self.stats.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
            self.stats.completion_tokens += getattr(usage, "completion_tokens", 0) or 0
        return hit

    def redact(self, text: str) -> str:
        """Error text without the API key (servers echo parts of a bad key back)."""
        if len(self._api_key) >= 4:
            text = text.replace(self._api_key, "[redacted]")
        return re.sub(r"\b(sk|key|token)-[A-Za-z0-9_*.-]{4,}", r"\1-[redacted]", text)


RATING_KEYS = ("accuracy", "consistency", "overall")
