"""Breaks each definition into a graph of elementary operations (p = w·x, q = p + b, …)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import sympy
from sympy.core.function import AppliedUndef

from chainsolve import functions
from chainsolve.errors import Span
from chainsolve.filters import printed_key
from chainsolve.graph import topological_definitions
from chainsolve.problem import Definition, Problem, build_problem, make_symbol

#: Generated names in the order a textbook picks them (p = wx, q = p + b, r = q − y).
NAME_LETTERS = ("p", "q", "r", "s", "t", "u", "v", "g", "h", "k", "m", "n", "a", "c")
#: After the letters run out, generated names are v_1, v_2, …
NAME_PREFIX = "v"
#: Names a generated variable must never take: the constants of the input language.
RESERVED_NAMES = frozenset({"e", "pi", "E", "I", "oo"})

#: Operation labels of what is not a function of the language (those have theirs in the registry).
_OTHER_LABELS: dict[type, str] = {sympy.Max: "max", sympy.Min: "min"}

#: The label of a node that is not one elementary operation (a whole user definition).
DEFINITION = "definition"


def elementary_problem(problem: Problem) -> Problem:
    """The same problem with every right-hand side broken into one node per elementary operation.

    User definitions keep their names; only their right-hand sides are broken down, and
    generated names never clash with the user's (nor with ``e`` or ``pi``). Equal
    subexpressions become one node, as in a drawn computational graph.

    >>> from chainsolve.problem import Definition, build_problem
    >>> w, x, b, y = (make_symbol(n) for n in ("w", "x", "b", "y"))
    >>> p = build_problem([Definition("L", (w * x + b - y) ** 2)], source="", wrt=["w"])
    >>> [(d.name, str(d.expr)) for d in elementary_problem(p).definitions]
    [('L', 'r**2'), ('r', 'q - y'), ('q', 'b + p'), ('p', 'w*x')]
    """
    decomposer = _Decomposer(_used_names(problem))
    by_name = {d.name: d for d in problem.definitions}
    # Evaluation order, so that generated names run p, q, r, … the way the values are computed.
    for name in topological_definitions(problem):
        definition = by_name[name]
        decomposer.define_user(definition)
    ordered = decomposer.definitions
    # Target first, then the others from the output back to the inputs, as problems are written.
    target = next(d for d in ordered if d.name == problem.target)
    rest = [d for d in reversed(ordered) if d.name != problem.target]
    elementary = build_problem(
        [target, *rest],
        source=problem.source,
        wrt=problem.wrt or None,
        point=problem.point,
        implicit_target=problem.implicit_target,
        normalized_source=problem.normalized_source,
    )
    # The inputs are the same set; keep the user's order rather than the one the new lines imply.
    return dataclasses.replace(elementary, inputs=problem.inputs)


def operation_of(expr: sympy.Expr | None) -> str:
    """The label of the elementary operation ``expr`` performs on atoms ("·", "+", "σ", "^2", …).

    An expression that is more than one operation is labelled ``"definition"``; ``None``
    (an input) is ``"input"``.

    >>> a, b = make_symbol("a"), make_symbol("b")
    >>> [operation_of(e) for e in (a * b, a - b, functions.sigmoid(a), a + b * a)]
    ['·', '−', 'σ', 'definition']
    """
    if expr is None:
        return "input"
    if expr.is_Atom:
        return "="
    if not all(_is_atom(arg) for arg in _operands(expr)):
        return DEFINITION
    return _label(expr)


def _label(expr: sympy.Expr) -> str:
    if isinstance(expr, sympy.Add):
        negative = [t for t in expr.args if _is_negative(t)]
        return "−" if negative else "+"
    if isinstance(expr, sympy.Mul):
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient == -1 and not isinstance(rest, sympy.Mul):
            return "neg"
        if any(_is_denominator(f) for f in expr.args) and any(
            not _is_denominator(f) for f in expr.args
        ):
            return "/"
        return "·"
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        if not exponent.is_number:
            return "^"
        if exponent == sympy.Rational(1, 2):
            return "√"
        if exponent == -1:
            return "1/·"
        if not base.is_number:
            return f"^{exponent}"
        return "^"
    if isinstance(expr, AppliedUndef):
        return str(expr.func)
    spec = functions.spec_of(expr)
    if spec is not None:
        return spec.graph_label
    for kind, label in _OTHER_LABELS.items():
        if isinstance(expr, kind):
            return label
    return str(type(expr).__name__)


def _operands(expr: sympy.Expr) -> Iterator[sympy.Basic]:
    """The operands of one operation: the factors of a coefficient·product count as operands."""
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        for arg in expr.args:
            # −y, 3·x and 1/x are one operand of a sum or product (sign, scale or divisor).
            if isinstance(arg, sympy.Mul):
                _, rest = arg.as_coeff_Mul()
                yield rest
            elif isinstance(arg, sympy.Pow) and arg.args[1].is_number:
                yield arg.args[0]
            else:
                yield arg
    else:
        yield from expr.args


def _is_atom(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Symbol) or bool(expr.is_number)


def _is_negative(term: sympy.Expr) -> bool:
    coefficient, _ = term.as_coeff_Mul()
    return bool(coefficient.is_negative)


def _is_denominator(factor: sympy.Expr) -> bool:
    return (
        isinstance(factor, sympy.Pow)
        and factor.args[1].is_number
        and bool(factor.args[1].is_negative)
    )


def _used_names(problem: Problem) -> set[str]:
    used = set(problem.names) | RESERVED_NAMES
    for definition in problem.definitions:
        used |= {str(f.func) for f in definition.expr.atoms(AppliedUndef)}
    return used


def _names(used: set[str]) -> Iterator[str]:
    for letter in NAME_LETTERS:
        # Skip v when the user has v1, v2: a lone v among them reads as one of theirs.
        if letter not in used and not any(
            name.startswith(letter) for name in used - RESERVED_NAMES
        ):
            yield letter
    # v_1 prints as v_{1} in LaTeX, exactly like a user's v1: compare names as printed.
    printed = {printed_key(name) for name in used}
    index = 0
    while True:
        index += 1
        candidate = f"{NAME_PREFIX}_{index}"
        if candidate not in used and printed_key(candidate) not in printed:
            yield candidate


class _Decomposer:
    """Post-order walk that gives every compound subexpression its own node."""

    def __init__(self, used: set[str]) -> None:
        self._fresh = _names(used)
        self._nodes: dict[sympy.Expr, sympy.Symbol] = {}
        #: Each sum built, as written: its terms in the order chosen (p + b, not sympy's b + p).
        self._written: dict[sympy.Expr, sympy.Expr] = {}
        self.definitions: list[Definition] = []

    def _define(self, name: str, expr: sympy.Expr, span: Span | None = None) -> None:
        # A sum keeps its written order as the definition's typed form (printed so).
        self.definitions.append(Definition(name, expr, span, self._written.get(expr, expr)))

    def define_user(self, definition: Definition) -> None:
        # Broken down as typed: exp(x)^3 is a cube of e^x, not sympy's e^(3x).
        typed = definition.typed
        top = self._top(typed)
        self._define(definition.name, top, definition.span)
        # A later definition using the same expression reuses the user's name.
        if not _is_atom(typed):
            self._nodes.setdefault(typed, make_symbol(definition.name))

    def _atom(self, expr: sympy.Expr) -> sympy.Expr:
        """A symbol or number standing for ``expr``, making nodes for what it needs."""
        if _is_atom(expr):
            return expr
        known = self._nodes.get(expr)
        if known is not None:
            return known
        top = self._top(expr)
        symbol = make_symbol(next(self._fresh))
        self._define(symbol.name, top)
        self._nodes[expr] = symbol
        return symbol

    def _node(self, expr: sympy.Expr) -> sympy.Expr:
        """A node for an already elementary ``expr`` (reused when the same one exists)."""
        if _is_atom(expr):
            return expr
        known = self._nodes.get(expr)
        if known is not None:
            return known
        symbol = make_symbol(next(self._fresh))
        self._define(symbol.name, expr)
        self._nodes[expr] = symbol
        return symbol

    def _top(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` as one elementary operation on atoms; its operands get nodes first."""
        if _is_atom(expr):
            return expr
        if isinstance(expr, sympy.Add):
            return self._sum(expr)
        if isinstance(expr, sympy.Mul):
            return self._product(expr)
        if isinstance(expr, sympy.Pow):
            base, exponent = expr.args
            return self._atom(base) ** self._atom(exponent)
        if isinstance(expr, (sympy.Max, sympy.Min)):
            # n-ary max is drawn as a chain of binary max nodes.
            return self._fold(expr.func, _ordered(expr.args))
        if isinstance(expr, sympy.Function):
            return expr.func(*(self._atom(arg) for arg in expr.args))
        # Anything else (a Piecewise, a Derivative) stays one node: correct, if not elementary.
        return expr

    def _fold(self, func: type, operands: list[sympy.Expr]) -> sympy.Expr:
        result = self._atom(operands[0])
        for index, operand in enumerate(operands[1:], start=1):
            combined = func(result, self._atom(operand))
            result = combined if index == len(operands) - 1 else self._node(combined)
        return result

    def _sum(self, expr: sympy.Expr) -> sympy.Expr:
        constant, rest = expr.as_coeff_Add()
        terms = list(rest.args) if isinstance(rest, sympy.Add) else [rest]
        positive = _ordered([t for t in terms if not _is_negative(t)])
        negative = _ordered([-t for t in terms if _is_negative(t)])
        # Terms as written in a textbook: added ones first, compound before plain, then subtracted.
        signed = [(1, t) for t in positive] + [(-1, t) for t in negative]
        result = signed[0][0] * self._atom(signed[0][1])
        for index, (sign, term) in enumerate(signed[1:], start=1):
            result = self._added(result, sign * self._atom(term))
            if index < len(signed) - 1 or constant != 0:
                result = self._node(result)
        return self._added(result, constant) if constant != 0 else result

    def _added(self, left: sympy.Expr, right: sympy.Expr) -> sympy.Expr:
        """left + right, remembered as written in this order."""
        total = left + right
        if isinstance(total, sympy.Add) and len(total.args) == 2:
            self._written.setdefault(total, sympy.Add(left, right, evaluate=False))
        return total

    def _product(self, expr: sympy.Expr) -> sympy.Expr:
        coefficient, rest = expr.as_coeff_Mul()
        factors = list(rest.args) if isinstance(rest, sympy.Mul) else [rest]
        numerators = _ordered([f for f in factors if not _is_denominator(f)])
        denominators = _ordered([1 / f for f in factors if _is_denominator(f)])
        steps: list[tuple[str, sympy.Expr]] = [("·", f) for f in numerators] + [
            ("/", f) for f in denominators
        ]
        first_kind, first = steps[0]
        result = self._atom(first) if first_kind == "·" else 1 / self._atom(first)
        for index, (kind, factor) in enumerate(steps[1:], start=1):
            operand = self._atom(factor)
            result = result * operand if kind == "·" else result / operand
            if index < len(steps) - 1 or coefficient != 1:
                result = self._node(result)
        return coefficient * result


def _ordered(items: Iterable[sympy.Expr]) -> list[sympy.Expr]:
    """Compound operands before plain symbols, then numbers; sympy's order within each group."""
    return sorted(items, key=lambda e: (0 if not _is_atom(e) else 1 if e.free_symbols else 2,))
