"""record: a frozen, slotted dataclass whose methods are closures, none compiled at import."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["record"]

_T = TypeVar("_T")
_MISSING: Any = dataclasses.MISSING
_assign = object.__setattr__


def _field_values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of the fields ``names`` of a value, in order, as @dataclass's methods build it."""
    if len(names) == 1:
        (name,) = names
        return lambda value: (getattr(value, name),)
    # attrgetter of two names or more gives the tuple itself, with no Python loop.
    return attrgetter(*names) if names else (lambda value: ())


def _initializer(cls: type) -> Callable[..., None]:
    """``__init__`` of the dataclass ``cls``: its fields in order, each given or its default.

    Arguments bind as they do to the method @dataclass writes (positional in field order, or
    by name; a default or a default factory for the fields left out); an argument missing,
    unexpected or given twice is the TypeError Python raises for such a call. Fields with
    ``init=False`` take their default, then ``__post_init__`` runs, as @dataclass does.
    """
    fields = dataclasses.fields(cls)
    if any(f.kw_only is True for f in fields):
        raise TypeError(
            f"{cls.__qualname__}: a record's fields are positional or named, not kw_only"
        )
    given = [f for f in fields if f.init]
    names = tuple(f.name for f in given)
    defaults = {f.name: f.default for f in given if f.default is not _MISSING}
    factories = {f.name: f.default_factory for f in given if callable(f.default_factory)}
    # Fields left out of __init__ (a report's fixed ``kind``) get their default on every call.
    fixed = tuple(
        (f.name, f.default, f.default_factory if callable(f.default_factory) else None)
        for f in fields
        if not f.init
    )
    finish: Callable[[Any], None] | None = getattr(cls, "__post_init__", None)
    count = len(names)
    title = cls.__qualname__

    def bound(args: tuple[Any, ...], named: dict[str, Any]) -> list[Any]:
        if len(args) > count:
            raise TypeError(f"{title}() takes {count} arguments but {len(args)} were given")
        values = list(args)
        for name in names[len(args) :]:
            if name in named:
                values.append(named.pop(name))
            elif name in defaults:
                values.append(defaults[name])
            elif name in factories:
                values.append(factories[name]())
            else:
                raise TypeError(f"{title}() missing required argument: {name!r}")
        if named:
            name = next(iter(named))
            twice = name in names
            problem = "got multiple values for argument" if twice else "got an unexpected argument"
            raise TypeError(f"{title}() {problem} {name!r}")
        return values

    def __init__(self: Any, *args: Any, **named: Any) -> None:
        # The common call gives every field in order: no binding to do.
        values = args if len(args) == count and not named else bound(args, named)
        for name, value in zip(names, values, strict=True):
            _assign(self, name, value)
        for name, default, factory in fixed:
            _assign(self, name, default if factory is None else factory())
        if finish is not None:
            finish(self)

    return __init__


def _value_methods(cls: type) -> dict[str, Callable[..., Any]]:
    """``__eq__`` and ``__hash__`` of the dataclass ``cls``, as @dataclass writes them."""
    fields = dataclasses.fields(cls)
    compared = _field_values(tuple(f.name for f in fields if f.compare))

    def __eq__(self: Any, other: object) -> Any:  # bool, or NotImplemented for another class
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(compared(self))

    return {"__eq__": __eq__, "__hash__": __hash__}


def _representation(cls: type) -> Callable[[Any], str]:
    """``__repr__`` as @dataclass writes it: ``Name(field=value, …)`` of the fields shown."""
    shown = tuple(f.name for f in dataclasses.fields(cls) if f.repr)

    def __repr__(self: Any) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({values})"

    return __repr__


def _refuse_assignment(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _state(self: Any) -> list[Any]:
    """The field values, for pickle and copy (a slotted class has no ``__dict__`` to copy)."""
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _restore(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        _assign(self, f.name, value)


def _made(cls: type[_T], eq: bool, shown: bool) -> type[_T]:
    if "__eq__" in cls.__dict__:
        raise TypeError(f"{cls.__qualname__} defines __eq__: a record compares its fields")
    own_repr = "__repr__" in cls.__dict__
    # @dataclass only gathers the fields and makes the slotted class: every method it would
    # compile from source text (~0.15 ms each, six per frozen class) is a closure below.
    made = dataclasses.dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    own: dict[str, Callable[..., Any]] = {"__init__": _initializer(made)}
    if eq:
        own.update(_value_methods(made))
    if shown and not own_repr:
        own["__repr__"] = _representation(made)
    for name, method in own.items():
        method.__qualname__ = f"{made.__qualname__}.{name}"
    shared: dict[str, Callable[..., Any]] = {
        "__setattr__": _refuse_assignment,
        "__delattr__": _refuse_deletion,
        "__getstate__": _state,
        "__setstate__": _restore,
    }
    for name, method in {**shared, **own}.items():
        setattr(made, name, method)
    return made


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, eq: bool = True, repr: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True)
def record(cls: type[_T] | None = None, /, *, eq: bool = True, repr: bool = True) -> Any:
    """``cls`` as ``@dataclass(frozen=True, slots=True)`` makes it, with no method compiled.

    @dataclass compiles each method it adds from source text when the module is imported,
    about 0.15 ms each, six for a frozen class: ~25 ms of every command's start-up for the
    classes a command loads. A record's methods are closures over its field names instead
    (``__init__``, ``__eq__``, ``__hash__``, ``__repr__``) or shared functions (the frozen
    guards, pickling). They behave as the generated ones: arguments bind alike, equal when of
    the same class with equal compared fields in order, the hash of that tuple, and
    ``Name(field=value, …)``. A class's own ``__repr__`` is kept; a class with its own
    ``__eq__`` is refused (it would not be a record). ``eq=False`` keeps identity equality
    (a rule tree's nodes, where a shared part is one node); ``repr=False`` keeps the ``__repr__``
    the class inherits. ``dataclasses.fields`` and
    ``replace`` work; ``__dataclass_params__`` describes what @dataclass itself made (no
    ``__init__``, not frozen): the record's own methods make it frozen.
    """

    def make(target: type[_T]) -> type[_T]:
        return _made(target, eq, repr)

    return make if cls is None else make(cls)
