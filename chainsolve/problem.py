"""The problem model: ordered definitions ``name = expr``, the target, its inputs and what to differentiate by."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from types import MappingProxyType

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.dag import atoms_of, bottom_up
from chainsolve.errors import ProblemError, Span
from chainsolve.record import record

#: Names tried, in order, for the target of a bare expression such as ``sin(x^2)``.
IMPLICIT_TARGET_NAMES = ("y", "f", "z", "F", "out")


def make_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol for a user or generated name: names are real, as a calculus student means them."""
    return sympy.Symbol(name, real=True)


class Adjoint(sympy.Symbol):
    """ū = ∂L/∂u, the gradient arriving at node u in backpropagation: a symbol of its own.

    Its ``name`` is an identifier no user name takes (``grad_u``, what plain text and JSON
    read back); the formats print it as the passes at a point do, a bar over u's name (ū,
    ``\\bar{u}``), never as a local derivative.
    """

    __slots__ = ("node",)
    node: str

    def __new__(cls, name: str, node: str) -> Adjoint:
        adjoint = sympy.Symbol.__xnew__(cls, name, real=True)
        adjoint.node = node
        return adjoint  # type: ignore[no-any-return]

    def __getnewargs_ex__(self) -> tuple[tuple[str, str], dict[str, object]]:
        return (self.name, self.node), {}

    def _hashable_content(self) -> tuple[object, ...]:
        return (*super()._hashable_content(), self.node)


@record
class Definition:
    """One line ``name = expr`` of a problem; ``span`` locates it in the source when known.

    ``expr`` is sympy's evaluated form (what the oracle differentiates); ``typed`` keeps the
    structure the student typed (``abs(x)^3``, not ``x²·|x|``), which the derivation follows.
    It defaults to ``expr`` for definitions built from sympy expressions.
    """

    name: str
    expr: sympy.Expr
    span: Span | None = None
    typed: sympy.Expr = None  # filled in by __post_init__

    def __post_init__(self) -> None:
        if self.typed is None:
            object.__setattr__(self, "typed", self.expr)


@record
class Problem:
    """A validated problem: acyclic definitions (target first), its inputs, ``wrt`` and an optional point.

    ``inputs`` are the names used but not defined, in order of first use; abstract function
    names (``f`` in ``f(x, y)``) are not inputs. ``point`` maps input names to exact or
    decimal sympy numbers.
    """

    source: str
    definitions: tuple[Definition, ...]
    target: str
    inputs: tuple[str, ...]
    wrt: tuple[str, ...]
    point: Mapping[str, sympy.Expr] = field(default_factory=lambda: MappingProxyType({}))
    implicit_target: bool = False
    normalized_source: str | None = None
    #: Written as a function of one variable, ``f(x) = …``: its derivative is named f′(x).
    function_notation: bool = False
    #: The order written in the input (2 for d²y/dx² or ∂²z/∂y∂x), as if ``--order`` were given,
    #: and where its operator is in ``source``.
    order: int = 1
    order_span: Span | None = None

    @property
    def names(self) -> frozenset[str]:
        """Every variable name of the problem: inputs and defined names."""
        return frozenset(self.inputs) | {d.name for d in self.definitions}

    def definition(self, name: str) -> Definition:
        """The definition of ``name`` (a ``KeyError`` if it is an input)."""
        for definition in self.definitions:
            if definition.name == name:
                return definition
        raise KeyError(name)

    @property
    def function_names(self) -> frozenset[str]:
        """The names of the problem's unknown functions (``f`` in ``f(x, y)``)."""
        return frozenset(
            a.func.__name__ for d in self.definitions for a in atoms_of(d.expr, AppliedUndef)
        )

    @property
    def is_single_expression(self) -> bool:
        """True for a problem with one definition, like ``sin(x^2)`` or ``L = (w*x + b - y)^2``."""
        return len(self.definitions) == 1

    def symbol(self, name: str) -> sympy.Symbol:
        """The sympy symbol of a variable of this problem."""
        return make_symbol(name)


def _free_names(expr: sympy.Expr) -> list[str]:
    """Variable names an expression uses, in a stable order (sympy's sorted order)."""
    return [s.name for s in sorted(expr.free_symbols, key=lambda s: s.name)]


def implicit_target_name(used: set[str]) -> str:
    """A target name for a bare expression that clashes with none of the user's names."""
    for candidate in IMPLICIT_TARGET_NAMES:
        if candidate not in used:
            return candidate
    index = 1
    while f"out{index}" in used:
        index += 1
    return f"out{index}"


def build_problem(
    definitions: Sequence[Definition],
    *,
    source: str,
    wrt: Sequence[str] | None = None,
    point: Mapping[str, sympy.Expr] | None = None,
    implicit_target: bool = False,
    normalized_source: str | None = None,
) -> Problem:
    """Validate definitions and build a :class:`Problem`.

    Raises :class:`ProblemError` for an empty problem, a name defined twice, a cycle,
    a definition the target does not use, an unknown or defined ``wrt`` name, an ambiguous
    ``wrt``, and a point naming something that is not an input.

    >>> x = make_symbol("x")
    >>> p = build_problem([Definition("y", sympy.sin(x**2))], source="sin(x^2)")
    >>> p.target, p.inputs, p.wrt
    ('y', ('x',), ('x',))
    """
    if not definitions:
        raise ProblemError("empty_problem", "the problem is empty", source=source)
    seen: dict[str, Definition] = {}
    for definition in definitions:
        if definition.name in seen:
            raise ProblemError(
                "duplicate_definition",
                f"'{definition.name}' is defined twice",
                source=source,
                span=definition.span,
                hint="give each variable one definition",
            )
        seen[definition.name] = definition
    target = definitions[0].name
    _check_acyclic(seen, source)

    # Reachability from the target, in first-use order; this also orders the inputs.
    inputs: list[str] = []
    reached: set[str] = set()
    stack = [target]
    while stack:
        name = stack.pop()
        if name in reached:
            continue
        reached.add(name)
        if name not in seen:
            inputs.append(name)
            continue
        stack.extend(reversed(_free_names(seen[name].expr)))
    for definition in definitions:
        if definition.name not in reached:
            raise ProblemError(
                "unused_definition",
                f"'{definition.name}' is defined but the target '{target}' does not depend on it",
                source=source,
                span=definition.span,
                hint=f"use '{definition.name}' in the target's definition, or remove it",
            )
    ordered_inputs = tuple(sorted(inputs, key=_input_sort_key(definitions, source)))

    point_map = dict(point or {})
    for name in point_map:
        if name not in ordered_inputs:
            defined = " (it is defined in terms of other variables)" if name in seen else ""
            raise ProblemError(
                "unknown_point_name",
                f"--at gives a value for '{name}', which is not an input of the problem{defined}",
                source=source,
                hint="inputs: " + ", ".join(ordered_inputs) if ordered_inputs else None,
            )
    constant_in = _typed_names(definitions) if len(definitions) == 1 else None
    chosen_wrt = _choose_wrt(wrt, ordered_inputs, seen, point_map, source, constant_in)
    return Problem(
        source=source,
        definitions=tuple(definitions),
        target=target,
        inputs=ordered_inputs,
        wrt=chosen_wrt,
        point=MappingProxyType(point_map),
        implicit_target=implicit_target,
        normalized_source=normalized_source,
    )


def _input_sort_key(
    definitions: Sequence[Definition], source: str
) -> Callable[[str], tuple[int, int, str]]:
    """Inputs sort by where they first appear in the source text, then definition order, then name.

    sympy keeps no order of its own (it sorts symbols), so the text the user typed decides:
    ``L = (w*x + b - y)^2`` has inputs w, x, b, y.
    """
    order: dict[str, int] = {}
    for definition in definitions:
        for name in _free_names(definition.expr):
            order.setdefault(name, len(order))

    def key(name: str) -> tuple[int, int, str]:
        found = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", source)
        position = found.start() if found else len(source)
        return (position, order.get(name, len(order)), name)

    return key


def _check_acyclic(definitions: Mapping[str, Definition], source: str) -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in definitions:
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, list[str]]] = [(root, _free_names(definitions[root].expr))]
        state[root] = 1
        path.append(root)
        while stack:
            name, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[name] = 2
                continue
            child = pending.pop()
            if child not in definitions or state.get(child) == 2:
                continue
            if state.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                raise ProblemError(
                    "cycle",
                    "the definitions are circular: " + " → ".join(cycle),
                    source=source,
                    span=definitions[child].span,
                    hint="a variable cannot depend on itself",
                )
            state[child] = 1
            path.append(child)
            stack.append((child, _free_names(definitions[child].expr)))


def _typed_names(definitions: Sequence[Definition]) -> tuple[str, ...]:
    """The names a single expression is written in, even where they cancel (``x - x``)."""
    typed = definitions[0].typed
    functions = {a.func.__name__ for a in typed.atoms(AppliedUndef)}
    return tuple(n for n in _free_names(typed) if n not in functions)


def _choose_wrt(
    wrt: Sequence[str] | None,
    inputs: tuple[str, ...],
    definitions: Mapping[str, Definition],
    point: Mapping[str, sympy.Expr],
    source: str,
    constant_in: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    """What to differentiate by: ``wrt``, or the one input.

    ``constant_in`` (a single expression's typed names) allows a variable the expression
    does not depend on (``y^2 + 1`` by x, ``x - x``): its derivative is 0.
    """
    if wrt:
        chosen: list[str] = []
        for name in wrt:
            if name in definitions:
                raise ProblemError(
                    "wrt_is_defined",
                    f"--wrt {name}: '{name}' is defined in terms of other variables",
                    source=source,
                    hint="differentiate with respect to an input: " + ", ".join(inputs),
                )
            if name not in inputs and (constant_in is None or point):
                raise ProblemError(
                    "unknown_wrt",
                    f"--wrt {name}: the problem has no variable '{name}'",
                    source=source,
                    hint="inputs: " + ", ".join(inputs) if inputs else "the problem has no inputs",
                )
            if name not in chosen:
                chosen.append(name)
        return tuple(chosen)
    if len(inputs) == 1:
        return inputs
    if not inputs and constant_in is not None and len(constant_in) == 1:
        return constant_in
    if not inputs:
        raise ProblemError(
            "no_variables",
            "the problem has no variables, so there is nothing to differentiate (its derivative is 0)",
            source=source,
            hint="say which variable with --wrt, e.g. --wrt x (the derivative is then 0)",
        )
    if point:
        # At a point the natural question is the whole gradient.
        return inputs
    raise ProblemError(
        "ambiguous_wrt",
        "the problem has several inputs (" + ", ".join(inputs) + "); say which with --wrt",
        source=source,
        hint=f"for example --wrt {inputs[0]}, or --wrt " + ",".join(inputs) + " for all",
    )


def evaluate_typed(expr: sympy.Expr) -> sympy.Expr:
    """sympy's evaluated form of a typed (unevaluated) expression: each node rebuilt, innermost first.

    >>> x = make_symbol("x")
    >>> evaluate_typed(sympy.Pow(sympy.exp(x), 3, evaluate=False))
    exp(3*x)
    """

    def kept(node: sympy.Basic) -> sympy.Basic | None:
        return node if isinstance(node, _KEPT) else None

    result: sympy.Expr = bottom_up(expr, lambda node, args: node.func(*args), kept)
    return result


#: Nodes whose arguments are not sub-expressions to evaluate (bound variables, derivative orders).
_KEPT = (sympy.Derivative, sympy.Subs)
