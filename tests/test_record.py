"""Tests of chainsolve.record: a record behaves as @dataclass(frozen=True, slots=True) makes a class."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pickle
import pkgutil
import sys
from dataclasses import dataclass, field
from typing import ClassVar

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


@record
class _Filled:
    name: str
    items: list[int] = field(default_factory=list)
    kind: str = field(default="answer", init=False)
    shown: str = ""

    def __post_init__(self) -> None:
        if not self.shown:
            object.__setattr__(self, "shown", self.name.upper())


@record(eq=False)
class _Node:
    label: str

    KIND: ClassVar[str] = "node"


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


def test_arguments_bind_as_to_the_generated_init() -> None:
    """Positional, named and default arguments bind alike; a bad call is the same TypeError."""
    assert _Point(1, 2, "a") == _Point(x=1, label="a", y=2) == _Point(1, label="a", y=2)
    assert _Point(1).y is None and _Point(1).label == ""
    bad_calls = [
        lambda cls: cls(),
        lambda cls: cls(1, 2, "a", 4),
        lambda cls: cls(1, x=2),
        lambda cls: cls(1, colour="red"),
    ]
    for call in bad_calls:
        with pytest.raises(TypeError):
            call(_GeneratedPoint)
        with pytest.raises(TypeError):
            call(_Point)


def test_factories_fixed_fields_and_post_init() -> None:
    """A default factory gives each record its own value; init=False fields and __post_init__ run."""
    first, second = _Filled("a"), _Filled("b", [1])
    assert first.items == [] and first.items is not _Filled("c").items
    assert second.items == [1]
    assert first.kind == "answer" and first.shown == "A"
    assert _Filled("a", shown="own").shown == "own"
    with pytest.raises(TypeError):
        _Filled("a", kind="other")  # type: ignore[call-arg]


def test_pickle_and_copy_give_an_equal_record() -> None:
    """A slotted, frozen record survives pickle, copy and deepcopy as an equal value."""
    point = _Point(1, (2, 3), "a")
    for again in (pickle.loads(pickle.dumps(point)), copy.copy(point), copy.deepcopy(point)):
        assert again == point and again.label == "a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x  # type: ignore[misc]
    node = pickle.loads(pickle.dumps(_Node("u")))  # a class variable is no field to restore
    assert node.label == "u" and node.KIND == "node"


def test_identity_records_compare_by_identity() -> None:
    """record(eq=False) keeps object identity for ==/hash: a shared node of a tree is one node."""
    node = _Node("u")
    assert node == node and node != _Node("u")
    assert len({node, _Node("u")}) == 2
    assert repr(node) == "_Node(label='u')"


def test_no_method_of_a_record_is_compiled() -> None:
    """Making a record compiles nothing: dataclasses' source-text method factory is never called."""
    calls: list[str] = []
    factory = dataclasses._create_fn  # type: ignore[attr-defined]

    def counted(name: str, *args: object, **named: object) -> object:
        calls.append(name)
        return factory(name, *args, **named)

    dataclasses._create_fn = counted  # type: ignore[attr-defined]
    try:

        @record
        class Fresh:
            a: int
            b: str = ""

        made_by_record = list(calls)

        @dataclass(frozen=True, slots=True)
        class Generated:
            a: int
            b: str = ""

    finally:
        dataclasses._create_fn = factory  # type: ignore[attr-defined]
    assert made_by_record == []
    assert len(calls) == 6  # the counting works: @dataclass compiles six
    assert Fresh(1) == Fresh(1, "") and Generated(1) == Generated(1, "")


def test_every_record_of_the_package_is_frozen_and_slotted() -> None:
    """Every chainsolve record is a dataclass with slots whose instances refuse assignment."""
    records = []
    for module_info in pkgutil.walk_packages(chainsolve.__path__, "chainsolve."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            init = isinstance(value, type) and value.__dict__.get("__init__")
            if getattr(init, "__module__", None) == "chainsolve.record":
                records.append(value)
    assert len(records) > 100
    for cls in records:
        assert dataclasses.is_dataclass(cls)
        assert "__slots__" in cls.__dict__
        assert cls.__setattr__ is sys.modules["chainsolve.record"]._refuse_assignment
