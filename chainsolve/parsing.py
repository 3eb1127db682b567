"""Text to sympy for the input language: a hand-written tokenizer and Pratt parser, no eval."""

from __future__ import annotations

import keyword
import math
import re
import time
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Literal, NamedTuple

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.dag import bottom_up
from chainsolve.errors import ParseError, ProblemError, Span
from chainsolve.functions import CONSTANTS, FUNCTION_ARITIES, FUNCTIONS
from chainsolve.problem import (
    Definition,
    Problem,
    build_problem,
    implicit_target_name,
    make_symbol,
)
from chainsolve.record import record

__all__ = [
    "LIMITS",
    "SYNTAXES",
    "Limits",
    "Syntax",
    "input_syntax",
    "normalize",
    "parse_expression",
    "parse_point",
    "parse_problem",
    "parse_wrt",
    "reads_latex",
    "syntax_in_force",
]


@record
class Limits:
    """Bounds checked before anything expensive is built, so every input answers well within 1 s.

    - ``max_input_chars``: longest accepted text (checked first, in O(1)).
    - ``max_depth``: deepest nesting of parentheses, calls, unary signs and exponents.
    - ``max_nodes``: most operators, numbers, names and calls in one problem.
    - ``max_literal_digits``: most digits in one number literal.
    - ``max_decimal_exponent``: largest ``|n|`` in a literal like ``1e-n``.
    - ``max_power_digits``: a power of numbers is evaluated only if its estimated
      result has at most this many digits (``2^10^10`` is refused, not computed).
    - ``max_symbolic_exponent``: largest ``|n|`` in ``x^n`` for a non-numeric base.
    - ``max_build_cpu_seconds``: CPU time (of this thread) allowed to build the sympy objects
      of one problem, a safety net behind the size limits above. Some nests within the
      depth limit make sympy's automatic evaluation crawl (a 100-deep ``abs(1-abs(1-...))``
      takes a minute); the build stops with ``too_complex`` instead. CPU time, not wall
      time, so that a busy machine does not refuse what an idle one accepts; ordinary
      problems within the limits above build in under 0.05 s, lazy imports included.
    """

    max_input_chars: int = 20_000
    max_depth: int = 100
    max_nodes: int = 5_000
    max_literal_digits: int = 100
    max_decimal_exponent: int = 300
    max_power_digits: int = 1_000
    max_symbolic_exponent: int = 10_000
    max_build_cpu_seconds: float = 0.75


LIMITS = Limits()

#: Digits of a decimal read into a ``sympy.Float`` by :func:`parse_point`.
POINT_PRECISION = 30

# Python keywords and the builtins an injection attempt reaches for: as names they are
# harmless to us (nothing is evaluated), but accepting them would only hide a mistake.
RESERVED_NAMES = frozenset(keyword.kwlist) | {
    "exec",
    "eval",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "hasattr",
    "globals",
    "locals",
    "vars",
    "input",
    "print",
    "breakpoint",
    "help",
    "exit",
    "quit",
}

# --- Unicode normalisation tables -------------------------------------------------

_SUPERSCRIPT_DIGITS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))
_SUPERSCRIPT_MINUS = "⁻"
#: Notation chainsolve prints and reads back: ∂₁f(u, v), ∂f/∂x(x, y), f′(u), √x.
_NOTATION = {"∂": "∂", "′": "′", "″": "′′", "‴": "′′′", "√": "√"}
_SUBSCRIPT_DIGITS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
# Subscript letters as chainsolve prints x_i (xᵢ); after a name only, like the digits.
_SUBSCRIPTS = _SUBSCRIPT_DIGITS | dict(zip("ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "aehijklmnoprstuvx", strict=True))

_OPERATOR_REPLACEMENTS = dict(zip("−–‐‒×·⋅∗÷∕", "----****//", strict=True))

# 'lamda' is sympy's own spelling for λ: 'lambda' is a Python keyword.
_GREEK_NAMES_IN_ORDER = (
    "alpha beta gamma delta epsilon epsilon zeta eta theta theta iota kappa lamda mu mu"
    " nu xi pi rho sigma sigma tau upsilon phi phi chi psi omega"
    " Gamma Delta Theta Lamda Xi Pi Sigma Phi Psi Omega"
)
_GREEK = dict(
    zip("αβγδεϵζηθϑικλμµνξπρσςτυφϕχψωΓΔΘΛΞΠΣΦΨΩ", _GREEK_NAMES_IN_ORDER.split(), strict=True)
)

# Letters of other scripts drawn like Latin ones; NFKC does not map these, so list them.
_LOOKALIKES = dict(
    zip(
        "авеёкмнорстухіјѕԁԛԝАВЕКМНОРСТУХІЈЅοΑΒΕΖΗΙΚΜΝΟΡΤΥΧıℓ",
        "aBeekMHopcTyxijsdqwABEKMHOPCTYXIJSoABEZHIKMNOPTYXil",
        strict=True,
    )
)

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})

# --- glued function names -----------------------------------------------------------

_GLUE_LETTERS = frozenset("xyztuvwsr")
_GREEK_NAMES = frozenset(_GREEK.values()) | {"pi"}
# English words that fit the glued pattern but are common variable names.
_ORDINARY_WORDS = frozenset({"cost", "logs", "expr", "signs"})
_FUNCTIONS_LONGEST_FIRST = tuple(sorted(FUNCTIONS, key=len, reverse=True))
_LETTERS_THEN_DIGITS = re.compile(r"([a-zA-Z]+)([0-9]*)")
_DIGITS_THEN_LETTERS = re.compile(r"[0-9]+([a-zA-Z]+)")

_CHARACTER_HINTS = {
    "%": "the input language has no modulo",
    "#": "comments are not part of a problem",
    "'": "strings are not part of the input language",
    '"': "strings are not part of the input language",
    "{": "use ( ) for grouping",
    "}": "use ( ) for grouping",
    "<": "inequalities are not part of a problem",
    ">": "inequalities are not part of a problem",
    "!": "factorials and '!=' are not part of the input language",
    "@": "use * to multiply",
    ":": "the input language has no ':'",
    "\\": "write sqrt(x), not LaTeX such as \\sqrt{x}",
    "$": "write the maths without LaTeX delimiters",
    "&": "logic operators are not part of the input language",
    "~": "logic operators are not part of the input language",
    "`": "quotes are not part of the input language",
    "?": "the input language has no '?'",
}


# Command words of other tools (SymPy, Wolfram, textbooks): read around a whole problem only,
# never silently as an unknown function.
_COMMANDS = frozenset({"diff", "derivative", "differentiate", "deriv", "Diff"})
# Well-known names chainsolve does not differentiate: refused rather than made abstract.
_UNSUPPORTED = frozenset(
    {
        "max", "min", "floor", "ceil", "ceiling", "round", "mod", "gcd", "lcm", "factorial",
        "integrate", "integral", "int", "limit", "lim", "sum", "prod", "re", "im", "arg",
        "conjugate", "frac",
    }
) - set(FUNCTIONS)  # fmt: skip
# log_2(x), log2(x), log10(x): a logarithm to a fixed base.
_LOG_BASE = re.compile(r"log_?([0-9]+)")
# d/dx: the name after 'd/' is 'd' then the variable.
_DIFFERENTIAL = re.compile(r"d([a-zA-Z][a-zA-Z0-9_]*)")
_MAX_FUNCTION_POWER = 10
# D[1]f(u, v): the slots of a partial derivative in ASCII, as ∂₁f(u, v).
_D_SLOTS = re.compile(r"\[([1-9]+)\](?=[a-zA-Z])")
# f_x(x, y): the partial derivative of f by its argument x, in subscript notation.
_SUBSCRIPT_PARTIAL = re.compile(r"([a-zA-Z])_([a-zA-Z][a-zA-Z0-9]*)")


def _glued_call(name: str) -> str | None:
    """The call a glued name meant, like ``sin(x)`` for ``sinx``; ``None`` for an ordinary name.

    The rule: the name is a known function name (longest first, so ``sinhx`` is
    ``sinh(x)``) followed by exactly one of the letters ``x y z t u v w s r`` or one Greek
    letter name (``theta``, also ``pi``), optionally followed by digits (``expx1``), or by
    digits then such a letter (``sin2x``). Everything else — ``secant``, ``logits``,
    ``expected`` — is an ordinary name, and so are the English words ``cost``, ``logs``
    and ``expr`` although they fit the pattern.
    """
    if name in FUNCTIONS or name in _ORDINARY_WORDS:
        return None
    for function in _FUNCTIONS_LONGEST_FIRST:
        if not name.startswith(function) or len(name) == len(function):
            continue
        rest = name[len(function) :]
        letters = _LETTERS_THEN_DIGITS.fullmatch(rest) or _DIGITS_THEN_LETTERS.fullmatch(rest)
        if letters and (letters.group(1) in _GLUE_LETTERS or letters.group(1) in _GREEK_NAMES):
            return f"{function}({rest})"
    return None


# --- source text with a map back to what the user typed ------------------------------


@record
class _Text:
    """Normalised text plus, for each of its characters, the range it came from in ``source``."""

    source: str
    normalized: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    offset: int
    notes: tuple[str, ...]

    def span(self, start: int, end: int) -> Span:
        """The span in ``source`` of the normalised range ``[start, end)``."""
        if start >= len(self.starts):
            origin = self.offset + (self.ends[-1] if self.ends else 0)
            return Span(origin, origin)
        last = max(start, min(end, len(self.ends)) - 1)
        return Span(self.offset + self.starts[start], self.offset + self.ends[last])

    def error(
        self, code: str, what: str, start: int, end: int, hint: str | None = None
    ) -> ParseError:
        span = self.span(start, end)
        return _error(code, what, self.source, span, hint)


def _where(source: str, position: int) -> str:
    line = source.count("\n", 0, position) + 1
    column = position - (source.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}" if line > 1 else f"column {column}"


def _error(code: str, what: str, source: str, span: Span, hint: str | None) -> ParseError:
    message = f"{what} at {_where(source, span.start)}"
    return ParseError(code, message, source=source, span=span, hint=hint)


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _character_error(source: str, position: int) -> ParseError:
    """The error for a character normalisation refuses; never echoes invisible characters."""
    char = source[position]
    span = Span(position, position + 1)
    label = _describe(char)
    latin = _LOOKALIKES.get(char)
    if latin is None:
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and folded.isascii() and folded.isprintable():
            latin = folded
    if latin is not None:
        return ParseError(
            "lookalike_character",
            f"{label} at {_where(source, position)} looks like '{latin}' but is not; "
            "type it on a Latin keyboard",
            source=source,
            span=span,
            hint=f"replace it with '{latin}'",
        )
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return _InvisibleCharacterError(
            "control_character",
            f"invisible or control character {label} at {_where(source, position)}",
            source=source,
            span=span,
            hint="delete it (it may have come from copying and pasting)",
        )
    return _error(
        "unexpected_character",
        f"unexpected {label}",
        source,
        span,
        "the input language uses ASCII letters, digits, + - * / ^ ( ) and Greek letters",
    )


class _InvisibleCharacterError(ParseError):
    """A refused invisible character: ``source`` keeps it, but the caret line shows U+FFFD.

    The caret line is printed to the terminal, where a bidi override or a control character
    would reorder or hide what the user sees.
    """

    def caret_lines(self) -> tuple[str, str] | None:
        lines = super().caret_lines()
        return None if lines is None else (_visible(lines[0]), lines[1])


def _visible(text: str) -> str:
    """``text`` with invisible and control characters (not newlines or tabs) shown as U+FFFD."""
    return "".join(
        "\ufffd"
        if char not in "\n\t" and unicodedata.category(char) in _INVISIBLE_CATEGORIES
        else char
        for char in text
    )


def check_length(text: str) -> None:
    """Refuse an input longer than the limit, before anything is read from it."""
    if len(text) > LIMITS.max_input_chars:
        raise ParseError(
            "input_too_long",
            f"the input has {len(text)} characters; the limit is {LIMITS.max_input_chars}",
            source=text,
            span=Span(LIMITS.max_input_chars, len(text)),
            hint="split the problem into smaller definitions",
        )


#: How text is read: LaTeX when it looks like LaTeX (``auto``), or always one of the two.
Syntax = Literal["auto", "plain", "latex"]
SYNTAXES: tuple[Syntax, ...] = ("auto", "plain", "latex")
_SYNTAX: ContextVar[Syntax] = ContextVar("chainsolve_input_syntax", default="auto")


@contextmanager
def input_syntax(syntax: Syntax) -> Iterator[None]:
    """Read problems and answers parsed inside the block as ``syntax`` (``--input``)."""
    token = _SYNTAX.set(syntax)
    try:
        yield
    finally:
        _SYNTAX.reset(token)


def syntax_in_force() -> Syntax:
    """The syntax text is read in here: the innermost :func:`input_syntax`, else ``auto``."""
    return _SYNTAX.get()


# A command, a LaTeX space or brace, or a group: the text grammar has none of them.
_LATEX = re.compile(r"\\[a-zA-Z,;:! {}]|[{}$]")


def is_latex(text: str) -> bool:
    """Whether ``text`` is LaTeX: it has a command (``\\frac``), a LaTeX space or a group ``{}``."""
    return _LATEX.search(text) is not None


def reads_latex(text: str) -> bool:
    """Whether ``text`` is read as LaTeX: forced by the syntax in force, or when it looks like it."""
    syntax = syntax_in_force()
    return syntax == "latex" or (syntax == "auto" and is_latex(text))


def _prepare(text: str, source: str, offset: int, *, options: bool = False) -> _Text:
    """Normalise ``text`` and keep the map from each normalised character to ``source``.

    ``options`` (``--wrt``, ``--at``) are plain text whatever the syntax of the problem.
    """
    if is_latex(text) if options else reads_latex(text):
        return _prepare_latex(text, source, offset)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    notes: dict[str, None] = {}

    def emit(chunk: str, start: int, end: int) -> None:
        for char in chunk:
            out.append(char)
            starts.append(start)
            ends.append(end)

    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if " " <= char <= "~" or char == "\n":
            emit(char, i, i + 1)
            i += 1
        elif char in "\t\r":
            emit(" ", i, i + 1)
            i += 1
        elif char in _SUPERSCRIPT_DIGITS or char == _SUPERSCRIPT_MINUS:
            j = i
            while j < n and (text[j] in _SUPERSCRIPT_DIGITS or text[j] == _SUPERSCRIPT_MINUS):
                j += 1
            run = text[i:j]
            plain = "".join(_SUPERSCRIPT_DIGITS.get(c, "-") for c in run)
            wrap = "-" in plain
            emit("^(" if wrap else "^", i, i + 1)
            for k, c in enumerate(plain):
                emit(c, i + k, i + k + 1)
            if wrap:
                emit(")", j - 1, j)
            notes[f"read '{run}' as '^({plain})'" if wrap else f"read '{run}' as '^{plain}'"] = None
            i = j
        elif char in _SUBSCRIPTS and (
            _name_before(out) or (out[-1:] == ["∂"] and char in _SUBSCRIPT_DIGITS)
        ):
            j = i
            while j < n and text[j] in _SUBSCRIPTS:
                j += 1
            run = text[i:j]
            plain = "".join(_SUBSCRIPTS[c] for c in run)
            # u₁ is how chainsolve prints u_1; after ∂ the digits number argument slots.
            mark = "" if out[-1] in "_∂" else "_"
            emit(mark, i, i + 1)
            for k, c in enumerate(plain):
                emit(c, i + k, i + k + 1)
            notes[f"read '{run}' as '{mark}{plain}'"] = None
            i = j
        elif char in _OPERATOR_REPLACEMENTS:
            emit(_OPERATOR_REPLACEMENTS[char], i, i + 1)
            notes[f"read '{char}' as '{_OPERATOR_REPLACEMENTS[char]}'"] = None
            i += 1
        elif char in _NOTATION:
            emit(_NOTATION[char], i, i + 1)
            i += 1
        elif char == "σ" and text.startswith("(", i + 1):
            # σ(x) is how chainsolve prints the sigmoid: read back, it is the sigmoid again.
            emit("sigmoid", i, i + 1)
            notes["read 'σ(…)' as 'sigmoid(…)'"] = None
            i += 1
        elif char in _GREEK:
            before, after = _glue_around(out, text, i)
            if before:
                emit("*", i, i)
            emit(_GREEK[char], i, i + 1)
            if after:
                emit("*", i + 1, i + 1)
            notes[f"read '{char}' as '{_GREEK[char]}'"] = None
            if before or after:
                glued = text[i - 1 if before else i : i + 2 if after else i + 1]
                product = "*".join(_GREEK.get(c, c) for c in glued)
                notes[f"read '{glued}' as '{product}'"] = None
            i += 1
        elif unicodedata.category(char) == "Zs":
            emit(" ", i, i + 1)
            notes[f"read {_describe(char)} as a space"] = None
            i += 1
        else:
            raise _character_error(source, offset + i)
    return _Text(source, "".join(out), tuple(starts), tuple(ends), offset, tuple(notes))


def _prepare_latex(text: str, source: str, offset: int) -> _Text:
    """LaTeX translated to the text grammar, each character mapped back into the LaTeX."""
    for position, char in enumerate(text):
        if not char.isascii():
            raise _character_error(source, offset + position)
    # Imported here: plain text, most input, does not pay for the LaTeX tables.
    from chainsolve.latex_input import translate

    normalized, starts, ends = translate(text, source, offset)
    return _Text(source, normalized, tuple(starts), tuple(ends), offset, ("read LaTeX",))


def _name_before(out: list[str]) -> str:
    """The name that the normalised text ``out`` ends with (``x1`` for ``2x1``; ``""`` for ``2``)."""
    k = len(out)
    while k and out[k - 1].isascii() and (out[k - 1].isalnum() or out[k - 1] == "_"):
        k -= 1
    return "".join(out[k:]).lstrip("0123456789.")


def _glue_around(out: list[str], text: str, i: int) -> tuple[bool, bool]:
    """Whether the Greek letter ``text[i]`` is glued to a name before it and after it.

    A Greek letter typed as one character is a name of its own, never part of a longer
    one: ``2πx`` is 2·π·x and ``xθ`` is x·θ, not the variables ``pix`` and ``xtheta``
    (typed in ASCII, ``pix`` stays one name). Digits and ``_`` after a letter other than
    π index it (``θ1``, ``θ_1``); after a function name the letter is left glued, so that
    ``sinθ`` gets its own hint (``did you mean sin(theta)?``).
    """
    name = _name_before(out)
    before = bool(name) and not name.endswith("_") and name not in FUNCTIONS
    following = text[i + 1] if i + 1 < len(text) else ""
    after = following in _GREEK or (following.isascii() and following.isalpha())
    if _GREEK[text[i]] == "pi":
        after = after or (following.isascii() and following.isdigit())  # π² is pi^2
    return before, after


def normalize(text: str) -> tuple[str, list[str]]:
    """Replace harmless Unicode (``x²``, ``−``, ``×``, ``θ``, no-break spaces) by plain text.

    Returns the new text and one note per kind of replacement, like ``read '²' as '^2'``.
    Lookalike, invisible and control characters are refused with a :class:`ParseError`
    rather than silently dropped or mapped.

    >>> normalize("3x² − θ")
    ('3x^2 - theta', ["read '²' as '^2'", "read '−' as '-'", "read 'θ' as 'theta'"])
    """
    check_length(text)
    prepared = _prepare(text, text, 0)
    return prepared.normalized, list(prepared.notes)


# --- tokens -------------------------------------------------------------------------

_Kind = Literal[
    "num", "name", "op", "(", ")", ",", "=", "sep", "end", "prime", "partial", "root", "bar"
]


class _Token(NamedTuple):
    kind: _Kind
    text: str
    start: int
    end: int
    value: sympy.Expr | None = None


def _check_name(name: str, text: _Text, start: int, end: int) -> None:
    """Refuse reserved and glued names as they are read, so the first error is the leftmost."""
    if name.startswith("_"):
        raise text.error(
            "reserved_name",
            f"names cannot start with '_' ('{name}')",
            start,
            end,
            "'_' names are Python internals, not part of the input language",
        )
    if name in RESERVED_NAMES:
        raise text.error(
            "reserved_name",
            f"'{name}' cannot be used as a name",
            start,
            end,
            f"'{name}' is Python, not part of the input language",
        )
    meant = _glued_call(name)
    if meant is not None:
        raise text.error(
            "glued_function_name",
            f"'{name}' reads as one name",
            start,
            end,
            f"did you mean {meant}?",
        )


def _number(text: _Text, start: int, exact_decimals: bool) -> tuple[_Token, int]:
    s = text.normalized
    n = len(s)
    j = start
    while j < n and "0" <= s[j] <= "9":
        j += 1
    whole = s[start:j]
    fraction = ""
    is_decimal = False
    if j < n and s[j] == ".":
        is_decimal = True
        j += 1
        k = j
        while j < n and "0" <= s[j] <= "9":
            j += 1
        fraction = s[k:j]
    exponent = 0
    if j < n and s[j] in "eE":
        k = j + 1
        if k < n and s[k] in "+-":
            k += 1
        # '2e' alone or '2exp(x)' is 2 times e or exp: only digits make an exponent.
        if k < n and "0" <= s[k] <= "9":
            is_decimal = True
            m = k
            while m < n and "0" <= s[m] <= "9":
                m += 1
            digits = s[k:m].lstrip("0") or "0"
            if len(digits) > 4 or int(digits) > LIMITS.max_decimal_exponent:
                raise text.error(
                    "number_too_large",
                    f"the exponent of '{s[start:m]}' is too large",
                    start,
                    m,
                    f"decimal exponents are limited to ±{LIMITS.max_decimal_exponent}",
                )
            exponent = -int(digits) if s[j + 1] == "-" else int(digits)
            j = m
    literal = s[start:j]
    if j < n and s[j] == ".":
        raise text.error(
            "unexpected_character", "unexpected '.'", j, j + 1, "a number has one decimal point"
        )
    if len(whole) + len(fraction) > LIMITS.max_literal_digits:
        raise text.error(
            "number_too_large",
            f"the number has {len(whole) + len(fraction)} digits",
            start,
            j,
            f"number literals are limited to {LIMITS.max_literal_digits} digits",
        )
    mantissa = int(whole + fraction or "0")
    scale = exponent - len(fraction)
    value: sympy.Expr = (
        sympy.Integer(mantissa * 10**scale) if scale >= 0 else sympy.Rational(mantissa, 10**-scale)
    )
    if is_decimal and not exact_decimals:
        value = sympy.Float(value, POINT_PRECISION)
    return _Token("num", literal, start, j, value), j


def _tokenize(text: _Text, *, exact_decimals: bool, newline_is_space: bool) -> list[_Token]:
    s = text.normalized
    n = len(s)
    tokens: list[_Token] = []
    i = 0
    while i < n:
        char = s[i]
        if char == " " or (char == "\n" and newline_is_space):
            i += 1
        elif char in ";\n":
            tokens.append(_Token("sep", char, i, i + 1))
            i += 1
        elif "0" <= char <= "9" or (char == "." and i + 1 < n and "0" <= s[i + 1] <= "9"):
            token, i = _number(text, i, exact_decimals)
            tokens.append(token)
        elif char.isalpha() or char == "_":
            j = i + 1
            while j < n and (s[j].isalnum() or s[j] == "_"):
                j += 1
            name = s[i:j]
            slots = _D_SLOTS.match(s, j) if name == "D" else None
            if slots:  # D[1]f(u, v), ASCII for ∂₁f(u, v)
                tokens.append(_Token("partial", slots.group(1), i, slots.end()))
                i = slots.end()
                continue
            _check_name(name, text, i, j)
            tokens.append(_Token("name", name, i, j))
            i = j
            while j < n and s[j] in "′'":
                j += 1
            if j > i:  # f′(u) or f'(u): primes glued to a name
                tokens.append(_Token("prime", s[i:j], i, j))
                i = j
        elif char == "∂":
            # ∂₁f(u, v) arrives as ∂1f(u, v): the digits number the differentiated slots.
            j = i + 1
            while j < n and "1" <= s[j] <= "9":
                j += 1
            tokens.append(_Token("partial", s[i + 1 : j], i, j))
            i = j
        elif char == "√":
            tokens.append(_Token("root", char, i, i + 1))
            i += 1
        elif char == "|":
            tokens.append(_Token("bar", char, i, i + 1))
            i += 1
        elif char == "*" and s.startswith("**", i):
            tokens.append(_Token("op", "^", i, i + 2))
            i += 2
        elif char in "+-*/^":
            tokens.append(_Token("op", char, i, i + 1))
            i += 1
        elif char in "(),":
            tokens.append(_Token(char, char, i, i + 1))  # type: ignore[arg-type]
            i += 1
        elif char in "[]":  # [ ] group as ( ) do, as in d/dt [e^(2t)]; pairs are checked
            tokens.append(_Token("(" if char == "[" else ")", char, i, i + 1))
            i += 1
        elif char == "=":
            if s.startswith("==", i):
                raise text.error(
                    "unexpected_character",
                    "unexpected '=='",
                    i,
                    i + 2,
                    "a problem defines names with one '=': z = x^2",
                )
            tokens.append(_Token("=", char, i, i + 1))
            i += 1
        elif char == ".":
            after_name = bool(tokens) and tokens[-1].end == i and tokens[-1].kind in ("name", ")")
            raise text.error(
                "unexpected_character",
                "unexpected '.'",
                i,
                i + 1,
                "the input language has no attribute access"
                if after_name
                else "a decimal point needs digits, as in 0.5",
            )
        else:
            raise text.error(
                "unexpected_character",
                f"unexpected '{char}'",
                i,
                i + 1,
                _CHARACTER_HINTS.get(char),
            )
    tokens.append(_Token("end", "", n, n))
    return tokens


# --- syntax tree --------------------------------------------------------------------
# A tiny tree first, sympy second: the limits are checked on the tree, and n-ary sums and
# products are built in one sympy call instead of n nested ones.
# Tokens and nodes are NamedTuples: a frozen dataclass costs ~0.5 ms to define at import,
# a NamedTuple ~0.08 ms, and every `chainsolve` command imports the parser.


class _Num(NamedTuple):
    value: sympy.Expr
    start: int
    end: int


class _Name(NamedTuple):
    name: str
    start: int
    end: int


class _Call(NamedTuple):
    name: str
    args: tuple[_Node, ...]
    start: int
    end: int


class _Tuple(NamedTuple):
    """``(a, b)``: only inside ``Derivative(…)`` and ``Subs(…)``, as sympy writes them."""

    items: tuple[_Node, ...]
    start: int
    end: int


class _Partial(NamedTuple):
    """``∂₁f(u, v)``, ``f′(u)`` or ``∂f/∂x(x, y)``: unknown ``function`` differentiated in ``slots``."""

    function: str
    args: tuple[_Node, ...]
    slots: tuple[int, ...]
    start: int
    end: int


class _Neg(NamedTuple):
    operand: _Node
    start: int
    end: int


class _Chain(NamedTuple):
    """``a + b - c`` (op ``+``) or ``a * b / c`` (op ``*``); ``inverted`` marks ``-`` and ``/``."""

    op: str
    operands: tuple[_Node, ...]
    inverted: tuple[bool, ...]
    start: int
    end: int


class _Power(NamedTuple):
    base: _Node
    exponent: _Node
    start: int
    end: int


_Node = _Num | _Name | _Call | _Neg | _Chain | _Power | _Tuple | _Partial

#: sympy's names for derivatives of unknown functions, read back from chainsolve's JSON.
_STRUCTURAL = frozenset({"Derivative", "Subs"})
#: Tokens that may follow a number with the ``*`` left out: 2x, 2(x + 1), 2√x, 2∂₁f(u, v).
_IMPLICIT_AFTER_NUMBER = frozenset({"name", "(", "root", "partial"})

# What a factor ends with decides whether implicit multiplication may follow it.
_Shape = Literal["number", "paren", "other"]


class _Statement(NamedTuple):
    name: _Token | None
    expr: _Node
    start: int
    end: int
    #: The variables of a d/dx, dy/dx =, diff(…, x) or f(x) = written around the expression,
    #: in the order they differentiate (x, y for ∂²z/∂y∂x = ∂/∂y(∂z/∂x)).
    wrt: tuple[str, ...] = ()
    #: Whether the statement was written around its expression (d/dx, diff(…), f(x) =).
    wrapped: bool = False
    #: The operator written before it: ``d`` (d/dx) or ``∂`` (∂/∂x).
    operator: str = "d"
    #: The order of a Leibniz operator written before it (2 for d²/dx²); None without one.
    order: int | None = None


class _Around(NamedTuple):
    """What is written around an expression: d²y/dx² =, ∂/∂x, f(x) =, derivative of."""

    name: _Token | None = None
    wrt: tuple[str, ...] = ()
    wrapped: bool = False
    operator: str = "d"
    order: int | None = None


_CLOSING = {"(": ")", "[": "]"}


class _Parser:
    """Precedence climbing over the tokens, counting depth as it descends and nodes as it goes."""

    def __init__(
        self,
        text: _Text,
        tokens: list[_Token],
        *,
        allow_names: bool = True,
        variables: Collection[str] = (),
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.nodes = 0
        self.allow_names = allow_names
        self.variables: dict[str, _Token] = {}
        self.functions: dict[str, int] = {}
        #: Whether a reading beyond the plain grammar was made (juxtaposition, sin x, log_2):
        #: then the problem is echoed as read.
        self.guessed = False
        #: Names used as variables somewhere (not called, not defined), here or in the problem
        #: an answer is about: x(x+1) multiplies.
        self.plain_names = _plain_names(tokens) | set(variables)
        self.sums = _sums(tokens)

    # helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def error(self, code: str, what: str, token: _Token, hint: str | None = None) -> ParseError:
        return self.text.error(code, what, token.start, max(token.end, token.start + 1), hint)

    def count(self, token: _Token) -> None:
        self.nodes += 1
        if self.nodes > LIMITS.max_nodes:
            raise self.error(
                "too_many_nodes",
                f"the problem has more than {LIMITS.max_nodes} operations and terms",
                token,
                "split it into smaller definitions",
            )

    def descend(self, depth: int, token: _Token) -> None:
        if depth > LIMITS.max_depth:
            raise self.error(
                "too_deep",
                f"the expression nests more than {LIMITS.max_depth} levels deep",
                token,
                "name inner parts with definitions: u = ...; then use u",
            )

    def unexpected(self, token: _Token) -> ParseError:
        if token.kind in ("end", "sep"):
            previous = self.tokens[self.pos - 1] if self.pos else token
            what = f"the expression ends after '{previous.text}'" if self.pos else "no expression"
            return self.error("unexpected_end", what, token, "complete the expression")
        if token.kind == ")":
            return self.error(
                "unbalanced_parenthesis", "unexpected ')'", token, "this ')' has no matching '('"
            )
        hints = {
            ",": "a comma only separates a function's arguments; decimals use a point: 0.5",
            "=": "a definition is one 'name = expression' per line or between ';'",
        }
        return self.error(
            "unexpected_token", f"unexpected '{token.text}'", token, hints.get(token.kind)
        )

    # grammar
    def expression(self, depth: int) -> _Node:
        """sum := term (('+' | '-') term)*"""
        first = self.term(depth)
        operands = [first]
        inverted = [False]
        while self.peek().kind == "op" and self.peek().text in "+-":
            operator = self.advance()
            self.count(operator)
            operands.append(self.term(depth))
            inverted.append(operator.text == "-")
        if len(operands) == 1:
            return first
        return _Chain("+", tuple(operands), tuple(inverted), first.start, operands[-1].end)

    def term(self, depth: int) -> _Node:
        """product := unary (('*' | '/') unary | implicit power)*"""
        first, shape = self.unary(depth)
        operands = [first]
        inverted = [False]
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in "*/":
                self.advance()
                self.count(token)
                factor, shape = self.unary(depth)
                operands.append(factor)
                inverted.append(token.text == "/")
            elif token.kind in ("num", "name", "(", "root", "partial"):
                previous = self.tokens[self.pos - 1]
                implicit = (shape == "number" and token.kind in _IMPLICIT_AFTER_NUMBER) or (
                    previous.kind == ")" and token.kind == "("
                )
                if not implicit and self.juxtaposed(previous, token):
                    implicit = self.guessed = True
                if not implicit and token.text == "[":
                    raise self.error(
                        "unexpected_character",
                        "unexpected '['",
                        token,
                        "use ( ) for grouping, and x_0 for an index",
                    )
                if not implicit:
                    raise self.error(
                        "missing_operator",
                        f"missing operator between '{previous.text}' and '{token.text}'",
                        token,
                        f"write '*' to multiply: {previous.text}*{token.text}",
                    )
                self.count(token)
                factor, shape = self.power(depth)
                operands.append(factor)
                inverted.append(False)
            else:
                break
        if len(operands) == 1:
            return first
        return _Chain("*", tuple(operands), tuple(inverted), first.start, operands[-1].end)

    def juxtaposed(self, previous: _Token, token: _Token) -> bool:
        """Whether ``previous token`` reads unambiguously as a product: ``x cos(x)``,
        ``cos(x)sin(x)``, and ``x(x+1)`` when x is a variable elsewhere in the problem."""
        if token.kind == "name" and (
            token.text in FUNCTIONS or token.text in CONSTANTS or _LOG_BASE.fullmatch(token.text)
        ):
            return previous.kind in ("name", ")", "num")
        return (
            token.kind == "("
            and token.text == "("
            and previous.kind == "name"
            and previous.text in self.plain_names
        )

    def unary(self, depth: int) -> tuple[_Node, _Shape]:
        """unary := ('-' | '+') unary | power — so -x^2 is -(x^2)."""
        token = self.peek()
        if token.kind == "op" and token.text in "+-":
            self.advance()
            self.descend(depth + 1, token)
            operand, shape = self.unary(depth + 1)
            if token.text == "+":
                return operand, shape
            self.count(token)
            return _Neg(operand, token.start, operand.end), shape
        return self.power(depth)

    def power(self, depth: int) -> tuple[_Node, _Shape]:
        """power := primary ('^' unary)? — right-associative, and the exponent may be negated."""
        base, shape = self.primary(depth)
        token = self.peek()
        if token.kind == "op" and token.text == "^":
            self.advance()
            self.count(token)
            self.descend(depth + 1, token)
            exponent, _ = self.unary(depth + 1)
            return _Power(base, exponent, base.start, exponent.end), "other"
        return base, shape

    def primary(self, depth: int) -> tuple[_Node, _Shape]:
        token = self.advance()
        if token.kind == "num":
            self.count(token)
            assert token.value is not None
            return _Num(token.value, token.start, token.end), "number"
        if token.kind == "name":
            if token.text in _STRUCTURAL and self.peek().kind == "(":
                return self.structural(token, depth), "other"
            if self.peek().kind == "prime":
                return self.lagrange(token, depth), "other"
            following = self.peek()
            if following.text == "(" and not self.multiplies(token):
                return self.call(token, depth), "other"
            if token.text in FUNCTIONS and following.kind in ("name", "op"):
                return self.bare_call(token, depth), "other"
            return self.name(token), "other"
        if token.kind == "partial":
            return self.partial(token, depth), "other"
        if token.kind == "root":
            self.count(token)
            self.descend(depth + 1, token)
            radicand, _ = self.primary(depth + 1)
            return _Call("sqrt", (radicand,), token.start, radicand.end), "other"
        if token.kind == "bar":
            self.count(token)
            self.descend(depth + 1, token)
            inner = self.expression(depth + 1)
            if self.peek().kind != "bar":
                raise self.error(
                    "unbalanced_parenthesis",
                    "this '|' is never closed",
                    token,
                    "add the closing '|'",
                )
            closing = self.advance()
            return _Call("abs", (inner,), token.start, closing.end), "other"
        if token.kind == "(":
            if self.peek().kind == ")":
                raise self.error(
                    "unexpected_token", "empty parentheses", self.peek(), "put an expression inside"
                )
            self.descend(depth + 1, token)
            inner = self.expression(depth + 1)
            closing = self.peek()
            if closing.kind != ")":
                if closing.kind in ("end", "sep"):
                    raise self.error(
                        "unbalanced_parenthesis",
                        "this '(' is never closed",
                        token,
                        "add the missing ')'",
                    )
                raise self.unexpected(closing)
            self.advance()
            if _CLOSING[token.text] != closing.text:
                raise self.error(
                    "unbalanced_parenthesis",
                    f"'{token.text}' is closed by '{closing.text}'",
                    closing,
                    f"close it with '{_CLOSING[token.text]}'",
                )
            return inner, "paren"
        self.pos -= 1
        raise self.unexpected(token)

    def multiplies(self, token: _Token) -> bool:
        """Whether ``x(`` is x times a parenthesis: x is a variable elsewhere in the problem,
        not a usual function name, and the parenthesis holds a sum (``x(1)``, ``x(t)`` and
        ``f(x + 1)`` could be values of a function, and stay calls)."""
        name = token.text
        return (
            name in self.plain_names
            and name not in _FUNCTION_LETTERS
            and self.pos in self.sums
            and name not in FUNCTIONS
            and name not in CONSTANTS
            and name not in _COMMANDS
            and name not in _UNSUPPORTED
            and not _LOG_BASE.fullmatch(name)
        )

    def bare_call(self, token: _Token, depth: int) -> _Node:
        """``sin x``, ``sin^2 x`` and ``sin^2(x)``: a known function without its parentheses.

        Only a single name is read as a bare argument; ``sin x^2`` and ``sin^-1 x`` could be
        read two ways and are refused.
        """
        self.count(token)
        power: _Token | None = None
        if self.peek().kind == "op":
            if self.peek().text != "^":
                return self.name(token)
            self.advance()
            braced = self.peek().kind == "(" and self.peek(2).kind == ")"
            if braced and self.peek(1).kind == "num":  # \cos^{2}(x) arrives as cos^(2)(x)
                self.advance()
                power = self.advance()
                self.advance()
            else:
                power = self.advance()
            if power.kind != "num" or not (
                power.value is not None
                and power.value.is_Integer
                and 1 <= power.value <= _MAX_FUNCTION_POWER
            ):
                raise self.error(
                    "ambiguous_input",
                    f"'{token.text}^{power.text}…' could mean a power or an inverse function",
                    power,
                    f"write {token.text}(x)^2, or a{token.text}(x) for the inverse",
                )
        argument = self.peek()
        if argument.text == "(":
            call = self.call(token, depth)
        elif argument.kind == "name" and argument.text not in FUNCTIONS:
            self.advance()
            if self.peek().kind in ("(", "prime", "partial") or (
                self.peek().kind == "op" and self.peek().text == "^"
            ):
                raise self.error(
                    "ambiguous_input",
                    f"'{token.text} {argument.text}{self.peek().text}…' can be read two ways",
                    self.peek(),
                    f"write {token.text}(...) with the whole argument in parentheses",
                )
            call = _Call(token.text, (self.name(argument),), token.start, argument.end)
        else:
            return self.name(token)
        self.guessed = True
        if power is None:
            return call
        assert power.value is not None
        exponent = _Num(power.value, power.start, power.end)
        return _Power(call, exponent, token.start, call.end)

    def name(self, token: _Token) -> _Node:
        name = token.text
        self.count(token)
        if name in FUNCTIONS:
            raise self.error(
                "function_needs_parentheses",
                f"the function '{name}' needs its argument in parentheses",
                token,
                f"write {name}(x), and a power of it as {name}(x)^2",
            )
        if name in CONSTANTS:
            return _Name(name, token.start, token.end)
        if not self.allow_names:
            raise self.error(
                "bad_point", f"a value cannot use the name '{name}'", token, "give a number"
            )
        if name in self.functions:
            raise self.error(
                "function_and_variable",
                f"'{name}' is used both as a function and as a variable",
                token,
                "use different names for functions and variables",
            )
        self.variables.setdefault(name, token)
        return _Name(name, token.start, token.end)

    def call(self, token: _Token, depth: int) -> _Node:
        name = token.text
        self.count(token)
        opening = self.advance()
        args = self.arguments(opening, name, depth)
        closing = self.tokens[self.pos - 1]
        call_token = _Token("name", name, token.start, closing.end)
        if _CLOSING[opening.text] != closing.text:
            raise self.error(
                "unbalanced_parenthesis",
                f"'{opening.text}' is closed by '{closing.text}'",
                closing,
                f"write {name}(x)",
            )
        self.refuse_well_known(name, call_token)
        base = _LOG_BASE.fullmatch(name)
        if base or (name == "log" and len(args) == 2):
            return self.logarithm(args, base, call_token)
        subscript = _SUBSCRIPT_PARTIAL.fullmatch(name)
        names = [arg.name if isinstance(arg, _Name) else None for arg in args]
        if subscript and subscript.group(2) in names and subscript.group(1) not in self.variables:
            self.abstract(subscript.group(1), len(args), call_token)
            self.guessed = True
            slot = names.index(subscript.group(2)) + 1
            return _Partial(subscript.group(1), tuple(args), (slot,), token.start, closing.end)
        if name in FUNCTIONS:
            if len(args) not in FUNCTION_ARITIES.get(name, (1,)):
                raise self.error(
                    "wrong_arity",
                    f"{name} takes exactly one argument, not {len(args)}",
                    call_token,
                    f"write {name}(x)",
                )
        elif name in CONSTANTS:
            raise self.error(
                "unexpected_token",
                f"'{name}' is a constant, not a function",
                call_token,
                f"write {name}*(...) to multiply",
            )
        elif not self.allow_names:
            raise self.error("bad_point", f"a value cannot use the function '{name}'", call_token)
        else:
            self.abstract(name, len(args), call_token)
        return _Call(name, tuple(args), token.start, closing.end)

    def refuse_well_known(self, name: str, call_token: _Token) -> None:
        """Refuse a well-known name that chainsolve does not treat, rather than make it abstract."""
        if name in _COMMANDS:
            raise self.error(
                "misplaced_command",
                f"{name}(…) is read only around a whole problem",
                call_token,
                "write diff(sin(x^2), x) or d/dx sin(x^2) on its own",
            )
        if name in _UNSUPPORTED:
            raise self.error(
                "unsupported_function",
                f"'{name}' is a well-known function that chainsolve does not differentiate",
                call_token,
                "write each smooth piece as its own problem, e.g. x^2 where it is the larger",
            )

    def logarithm(self, args: list[_Node], base: re.Match[str] | None, call: _Token) -> _Node:
        """``log(x, 2)``, ``log_2(x)``, ``log10(x)``: ln(x)/ln(2), echoed as read."""
        if base is not None and len(args) == 1:
            digits = int(base.group(1))
            args = [args[0], _Num(sympy.Integer(digits), call.start, call.start)]
        if len(args) != 2:
            raise self.error(
                "wrong_arity", f"{call.text} takes one argument", call, f"write {call.text}(x)"
            )
        self.guessed = True
        value, base_node = args
        logs = (
            _Call("log", (value,), call.start, call.end),
            _Call("log", (base_node,), call.start, call.end),
        )
        return _Chain("*", logs, (False, True), call.start, call.end)

    def abstract(self, name: str, arity: int, call_token: _Token) -> None:
        """Check an unknown function's use: some arguments, one arity, not also a variable."""
        if not arity:
            raise self.error(
                "wrong_arity",
                f"{name}() needs at least one argument",
                call_token,
                f"write {name}(x)",
            )
        if name in self.variables:
            raise self.error(
                "function_and_variable",
                f"'{name}' is used both as a function and as a variable",
                call_token,
                "use different names for functions and variables",
            )
        if self.functions.setdefault(name, arity) != arity:
            raise self.error(
                "inconsistent_arity",
                f"{name} is called with {arity} arguments here "
                f"but {self.functions[name]} elsewhere",
                call_token,
                "an abstract function takes the same number of arguments everywhere",
            )

    def arguments(
        self, opening: _Token, name: str, depth: int, tuples: bool = False
    ) -> list[_Node]:
        """The comma-separated arguments after ``name(`` up to the closing ``)`` (consumed)."""
        self.descend(depth + 1, opening)
        args: list[_Node] = []
        if self.peek().kind != ")":
            while True:
                args.append(self.item(depth + 1) if tuples else self.expression(depth + 1))
                separator = self.peek()
                if separator.kind == ",":
                    self.advance()
                    continue
                if separator.kind == ")":
                    break
                if separator.kind in ("end", "sep"):
                    raise self.error(
                        "unbalanced_parenthesis",
                        f"the '(' of {name}( is never closed",
                        opening,
                        "add the missing ')'",
                    )
                raise self.unexpected(separator)
        self.advance()
        return args

    def item(self, depth: int) -> _Node:
        """An argument of ``Derivative``/``Subs``: an expression or a tuple ``(a, b)``."""
        if self.peek().kind == "(":
            saved = (self.pos, self.nodes)
            opening = self.advance()
            first = self.expression(depth + 1)
            if self.peek().kind == ",":
                self.advance()
                rest = self.arguments(opening, "(", depth)
                return _Tuple((first, *rest), opening.start, self.tokens[self.pos - 1].end)
            self.pos, self.nodes = saved  # a parenthesised expression, not a tuple
        return self.expression(depth)

    def structural(self, token: _Token, depth: int) -> _Node:
        """``Derivative(f(x, y), x)`` or ``Subs(Derivative(f(xi, t), xi), xi, g(t))``."""
        self.count(token)
        opening = self.advance()
        args = self.arguments(opening, token.text, depth, tuples=True)
        closing = self.tokens[self.pos - 1]
        minimum = 2 if token.text == "Derivative" else 3
        if len(args) < minimum or (token.text == "Subs" and len(args) != 3):
            raise self.error(
                "wrong_arity",
                f"{token.text} takes {'2 or more' if minimum == 2 else 'exactly 3'} arguments",
                _Token("name", token.text, token.start, closing.end),
                "write Derivative(f(x, y), x) or Subs(Derivative(f(xi), xi), xi, g(t))",
            )
        return _Call(token.text, tuple(args), token.start, closing.end)

    def lagrange(self, token: _Token, depth: int) -> _Node:
        """``f′(u)``: the derivative of an unknown function of one argument, at ``u``."""
        primes = self.advance()
        if len(primes.text) > _MAX_DERIVATIVE_ORDER:
            raise self.error(
                "unexpected_token",
                f"{len(primes.text)} primes: the order of a derivative is at most "
                f"{_MAX_DERIVATIVE_ORDER}",
                primes,
            )
        return self.evaluated_at(token, depth, (1,) * len(primes.text), one_argument=True)

    def partial(self, token: _Token, depth: int) -> _Node:
        """``∂₁f(u, v)`` (slots by number) or ``∂f/∂x(x, y)`` (slots by argument name)."""
        self.count(token)
        if token.text:
            name = self.advance()
            if name.kind != "name":
                raise self.unexpected(name)
            return self.evaluated_at(name, depth, tuple(int(d) for d in token.text))
        order = self.order()
        name = self.advance()
        variables: list[_Token] = []
        if name.kind != "name" or self.peek().kind != "op" or self.peek().text != "/":
            raise self.error(
                "unexpected_token", "a partial derivative reads ∂₁f(u, v) or ∂f/∂x(x, y)", token
            )
        self.advance()
        while self.peek().kind == "partial" and not self.peek().text:
            self.advance()
            variable = self.advance()
            if variable.kind != "name":
                raise self.unexpected(variable)
            variables += [variable] * self.order()
        node = self.evaluated_at(name, depth, ())
        assert isinstance(node, _Partial)
        names = [arg.name if isinstance(arg, _Name) else None for arg in node.args]
        slots = []
        for variable in variables:
            if variable.text not in names:
                raise self.error(
                    "unexpected_token",
                    f"'{variable.text}' is not an argument of {name.text}",
                    variable,
                    f"write ∂₁{name.text}(…) for the derivative by its first argument",
                )
            slots.append(names.index(variable.text) + 1)
        if not slots or len(slots) != order:
            raise self.error(
                "unexpected_token",
                f"∂{'^' + str(order) if order > 1 else ''}{name.text} is not over "
                f"{len(slots)} variables",
                token,
                "write ∂²f/∂x∂y(x, y) or ∂²f/∂x²(x, y)",
            )
        return node._replace(slots=tuple(slots))

    def order(self) -> int:
        """The ``^2`` of ``∂²`` or ``∂x²`` in a Leibniz derivative (1 when absent)."""
        if self.peek().kind != "op" or self.peek().text != "^":
            return 1
        self.advance()
        number = self.advance()
        if number.kind != "num" or not (
            number.value is not None
            and number.value.is_Integer
            and 1 <= number.value <= _MAX_DERIVATIVE_ORDER
        ):
            raise self.error(
                "unexpected_token",
                f"the order of a derivative is a whole number from 1 to {_MAX_DERIVATIVE_ORDER}",
                number,
            )
        return int(number.value)

    def evaluated_at(
        self, name: _Token, depth: int, slots: tuple[int, ...], one_argument: bool = False
    ) -> _Node:
        """The ``(u, v)`` of a derivative written ∂₁f(u, v) or f′(u), checked against ``slots``."""
        self.count(name)
        if name.text in FUNCTIONS or name.text in CONSTANTS:
            raise self.error(
                "unexpected_token",
                f"'{name.text}′' and '∂{name.text}' are written only for unknown functions",
                name,
                f"write the derivative of {name.text} itself",
            )
        opening = self.advance()
        if opening.kind != "(":
            raise self.error(
                "function_needs_parentheses",
                f"the derivative of '{name.text}' needs its argument in parentheses",
                name,
                f"write {name.text}′(x)",
            )
        args = self.arguments(opening, name.text, depth)
        closing = self.tokens[self.pos - 1]
        call_token = _Token("name", name.text, name.start, closing.end)
        self.abstract(name.text, len(args), call_token)
        if one_argument and len(args) != 1:
            raise self.error(
                "wrong_arity",
                f"{name.text}′ is written for a function of one argument",
                call_token,
                f"write ∂₁{name.text}(…) for the derivative by the first argument",
            )
        if any(slot > len(args) for slot in slots):
            raise self.error(
                "wrong_arity",
                f"{name.text} has {len(args)} arguments: no slot {max(slots)}",
                call_token,
                f"∂₁{name.text}(…) is the derivative by the first argument",
            )
        return _Partial(name.text, tuple(args), slots, name.start, closing.end)

    def statements(self) -> list[_Statement]:
        """problem := (definition | expression)? (sep (definition | expression)?)*"""
        found: list[_Statement] = []
        while True:
            while self.peek().kind == "sep":
                self.advance()
            start = self.peek()
            if start.kind == "end":
                return found
            around = _Around()
            if start.kind != "name" or self.peek(1).kind != "=":
                around = self.wrapper()
            name, wrt, wrapped = around.name, around.wrt, around.wrapped
            if name is not None:
                self.define(name)
            elif start.kind == "name" and self.peek(1).kind == "=":
                name = self.advance()
                equals = self.advance()
                self.define(name)
                if self.peek().kind in ("sep", "end"):
                    raise self.text.error(
                        "empty_definition",
                        f"'{name.text} =' has no expression",
                        name.start,
                        equals.end,
                        f"write {name.text} = <expression>",
                    )
            command = self.command() if name is None and not wrapped else None
            if command is not None:
                expr, variable = command
                wrt, wrapped = (() if variable is None else (variable,)), True
            else:
                expr = self.expression(0)
            after = self.peek()
            if after.kind == "=":
                hint = (
                    "one '=' per definition; put each on its own line or between ';'"
                    if name
                    else "a definition starts with a name: z = x^2"
                )
                raise self.error("unexpected_token", "unexpected '='", after, hint)
            if after.kind not in ("sep", "end"):
                raise self.unexpected(after)
            found.append(
                _Statement(
                    name, expr, start.start, expr.end, wrt, wrapped, around.operator, around.order
                )
            )

    def wrapper(self) -> _Around:
        """Read what is written around an expression: ``d/dx``, ``dy/dx =``, ``∂²/∂x²``,
        ``f(x) =``, ``derivative of``: the target's name, the variables, the order."""
        first, second = self.peek(), self.peek(1)
        leibniz = self.leibniz()
        if leibniz is not None:
            return leibniz
        if first.kind == "name" and second.text == "(":
            k = 2
            arguments: list[str] = []
            while self.peek(k).kind == "name" and self.peek(k + 1).kind in (",", ")"):
                arguments.append(self.peek(k).text)
                k += 2
                if self.peek(k - 1).kind == ")":
                    break
            if arguments and self.peek(k - 1).kind == ")" and self.peek(k).kind == "=":
                self.pos += k + 1
                return _Around(first, tuple(arguments[:1]) if len(arguments) == 1 else (), True)
        if first.text == "derivative" and second.text == "of":
            self.pos += 2
            return _Around(wrapped=True)
        if first.text == "differentiate" and second.text not in ("(", "["):
            self.pos += 1
            return _Around(wrapped=True)
        return _Around()

    def leibniz(self) -> _Around | None:
        """Leibniz's operator before a problem: ``d/dx E``, ``d^2/dx^2 E``, ``dy/dx = E``,
        ``d^2 y/dx^2 = E``, ``∂/∂x E``, ``∂z/∂x = E``, ``∂^2 z/∂y ∂x = E``; None for none."""
        first = self.peek()
        glued = _DIFFERENTIAL.fullmatch(first.text) if first.kind == "name" else None
        if first.kind == "partial" and not first.text:
            mark = "∂"
        elif first.kind == "name" and (first.text == "d" or glued):
            mark = "d"
        else:
            return None
        # dy/dx: the name is glued to its d; otherwise d^2 y, ∂z, ∂^2 z.
        named = _Token("name", glued.group(1), first.start, first.end) if glued else None
        written, k = (None, 1) if glued else self.order_ahead(1)
        if named is None and self.peek(k).kind == "name" and self.is_over(k + 1):
            named, k = self.peek(k), k + 1
        if not self.is_over(k):
            return None
        below, k = self.differentials(mark, k + 1)
        follows = self.peek(k)
        if not below or not (
            follows.kind == "=" if named else follows.kind in ("(", "name", "num", "root")
        ):
            return None
        operator = _Token("op", "", first.start, self.peek(k - 1).end)
        wrt, order = self.differentiated(below, written, operator)
        self.pos += k + (named is not None)
        return _Around(named, wrt, True, mark, order)

    def is_over(self, k: int) -> bool:
        return self.peek(k).kind == "op" and self.peek(k).text == "/"

    def order_ahead(self, k: int) -> tuple[int | None, int]:
        """The order written as ``^2`` at ``k`` tokens ahead (None when absent), and what follows."""
        power, number = self.peek(k), self.peek(k + 1)
        if power.kind != "op" or power.text != "^" or number.kind != "num":
            return None, k
        if not (number.value is not None and number.value.is_Integer and number.value >= 0):
            return None, k
        return int(number.value), k + 2

    def differentials(self, mark: str, k: int) -> tuple[list[tuple[_Token, int]], int]:
        """The ``dx^2`` or ``∂y ∂x`` below a Leibniz operator: each variable with its power."""
        below: list[tuple[_Token, int]] = []
        while True:
            token = self.peek(k)
            if mark == "∂" and token.kind == "partial" and not token.text:
                variable, k = self.peek(k + 1), k + 2
                if variable.kind != "name":
                    return [], k
            elif mark == "d" and not below and token.kind == "name":
                glued = _DIFFERENTIAL.fullmatch(token.text)
                if glued is None:
                    return [], k
                variable, k = token._replace(text=glued.group(1)), k + 1
            else:
                return below, k
            power, k = self.order_ahead(k)
            below.append((variable, 1 if power is None else power))

    def differentiated(
        self, below: list[tuple[_Token, int]], written: int | None, operator: _Token
    ) -> tuple[tuple[str, ...], int]:
        """The variables in the order they differentiate (∂²/∂y∂x: x, then y) and the order."""
        # ∂²z/∂y∂x is ∂/∂y(∂z/∂x): the variable written last is differentiated first.
        above = 1 if written is None else written
        powers = [above] + [power for _, power in below]
        if not all(1 <= power <= _MAX_DERIVATIVE_ORDER for power in powers):
            raise self.error(
                "unexpected_token",
                f"the order of a derivative is a whole number from 1 to {_MAX_DERIVATIVE_ORDER}",
                operator,
            )
        sequence = [variable.text for variable, power in reversed(below) for _ in range(power)]
        order = len(sequence)
        if order != above:
            raise self.error(
                "unexpected_token",
                f"the order above is {above} and the order below is {order}",
                operator,
                "write d^2/dx^2, ∂^2/∂x^2 or ∂^2/∂y∂x",
            )
        wrt = tuple(dict.fromkeys(sequence))
        if len(wrt) > 1 and order != 2:
            raise self.error(
                "unexpected_token",
                "a mixed partial derivative is read for two variables, of order 2",
                operator,
                "write ∂^2/∂y∂x, or differentiate step by step",
            )
        return wrt, order

    def command(self) -> tuple[_Node, str | None] | None:
        """``diff(sin(x^2), x)``: a command of SymPy or Wolfram style around the whole problem."""
        token = self.peek()
        if token.kind != "name" or token.text not in _COMMANDS or self.peek(1).kind != "(":
            return None
        self.advance()
        opening = self.advance()
        args = self.arguments(opening, token.text, 0)
        closing = self.tokens[self.pos - 1]
        variable = args[1] if len(args) == 2 else None
        if not 1 <= len(args) <= 2 or not (
            variable is None or (isinstance(variable, _Name) and variable.name not in CONSTANTS)
        ):
            raise self.error(
                "wrong_arity",
                f"{token.text}(…) takes an expression and a variable",
                _Token("name", token.text, token.start, closing.end),
                f"write {token.text}(sin(x^2), x)",
            )
        self.guessed = True
        return args[0], variable.name if isinstance(variable, _Name) else None

    def define(self, name: _Token) -> None:
        if name.text in CONSTANTS:
            raise self.error(
                "constant_redefined",
                f"'{name.text}' is a constant and cannot be redefined",
                name,
                "choose another name",
            )
        if name.text in FUNCTIONS:
            raise self.error(
                "reserved_name",
                f"'{name.text}' is a function of the input language",
                name,
                "choose another name",
            )
        if name.text in self.functions:
            raise self.error(
                "function_and_variable",
                f"'{name.text}' is used both as a function and as a variable",
                name,
                "use different names for functions and variables",
            )
        self.variables.setdefault(name.text, name)

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            if token.kind == "sep":
                raise self.error(
                    "unexpected_token", "unexpected ';'", token, "this is a single expression"
                )
            if token.kind == "=":
                raise self.error(
                    "unexpected_token",
                    "unexpected '='",
                    token,
                    "this is an expression, not a definition",
                )
            raise self.unexpected(token)


def _plain_names(tokens: list[_Token]) -> frozenset[str]:
    """Names used as variables: neither called, defined, differentiated nor after ∂."""
    names = set()
    for index, token in enumerate(tokens[:-1]):
        after = tokens[index + 1]
        before = tokens[index - 1] if index else None
        if token.kind != "name" or after.kind in ("prime", "=") or after.text == "(":
            continue
        if before is not None and before.kind == "partial":
            continue
        names.add(token.text)
    return frozenset(names)


def _sums(tokens: list[_Token]) -> frozenset[int]:
    """The positions of the openings whose parenthesis holds a sum and no comma: one pass."""
    found: set[int] = set()
    open_: list[list[int | bool]] = []  # [position, holds a sum, holds a comma]
    for index, token in enumerate(tokens):
        if token.kind == "(":
            open_.append([index, False, False])
        elif token.kind == ")" and open_:
            position, holds_sum, holds_comma = open_.pop()
            if holds_sum and not holds_comma:
                found.add(int(position))
        elif open_ and token.kind == ",":
            open_[-1][2] = True
        elif open_ and token.kind == "op" and token.text in "+-":
            open_[-1][1] = True
    return frozenset(found)


# Names that usually mean a function: f(x + 1) stays a call even where f is also a variable.
_FUNCTION_LETTERS = frozenset("fghFGH")
_PRECEDENCE = {"+": 1, "*": 2}


def _spelled(node: _Node, outer: int = 0) -> str | None:
    """The tree in plain text with every operator written (``2·x·cos(x)``); None for ∂ forms."""
    text: str | None
    precedence = 4
    if isinstance(node, _Num):
        text = str(node.value)
        precedence = 4 if node.value.is_Integer else 2
    elif isinstance(node, _Name):
        text = node.name
    elif isinstance(node, _Call):
        args = [_spelled(arg) for arg in node.args]
        name = "ln" if node.name == "log" else node.name
        text = None if None in args else f"{name}({', '.join(str(a) for a in args)})"
    elif isinstance(node, _Neg):
        operand = _spelled(node.operand, 2)
        text, precedence = (None if operand is None else f"-{operand}"), 1
    elif isinstance(node, _Chain):
        precedence = _PRECEDENCE[node.op]
        parts = [_spelled(o, precedence + (i > 0)) for i, o in enumerate(node.operands)]
        marks = (" - ", " + ") if node.op == "+" else ("/", "·")
        text = None if None in parts else str(parts[0])
        for part, inverted in zip(parts[1:], node.inverted[1:], strict=True):
            text = None if text is None else f"{text}{marks[0] if inverted else marks[1]}{part}"
    elif isinstance(node, _Power):
        base, exponent = _spelled(node.base, 4), _spelled(node.exponent, 3)
        text = None if base is None or exponent is None else f"{base}^{exponent}"
        precedence = 3
    else:
        return None
    if text is not None and precedence < outer:
        return f"({text})"
    return text


def _spelled_statement(statement: _Statement, called: str | None = None) -> str | None:
    """A statement as read, with what was written around it: ``d/dx sin(x^2)``, ``f(x) = …``."""
    expr = _spelled(statement.expr, 2 if statement.wrt and statement.name is None else 0)
    if expr is None:
        return None
    if statement.name is not None:
        name = statement.name.text
        if (statement.order or 1) > 1:  # d^2y/dx^2 = …: the order is part of the problem
            return f"{_spelled_operator(statement, name)} = {expr}"
        return f"{name}{called} = {expr}" if called else f"{name} = {expr}"
    if statement.wrt:
        return f"{_spelled_operator(statement)} {expr}"
    return f"the derivative of {expr}" if statement.wrapped else expr


def _spelled_operator(statement: _Statement, name: str = "") -> str:
    """The operator before a problem as read: d/dx, d^2/dx^2, ∂^2 z/∂y∂x (with ``name``)."""
    mark, order = statement.operator, statement.order or 1
    if order == 1:
        return f"{mark}{name}/{mark}{statement.wrt[0]}"
    top = f"{mark}^{order}{' ' + name if name else ''}"
    if len(statement.wrt) == 1:
        return f"{top}/{mark}{statement.wrt[0]}^{order}"
    return f"{top}/" + "".join(mark + variable for variable in reversed(statement.wrt))


# --- building sympy -----------------------------------------------------------------


def _log10_abs(number: sympy.Expr) -> float:
    """log10 of ``|number|`` for a sympy Rational or Float, never making a huge float."""
    if number.is_zero:
        return -math.inf
    if number.is_Rational:
        return math.log10(abs(int(number.p))) - math.log10(int(number.q))
    _sign, mantissa, exponent, _bits = number._mpf_
    return math.log10(int(mantissa)) + int(exponent) * math.log10(2)


def _digits(number: sympy.Expr) -> float:
    """Roughly how many digits it takes to write ``number`` exactly (0 for 0 and ±1)."""
    if number.is_zero:
        return 0.0
    if number.is_Rational:
        p, q = abs(int(number.p)), int(number.q)
        return (math.log10(p) if p > 1 else 0.0) + (math.log10(q) if q > 1 else 0.0)
    return abs(_log10_abs(number))


def _constant_power_digits(base: sympy.Expr, exponent: sympy.Expr) -> float:
    """Roughly log10 |base^exponent| for constants such as e^(e^e) (0 when it cannot tell).

    Both parts were bounded when they were built, so 15-digit values of them are cheap;
    the power itself may not be (e^e^e^e has about 1.6 million digits, and sin of it needs
    as many digits of π).
    """
    base_value = sympy.N(base, 15)
    exponent_value = sympy.N(exponent, 15)
    if not (base_value.is_Float and exponent_value.is_Float) or base_value.is_zero:
        return 0.0
    return float(exponent_value) * _log10_abs(base_value)


def _growing_digits(base: sympy.Expr) -> float:
    """Digits of the numbers in ``base`` that a power multiplies out (not those in exponents)."""
    size = 0.0
    stack = [base]
    while stack:
        expr = stack.pop()
        if expr.is_Number:
            size += _digits(expr)
        elif expr.is_Pow:
            # (b^k)^n becomes b^(k*n): b grows, the exponent k only gets multiplied.
            stack.append(expr.base)
        else:
            stack.extend(expr.args)
    return size


#: Highest order read in ``Derivative(f(x), (x, n))``.
_MAX_DERIVATIVE_ORDER = 10


class _Builder:
    """Turns the checked tree into sympy, refusing powers whose evaluation could blow up."""

    def __init__(self, text: _Text) -> None:
        self.text = text
        self.symbols: dict[str, sympy.Symbol] = {}
        self.functions: dict[str, sympy.FunctionClass] = {}
        self.deadline = time.thread_time() + LIMITS.max_build_cpu_seconds

    def build(self, node: _Node) -> sympy.Expr:
        try:
            expr = self.node(node)
        except RecursionError:
            # sympy's own assumption queries recurse; very deep input can exhaust the stack.
            raise self.text.error(
                "too_deep",
                "the expression nests too deeply to build",
                node.start,
                node.end,
                "name inner parts with definitions: u = ...; then use u",
            ) from None
        if expr.has(sympy.zoo, sympy.nan):
            raise self.text.error(
                "undefined_value",
                "the expression divides by zero or is otherwise undefined",
                node.start,
                node.end,
                "check for division by zero, like 1/0 or log(0)",
            )
        # sympy merges exponents ((x^9999)^9999, x^9000*x^9000): check what it made too.
        for power in expr.atoms(sympy.Pow):
            if power.exp.is_Number and _log10_abs(power.exp) > math.log10(
                LIMITS.max_symbolic_exponent
            ):
                raise self.text.error(
                    "exponent_too_large",
                    "the combined exponent is too large",
                    node.start,
                    node.end,
                    f"exponents of a variable are limited to ±{LIMITS.max_symbolic_exponent}",
                )
        return expr

    def node(self, node: _Node) -> sympy.Expr:
        expr = self.evaluate(node)
        # Checked after each node: sympy's slow cases grow gradually with depth, so the
        # build stops soon after the budget, never long after it.
        if time.thread_time() > self.deadline:
            raise self.text.error(
                "too_complex",
                "the expression is too complex to build in time",
                node.start,
                node.end,
                "name inner parts with definitions: u = ...; then use u",
            )
        return expr

    def evaluate(self, node: _Node) -> sympy.Expr:
        if isinstance(node, _Num):
            return node.value
        if isinstance(node, _Name):
            if node.name in CONSTANTS:
                return CONSTANTS[node.name]
            if node.name not in self.symbols:
                self.symbols[node.name] = make_symbol(node.name)
            return self.symbols[node.name]
        if isinstance(node, _Neg):
            return -self.node(node.operand)
        if isinstance(node, _Chain):
            values = [self.node(operand) for operand in node.operands]
            if node.op == "+":
                return sympy.Add(
                    *(-v if inv else v for v, inv in zip(values, node.inverted, strict=True))
                )
            return sympy.Mul(
                *(
                    sympy.Pow(v, -1) if inv else v
                    for v, inv in zip(values, node.inverted, strict=True)
                )
            )
        if isinstance(node, _Partial):
            return self.partial(node)
        if isinstance(node, _Tuple):
            raise self.text.error(
                "unexpected_token",
                "a tuple ( , ) is only read inside Derivative(…) and Subs(…)",
                node.start,
                node.end,
                "use ( ) for grouping, and a comma only between arguments",
            )
        if isinstance(node, _Call) and node.name == "Derivative":
            return self.derivative(node)
        if isinstance(node, _Call) and node.name == "Subs":
            return self.subs(node)
        if isinstance(node, _Call):
            args = [self.node(arg) for arg in node.args]
            if node.name in FUNCTIONS:
                if node.name == "Heaviside" and len(args) == 2 and not args[1].is_number:
                    raise self.text.error(
                        "bad_argument",
                        "the second argument of Heaviside is its value at 0 and must be a number",
                        node.start,
                        node.end,
                        "write Heaviside(x) or Heaviside(x, 1/2)",
                    )
                value = FUNCTIONS[node.name](*args)
                if value in (sympy.oo, sympy.S.NegativeInfinity):
                    # atanh(±1) is ±oo, which a power or product would take in (2^oo, oo*x):
                    # refused here. (Complex infinity, log(0), is refused once built.)
                    raise self.text.error(
                        "undefined_value",
                        "the expression divides by zero or is otherwise undefined",
                        node.start,
                        node.end,
                        f"{node.name} is infinite at this argument",
                    )
                return self.real(value, node, f"{node.name} is not real at this argument")
            return self.function(node.name)(*args)
        return self.power(node)

    def function(self, name: str) -> sympy.FunctionClass:
        """The unknown function called ``name`` (one class per name, real-valued)."""
        if name not in self.functions:
            self.functions[name] = sympy.Function(name, real=True)
        return self.functions[name]

    def partial(self, node: _Partial) -> sympy.Expr:
        """∂₁f(u, v) as sympy writes it: ``Subs(Derivative(f(ξ, v), ξ), ξ, u)``.

        A slot whose value is a variable found in no other argument is differentiated
        directly: ∂₁f(x, t) is ``Derivative(f(x, t), x)``.
        """
        values = [self.node(arg) for arg in node.args]
        slots = sorted(set(node.slots))
        bound: dict[int, sympy.Symbol] = {}
        for slot in slots:
            value = values[slot - 1]
            others = set().union(*(v.free_symbols for i, v in enumerate(values) if i != slot - 1))
            if not (isinstance(value, sympy.Symbol) and value not in others):
                bound[slot] = sympy.Dummy(f"xi_{slot}", real=True)
        arguments = [bound.get(i + 1, v) for i, v in enumerate(values)]
        variables = [bound.get(slot, values[slot - 1]) for slot in node.slots]
        derivative = sympy.Derivative(self.function(node.function)(*arguments), *variables)
        if not bound:
            return derivative
        return sympy.Subs(
            derivative, tuple(bound.values()), tuple(values[slot - 1] for slot in bound)
        )

    def derivative(self, node: _Call) -> sympy.Expr:
        """``Derivative(f(x, y), x, (y, 2))``: read only for unknown functions, as JSON writes it."""
        function = self.node(node.args[0])
        if not isinstance(function, AppliedUndef):
            raise self.text.error(
                "unexpected_token",
                "Derivative(…) is read only for unknown functions like f(x, y)",
                node.start,
                node.end,
                "write the derivative itself, not Derivative(…) of a known expression",
            )
        variables: list[tuple[sympy.Expr, int]] = []
        for item in node.args[1:]:
            parts = item.items if isinstance(item, _Tuple) else (item,)
            variable = self.node(parts[0])
            count = self.node(parts[1]) if len(parts) == 2 else sympy.S.One
            if (
                len(parts) > 2
                or variable not in function.args
                or not (count.is_Integer and 1 <= count <= _MAX_DERIVATIVE_ORDER)
            ):
                raise self.text.error(
                    "unexpected_token",
                    "each variable of Derivative(…) is an argument of the function, "
                    f"with an order from 1 to {_MAX_DERIVATIVE_ORDER}",
                    item.start,
                    item.end,
                    "write Derivative(f(x, y), x) or Derivative(f(x), (x, 2))",
                )
            variables.append((variable, int(count)))
        return sympy.Derivative(function, *variables)

    def subs(self, node: _Call) -> sympy.Expr:
        """``Subs(Derivative(f(xi, t), xi), xi, g(t))``: a derivative of f evaluated at a point."""
        inner, names, values = node.args
        name_nodes = names.items if isinstance(names, _Tuple) else (names,)
        value_nodes = values.items if isinstance(values, _Tuple) else (values,)
        derivative = self.node(inner)
        variables = [self.node(n) for n in name_nodes]
        if (
            not isinstance(derivative, sympy.Derivative)
            or not all(isinstance(n, _Name) for n in name_nodes)
            or len(set(variables)) != len(variables)
            or len(value_nodes) != len(name_nodes)
        ):
            raise self.text.error(
                "unexpected_token",
                "Subs(…) is read as Subs(Derivative(…), names, values) with one value per name",
                node.start,
                node.end,
                "write Subs(Derivative(f(xi, t), xi), xi, g(t))",
            )
        return sympy.Subs(derivative, tuple(variables), tuple(self.node(v) for v in value_nodes))

    def power(self, node: _Power) -> sympy.Expr:
        base = self.node(node.base)
        exponent = self.node(node.exponent)
        if exponent.is_Number:
            if not base.is_Number and _log10_abs(exponent) > math.log10(
                LIMITS.max_symbolic_exponent
            ):
                raise self.text.error(
                    "exponent_too_large",
                    "the exponent is too large",
                    node.start,
                    node.end,
                    f"exponents of a variable are limited to ±{LIMITS.max_symbolic_exponent}",
                )
            # sympy evaluates numeric powers eagerly (and distributes over products), so
            # estimate the digits of every number in the base raised to this power first.
            size = _growing_digits(base)
            if size > 0 and _log10_abs(exponent) + math.log10(size) > math.log10(
                LIMITS.max_power_digits
            ):
                raise self.text.error(
                    "number_too_large",
                    "this power is too large to compute",
                    node.start,
                    node.end,
                    f"powers of numbers are limited to about {LIMITS.max_power_digits} digits",
                )
        elif base.is_number and exponent.is_number:
            magnitude = _constant_power_digits(base, exponent)
            if abs(magnitude) > LIMITS.max_power_digits:
                raise self.text.error(
                    "number_too_large",
                    f"this power is too {'large' if magnitude > 0 else 'small'} to compute",
                    node.start,
                    node.end,
                    f"constants are limited to about {LIMITS.max_power_digits} digits"
                    f" (this one has about {abs(magnitude):.3g})",
                )
        if base.is_number and base.is_negative and exponent.free_symbols:
            raise self.text.error(
                "not_real",
                "a negative number to a variable power is not real",
                node.start,
                node.end,
                "(-2)^x is real only at whole-number x; chainsolve differentiates real functions",
            )
        result: sympy.Expr = sympy.Pow(base, exponent)
        hint = "an even root of a negative number is not real"
        # The hint is for a constant only (a variable's power is real): no assumptions asked.
        if base.is_number and base.is_negative and exponent.is_Rational and exponent.q % 2 == 1:
            hint = f"for the real root write -({-base}^({exponent}))"
        return self.real(result, node, hint)

    def real(self, value: sympy.Expr, node: _Call | _Power, hint: str) -> sympy.Expr:
        """``value``, refused if it is a constant that is not a real number (sqrt(-4), log(-1)).

        chainsolve differentiates real functions of real variables; sympy would carry on
        with 2i or iπ and every later step would be about complex numbers.
        """
        if not value.free_symbols and value.is_extended_real is False:
            raise self.text.error(
                "not_real", "this is not a real number", node.start, node.end, hint
            )
        return value


class _TypedBuilder(_Builder):
    """The tree as the student typed it, sympy's automatic rewrites off: ``abs(x)^3`` stays a power.

    Runs after :class:`_Builder` accepted the same tree, so its refusals (sizes, real values,
    division by zero, the time budget) are not repeated. Each node is built with
    ``evaluate=False`` rather than under sympy's global ``evaluate(False)``, whose every switch
    clears sympy's cache. Derivatives of unknown functions are built as the evaluated form
    builds them: they have no structure of their own to keep.
    """

    def __init__(self, text: _Text, functions: dict[str, sympy.FunctionClass]) -> None:
        super().__init__(text)
        # The same function classes as the evaluated form, so that both forms use one f.
        self.functions = functions
        self.evaluated = _Builder(text)
        self.evaluated.functions = functions
        self.evaluated.deadline = math.inf

    def build(self, node: _Node) -> sympy.Expr:
        return _plain_numbers(self.node(node))

    def partial(self, node: _Partial) -> sympy.Expr:
        return self.evaluated.partial(node)

    def derivative(self, node: _Call) -> sympy.Expr:
        return self.evaluated.derivative(node)

    def subs(self, node: _Call) -> sympy.Expr:
        return self.evaluated.subs(node)

    def node(self, node: _Node) -> sympy.Expr:
        return self.evaluate(node)

    def evaluate(self, node: _Node) -> sympy.Expr:
        if isinstance(node, _Neg):
            return _negated(self.node(node.operand))
        if isinstance(node, _Chain):
            values = [self.node(operand) for operand in node.operands]
            inverted = zip(values, node.inverted, strict=True)
            if node.op == "+":
                return sympy.Add(
                    *(_negated(v) if inv else v for v, inv in inverted), evaluate=False
                )
            factors = (sympy.Pow(v, -1, evaluate=False) if inv else v for v, inv in inverted)
            return sympy.Mul(*factors, evaluate=False)
        if isinstance(node, _Call) and node.name in FUNCTIONS:
            args = [self.node(arg) for arg in node.args]
            return FUNCTIONS[node.name](*args, evaluate=False)
        return super().evaluate(node)

    def power(self, node: _Power) -> sympy.Expr:
        return sympy.Pow(self.node(node.base), self.node(node.exponent), evaluate=False)


def _negated(value: sympy.Expr) -> sympy.Expr:
    return sympy.Mul(sympy.S.NegativeOne, value, evaluate=False)


def _plain_numbers(expr: sympy.Expr) -> sympy.Expr:
    """A typed tree with only its arithmetic on plain numbers done, innermost first.

    ``-0.5*x^2`` is (−1/2)·x² rather than −1·(1/2·x²), ``2*3`` is 6, ``x/2`` is (1/2)·x, and
    ``e^x`` is exp(x); everything else (powers, functions, the order of a quotient) stays
    as typed.
    """

    def kept(node: sympy.Basic) -> sympy.Basic | None:
        return node if isinstance(node, (sympy.Derivative, sympy.Subs)) else None

    result: sympy.Expr = bottom_up(expr, _plain_node, kept)
    return result


def _plain_node(node: sympy.Expr, args: tuple[sympy.Expr, ...]) -> sympy.Expr:
    """One node of :func:`_plain_numbers`, its arguments already done."""
    if all(arg.is_Number for arg in args):
        return node.func(*args)  # a constant of plain numbers: 6, 1/2, √2
    if isinstance(node, sympy.Pow) and args[1] in (0, 1):
        return node.func(*args)  # u⁰ is 1 and u¹ is u: no rule to show for either
    if isinstance(node, sympy.Pow) and args[0] == sympy.E:
        return sympy.exp(args[1], evaluate=False)
    if isinstance(node, sympy.Mul):
        factors = [f for arg in args for f in sympy.Mul.make_args(arg)]
        coefficient = sympy.Mul(*(f for f in factors if f.is_Number))
        rest = [f for f in factors if not f.is_Number]
        if coefficient == 0:
            return sympy.S.Zero
        if coefficient != 1:
            rest.insert(0, coefficient)
        return rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=False)
    if isinstance(node, sympy.Add):
        terms = [t for arg in args for t in sympy.Add.make_args(arg) if t != 0]
        if len(terms) <= 1:
            return terms[0] if terms else sympy.S.Zero
        return sympy.Add(*terms, evaluate=False)
    if args == node.args:
        return node
    return node.func(*args, evaluate=False)


# --- public API -----------------------------------------------------------------------


def _parse_one(
    text: str,
    source: str,
    offset: int,
    exact_decimals: bool,
    allow_names: bool,
    variables: Collection[str] = (),
) -> tuple[sympy.Expr, _Text]:
    check_length(text)
    prepared = _prepare(text, source, offset)
    tokens = _tokenize(prepared, exact_decimals=exact_decimals, newline_is_space=True)
    if tokens[0].kind == "end":
        raise prepared.error("empty_input", "the expression is empty", 0, 0, "type an expression")
    parser = _Parser(prepared, tokens, allow_names=allow_names, variables=variables)
    tree = parser.expression(0)
    parser.expect_end()
    return _Builder(prepared).build(tree), prepared


def parse_expression(
    text: str,
    *,
    source: str | None = None,
    offset: int = 0,
    exact_decimals: bool = True,
    variables: Collection[str] = (),
) -> sympy.Expr:
    """Parse one expression such as ``3x^2 + sin(x)`` into sympy.

    ``source`` is the whole text ``text`` was cut from and ``offset`` where it starts
    there, so error spans point into ``source``. Decimals become exact rationals unless
    ``exact_decimals`` is false, when they become 30-digit ``Float``s. ``variables`` are
    names known to be variables (those of the problem an answer is about): ``y(x + 1)``
    multiplies for a variable y, as it does when y appears on its own elsewhere.

    >>> parse_expression("-x^2 + 0.5")
    1/2 - x**2
    """
    expr, _ = _parse_one(
        text,
        text if source is None else source,
        offset,
        exact_decimals,
        allow_names=True,
        variables=variables,
    )
    return expr


def parse_problem(
    text: str,
    *,
    wrt: Sequence[str] | None = None,
    point: Mapping[str, sympy.Expr] | None = None,
) -> Problem:
    """Parse one expression or definitions ``name = expr`` (target first) into a :class:`Problem`.

    Definitions are separated by ``;`` or new lines. A bare expression gets a target name
    that clashes with none of the user's (``y`` first). Raises :class:`ParseError` for bad
    text and :class:`~chainsolve.errors.ProblemError` (from ``build_problem``) for cycles,
    duplicates, unknown ``wrt`` names and the like.

    >>> p = parse_problem("z = x^2*y; x = cos(t); y = exp(t)")
    >>> p.target, p.inputs
    ('z', ('t',))
    """
    check_length(text)
    prepared = _prepare(text, text, 0)
    tokens = _tokenize(prepared, exact_decimals=True, newline_is_space=False)
    parser = _Parser(prepared, tokens)
    statements = parser.statements()
    if not statements:
        raise prepared.error(
            "empty_input", "the problem is empty", 0, len(prepared.normalized), "type an expression"
        )
    bare = [s for s in statements if s.name is None]
    if bare and len(statements) > 1:
        first = bare[0]
        raise prepared.error(
            "expression_without_name",
            "this expression has no name",
            first.start,
            first.end,
            "with several lines, write each as name = expression (target first)",
        )
    written = next((s for s in statements if s.wrt), None)
    if wrt is None:
        wrt = written.wrt if written else None
    elif written is not None and written.order is not None and tuple(wrt) != written.wrt:
        raise _wrt_conflict(written, tuple(wrt), prepared)
    normalized = prepared.normalized if prepared.normalized != text else None
    if parser.guessed or reads_latex(text) or any(s.wrapped for s in statements):
        spelled = [_spelled_statement(s, _arguments(s, prepared)) for s in statements]
        if None not in spelled:
            joined = "; ".join(map(str, spelled))
            normalized = joined if joined != text else None
    builder = _Builder(prepared)
    typed_builder = _TypedBuilder(prepared, builder.functions)
    definitions: list[Definition] = []
    implicit = False
    for statement in statements:
        if statement.name is None:
            used = set(parser.variables) | set(parser.functions)
            name = implicit_target_name(used)
            implicit = True
        else:
            name = statement.name.text
        expr = builder.build(statement.expr)
        typed = typed_builder.build(statement.expr)
        span = prepared.span(statement.start, statement.end)
        definitions.append(Definition(name, expr, span, typed))
    problem = build_problem(
        definitions,
        source=text,
        wrt=wrt,
        point=point,
        implicit_target=implicit,
        normalized_source=normalized,
    )
    head = statements[0]
    if head.wrt and _called(head, prepared) and problem.wrt == head.wrt:
        problem = replace(problem, function_notation=True)
    if written is not None and written.order is not None and written.order > 1:
        span = prepared.span(written.start, _operator_end(written, prepared))
        problem = replace(problem, order=written.order, order_span=span)
    return problem


def _wrt_conflict(written: _Statement, wrt: tuple[str, ...], text: _Text) -> ParseError:
    """``--wrt y`` given for ``d/dx E``: the operator and the option disagree."""
    return text.error(
        "wrt_conflict",
        f"the problem says {_spelled_operator(written, written.name.text if written.name else '')}"
        f" but --wrt says {', '.join(wrt)}",
        written.start,
        _operator_end(written, text),
        f"leave out --wrt, or write the operator by {', '.join(wrt)}",
    )


def _operator_end(written: _Statement, text: _Text) -> int:
    """Where the operator written before a statement ends (before the '=' of d^2y/dx^2 =)."""
    operator = text.normalized[written.start : written.expr.start].rstrip(" =")
    return written.start + len(operator)


def asked_order(problem: Problem, option: int | None) -> int:
    """The order of the derivative asked for: the one written in the problem (d²/dx²) or ``option``.

    ``option`` is ``--order`` when it was given; an order that disagrees with the one written
    is a :class:`ProblemError`.
    """
    if option is None or problem.order == 1 or option == problem.order:
        return problem.order if option is None else option
    raise ProblemError(
        "order_conflict",
        f"the problem asks for the derivative of order {problem.order} but --order is {option}",
        source=problem.source,
        span=problem.order_span,
        hint="leave out --order: the order written in the problem is used",
    )


def _arguments(statement: _Statement, text: _Text) -> str | None:
    """The ``(x, y)`` of a statement written ``f(x, y) = …``, as read; None for ``z = …``."""
    if statement.name is None or not _called(statement, text):
        return None
    closing = text.normalized.find(")", statement.name.end)
    written = text.normalized[statement.name.end + 1 : closing]
    return "(" + ", ".join(name.strip() for name in written.split(",")) + ")"


def _called(statement: _Statement, text: _Text) -> bool:
    """Whether a statement was written ``f(x) = …``: its name followed by a bracket."""
    name = statement.name
    return name is not None and text.normalized[name.end : name.end + 1] == "("


def parse_equation(text: str) -> tuple[sympy.Expr, sympy.Expr]:
    """Parse an equation ``lhs = rhs`` (a curve such as ``x^2 + y^2 = 25``) into its two sides.

    >>> parse_equation("x^2 + y^2 = 25")
    (x**2 + y**2, 25)
    """
    check_length(text)
    equals = [index for index, char in enumerate(text) if char == "="]
    if len(equals) != 1:
        what = "has no '='" if not equals else "has more than one '='"
        raise ParseError(
            "not_an_equation",
            f"the equation {what}",
            source=text,
            hint="write one equation, e.g. x^2 + y^2 = 25",
        )
    cut = equals[0]
    lhs = parse_expression(text[:cut], source=text, offset=0)
    rhs = parse_expression(text[cut + 1 :], source=text, offset=cut + 1)
    return lhs, rhs


def parse_point(text: str) -> dict[str, sympy.Expr]:
    """Parse the ``--at`` option, ``w=2, x=3, b=1/2, y=-1.5, t=pi/4``, into exact or decimal values.

    Integers and fractions stay exact, decimals become 30-digit ``Float``s, and a value may
    be any constant expression (``sqrt(2)``, ``e^2``) but may not use variable names.

    >>> parse_point("x=1/2, y=-1.5")
    {'x': 1/2, 'y': -1.50000000000000000000000000000}
    """
    check_length(text)
    prepared = _prepare(text, text, 0, options=True)
    tokens = _tokenize(prepared, exact_decimals=False, newline_is_space=True)
    parser = _Parser(prepared, tokens, allow_names=False)
    builder = _Builder(prepared)
    values: dict[str, sympy.Expr] = {}
    if tokens[0].kind == "end":
        raise prepared.error("bad_point", "--at is empty", 0, 0, "write NAME=VALUE, e.g. x=2")
    while parser.peek().kind != "end":
        name = parser.advance()
        equals = parser.advance()
        if name.kind != "name" or equals.kind != "=":
            raise parser.error(
                "bad_point", "expected NAME=VALUE", name, "write values as x=2, y=1/2"
            )
        if name.text in CONSTANTS or name.text in FUNCTIONS:
            raise parser.error(
                "bad_point", f"'{name.text}' is not a variable", name, "give values to inputs"
            )
        if name.text in values:
            raise parser.error("bad_point", f"'{name.text}' is given twice", name)
        if parser.peek().kind in (",", "sep", "end"):
            raise parser.error("bad_point", f"'{name.text}=' has no value", equals)
        start = parser.peek()
        value = builder.build(parser.expression(0))
        if value.is_real is not True:
            raise parser.error(
                "bad_point",
                f"the value of '{name.text}' is not a real number",
                start,
                "give a finite real number",
            )
        values[name.text] = value
        separator = parser.peek()
        if separator.kind in (",", "sep"):
            parser.advance()
        elif separator.kind != "end":
            raise parser.error(
                "bad_point", f"unexpected '{separator.text}'", separator, "separate values with ','"
            )
    return values


def parse_wrt(text: str) -> tuple[str, ...]:
    """Parse the ``--wrt`` option, ``s,t`` or ``s t``, into names (duplicates dropped, order kept).

    >>> parse_wrt("s, t θ")
    ('s', 't', 'theta')
    """
    check_length(text)
    prepared = _prepare(text, text, 0, options=True)
    tokens = _tokenize(prepared, exact_decimals=True, newline_is_space=True)
    names: list[str] = []
    for token in tokens:
        if token.kind in (",", "end"):
            continue
        if token.kind != "name" or token.text in CONSTANTS or token.text in FUNCTIONS:
            raise prepared.error(
                "bad_wrt",
                f"'{token.text}' is not a variable name",
                token.start,
                token.end,
                "list input names, e.g. --wrt s,t",
            )
        if token.text not in names:
            names.append(token.text)
    if not names:
        raise prepared.error("bad_wrt", "--wrt names no variable", 0, 0, "e.g. --wrt x")
    return tuple(names)
