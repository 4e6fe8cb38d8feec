"""A small named registry: backends register a factory under a name the recipe can use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; unknown names fail with the list of known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return decorate

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        return self.get(name)(*args, **kwargs)

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; registered: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._factories)

    def require(self, name: str, key: str, optional: bool = False) -> None:
        """Fail on an unregistered `name` before anything is built or written, naming the recipe
        `key` that holds it; `optional` also accepts "none" (the step is skipped)."""
        known = [*self.names(), *(["none"] if optional else [])]
        if name not in known:
            raise unknown_name(key, self.kind, name, known)


def unknown_name(key: str, kind: str, name: str, known: list[str]) -> UnknownNameError:
    """The error for a recipe value that names nothing known: the key path, the value, the choices."""
    return UnknownNameError(f"recipe key {key}: unknown {kind} {name!r}; known: {', '.join(sorted(known))}")
