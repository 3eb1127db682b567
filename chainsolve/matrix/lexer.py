"""Matrix problem text → tokens, each with its position in the text; no eval, bounded input."""

from __future__ import annotations

import re
from typing import Literal

import sympy

from chainsolve.errors import ParseError, ProblemError, Span
from chainsolve.parsing import LIMITS, RESERVED_NAMES
from chainsolve.record import record

__all__ = ["Token", "error_at", "problem_error_at", "tokenize"]

Kind = Literal["num", "name", "op", "end"]

# One spelling per operator: the Unicode forms people paste from papers, and ᵀ for a transpose.
_SPELLINGS = {
    "−": "-",
    "–": "-",
    "·": "*",
    "⋅": "*",
    "∗": "*",
    "×": "*",
    "⊙": ".*",
    "⊘": "./",
    "ᵀ": "'",
    "÷": "/",
}
_OPERATORS = (".*", "./", "+", "-", "*", "/", "^", "(", ")", ",", "'")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@record
class Token:
    """One token: its kind, its text in one spelling, its span in the source, a number's value."""

    kind: Kind
    text: str
    span: Span
    value: sympy.Rational | None = None


def _where(source: str, position: int) -> str:
    line = source.count("\n", 0, position) + 1
    column = position - (source.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}" if line > 1 else f"column {column}"


def error_at(code: str, what: str, source: str, span: Span, hint: str | None = None) -> ParseError:
    """A syntax error: ``what at column n``, with a caret under ``span`` of ``source``."""
    message = f"{what} at {_where(source, span.start)}"
    return ParseError(code, message, source=source, span=span, hint=hint)


def problem_error_at(
    code: str, what: str, source: str, span: Span, hint: str | None = None
) -> ProblemError:
    """A well-formed text that is not a valid problem (a shape, a missing name), with a caret."""
    message = f"{what} at {_where(source, span.start)}"
    return ProblemError(code, message, source=source, span=span, hint=hint)


def _number(source: str, match: re.Match[str]) -> Token:
    text = match.group()
    span = Span(match.start(), match.end())
    if len(text.replace(".", "")) > LIMITS.max_literal_digits:
        raise error_at(
            "number_too_long",
            f"a number of more than {LIMITS.max_literal_digits} digits",
            source,
            span,
        )
    return Token("num", text, span, sympy.Rational(text))


def _name(source: str, match: re.Match[str]) -> Token:
    text = match.group()
    span = Span(match.start(), match.end())
    if text in RESERVED_NAMES:
        raise error_at(
            "reserved_name",
            f"'{text}' cannot be used as a name",
            source,
            span,
            f"'{text}' is Python, not part of the input language",
        )
    return Token("name", text, span)


def tokenize(source: str, start: int, end: int) -> list[Token]:
    """The tokens of ``source[start:end]`` (spans index ``source``), ending with an ``end`` token."""
    tokens: list[Token] = []
    i = start
    while i < end:
        char = source[i]
        if char.isspace():
            i += 1
            continue
        if char in _SPELLINGS:
            tokens.append(Token("op", _SPELLINGS[char], Span(i, i + 1)))
            i += 1
            continue
        number = _NUMBER.match(source, i, end)
        if number:
            tokens.append(_number(source, number))
            i = number.end()
            continue
        name = _NAME.match(source, i, end)
        if name:
            tokens.append(_name(source, name))
            i = name.end()
            continue
        operator = next((op for op in _OPERATORS if source.startswith(op, i)), None)
        if operator is None or i + len(operator) > end:
            raise error_at(
                "unexpected_character",
                f"unexpected {char!r}",
                source,
                Span(i, i + 1),
                "matrix problems use names, numbers, + - * / .* ./ ⊙ ^ ' ( ) and commas",
            )
        tokens.append(Token("op", operator, Span(i, i + len(operator))))
        i += len(operator)
    tokens.append(Token("end", "", Span(end, end)))
    return tokens
