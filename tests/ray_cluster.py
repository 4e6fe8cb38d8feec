"""A real multi-node Ray cluster on this machine, for the cluster tests; every port on 127.0.0.1.

Each node is a `ray start` in its own session, so killing the session kills that node with all
it started (raylet, agents, actors) and nothing of anyone else's; `ray stop` would stop every
Ray on the machine. Token authentication is on (RAY_AUTH_MODE=token, the token in
$HOME/.ray/auth_token of a HOME made for the cluster).

Ray rewrites 127.0.0.1 to the machine's reachable IP (for `--node-ip-address` and `--address`
alike) and then listens on every interface. Run as a script, this file is `ray start` with that
rewrite turned off, so each node binds to 127.0.0.1 only; a driver gets the same from
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (see `driver_env`). `assert_loopback` checks it held.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1", "::1")


def free_port() -> int:
    from facefocal_data.llm.server import free_port  # imported late: this file is also `ray start`

    return free_port()


def session_pids(sid: int) -> list[int]:
    """Every live process of a session: a node's raylet, agents and workers."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:  # gone meanwhile
                continue
    return pids


def kill_session(sid: int, timeout: float = 15.0) -> None:
    """SIGKILL a node's whole session and wait (bounded) until none of it is left."""
    deadline = time.monotonic() + timeout
    while (pids := session_pids(sid)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(OSError):  # gone meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def listening(pid: int) -> list[str]:
    """The addresses a process listens on (TCP), from /proc: its socket inodes in the LISTEN table."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        tables = [Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:] for name in ("tcp", "tcp6")]
    except OSError:  # gone meanwhile
        return []
    found = []
    for line in (row for table in tables for row in table):
        fields = line.split()
        if fields[3] == "0A" and f"socket:[{fields[9]}]" in inodes:  # 0A: LISTEN
            found.append(_ip(fields[1].split(":")[0]))
    return found


def _ip(hex_ip: str) -> str:
    """/proc/net/tcp's little-endian hex address as text (IPv4, or IPv6 with mapped IPv4)."""
    raw = bytes.fromhex(hex_ip)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return socket.inet_ntop(socket.AF_INET, words)
    return socket.inet_ntop(socket.AF_INET6, words)


@dataclass
class Node:
    name: str
    sid: int  # the `ray start` process's id: its session, and its children's


@dataclass
class LocalCluster:
    root: Path
    token: str
    models_home: Path  # the verified model cache the nodes with models use
    port: int = field(default_factory=free_port)
    nodes: dict[str, Node] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def node_env(self, facefocal_home: Path) -> dict[str, str]:
        """A node's environment: token auth on, this checkout importable, its own model cache."""
        env = {**os.environ, "HOME": str(self.home), "RAY_AUTH_MODE": "token"}
        env.update(FACEFOCAL_HOME=str(facefocal_home), PYTHONPATH=str(REPO), RAY_USAGE_STATS_ENABLED="0")
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "1"  # a worker node refuses to start with it 0
        for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
            env.pop(name, None)
        return env

    def start(self, name: str, cpus: int, head: bool = False, facefocal_home: Path | None = None) -> Node:
        """`ray start` one node (the head when `head`) in a session of its own; bounded."""
        (self.home / ".ray").mkdir(parents=True, exist_ok=True)
        (self.home / ".ray" / "auth_token").write_text(self.token)
        role = ["--head", f"--port={self.port}", "--include-dashboard=false"] if head else []
        command = [sys.executable, str(HERE), "start", *(role or [f"--address={self.address}"])]
        command += ["--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", "--object-store-memory=100000000"]
        command += [f"--temp-dir={self.root / name}", f"--dashboard-agent-listen-port={free_port()}"]
        log = self.root / f"{name}.log"
        with log.open("w") as sink:
            env = self.node_env(facefocal_home or self.models_home)
            proc = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, start_new_session=True)
        node = self.nodes[name] = Node(name, proc.pid)
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            raise RuntimeError(f"ray start {name} failed ({code}): {log.read_text()[-3000:]}")
        self.assert_loopback()
        return node

    def keep_workers(self, names: list[str], homes: dict[str, Path] | None = None) -> None:
        """Exactly these worker nodes (one CPU each): missing ones started, others killed."""
        for name in [n for n in self.nodes if n != "head" and n not in names]:
            self.kill(name)
        for name in [n for n in names if n not in self.nodes]:
            self.start(name, cpus=1, facefocal_home=(homes or {}).get(name))

    def node_of(self, pid: int) -> str | None:
        """The node a process belongs to (its session), or None."""
        try:
            sid = os.getsid(pid)
        except OSError:
            return None
        return next((n.name for n in self.nodes.values() if n.sid == sid), None)

    def kill(self, name: str) -> None:
        kill_session(self.nodes.pop(name).sid)

    def stop(self) -> None:
        for name in list(self.nodes)[::-1]:
            self.kill(name)

    def assert_loopback(self, more_pids: tuple[int, ...] = ()) -> None:
        """No process of the cluster (or `more_pids`) listens beyond 127.0.0.1; stop all if one does."""
        pids = [p for node in self.nodes.values() for p in session_pids(node.sid)] + list(more_pids)
        wide = [(pid, addr) for pid in pids for addr in listening(pid) if addr not in LOOPBACK]
        if wide:
            self.stop()
            raise AssertionError(f"Ray listened beyond 127.0.0.1 (stopped the cluster): {wide}")

    def driver_env(self, **extra: str) -> dict[str, str]:
        """The build's environment: this checkout, the cluster's HOME, Ray kept on 127.0.0.1."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(self.home), "GLOG_minloglevel": "2"}
        env["FACEFOCAL_HOME"] = str(self.models_home)
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray's own switch: this machine's loopback IP
        for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS", "RAY_AUTH_MODE"):
            env.pop(name, None)
        return {**env, **extra}


def _ray_start_on_loopback() -> int:
    """`ray start`, keeping 127.0.0.1 as this node's address instead of the reachable IP."""
    import ray._private.services as services

    rewrite = services.resolve_ip_for_localhost
    services.resolve_ip_for_localhost = lambda host: (
        "127.0.0.1" if services.is_localhost(host) else rewrite(host)
    )
    from ray.scripts.scripts import main

    return main()


if __name__ == "__main__":
    sys.exit(_ray_start_on_loopback())
