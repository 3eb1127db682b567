"""LaTeX maths to the text grammar, character by character, each output mapped to its source."""

from __future__ import annotations

import re
from typing import NamedTuple

from chainsolve.errors import ParseError, Span
from chainsolve.functions import FUNCTIONS

__all__ = ["is_latex", "translate"]

_COMMAND = re.compile(r"\\([a-zA-Z]+)")
# A command, a LaTeX space or brace, or a group: the text grammar has none of them.
_LATEX = re.compile(r"\\[a-zA-Z,;:! {}]|[{}$]")
# \frac{d}{dx} and \frac{dy}{dx}: Leibniz's operator, read as d/dx and dy/dx; with \partial
# for d, as ∂/∂x and ∂f/∂x.
_LEIBNIZ = re.compile(
    r"\{\s*(d|\\partial\b)\s*([a-zA-Z]?)\s*\}\s*\{\s*(?:d|\\partial\b)\s*([a-zA-Z])\s*\}"
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


def is_latex(text: str) -> bool:
    """Whether ``text`` is LaTeX: it has a command (``\\frac``), a LaTeX space or a group ``{}``."""
    return _LATEX.search(text) is not None


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
        leibniz = _LEIBNIZ.match(self.text, end)
        if leibniz:  # \frac{d}{dx} is d/dx; \frac{dy}{dx} is dy/dx; \partial for ∂
            d = "d" if leibniz.group(1) == "d" else "∂"
            top, bottom = leibniz.group(2), leibniz.group(3)
            # ∂f/∂x(x, y) keeps its arguments attached; otherwise a space ends the operator.
            space = "" if top and _CALL.match(self.text, leibniz.end()) else " "
            self.emit(f" {d}{top}/{d}{bottom}{space}", i, leibniz.end())
            return leibniz.end()
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
