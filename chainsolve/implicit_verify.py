"""A student's dy/dx on a curve, checked modulo the curve's equation, branch by branch."""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy
from sympy.core.assumptions import check_assumptions

from chainsolve import mistakes, wording
from chainsolve.implicit import (
    Curve,
    curve_problem,
    decided_zero,
    equal_modulo_curve,
    equal_on_curve,
    is_zero,
    lowest_terms,
    on_the_curve,
    polynomial_roots,
    rational_with_exact_constants,
    settled_zero,
)
from chainsolve.verification import AnswerVerdict, Grounds, VerdictId

#: Branches y = g(x) tried for an answer written without y (bounded: a quadratic gives two).
MAX_BRANCHES = 4


def verify_implicit(curve: Curve, answer_text: str, order: int = 1) -> AnswerVerdict:
    """The verdict on ``answer_text`` as dy/dx on ``curve``: right, right on some branches, or wrong.

    An answer in x and y is right when it equals −F_x/F_y wherever F = 0 (its difference's
    numerator a multiple of F, for a polynomial curve); an answer in x alone
    (−x/√(25 − x²)) is right on each branch y = g(x) of the curve where it equals −F_x/F_y.
    A wrong answer is matched against the classic slips, each solved on its own. With
    ``order`` n > 1 the answer is dⁿy/dxⁿ, compared with sympy's ``idiff`` of order n; the
    derivative of order n − 1 given instead is named.
    """
    from chainsolve.parsing import parse_expression

    answer = parse_expression(answer_text.rsplit("=", 1)[-1])
    f, y, x = curve.implicit_function, curve.dependent, curve.wrt
    truth = slope(curve, f) if order == 1 else sympy.idiff(f, y, x, order)
    # -25/y³ rather than -(x²/y² + 1)/y (slope is in lowest terms already, idiff's result not).
    truth = on_the_curve(curve, truth if order == 1 else lowest_terms(truth)) or truth
    verdict, where = _judge(curve, answer, truth)
    matched: tuple[mistakes.MistakeMatch, ...] = ()
    if verdict == "not_equivalent" and order == 1:
        # Compared with a rational answer in x and y, a slip is decided over one denominator
        # (is_zero, then the numerator modulo F): it needs no lowest terms (a cancel each).
        lowest = not (answer.has(y) and rational_with_exact_constants(answer))
        matched = tuple(
            mistakes.match(mistake_id)
            for mistake_id, candidates in slips(curve, lowest=lowest).items()
            if any(_judge(curve, answer, c)[0] == "equivalent" for c in candidates)
        )
    elif verdict == "not_equivalent":
        lower = slope(curve, f) if order == 2 else sympy.idiff(f, y, x, order - 1)
        if _judge(curve, answer, lower)[0] == "equivalent":
            detail = wording.mistake_previous_order(order - 1)
            matched = (mistakes.match("previous_order", detail),)
    problem = curve_problem(curve)
    return AnswerVerdict(
        problem,
        curve.wrt.name,
        answer_text,
        answer,
        truth,
        verdict,
        Grounds(agree_where=where),
        None,
        where,
        matched,
        "modulo the curve's equation",
        order=order,
    )


def slope(curve: Curve, f: sympy.Expr) -> sympy.Expr:
    """−F_x/F_y: dy/dx on F = 0, from the partial derivatives alone."""
    return lowest_terms(-sympy.diff(f, curve.wrt) / sympy.diff(f, curve.dependent))


def _judge(curve: Curve, answer: sympy.Expr, truth: sympy.Expr) -> tuple[VerdictId, str]:
    """("equivalent", ""), ("equivalent_on_part", the branches where it holds) or ("not_equivalent", "").

    An answer without y is compared on each branch y = g(x) as well. One that differs from
    the truth at a point of a branch is not equal to it on the whole curve, so the costlier
    test modulo F (a cancel of radicals: ~10 ms) is asked only when no branch shows that.
    """
    y = curve.dependent
    if answer.has(y):
        equal = equal_on_curve(curve, answer, truth)
        return ("equivalent" if equal else "not_equivalent"), ""
    if is_zero(answer - truth):
        return "equivalent", ""
    branches = _branches(curve)
    gaps = [answer - truth.xreplace({y: g}) for g in branches]
    decided = [decided_zero(gap) for gap in gaps]
    if False not in decided and equal_modulo_curve(curve, answer - truth):
        return "equivalent", ""
    right = [
        g for g, gap, zero in zip(branches, gaps, decided, strict=True) if settled_zero(gap, zero)
    ]
    if not right:
        return "not_equivalent", ""
    if len(right) == len(branches):
        return "equivalent", ""
    return "equivalent_on_part", wording.implicit_branches(curve.dependent.name, right)


@functools.lru_cache(maxsize=16)
def _branches(curve: Curve) -> tuple[sympy.Expr, ...]:
    """The curve solved for y, when sympy finds a few explicit branches (else none).

    Solved once for a verdict's answer and each slip's (sympy.solve: ~15 ms).
    """
    found = _quadratic_branches(curve)
    if found is None:
        try:
            # simplify=False: sympy.solve's own simplify of each root costs 10× the solving
            # (and imports sympy.physics); expanding the radicands gives the form a person writes.
            found = sympy.solve(curve.implicit_function, curve.dependent, simplify=False)
        except NotImplementedError:
            return ()
    return tuple(_expanded_radicands(g) for g in list(found)[:MAX_BRANCHES])


def _quadratic_branches(curve: Curve) -> list[sympy.Expr] | None:
    """sympy.solve's branches of a curve quadratic in y with rational coefficients (a circle,
    an ellipse), found as solve finds them: sympy.roots, the roots y's assumptions refute
    dropped, in solve's order (~10 ms less); None for any other curve, left to sympy.solve.

    With constants other than rationals (π, √2) or other functions of x, solve takes other
    routes to other forms of the same roots, so those are left to it.
    """
    f, y = curve.implicit_function, curve.dependent
    polynomial = (
        rational_with_exact_constants(f)
        and not f.has(sympy.pi, sympy.E)
        and f.is_polynomial(*f.free_symbols)
    )
    if not (polynomial and f.is_Add and sympy.degree(f, y) == 2):
        return None
    found = polynomial_roots(f, y)
    if found is None:
        return None
    return [root for root in found if check_assumptions(root, **y.assumptions0) is not False]


def _expanded_radicands(root: sympy.Expr) -> sympy.Expr:
    """``root`` with each radicand expanded, common factors out: √(25 − x²), not √(−(x − 5)(x + 5))."""
    return root.replace(
        lambda e: e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer,
        lambda e: sympy.Pow(sympy.factor_terms(sympy.expand(e.base)), e.exp),
    )


def slips(curve: Curve, *, lowest: bool = True) -> dict[str, list[sympy.Expr]]:
    """The classic slips of implicit differentiation, each as the dy/dx it leads to.

    Each is the derivative of F = lhs − rhs, term by term with y = y(x), done wrong in one
    term, then solved for dy/dx as in the worked solution; in lowest terms unless ``lowest``
    is false and it is a rational function with exact constants.
    """
    x, y = curve.wrt, curve.dependent
    prime = sympy.Symbol("yprime")
    terms = sympy.Add.make_args(sympy.expand(curve.lhs)) + tuple(
        -t for t in sympy.Add.make_args(sympy.expand(curve.rhs))
    )

    def total(term: sympy.Expr) -> sympy.Expr:
        return sympy.diff(term, x) + sympy.diff(term, y) * prime

    def with_one(wrong: Callable[[sympy.Expr], sympy.Expr | None]) -> list[sympy.Expr]:
        results = []
        for index, term in enumerate(terms):
            slipped = wrong(term)
            if slipped is None:
                continue
            derived = [slipped if i == index else total(t) for i, t in enumerate(terms)]
            solved = _solve_for(sympy.Add(*derived), prime, lowest=lowest)
            if solved is not None:
                results.append(solved)
        return results

    def forgot_prime(term: sympy.Expr) -> sympy.Expr | None:
        return sympy.diff(term, x) + sympy.diff(term, y) if term.has(y) else None

    def y_constant(term: sympy.Expr) -> sympy.Expr | None:
        return sympy.diff(term, x) if term.has(y) else None

    def product_as_product(term: sympy.Expr) -> sympy.Expr | None:
        in_x, in_y = term.as_independent(y, as_Add=False)
        if not (in_x.has(x) and in_y.has(y)):
            return None
        return sympy.diff(in_x, x) * sympy.diff(in_y, y) * prime

    def sign_moved(term: sympy.Expr) -> sympy.Expr | None:
        return -total(term) if term.has(x) and not term.has(y) else None

    return {
        "implicit_forgot_dydx": with_one(forgot_prime),
        "implicit_y_as_constant": with_one(y_constant),
        "implicit_product_rule": with_one(product_as_product),
        "implicit_sign_moving_terms": with_one(sign_moved),
    }


def _solve_for(
    equation: sympy.Expr, prime: sympy.Symbol, *, lowest: bool = True
) -> sympy.Expr | None:
    """``equation`` = 0 solved for the linear unknown ``prime``; None when it drops out.

    In lowest terms, unless ``lowest`` is false and it is a rational function with exact
    constants (see :func:`slips`).
    """
    expanded = sympy.expand(equation)
    coefficient = expanded.coeff(prime)
    if coefficient == 0:
        return None
    solved = -(expanded - coefficient * prime) / coefficient
    if not lowest and rational_with_exact_constants(solved):
        return solved
    return lowest_terms(solved)
