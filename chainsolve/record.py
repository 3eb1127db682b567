"""record: a frozen, slotted dataclass whose value methods are shared instead of compiled per class."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

__all__ = ["record"]

_T = TypeVar("_T")

#: Per record class, the function giving the tuple of its compared fields.
_COMPARED: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
#: Per record class, the names of the fields its repr shows.
_SHOWN: dict[type, tuple[str, ...]] = {}


def _compared_fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``cls``'s compared fields in order, the tuple @dataclass's ``__eq__`` compares."""
    getter = _COMPARED.get(cls)
    if getter is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.compare)
        if len(names) == 1:
            (name,) = names
            getter = _COMPARED[cls] = lambda value: (getattr(value, name),)
        else:
            # attrgetter of two names or more gives the tuple itself, with no Python loop.
            getter = _COMPARED[cls] = attrgetter(*names) if names else (lambda value: ())
    return getter


def _equal(self: Any, other: object) -> Any:
    cls = self.__class__
    if other.__class__ is not cls:
        return NotImplemented
    compared = _compared_fields(cls)
    return compared(self) == compared(other)


def _hash(self: Any) -> int:
    return hash(_compared_fields(self.__class__)(self))


def _repr(self: Any) -> str:
    cls = self.__class__
    shown = _SHOWN.get(cls)
    if shown is None:
        shown = _SHOWN[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
    return f"{cls.__qualname__}({fields})"


@dataclass_transform(frozen_default=True)
def record(cls: type[_T]) -> type[_T]:
    """``cls`` as ``@dataclass(frozen=True, slots=True)`` makes it, at a third of the start-up.

    @dataclass compiles each method it adds from source text when the module is imported, about
    0.15 ms each, six for a frozen class: some 30 ms of every command's start-up for the ~55
    classes a command loads. A record shares one ``__eq__``, ``__hash__`` and ``__repr__``
    among all records, so only ``__init__`` and the two frozen guards are compiled. They
    behave as the generated ones: equal when of the same class with equal compared fields in
    order, the hash of that tuple, and ``Name(field=value, …)``. A class's own ``__repr__``
    is kept.
    """
    if "__eq__" in cls.__dict__:
        raise TypeError(f"{cls.__qualname__} defines __eq__: a record compares its fields")
    # Set before @dataclass: with slots=True it makes the class again from this namespace.
    shared = {"__eq__": _equal, "__hash__": _hash}
    if "__repr__" not in cls.__dict__:
        shared["__repr__"] = _repr
    for name, method in shared.items():
        setattr(cls, name, method)
    return dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
