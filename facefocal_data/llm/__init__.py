"""The embedded LLM: a local OpenAI-compatible llama.cpp server with a model from the cache."""

from .server import EmbeddedServer, ServerError

__all__ = ["EmbeddedServer", "ServerError"]
