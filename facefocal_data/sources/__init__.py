"""Source adapters: one small module per input format, registered by name."""

from . import image_folder as _image_folder  # noqa: F401  (registers "image_folder")
from .base import SOURCES, SourceItem

__all__ = ["SOURCES", "SourceItem"]
