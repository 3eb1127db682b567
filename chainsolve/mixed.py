"""Mixed partials ∂²z/∂y∂x: the first partial ∂z/∂x differentiated again, by y, with the same trees."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy
from sympy.core.function import AppliedUndef

from chainsolve import wording
from chainsolve.check import Checker
from chainsolve.derivation import WrongStepError, solve_problem, substitute
from chainsolve.errors import ProblemError
from chainsolve.filters import ordered_terms
from chainsolve.problem import Definition, make_symbol
from chainsolve.steps import (
    Check,
    Claim,
    Derivation,
    Leibniz,
    Neg,
    Note,
    Product,
    Solution,
    Step,
    Sum,
    map_formula,
)

if TYPE_CHECKING:
    from chainsolve.problem import Problem
    from chainsolve.steps import Formula


def solve_mixed(problem: Problem, *, detail: str = "normal") -> Solution:
    """∂z/∂x, ∂z/∂y and ∂²z/∂y∂x = ∂/∂y(∂z/∂x), every step checked, the last against sympy.

    The first partial is written in the problem's own intermediates (y·∂f/∂u(u, v) + …) and
    differentiated by y as a new problem with the same intermediates, so every f_u(u, v)
    term gets its own chain rule through u and v. With an unknown f the result is collected
    by the second partials of f and written f_uu, f_uv, f_vv (f is taken twice continuously
    differentiable, so f_vu = f_uv).
    """
    # One checker for both problems and the oracle: ∂z/∂x is differentiated by sympy once.
    checker = Checker()
    first = solve_problem(problem, detail=detail, checker=checker)
    x, y = (make_symbol(name) for name in problem.wrt)
    target = make_symbol(problem.target)
    inner = _in_intermediates(problem, x, first.derivations[0].result)
    collecting = _collecting(problem, inner, y)
    first_partial = _first_partial(checker, problem, x)
    stand_in = _stand_in(problem)
    again = dataclasses.replace(
        problem,
        definitions=(Definition(stand_in.name, inner), *problem.definitions[1:]),
        target=stand_in.name,
        wrt=(y.name,),
        point=MappingProxyType({}),
    )
    # Collected by f's partials, the result is simplified by the collecting step: a tidied
    # form of the Subs sympy writes would be one more line saying the same (and 10–20 ms).
    # z_x equals the first result (proven above), itself checked against sympy's own ∂z/∂x:
    # each step of ∂z_x/∂y is checked against sympy's ∂/∂y of that oracle, computed once
    # for those checks and the last one (and never hidden behind sympy's cache).
    solved = solve_problem(
        again,
        detail=detail,
        reserved=frozenset(first.intermediates),
        tidy_graph=collecting is None,
        checker=checker,
        subject=None if problem.is_single_expression else first_partial,
    )
    mixed = Leibniz(target, y, partial=True, mixed=(x,))
    # A graph's local derivatives are shared steps: here they belong to this derivation.
    own = dataclasses.replace(
        solved.derivations[0], steps=(*solved.shared_steps, *solved.derivations[0].steps)
    )
    derivation = _relabelled(
        own,
        mixed,
        Leibniz(inner, y, partial=True),
        whole=problem.is_single_expression,
    )
    if collecting is not None:
        derivation = _with_subscripts(problem, derivation, mixed, *collecting)
    _check_against_oracle(checker, first_partial, y, derivation.result)
    notes = list(first.notes)
    notes.extend(note for note in solved.notes if note not in notes)
    if any(step.phrase == "mixed_subscripts" for step in derivation.steps):
        notes.append(_subscripts_note(problem))
    return dataclasses.replace(
        first,
        derivations=(*first.derivations, derivation),
        notes=tuple(notes),
        intermediates=MappingProxyType({**first.intermediates, **solved.intermediates}),
    )


def _stand_in(problem: Problem) -> sympy.Symbol:
    """The name of ∂z/∂x in the second problem, z_x (the subscript notation), unused by the problem."""
    name = f"{problem.target}_{problem.wrt[0]}"
    while name in problem.names:
        name += "_"
    return make_symbol(name)


def _in_intermediates(problem: Problem, x: sympy.Symbol, result: sympy.Expr) -> sympy.Expr:
    """∂z/∂x written in the intermediates: Σ ∂z/∂u·∂u/∂x over the target's intermediates u.

    Only for intermediates defined directly by the inputs (one layer), the classic exam
    shape; a single expression is its own first result.
    """
    if problem.is_single_expression:
        return result
    top, *others = problem.definitions
    defined = {make_symbol(d.name): d.expr for d in others}
    inputs = {make_symbol(name) for name in problem.inputs}
    if any(not expr.free_symbols <= inputs for expr in defined.values()):
        raise ProblemError(
            "mixed_unsupported", wording.note_mixed_one_layer(), source=problem.source
        )
    inner = sympy.diff(top.expr, x) + sum(
        (sympy.diff(top.expr, u) * sympy.diff(expr, x) for u, expr in defined.items()),
        sympy.Integer(0),
    )
    difference = substitute(inner, dict(defined)) - result
    # The same partials regrouped: expanding proves it (simplify took 0.3 s of CPU for
    # f(x² − y², 2xy), its first call importing sympy.physics), simplify only otherwise.
    if sympy.expand(difference) != 0 and sympy.simplify(difference) != 0:
        raise WrongStepError(f"{inner} is not the first partial {result}")
    return inner


def _relabelled(
    derivation: Derivation, mixed: Leibniz, opened: Leibniz, *, whole: bool
) -> Derivation:
    """The second problem's derivation read as ∂²z/∂y∂x, opened by ∂²z/∂y∂x = ∂/∂y(∂z/∂x).

    Its ``wrt`` is "x,y": the variables in the order differentiated by. In a graph the
    edge y → z_x keeps its own ∂z_x/∂y (the local derivative); in a single expression
    every ∂z_x/∂y is the whole derivative.
    """
    total = derivation.derivative

    def is_total(d: Leibniz) -> bool:
        return d == total or (whole and (d.of, d.wrt) == (total.of, total.wrt))

    def relabel(formula: Formula) -> Formula:
        return map_formula(formula, lambda d: mixed if is_total(d) else d, lambda e: e)

    opening = Step(
        "rule",
        "mixed_partial",
        (mixed, opened),
        words=(
            ("target", str(mixed.of)),
            ("first", mixed.mixed[0].name),
            ("then", mixed.wrt.name),
        ),
    )
    steps = tuple(
        dataclasses.replace(step, sides=tuple(relabel(side) for side in step.sides))
        for step in derivation.steps
    )
    wrt = ",".join(v.name for v in (*reversed(mixed.mixed), mixed.wrt))
    return dataclasses.replace(derivation, wrt=wrt, derivative=mixed, steps=(opening, *steps))


def _collecting(
    problem: Problem, inner: sympy.Expr, y: sympy.Symbol
) -> tuple[sympy.Expr, list[sympy.Expr]] | None:
    """∂/∂y of ``inner`` in the intermediates and the partials of f it holds, to collect by;
    None unless f is an unknown function of two slots or more and partials of it remain.

    The collecting is done in the intermediates, where every partial of f is a plain
    ``Derivative(f(u, v), u, v)`` (sympy writes the substituted form in several equal ways).
    """
    slots = _slot_names(problem)
    # f′′(x·y) is already the textbook's notation for a function of one argument.
    if len(slots) < 2:
        return None
    defined = {make_symbol(d.name): d.expr for d in problem.definitions[1:]}
    in_intermediates = _canonical(
        sympy.diff(inner, y)
        + sum(
            (sympy.diff(inner, u) * sympy.diff(expr, y) for u, expr in defined.items()),
            sympy.Integer(0),
        )
    )
    partials = sorted(_partials(in_intermediates), key=sympy.default_sort_key)
    return (in_intermediates, partials) if partials else None


def _with_subscripts(
    problem: Problem,
    derivation: Derivation,
    mixed: Leibniz,
    in_intermediates: sympy.Expr,
    partials: list[sympy.Expr],
) -> Derivation:
    """The result collected by f's partials (:func:`_collecting`), written f_uu(u, v), f_uv(u, v), ….

    The collected form is substituted, so that the result reads the same every time.
    """
    slots = _slot_names(problem)
    defined = {make_symbol(d.name): d.expr for d in problem.definitions[1:]}
    # Regrouped terms (no check of its own): the result is checked against sympy.diff below.
    collected = _collected(sympy.expand(in_intermediates), partials)
    shown = _coefficients_first(collected.xreplace({p: _subscripted(p, slots) for p in partials}))
    at = tuple((make_symbol(n), problem.definition(n).expr) for n in slots if _defines(problem, n))
    step = Step(
        "simplify",
        "mixed_subscripts",
        (mixed, shown),
        check=Check("symbolic", wording.mixed_check_collected()),
        definitions=at,
        words=_collect_words(partials, slots),
    )
    result = substitute(collected, defined)
    return dataclasses.replace(
        derivation, steps=(*derivation.steps, step), result=result, shown=shown
    )


def _collected(expanded: sympy.Expr, partials: list[sympy.Expr]) -> sympy.Expr:
    """``expanded`` with the terms of each partial of f grouped: x·y·f_uu + (x + y)·f_uv + ….

    sympy.collect's grouping for a sum linear in the partials (each term holds one), without
    its search for powers and products of them (8 ms); any other term is kept as it is.
    """
    wanted = set(partials)
    coefficients: dict[sympy.Expr, list[sympy.Expr]] = {}
    rest: list[sympy.Expr] = []
    for term in sympy.Add.make_args(expanded):
        factors = sympy.Mul.make_args(term)
        found = [f for f in factors if f in wanted]
        if len(found) != 1:
            rest.append(term)
            continue
        (partial,) = found
        coefficient = sympy.Mul(*(f for f in factors if f is not partial))
        coefficients.setdefault(partial, []).append(coefficient)
    grouped = (sympy.Add(*terms) * partial for partial, terms in coefficients.items())
    return sympy.Add(*rest, *grouped)


def _coefficients_first(collected: sympy.Expr) -> Sum:
    """x·y·f_uu + (x + y)·f_uv + f_u + f_vv: each term its coefficient, then f's partial."""
    terms: list[Formula] = []
    for term in ordered_terms(collected):
        partial = [f for f in sympy.Mul.make_args(term) if isinstance(f, AppliedUndef)]
        coefficient = sympy.Mul(*(f for f in sympy.Mul.make_args(term) if f not in partial))
        negative = coefficient.could_extract_minus_sign()
        size = -coefficient if negative else coefficient
        function = sympy.Mul(*partial)
        shown: Formula = function if size == 1 else Product((size, function), tight=True)
        terms.append(Neg(shown) if negative else shown)
    return Sum(tuple(terms))


def _subscripts_note(problem: Problem) -> Note:
    """What f_u, f_uv, … in the collected result stand for, and where u, v are defined."""
    slots = _slot_names(problem)
    (function,) = problem.definitions[0].expr.atoms(AppliedUndef)
    defined = tuple((n, problem.definition(n).expr) for n in slots if _defines(problem, n))
    return Note("subscripts", (function.func.__name__, tuple(slots), defined))


def _collect_words(
    partials: list[sympy.Expr], slots: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """The words of the collecting step: the function, and its mixed partials both ways round."""
    name = _function_of(partials[0]).func.__name__
    first, second = slots[:2]
    return (
        ("function", name),
        ("swapped", f"{name}_{second}{first}"),
        ("ordered", f"{name}_{first}{second}"),
    )


def _partials(expr: sympy.Expr) -> set[sympy.Expr]:
    return {d for d in expr.atoms(sympy.Derivative) if isinstance(d.expr, AppliedUndef)}


def _function_of(partial: sympy.Expr) -> AppliedUndef:
    function = partial.expr
    assert isinstance(function, AppliedUndef)
    return function


def _canonical(expr: sympy.Expr) -> sympy.Expr:
    """Mixed partials of an unknown function with their variables in slot order: f_vu as f_uv.

    Equal for a twice continuously differentiable f (Schwarz), which the exam question assumes.
    """

    def is_mixed(e: sympy.Basic) -> bool:
        return isinstance(e, sympy.Derivative) and isinstance(e.expr, AppliedUndef)

    def in_slot_order(e: sympy.Derivative) -> sympy.Expr:
        args = e.expr.args
        counts = sorted(e.variable_count, key=lambda vc: args.index(vc[0]) if vc[0] in args else -1)
        return sympy.Derivative(e.expr, *counts)

    return expr.replace(is_mixed, in_slot_order)


def _slot_names(problem: Problem) -> tuple[str, ...]:
    """The names of f's slots as the target's definition fills them: (u, v) in z = f(u, v)."""
    top = problem.definitions[0].expr
    functions = top.atoms(AppliedUndef)
    if len(functions) != 1:
        return ()
    (function,) = functions
    if not all(a.is_Symbol for a in function.args):
        return ()
    return tuple(a.name for a in function.args)


def _defines(problem: Problem, name: str) -> bool:
    return any(d.name == name for d in problem.definitions)


def _subscripted(partial: sympy.Expr, slots: tuple[str, ...]) -> sympy.Expr:
    """f_uv(u, v) for ∂²f/∂u∂v(u, v): the partial named by the letters of its slots."""
    function = _function_of(partial)
    letters = "".join(slots[function.args.index(v)] * n for v, n in partial.variable_count)
    return sympy.Function(f"{function.func.__name__}_{letters}", real=True)(*function.args)


def _check_against_oracle(
    checker: Checker, first_partial: sympy.Expr, y: sympy.Symbol, result: sympy.Expr
) -> None:
    """Raise when ``result`` is not sympy's own ∂/∂y of ``first_partial`` (:func:`_first_partial`)."""
    step = Step("simplify", "result", (result,), claim=Claim(first_partial, y, (result,)))
    if checker.check(step).check.differs:
        raise WrongStepError(f"mixed partial differs from sympy.diff: {result}")


def _first_partial(checker: Checker, problem: Problem, x: sympy.Symbol) -> sympy.Expr:
    """sympy's own ∂z/∂x of the flattened problem: the oracle both mixed-partial checks start from."""
    return checker.reference(_flattened(problem), x)


def _flattened(problem: Problem) -> sympy.Expr:
    """The target with every intermediate substituted (a one-layer problem: one pass)."""
    top, *others = problem.definitions
    return substitute(top.expr, {make_symbol(d.name): d.expr for d in others})
