"""Source adapters: one small module per input format, registered by name (`source.kind`)."""

from . import affectnet as _affectnet  # noqa: F401  (each import registers its adapter)
from . import au_frames as _au_frames  # noqa: F401
from . import image_folder as _image_folder  # noqa: F401
from . import manifest as _manifest  # noqa: F401
from . import rafdb as _rafdb  # noqa: F401
from . import utkface as _utkface  # noqa: F401
from . import video as _video  # noqa: F401
from .base import SOURCES, SourceItem

__all__ = ["SOURCES", "SourceItem"]
