"""The `--at` point of a matrix problem: numbers, vectors and matrices, inline or from a JSON file, bounded."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Literal, Protocol

import sympy

from chainsolve.errors import ParseError, ProblemError, Span
from chainsolve.parsing import LIMITS
from chainsolve.record import record

__all__ = [
    "POINT_LIMITS",
    "PointLimits",
    "PointValue",
    "check_point",
    "parse_point_text",
    "read_point",
    "read_point_file",
    "scalar_point_text",
]


@record
class PointLimits:
    """Bounds checked while the text is read, before any number is converted or any value built.

    - ``max_file_bytes``: largest ``--at @file`` read (its size is asked for first).
    - ``max_inline_chars``: longest inline ``--at`` text.
    - ``max_entries``: most numbers in one point, all names together.
    - ``max_number_chars``: longest number literal; ``max_exponent``: largest ``|n|`` in ``1e-n``.

    Nesting needs no separate bound: a value is a number, a vector ``[…]`` or a matrix
    ``[[…], …]``, and a third ``[`` is refused where it opens.
    """

    max_file_bytes: int = 1_000_000
    max_inline_chars: int = LIMITS.max_input_chars
    max_entries: int = 10_000
    max_number_chars: int = LIMITS.max_literal_digits
    max_exponent: int = LIMITS.max_decimal_exponent


POINT_LIMITS = PointLimits()

Form = Literal["number", "vector", "matrix"]


@record
class PointValue:
    """One value of the point: its rows of exact rationals and the form it was written in.

    A number is 1×1, a vector ``[1, 2]`` a column 2×1, a matrix ``[[1, 2]]`` is read row by row.
    """

    entries: tuple[tuple[sympy.Rational, ...], ...]
    form: Form
    #: The numbers as written, row by row (``0.1``, ``1/2``), for a reader with its own rules.
    literals: tuple[tuple[str, ...], ...]

    @property
    def rows(self) -> int:
        return len(self.entries)

    @property
    def cols(self) -> int:
        return len(self.entries[0])

    def matrix(self) -> sympy.ImmutableMatrix:
        return sympy.ImmutableMatrix(self.entries)

    def describe(self) -> str:
        """How the value was written, for an error: ``a number``, ``a vector of 3``, ``2×3``."""
        if self.form == "number":
            return "a number"
        if self.form == "vector":
            return f"a vector of {self.rows}"
        return f"{self.rows}×{self.cols}"


class DeclaredShape(Protocol):
    """What :func:`check_point` needs of a declared shape (the model's ``Shape``)."""

    @property
    def rows(self) -> int: ...

    @property
    def cols(self) -> int: ...


# --------------------------------------------------------------------------- reading


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>[+-]?(?:\d+/\d+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<name>[^\W\d]\w*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<punct>[\[\]{}=:,])
    """,
    re.VERBOSE,
)

_NOT_NUMBERS = {
    "nan": "NaN is not a number",
    "infinity": "Infinity is not a finite number",
    "inf": "inf is not a finite number",
    "true": "true is not a number",
    "false": "false is not a number",
    "null": "null is not a number",
}


@record
class _Token:
    """One token of a point's text: its kind, text and span."""

    kind: str
    text: str
    start: int
    end: int


@record
class _Raw:
    """A value as read: the number literals row by row, not yet converted."""

    rows: tuple[tuple[_Token, ...], ...]
    form: Form


class _Reader:
    """One pass over the point text: tokens, bounded nesting and count, ``name → _Raw``."""

    def __init__(self, text: str, origin: str | None) -> None:
        self.text = text
        self.origin = origin  # the file name, or None for inline text
        self.position = 0
        self.entries = 0
        self.current = self._next_token()

    # -- errors: inline text gets a caret, a file a line and column in one line
    def error(self, message: str, start: int, end: int, hint: str | None = None) -> ParseError:
        if self.origin is None:
            return ParseError(
                "bad_point",
                message,
                source=self.text,
                span=Span(start, max(end, start + 1)),
                hint=hint,
            )
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        where = f"{self.origin}, line {line}, column {column}"
        return ParseError("bad_point", f"{where}: {message}" + (f" ({hint})" if hint else ""))

    # -- tokens
    def _next_token(self) -> _Token:
        while True:
            if self.position >= len(self.text):
                return _Token("end", "", self.position, self.position)
            match = _TOKEN.match(self.text, self.position)
            if match is None:
                char = self.text[self.position]
                raise self.error(
                    f"unexpected {char!r}", self.position, self.position + 1, _VALUE_HINT
                )
            self.position = match.end()
            kind = match.lastgroup or ""
            if kind != "space":
                text = match.group()
                return _Token(text if kind == "punct" else kind, text, match.start(), match.end())

    def advance(self) -> _Token:
        token = self.current
        self.current = self._next_token()
        return token

    def expect(self, kind: str, message: str, hint: str | None = None) -> _Token:
        if self.current.kind != kind:
            raise self.error(message, self.current.start, self.current.end, hint)
        return self.advance()

    # -- the two forms of a point
    def point(self) -> dict[str, _Raw]:
        if self.current.kind == "end":
            raise self.error("the point is empty", 0, 0, "write NAME=VALUE, e.g. x=[1, 2]")
        values = self._object() if self.current.kind == "{" else self._assignments()
        if self.current.kind != "end":
            raise self.error(
                f"unexpected {self.current.text!r}",
                self.current.start,
                self.current.end,
                "separate values with ','",
            )
        return values

    def _assignments(self) -> dict[str, _Raw]:
        values: dict[str, _Raw] = {}
        while True:
            name = self.expect("name", "expected NAME=VALUE", "write values as x=[1, 2], b=0.5")
            self.expect("=", "expected NAME=VALUE", "write values as x=[1, 2], b=0.5")
            self._store(values, name.text, name, self._value(0))
            if self.current.kind != ",":
                return values
            self.advance()

    def _object(self) -> dict[str, _Raw]:
        self.advance()
        values: dict[str, _Raw] = {}
        while self.current.kind != "}":
            key = self.expect("string", 'expected a name in quotes, "x"', _FILE_HINT)
            self.expect(":", "expected ':' after the name", _FILE_HINT)
            self._store(values, _unquote(key.text), key, self._value(0))
            if self.current.kind == ",":
                self.advance()
            elif self.current.kind != "}":
                raise self.error("expected ',' or '}'", self.current.start, self.current.end)
        self.advance()
        return values

    def _store(self, values: dict[str, _Raw], name: str, token: _Token, value: _Raw) -> None:
        if not name.isidentifier():
            raise self.error(f"{name!r} is not a name", token.start, token.end)
        if name in values:
            raise self.error(f"'{name}' is given twice", token.start, token.end)
        values[name] = value

    # -- values: a number, a vector [n, …] or a matrix [[n, …], …]
    def _value(self, depth: int) -> _Raw:
        if self.current.kind == "[":
            if depth == 2:
                raise self.error(
                    "nested deeper than a matrix", self.current.start, self.current.end, _VALUE_HINT
                )
            return self._list(depth)
        return _Raw(((self._number(),),), "number")

    def _list(self, depth: int) -> _Raw:
        opening = self.advance()
        items: list[_Raw] = []
        while self.current.kind != "]":
            items.append(self._value(depth + 1))
            if self.current.kind == ",":
                self.advance()
            elif self.current.kind != "]":
                raise self.error("expected ',' or ']'", self.current.start, self.current.end)
        closing = self.advance()
        if not items:
            raise self.error("an empty list has no shape", opening.start, closing.end, _VALUE_HINT)
        forms = {item.form for item in items}
        if forms == {"number"}:
            return _Raw(tuple(item.rows[0] for item in items), "vector")
        if forms == {"vector"}:
            return self._matrix(items, opening, closing)
        raise self.error("a list mixes numbers and lists", opening.start, closing.end, _VALUE_HINT)

    def _matrix(self, items: list[_Raw], opening: _Token, closing: _Token) -> _Raw:
        rows = tuple(tuple(entry for (entry,) in item.rows) for item in items)
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != len(rows[0]):
                raise self.error(
                    f"row {number} has {_entries(len(row))}, row 1 has {len(rows[0])}",
                    opening.start,
                    closing.end,
                    "every row of a matrix has the same length",
                )
        return _Raw(rows, "matrix")

    def _number(self) -> _Token:
        token = self.current
        if token.kind == "name" and token.text.lower() in _NOT_NUMBERS:
            raise self.error(
                _NOT_NUMBERS[token.text.lower()], token.start, token.end, "give finite numbers"
            )
        token = self.expect("number", "expected a number or a list", _VALUE_HINT)
        self.entries += 1
        if self.entries > POINT_LIMITS.max_entries:
            raise self.error(
                f"the point has more than {POINT_LIMITS.max_entries} numbers",
                token.start,
                token.end,
            )
        _check_literal(self, token)
        return token


_VALUE_HINT = "a value is a number, a vector [1, 2] or a matrix [[1, 2], [3, 4]]"
_FILE_HINT = 'a point file is a JSON object, {"x": [1, 2], "b": 0.5}'
_EXPONENT = re.compile(r"[eE]([+-]?\d+)")


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _unquote(text: str) -> str:
    name = json.loads(text)
    assert isinstance(name, str)
    return name


def _check_literal(reader: _Reader, token: _Token) -> None:
    if len(token.text) > POINT_LIMITS.max_number_chars:
        raise reader.error(
            f"a number has {len(token.text)} characters; the limit is "
            f"{POINT_LIMITS.max_number_chars}",
            token.start,
            token.end,
        )
    exponent = _EXPONENT.search(token.text)
    if exponent is not None and abs(int(exponent.group(1))) > POINT_LIMITS.max_exponent:
        raise reader.error(
            f"the exponent of {token.text} is beyond ±{POINT_LIMITS.max_exponent}",
            token.start,
            token.end,
        )
    if re.search(r"/0+$", token.text):
        raise reader.error(f"{token.text} divides by zero", token.start, token.end)


def _rational(text: str) -> sympy.Rational:
    # Fraction reads decimal text exactly (0.1 is 1/10); the literal is bounded already.
    fraction = Fraction(text)
    return sympy.Rational(fraction.numerator, fraction.denominator)


def _build(raw: _Raw) -> PointValue:
    return PointValue(
        tuple(tuple(_rational(token.text) for token in row) for row in raw.rows),
        raw.form,
        tuple(tuple(token.text for token in row) for row in raw.rows),
    )


def parse_point_text(text: str, origin: str | None = None) -> dict[str, PointValue]:
    """Read a point, ``W1=[[0.1,0.2],[0.3,0.4]], x=[1,2], b=0.5`` or a JSON object, into exact values.

    ``origin`` names the file the text came from (errors then give a line and column in one
    line instead of a caret under the text).

    >>> point = parse_point_text("W=[[0.1, 2], [3, 4]], x=[1, -2.5], b=1/2")
    >>> point["W"].entries, point["x"].describe(), point["b"].entries
    (((1/10, 2), (3, 4)), 'a vector of 2', ((1/2,),))
    """
    if origin is None and len(text) > POINT_LIMITS.max_inline_chars:
        raise ParseError(
            "input_too_long",
            f"--at has {len(text)} characters; the limit is {POINT_LIMITS.max_inline_chars}",
            hint="give a large point in a file: --at @point.json",
        )
    reader = _Reader(text, origin)
    if origin is not None and reader.current.kind != "{":
        raise reader.error(
            "expected a JSON object", reader.current.start, reader.current.end, _FILE_HINT
        )
    raw = reader.point()
    return {name: _build(value) for name, value in raw.items()}


def read_point_file(path: str) -> dict[str, PointValue]:
    """Read ``--at @path``: its size is checked before it is read, then it is read as a point."""
    limit = POINT_LIMITS.max_file_bytes
    try:
        size = os.stat(path).st_size
        if size > limit:
            raise ParseError(
                "point_too_large", f"--at @{path} has {size} bytes; the limit is {limit}"
            )
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise ParseError(
            "unreadable_file", f"cannot read --at @{path}: {error.strerror or error}"
        ) from None
    if len(data) > limit:  # a file that grew, or a device with no size
        raise ParseError("point_too_large", f"--at @{path} has more than {limit} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(
            "invalid_utf8", f"--at @{path} is not UTF-8 (byte {error.start + 1} cannot be decoded)"
        ) from None
    return parse_point_text(text, origin=path)


def scalar_point_text(path: str) -> str:
    """``--at @path`` for a scalar problem: the file's numbers as ``--at`` text, ``w=2,x=0.5``,
    so that they are read by the scalar reader's own rules; a vector or matrix is refused."""
    values = read_point_file(path)
    for name, value in values.items():
        if value.form != "number":
            raise ProblemError(
                "bad_point",
                f"{name}: given {value.describe()}, but the problem has no declared shapes "
                "(declare them with --shapes for vectors and matrices)",
            )
    return ",".join(f"{name}={value.literals[0][0]}" for name, value in values.items())


def read_point(option: str) -> dict[str, PointValue]:
    """The value of ``--at``: ``@file`` reads a JSON file, anything else is the point inline."""
    if option.startswith("@"):
        return read_point_file(option[1:])
    return parse_point_text(option)


# --------------------------------------------------------------------------- checking


def check_point(
    point: Mapping[str, PointValue],
    shapes: Mapping[str, DeclaredShape],
    inputs: Iterable[str],
) -> None:
    """Every input has a value of its declared shape, and nothing else has one; else one line.

    >>> from types import SimpleNamespace as Shape
    >>> check_point(parse_point_text("W=[[1, 2], [3, 4], [5, 6]]"), {"W": Shape(rows=2, cols=3)}, "W")
    Traceback (most recent call last):
    ...
    chainsolve.errors.ProblemError: W: given 3×2, declared 2×3
    """
    needed = list(inputs)
    for name, value in point.items():
        if name not in needed:
            raise ProblemError(
                "bad_point",
                f"'{name}' is not an input of the problem (its inputs: {', '.join(needed)})",
            )
        declared = shapes[name]
        if (value.rows, value.cols) != (declared.rows, declared.cols):
            raise ProblemError("point_shape", _mismatch(name, value, declared))
    missing = [name for name in needed if name not in point]
    if missing:
        raise ProblemError("bad_point", f"--at has no value for {', '.join(missing)}")


def _mismatch(name: str, value: PointValue, declared: DeclaredShape) -> str:
    message = f"{name}: given {value.describe()}, declared {declared.rows}×{declared.cols}"
    if declared.rows == 1 and value.form == "vector" and value.rows == declared.cols:
        # [a, b, c] is a column; a row of a matrix is written as one row of a matrix.
        return f"{message} (write a row as [[…]])"
    return message
