"""One OpenAI-compatible LLM endpoint, apart from any describing policy.

The embedded llama.cpp server's lifecycle (or a server at `base_url`), the request pool bounded by
`concurrency`, the completion cache, the circuit breaker, API-key redaction and usage counts. The
describers (free rewriting, the templater) decide what to ask and what to keep.
"""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..config import LLMConfig
from ..errors import RecipeError
from ..paths import llm_cache_dir
from .cache import CompletionCache, cache_key

Messages = list[dict[str, str]]


class LLMUnavailable(Exception):
    """The server could not answer (after the client's retries), or the breaker is open."""


class IncompleteCompletion(Exception):
    """An answer that did not finish normally: never checked, never written."""


@dataclass
class UsageStats:
    """What the endpoint was asked: requests, cache hits, tokens, seconds waiting."""

    requests: int = 0  # sent to the server, answered or not
    failed_requests: int = 0  # ... of which no answer came back (timeout, 5xx after retries, gone)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    request_seconds: float = 0.0


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


class LLMClient:
    """`open()` (idempotent) starts the embedded server or checks the URL's settings; `complete()`
    answers from the cache or the server; `close()` stops what `open()` started."""

    def __init__(self, cfg: LLMConfig, stats: UsageStats, cache_version: str, client: Any = None) -> None:
        self.cfg, self.stats, self.cache_version = cfg, stats, cache_version
        self.client = client
        self.server: Any = None
        self.model_name = cfg.model or cfg.server.model
        self.model_id = self.model_name
        self.cache = CompletionCache(llm_cache_dir()) if cfg.cache else None
        self.breaker = CircuitBreaker(cfg.breaker_failures, cfg.breaker_cooldown)
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self._api_key = ""

    def open(self) -> None:
        """Start the embedded server (when no base_url) and the client; idempotent."""
        if self.pool is not None:
            return
        if self.client is None:
            self.client = self._connect()
        self.pool = ThreadPoolExecutor(self.cfg.concurrency, thread_name_prefix="facefocal-llm")

    def _connect(self) -> Any:
        from openai import OpenAI

        base_url = self.cfg.base_url
        if base_url is None:
            from .server import EmbeddedServer

            server = self.cfg.server
            self.server = EmbeddedServer(server.model, server.threads, server.parallel, server.context)
            base_url = self.server.start()
            self.model_name, self.model_id = self.server.alias, self.server.model_id
        elif self.cfg.model is None:
            raise RecipeError("describe.llm.model: name the model to ask when describe.llm.base_url is set")
        self._api_key = os.environ.get(self.cfg.api_key_env, "")
        return OpenAI(
            base_url=base_url,
            api_key=self._api_key or "not-needed",
            max_retries=self.cfg.retries,
            timeout=self.cfg.timeout,
        )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def complete(
        self, messages: Messages, params: dict[str, Any], fmt: dict | None = None, whole_lines: bool = False
    ) -> str:
        """The text of one completion, from the cache or the server; only `stop` answers count
        (`whole_lines`: an answer cut off by max_tokens counts without its unfinished last line)."""
        key = cache_key(
            {
                "v": self.cache_version,
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
            with self.lock:  # asked, but nothing came back
                self.stats.requests += 1
                self.stats.failed_requests += 1
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
