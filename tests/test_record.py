"""Tests of chainsolve.record: a record behaves as @dataclass(frozen=True, slots=True) makes a class."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field

import pytest
import sympy

import chainsolve
from chainsolve.record import record
from chainsolve.steps import Leibniz


@record
class _Point:
    x: int
    y: object = None
    label: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class _GeneratedPoint:
    x: int
    y: object = None
    label: str = field(default="", compare=False, repr=False)


@record
class _Other:
    x: int
    y: object = None
    label: str = ""


@record
class _One:
    value: int


@record
class _Shown:
    value: int

    def __repr__(self) -> str:
        return f"<{self.value}>"


def _pairs() -> list[tuple[object, object]]:
    return [
        (_Point(1, (2, 3), "a"), _GeneratedPoint(1, (2, 3), "a")),
        (_Point(1), _GeneratedPoint(1)),
        (_Point(0, sympy.Symbol("x")), _GeneratedPoint(0, sympy.Symbol("x"))),
    ]


def test_repr_is_the_dataclass_repr() -> None:
    """repr names the class and its shown fields as @dataclass writes them, repr=False left out."""
    for made, generated in _pairs():
        assert repr(made) == repr(generated).replace("_GeneratedPoint", "_Point")


def test_equality_and_hash_follow_the_compared_fields() -> None:
    """Equal exactly when of the same class with equal compared fields; equal records hash alike."""
    assert _Point(1, 2, "a") == _Point(1, 2, "b")  # label is compare=False
    assert hash(_Point(1, 2, "a")) == hash(_Point(1, 2, "b"))
    assert hash(_Point(1, 2)) == hash(_GeneratedPoint(1, 2))  # the same tuple hashed
    assert hash(_One(5)) == hash((5,))
    assert _Point(1, 2) != _Point(1, 3)
    assert _Point(1, 2) != _Other(1, 2)  # same fields, another class
    assert _Point(1, 2) != (1, 2)
    assert len({_Point(1, 2), _Point(1, 2, "x"), _Point(2, 2)}) == 2


def test_frozen_slotted_and_still_a_dataclass() -> None:
    """A record refuses assignment, has no __dict__, and dataclasses.replace/fields work on it."""
    point = _Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    assert not hasattr(point, "__dict__")
    assert dataclasses.replace(point, x=4) == _Point(4, 2)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "label"]


def test_own_repr_kept_and_own_eq_refused() -> None:
    """A class's own __repr__ wins; a class with its own __eq__ is refused, not silently replaced."""
    assert repr(_Shown(3)) == "<3>"

    class Compared:
        value: int

        def __eq__(self, other: object) -> bool:
            return True

    with pytest.raises(TypeError, match="defines __eq__"):
        record(Compared)


def test_model_records_keep_value_semantics() -> None:
    """The model's records (a Leibniz fraction here) compare, hash and print by value."""
    x, y = sympy.symbols("x y")
    assert Leibniz(y, x) == Leibniz(y, x)
    assert {Leibniz(y, x): 1}[Leibniz(y, x)] == 1
    assert repr(Leibniz(y, x)).startswith("Leibniz(of=y, wrt=x, partial=False")


def test_every_record_of_the_package_is_a_frozen_dataclass() -> None:
    """Every chainsolve record (value methods made by record) is a frozen, slotted dataclass."""
    records = []
    for module_info in pkgutil.walk_packages(chainsolve.__path__, "chainsolve."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            hashed = isinstance(value, type) and value.__dict__.get("__hash__")
            if getattr(hashed, "__module__", None) == "chainsolve.record":
                records.append(value)
    assert len(records) > 100
    for cls in records:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert "__slots__" in cls.__dict__
