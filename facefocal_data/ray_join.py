"""Join a Ray cluster the way Ray users expect, and say in one line why it cannot be joined.

Ray (2.52 on) guards a cluster with a token: `ray start --head` turns it on when a token exists
(~/.ray/auth_token, which any earlier local `ray.init()` writes), and Ray 2.61 turns it on for
every cluster. `ray.init` sends the token only for a cluster it found by itself, not for one
named by an address (argument or $RAY_ADDRESS): it then retries for twenty seconds and says
"Failed to connect to Ray cluster". Here `--ray-address` and $RAY_ADDRESS pick up the token the
same way, from where Ray users keep it ($RAY_AUTH_TOKEN, `--ray-token-file`,
$RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token), and a probe of a few seconds tells an address nothing
answers on from a token that is missing or wrong, before Ray's retries start.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from .errors import BackendUnavailableError, RayClusterError

PROBE_SECONDS = 5.0
TOKEN_HINT = "`ray get-auth-token` on the head prints it"
FOUND_BY_RAY = (None, "auto", "local")  # Ray finds or starts the cluster itself: nothing to probe


def cluster_address(address: str | None) -> str | None:
    """`--ray-address`, else $RAY_ADDRESS (Ray's own variable); None starts a local Ray."""
    text = (address or os.environ.get("RAY_ADDRESS") or "").strip()
    return text or None


def default_token_file() -> Path:
    """Where `ray start` and a local `ray.init()` keep the token: Ray's default."""
    return Path.home() / ".ray" / "auth_token"


def token_source(token_file: str | Path | None) -> str | None:
    """Where this driver's token comes from, in Ray's order; None when there is none.

    A `--ray-token-file` is handed to Ray as $RAY_AUTH_TOKEN_PATH, the variable Ray reads. Ray
    aborts the whole process on a token file it cannot read, so files are checked here first.
    """
    from_env = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if token_file is not None:
        if from_env:
            raise RayClusterError("both $RAY_AUTH_TOKEN and --ray-token-file give a Ray token: keep one")
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(_readable_token(Path(token_file), "--ray-token-file"))
        return f"--ray-token-file {token_file}"
    if from_env:
        return "$RAY_AUTH_TOKEN"
    if env_path := os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip():
        _readable_token(Path(env_path), "$RAY_AUTH_TOKEN_PATH")
        return f"$RAY_AUTH_TOKEN_PATH ({env_path})"
    default = default_token_file()
    return str(default) if default.is_file() and default.stat().st_size else None


def _readable_token(path: Path, what: str) -> Path:
    path = path.expanduser()
    try:
        text = path.read_text(errors="replace").strip()
    except OSError as exc:
        raise RayClusterError(f"{what} {path}: {exc.strerror or exc}") from None
    if not text:
        raise RayClusterError(f"{what} {path} is empty: it should hold the cluster's token ({TOKEN_HINT})")
    return path.resolve()


def _send_token(source: str | None) -> None:
    """Token mode for this driver when a token is at hand (Ray sends none otherwise). A token sent
    to a cluster without authentication is ignored; RAY_AUTH_MODE set by the user is kept."""
    if source is None or os.environ.get("RAY_AUTH_MODE"):
        return
    try:
        from ray._private.authentication import authentication_token_setup as setup
        from ray._raylet import AuthenticationTokenLoader  # type: ignore[attr-defined]  # not in Ray's stub
    except ImportError:  # a Ray without token authentication (before 2.52): nothing to send
        return
    AuthenticationTokenLoader.instance().reset_cache()  # it may have looked before the path was set
    logging.getLogger(setup.__name__).setLevel(logging.ERROR)  # its "token auth is enabled" notice
    setup.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise RayClusterError(
            f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379, ray://head:10001)"
        )
    return host.strip("[]"), int(port)


def probe(address: str, source: str | None) -> None:
    """Fail in seconds, and say which, where Ray retries for twenty and says "Failed to connect":
    nothing answers at the address, or the cluster wants a token this driver lacks or got wrong."""
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
    except OSError as exc:
        raise RayClusterError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} (is `ray start --head` "
            "running there, and is the port open to this machine?)"
        ) from None
    if address.startswith("ray://"):
        return  # Ray Client speaks its own protocol; ray.init reports its errors
    import ray.exceptions
    from ray._raylet import GcsClient  # type: ignore[attr-defined]  # not in Ray's stub

    refused = getattr(ray.exceptions, "AuthenticationError", ())  # none before Ray 2.52: no tokens
    try:
        GcsClient(address=f"{host}:{port}")  # asks for the cluster id: the first call a token guards
    except refused:
        raise RayClusterError(token_problem(address, source)) from None
    except Exception as exc:  # a port that answers, but not as a Ray cluster
        raise RayClusterError(f"{address} does not answer as a Ray cluster: {exc}") from None


def token_problem(address: str, source: str | None) -> str:
    where = f"the Ray cluster at {address}"
    if source is None:
        return (
            f"{where} wants a token (Ray token authentication) and none was found: set $RAY_AUTH_TOKEN, "
            f"pass --ray-token-file, or put it in {default_token_file()} ({TOKEN_HINT})"
        )
    mode = os.environ.get("RAY_AUTH_MODE", "")
    if mode.lower() != "token":
        return f"{where} wants a token but RAY_AUTH_MODE={mode} keeps the one from {source} unsent: unset it"
    return f"{where} refused the token from {source}: it is not this cluster's token ({TOKEN_HINT})"


def _loopback_only() -> None:
    """A local Ray on 127.0.0.1 alone. Ray otherwise takes the machine's reachable IP as the node's
    address and its servers listen on every interface; with Ray's own switch off (read by this
    process and by the Ray processes it starts) the node is 127.0.0.1 and they listen there."""
    import ray._private.ray_constants as constants

    os.environ[constants.ENABLE_RAY_CLUSTERS_ENV_VAR] = "0"
    constants.ENABLE_RAY_CLUSTER = False


def connect(address: str | None = None, token_file: str | Path | None = None) -> None:
    """Join the cluster at `address` (or $RAY_ADDRESS), or start a local Ray on 127.0.0.1 only;
    once per process.

    Called before the output folder is opened, so a cluster that cannot be joined leaves no trace.
    """
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError("--engine ray needs Ray: pip install 'facefocal-data[ray]'") from exc
    if ray.is_initialized():
        return
    address = cluster_address(address)
    source = token_source(token_file)
    if address is not None:
        _send_token(source)
    if address not in FOUND_BY_RAY:
        probe(address, source)
    node_ip = None
    if address is None:  # a new Ray of our own, reachable from this machine only
        _loopback_only()
        address, node_ip = "local", "127.0.0.1"
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            _node_ip_address=node_ip,
        )
    except ConnectionError as exc:
        raise RayClusterError(f"could not join the Ray cluster at {address}: {exc}") from None
