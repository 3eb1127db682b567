"""LaTeX maths to the text grammar, character by character, each output mapped to its source."""

from __future__ import annotations

import re
from typing import NamedTuple

from chainsolve.errors import ParseError, Span
from chainsolve.functions import FUNCTIONS

__all__ = ["translate"]

_COMMAND = re.compile(r"\\([a-zA-Z]+)")
# \frac{d}{dx}, \frac{dy}{dx}, \frac{d^2 y}{dx^2}: Leibniz's operator, read as d/dx, dy/dx and
# d^2 y/dx^2; with \partial for d, as ∂/∂x, ∂f/∂x and ∂^2 z/∂y ∂x. The parser checks the orders.
_LEIBNIZ_OPEN = re.compile(r"\{\s*")
_LEIBNIZ_OPERATOR = re.compile(r"(d|\\partial(?![a-zA-Z]))\s*")
_LEIBNIZ_ORDER = re.compile(r"\^\s*(?:\{\s*([0-9]+)\s*\}|([0-9]))\s*")
_LEIBNIZ_BETWEEN = re.compile(r"\s*\}\s*\{\s*")
_LEIBNIZ_GAP = re.compile(r"(?:\s|\\[,;:! ])*")
_LEIBNIZ_CLOSE = re.compile(r"\s*\}")
# A name inside a Leibniz fraction: x, w_1, L_{12}, \theta, \mathrm{loss}.
_LEIBNIZ_NAME = re.compile(
    r"(?:\\(?:mathrm|operatorname|text)\s*\{\s*([a-zA-Z]+)\s*\}"
    r"|\\([a-zA-Z]+)(?![a-zA-Z])|([a-zA-Z]))"
    r"(?:\s*_\s*(?:\{\s*([a-zA-Z0-9]+)\s*\}|([a-zA-Z0-9])))?\s*"
)
# \partial_x f, \partial_{x}(…), \partial_1 f(u, v): the variable or slot in the subscript.
_PARTIAL_BY = re.compile(
    r"_(?:\{\s*([a-zA-Z]|[0-9]+)\s*\}|([a-zA-Z]|[0-9]+))\s*(?:([a-zA-Z])(?=\s*\())?"
)
_GROUP_NAME = re.compile(r"\{\s*([a-zA-Z]+)\s*\}")
_ROOT_INDEX = re.compile(r"\s*\[\s*([0-9]+)\s*\]\s*\{")
_CALL = re.compile(r"\s*(?:\\left\s*)?\(")
_SUBSCRIPT = re.compile(r"_(?:\{\s*([a-zA-Z0-9]+)\s*\}|([a-zA-Z0-9]))")

_GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "mu",
        "nu",
        "xi",
        "pi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    ]
)
_SPELLED = {"lambda": "lamda", "Lambda": "Lamda", "varepsilon": "epsilon", "vartheta": "theta"}
_SPELLED |= {"varphi": "phi", "partial": "∂", "cdot": "*", "times": "*", "div": "/"}
_FUNCTION_COMMANDS = frozenset(
    [
        "sin",
        "cos",
        "tan",
        "sec",
        "csc",
        "cot",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "coth",
        "ln",
        "log",
        "exp",
    ]
)
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac"})
_NAMED = frozenset({"operatorname", "mathrm", "text"})
_SPACES = frozenset(",;:! ")
#: What a factor ends with: a letter after it multiplies (``x^2 y``, ``\frac{1}{2} x``).
_FACTOR_ENDS = frozenset("0123456789)")
#: ``e^2x``: LaTeX sets e²·x, but a student often means e^{2x}, so it is refused.
_GLUED_POWER = re.compile(r"\^[0-9]+$")
_BASE_NAME = re.compile(r"([A-Za-z]+)\s*$")
_FUNCTION_POWER = re.compile(r"([A-Za-z]+)\^\(?[0-9]+\)?$")
#: How far back a factor's end is looked for: past a function name and its power.
_LOOK_BACK = 40


class _Out(NamedTuple):
    chars: list[str]
    starts: list[int]
    ends: list[int]


def translate(text: str, source: str, offset: int) -> tuple[str, list[int], list[int]]:
    """``text`` in the text grammar, and for each character the range of ``text`` it came from.

    Only a whitelist of maths commands is read; any other command (``\\input``, ``\\def``,
    ``\\write18``) is refused with a caret on it. Single letters multiply (``xy`` is x·y, as
    LaTeX sets it); a run of letters that is a function name stays one name.
    """
    return _Translator(text, source, offset).run()


class _Translator:
    def __init__(self, text: str, source: str, offset: int) -> None:
        self.text = text
        self.source = source
        self.offset = offset
        self.out = _Out([], [], [])
        # What each open '{' emits when it closes, with where it opened.
        self.closers: list[tuple[str, int]] = []
        # Closers waiting for a '{' opened at a nesting depth (\frac's two groups).
        self.pending: list[tuple[str, int]] = []
        self.previous_letter = False
        # Where the last Leibniz operator ends: d/dx^2 is no factor, x after it is not multiplied.
        self.operator_end: int | None = None

    def error(self, what: str, start: int, end: int, hint: str | None = None) -> ParseError:
        span = Span(self.offset + start, self.offset + end)
        column = span.start - (self.source.rfind("\n", 0, span.start) + 1) + 1
        return ParseError(
            "latex_error", f"{what} at column {column}", source=self.source, span=span, hint=hint
        )

    def emit(self, chunk: str, start: int, end: int, *, space: bool = False) -> None:
        for char in chunk:
            self.out.chars.append(char)
            self.out.starts.append(start)
            self.out.ends.append(end)
        # A space between letters does not separate them: \pi x is π·x.
        self.previous_letter = self.previous_letter and space

    def run(self) -> tuple[str, list[int], list[int]]:
        i = 0
        while i < len(self.text):
            i = self.step(i)
        if self.closers:
            _, opened = self.closers[-1]
            raise self.error("this '{' is never closed", opened, opened + 1, "add the '}'")
        if self.pending:
            raise self.error("\\frac needs two groups {…}{…}", len(self.text), len(self.text))
        return "".join(self.out.chars), self.out.starts, self.out.ends

    def step(self, i: int) -> int:
        char = self.text[i]
        if char == "\\":
            return self.command(i)
        if char == "{":
            closer = ")"
            if self.pending and self.pending[-1][1] == len(self.closers):
                closer, _ = self.pending.pop()
            self.emit("(", i, i + 1)
            self.closers.append((closer, i))
            return i + 1
        if char == "}":
            if not self.closers:
                raise self.error("unexpected '}'", i, i + 1, "this '}' has no matching '{'")
            closer, _ = self.closers.pop()
            self.emit(closer, i, i + 1)
            return i + 1
        if char in "$ \n\t":
            self.emit(" ", i, i + 1, space=True)
            return i + 1
        if char == "_":
            return self.subscript(i)
        if char.isascii() and char.isalpha():
            return self.letters(i)
        self.emit(char, i, i + 1)
        return i + 1

    def letters(self, i: int) -> int:
        j = i
        while j < len(self.text) and self.text[j].isascii() and self.text[j].isalpha():
            j += 1
        run = self.text[i:j]
        if run in FUNCTIONS:
            self.emit(f" {run}", i, j)
            return j
        glued = _GLUED_POWER.search(self.text, max(0, i - _LOOK_BACK), i)
        base = glued and _BASE_NAME.search(
            self.text, max(0, glued.start() - _LOOK_BACK), glued.start()
        )
        # \sin^2x is sin²(x) as written: the power of a function name is its own form.
        if glued is not None and not (base and base.group(1) in FUNCTIONS):
            raise self.error(
                f"'{glued.group(0)}{run[0]}' can be read two ways",
                glued.start(),
                i + 1,
                f"write ^{{{glued.group(0)[1:]}{run[0]}}} for one exponent, or "
                f"^{{{glued.group(0)[1:]}}} {run[0]} for a product",
            )
        after_factor = self.after_factor()
        for k, letter in enumerate(run):
            # In LaTeX, letters set side by side multiply: 2xy is 2·x·y, x^2 y is x²·y.
            glue = "*" if self.previous_letter or (k == 0 and after_factor) else " "
            self.emit(glue + letter, i + k, i + k + 1)
            self.previous_letter = True
        return j

    def after_factor(self) -> bool:
        """Whether what is written so far ends a factor: a number or a ')'.

        ``\\sin^2 x`` is not a factor before x: the power of a function name is its own form.
        """
        after_operator = self.operator_end is not None and not (
            "".join(self.out.chars[self.operator_end :]).strip()
        )
        if after_operator:
            return False
        text = "".join(self.out.chars[-_LOOK_BACK:]).rstrip(" ")
        if not text or text[-1] not in _FACTOR_ENDS:
            return False
        power = _FUNCTION_POWER.search(text)
        return power is None or power.group(1) not in FUNCTIONS

    def subscript(self, i: int) -> int:
        match = _SUBSCRIPT.match(self.text, i)
        if match is None:
            raise self.error("a subscript is a name or number", i, i + 1, "write x_{1}")
        index = match.group(1) or match.group(2)
        self.emit("_" + index, i, match.end())
        self.previous_letter = True
        return match.end()

    def command(self, i: int) -> int:
        following = self.text[i + 1 : i + 2]
        if following in _SPACES or following == "":
            self.emit(" ", i, i + 2, space=True)
            return i + 2
        if following in "{}":
            self.emit("(" if following == "{" else ")", i, i + 2)
            return i + 2
        match = _COMMAND.match(self.text, i)
        if match is None:
            raise self.error(
                f"unexpected '\\{following}'", i, i + 2, "LaTeX maths commands only: \\frac, \\sin"
            )
        name, end = match.group(1), match.end()
        if name == "partial" and self.text.startswith("_", end):
            return self.partial_by(i, end)
        if name in ("left", "right"):
            if self.text.startswith(".", end):
                return end + 1
            return end
        if name in _FUNCTION_COMMANDS:
            self.emit(f" {name}", i, end)
            return end
        if name == "sigma" and _CALL.match(self.text, end):
            # σ(x) is how chainsolve prints the sigmoid, as in plain input.
            self.emit(" sigmoid", i, end)
            return end
        if name in _GREEK or name in _SPELLED:
            spelled = _SPELLED.get(name, name)
            glue = "*" if self.previous_letter and spelled not in "*/∂" else " "
            self.emit(glue + spelled, i, end)
            self.previous_letter = spelled not in "*/∂"
            return end
        if name in _FRACTIONS:
            return self.fraction(i, end)
        if name == "sqrt":
            return self.root(i, end)
        if name in _NAMED:
            group = _GROUP_NAME.match(self.text, end)
            if group is None:
                raise self.error(f"\\{name} needs a name in braces", i, end, "\\operatorname{relu}")
            self.emit(f" {group.group(1)}", i, group.end())
            return group.end()
        raise self.error(
            f"the LaTeX command '\\{name}' is not read",
            i,
            end,
            "chainsolve reads maths only: \\frac, \\sqrt, \\sin, \\cdot, Greek letters, …",
        )

    def partial_by(self, i: int, end: int) -> int:
        """``\\partial_x f`` is ∂f/∂x, ``\\partial_x`` alone the operator ∂/∂x, ``\\partial_1 f`` ∂₁f."""
        match = _PARTIAL_BY.match(self.text, end)
        if match is None:
            raise self.error("\\partial_ needs a variable", i, end + 1, "write \\partial_x f")
        by, function = match.group(1) or match.group(2), match.group(3)
        if by.isdigit():
            self.emit(f" ∂{by}" + (function or ""), i, match.end())
        elif function:
            self.emit(f" ∂{function}/∂{by}", i, match.end())
        else:
            self.emit(f" ∂/∂{by} ", i, match.end())
        return match.end()

    def fraction(self, i: int, end: int) -> int:
        leibniz = _leibniz(self.text, end)
        if leibniz:  # \frac{d}{dx} is d/dx; \frac{dy}{dx} is dy/dx; \partial for ∂
            plain, after, named, variables = leibniz
            if plain.startswith("d") and variables > 1:
                raise self.error(
                    "an ordinary derivative is taken by one variable",
                    i,
                    after,
                    "write \\partial for a mixed partial: \\frac{\\partial^2 z}{\\partial y \\partial x}",
                )
            # ∂f/∂x(x, y) keeps its arguments attached; otherwise a space ends the operator.
            space = "" if named and _CALL.match(self.text, after) else " "
            self.emit(f" {plain}{space}", i, after)
            self.operator_end = len(self.out.chars)
            return after
        self.emit("(", i, end)
        depth = len(self.closers)
        self.pending += [("))", depth), (")/", depth)]  # a stack: the numerator's on top
        return end

    def root(self, i: int, end: int) -> int:
        index = _ROOT_INDEX.match(self.text, end)
        if index is None:
            self.emit(" sqrt", i, end)
            return end
        brace = index.end() - 1
        self.emit("((", i, brace + 1)
        self.closers.append((f")^(1/{index.group(1)}))", brace))
        return brace + 1


def _leibniz(text: str, start: int) -> tuple[str, int, bool, int] | None:
    """The two groups of ``\\frac`` at ``start`` as Leibniz's notation in the text grammar.

    Returns the plain text (``d^2 y/dx^2``, ``∂^2 z/∂y ∂x``, ``∂loss/∂w_1``), where the
    groups end, whether the numerator names what is differentiated and how many variables
    are below; None when the groups are not a derivative (``\\frac{d}{x}`` is a quotient).
    """
    opened = _LEIBNIZ_OPEN.match(text, start)
    operator = opened and _LEIBNIZ_OPERATOR.match(text, opened.end())
    if operator is None:
        return None
    order, at = _leibniz_order(text, operator.end())
    name, at = _leibniz_name(text, at)
    between = _LEIBNIZ_BETWEEN.match(text, at)
    if between is None:
        return None
    at, bottom = between.end(), []
    while (by := _LEIBNIZ_OPERATOR.match(text, at)) and by.group(1) == operator.group(1):
        variable, at = _leibniz_name(text, by.end())
        if variable is None:
            return None
        power, at = _leibniz_order(text, at)
        bottom.append(f"{variable}^{power}" if power else variable)
        at = _LEIBNIZ_GAP.match(text, at).end()  # type: ignore[union-attr]
    closed = _LEIBNIZ_CLOSE.match(text, at)
    if not bottom or closed is None:
        return None
    # dy/dx: d and the name are one token, as typed in plain text; ∂ is a token of its own.
    mark = "d" if operator.group(1) == "d" else "∂"
    numerator = f"{mark}^{order} {name or ''}".rstrip() if order else f"{mark}{name or ''}"
    denominator = " ".join(mark + variable for variable in bottom)
    return f"{numerator}/{denominator}", closed.end(), name is not None, len(bottom)


def _leibniz_order(text: str, at: int) -> tuple[str | None, int]:
    """The ``^2`` or ``^{2}`` at ``at`` (its digits, or None) and where it ends."""
    power = _LEIBNIZ_ORDER.match(text, at)
    if power is None:
        return None, at
    return power.group(1) or power.group(2), power.end()


def _leibniz_name(text: str, at: int) -> tuple[str | None, int]:
    """The text grammar's name for the name at ``at`` (w_1, theta_1, loss, or None), and its end."""
    match = _LEIBNIZ_NAME.match(text, at)
    if match is None:
        return None, at
    written, command, letter, index, digit = match.groups()
    if command is not None:
        if command not in _GREEK and command != "lambda":
            return None, at
        written = _SPELLED.get(command, command)
    base = written or letter
    subscript = index or digit
    return (f"{base}_{subscript}" if subscript else base), match.end()
