"""A small named registry: backends register a factory under a name the recipe can use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; unknown names fail with the list of known ones. What a backend
    loads is declared where it registers (`models`: the model-manifest names of its weights), so
    the build manifest never depends on a second table kept in step by hand."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._models: dict[str, tuple[str, ...]] = {}

    def register(
        self, name: str, models: tuple[str, ...] = ()
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            self._models[name] = models
            return factory

        return decorate

    def models(self, name: str) -> tuple[str, ...]:
        """The manifest models backend `name` loads (none for "none", or weights you provide)."""
        return self._models.get(name, ())

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
