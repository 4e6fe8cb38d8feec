"""`llm serve`: the embedded LLM server, kept running for reuse across builds."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import console, out_console, setup_errors

llm_app = typer.Typer(help="The embedded LLM server that writes descriptions.", no_args_is_help=True)


@llm_app.command("serve")
def llm_serve(
    model: Annotated[
        str, typer.Option(help="A `task: llm` model from `facefocal models list`.")
    ] = "smollm2_135m",
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).", min=1)] = None,
    parallel: Annotated[int, typer.Option(help="Requests decoded together (slots).", min=1)] = 2,
    context: Annotated[int, typer.Option(help="Context tokens shared by the slots.", min=512)] = 4096,
) -> None:
    """Run the embedded LLM server until Ctrl-C, for reuse across builds.

    Point builds at it with `--llm-url URL --llm-model MODEL` (printed below); every build then
    skips the server start-up.
    """
    from ..llm.server import EmbeddedServer, wait_forever

    with setup_errors(), EmbeddedServer(model, threads, parallel, context, port) as server:
        out_console.print(f"serving {server.model_id} at {server.base_url}", highlight=False)
        out_console.print(f"use: facefocal build … --llm-url {server.base_url} --llm-model {model}")
        try:
            wait_forever(server)
        except KeyboardInterrupt:
            console.print("stopping the LLM server")
