"""The server process: `python -m facefocal_data.llm.child MODEL_PATH ALIAS PORT THREADS PARALLEL CTX`.

Runs llama.cpp's HTTP server (xllamacpp, a prebuilt wheel) on 127.0.0.1, prints ``READY <url>``
once it listens, and exits when its parent closes stdin: a parent that dies, even by SIGKILL,
never leaves a server behind.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    import xllamacpp as xlc

    model_path, alias, port, threads, parallel, context = argv
    params = xlc.CommonParams()
    params.model.path = model_path
    params.model_alias = {alias}
    params.hostnames = ["127.0.0.1"]
    params.port = int(port)
    params.n_parallel = int(parallel)
    params.n_ctx = int(context)
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = int(threads)
    params.endpoint_metrics = True
    server = xlc.Server(params)
    print(f"READY {server.listening_address}", flush=True)
    for _line in sys.stdin:  # blocks until the parent closes the pipe
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
