"""Exception types that the CLI turns into one clear line and a non-zero exit."""

from __future__ import annotations


class FacefocalError(Exception):
    """Base class: a setup problem the user can fix, with a message that says how."""


class ModelMissingError(FacefocalError):
    """A weights file is not in the cache."""


class ModelHashError(FacefocalError):
    """A weights file is present but its bytes are not the ones the manifest pins."""


class RecipeError(FacefocalError):
    """The recipe (YAML) is unreadable or holds an invalid value."""


class BackendUnavailableError(FacefocalError):
    """A backend's runtime library is not installed or cannot start."""


class OutputConflictError(FacefocalError):
    """The output directory holds a build that this run must not mix with."""


class OutputWriteError(FacefocalError):
    """The output folder stopped taking writes (disk full, read-only); committed parts are kept."""


class RayClusterError(FacefocalError):
    """The Ray cluster cannot be joined: unreachable, or its token is missing or wrong."""


class UnknownNameError(RecipeError, KeyError):
    """A recipe names a backend, describer or source that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NotABuildError(FacefocalError, FileNotFoundError):
    """A folder given as a build is not one: missing, no manifest.json, or a manifest we cannot read.

    One type for every command that reads a build, so each says it the same way (one line, exit 2);
    a FileNotFoundError too, for callers that already catch that."""


class RecordNotFoundError(FacefocalError, LookupError):
    """A record id (prefix) or region that the build does not hold."""


class AmbiguousRecordError(RecordNotFoundError):
    """A record id prefix that matches more than one record: a longer prefix picks one."""
