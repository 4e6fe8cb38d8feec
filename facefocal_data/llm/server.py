"""Start, warm up, measure and stop the embedded server; also what `facefocal llm serve` runs.

The server is a child process, not a thread: llama.cpp's server has no stop call, a child can
be killed without killing the build, and a crash in native code cannot take the build with it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from ..errors import BackendUnavailableError
from ..models.manifest import model_spec
from ..models.store import verified_model_path

READY_TIMEOUT_S = 120.0


class ServerError(BackendUnavailableError):
    """The embedded server could not start (its log tail is in the message)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """A llama.cpp server on 127.0.0.1 serving one cached, hash-checked GGUF model."""

    def __init__(
        self,
        model: str = "smollm2_135m",
        threads: int | None = None,
        parallel: int = 2,
        context: int = 4096,
        port: int | None = None,
    ) -> None:
        spec = model_spec(model)
        if spec.task != "llm":
            raise ServerError(f"model {model!r} is a {spec.task} model, not an LLM")
        self.spec = spec
        self.alias = model
        self.threads = threads or os.cpu_count() or 1
        self.parallel = parallel
        self.context = context
        self.port = port
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None
        # the server log lives as long as the server; read for error messages, removed by stop()
        self._log = tempfile.NamedTemporaryFile(prefix="facefocal-llm-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def model_id(self) -> str:
        return self.spec.short_id

    def start(self) -> str:
        """Start the child, wait until it listens, warm it up; returns the OpenAI base URL."""
        path = verified_model_path(self.alias)
        port = self.port or free_port()
        args = [str(path), self.alias, str(port), str(self.threads), str(self.parallel), str(self.context)]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "facefocal_data.llm.child", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        address = self._wait_ready()
        self.base_url = address + "/v1"
        self._warm_up()
        return self.base_url

    def _wait_ready(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self._process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(READY_TIMEOUT_S)
        line = found[0] if found else ""
        if not line.startswith("READY "):
            tail = self.log_tail()
            self.stop()
            raise ServerError(f"the embedded LLM server did not start: {tail}")
        return line.split(" ", 1)[1].strip()

    def _warm_up(self) -> None:
        """One tiny request: the first one after start pays for paging the weights in."""
        from openai import OpenAI

        client = OpenAI(base_url=self.base_url, api_key="local", max_retries=0, timeout=60)
        client.chat.completions.create(
            model=self.alias, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0
        )

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def metrics(self) -> dict[str, float]:
        """The server's own counters (Prometheus text), e.g. ``tokens_predicted_total``."""
        with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        pairs = re.findall(r"^llamacpp:(\w+) ([0-9.eE+-]+)$", text, re.MULTILINE)
        return {name: float(value) for name, value in pairs}

    def log_tail(self, lines: int = 8) -> str:
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        """Close the child's stdin (it exits), then terminate or kill it if it lingers."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def kill(self) -> None:
        """Kill the server abruptly (tests use it to prove the build survives a dead server)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def wait_forever(server: EmbeddedServer, poll_s: float = 1.0) -> None:
    """`facefocal llm serve`: keep serving until Ctrl-C or the child dies."""
    while server.alive():
        time.sleep(poll_s)
    raise ServerError(f"the LLM server stopped: {server.log_tail()}")
