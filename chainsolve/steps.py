"""The worked-solution data model: formulas, checked steps, one derivation per variable, the solution."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

import sympy

from chainsolve.record import record

if TYPE_CHECKING:
    from chainsolve.evaluation import Evaluation
    from chainsolve.filters import Notation
    from chainsolve.graph import Graph
    from chainsolve.problem import Problem
    from chainsolve.render import Detail
    from chainsolve.rules import Rule


@record
class Leibniz:
    """The derivative symbol d(of)/d(wrt) — ∂ when ``partial`` — e.g. dy/du₁ or ∂z/∂x.

    ``of`` is a variable (a ``Symbol``) or, for "the derivative of this expression",
    any expression, shown as d/dx(…). ``lagrange`` is the same derivative in Lagrange
    notation, as (function letter, argument): ("f", g(x)) is shown f′(g(x)), and
    ("y", None) is shown y′. ``order`` n > 1 is the n-th derivative: d²y/dx², y″.
    ``mixed`` names the variables differentiated by before ``wrt``, innermost last: ∂²z/∂y∂x
    is ``Leibniz(z, y, partial=True, mixed=(x,))``, ∂/∂y of ∂z/∂x.
    ``named``: shown in Lagrange notation whatever the notation (f′(x) for ``f(x) = …``).
    """

    of: sympy.Expr
    wrt: sympy.Symbol
    partial: bool = False
    lagrange: tuple[str, sympy.Expr | None] | None = None
    order: int = 1
    mixed: tuple[sympy.Symbol, ...] = ()
    named: bool = False


@record
class Product:
    """Factors shown in the order given, joined by ·, never reordered (one factor per link).

    ``tight`` joins them as one product is written (2(t − t²)·(1 − 2t)), not as a chain of
    separate factors (dy/du · du/dx).
    """

    factors: tuple[Formula, ...]
    tight: bool = False


@record
class Sum:
    """Terms shown in the order given, joined by + (one term per path)."""

    terms: tuple[Formula, ...]


@record
class Quotient:
    """A fraction of two formulas, as in the quotient rule (f′g − fg′)/g²."""

    numerator: Formula
    denominator: Formula


@record
class Neg:
    """A formula with a minus sign in front (a subtracted term of a :class:`Sum`)."""

    operand: Formula


#: What one side of a shown equality can be.
Formula: TypeAlias = Union[sympy.Expr, Leibniz, Product, Sum, Quotient, Neg]  # noqa: UP007


def map_formula(
    formula: Formula,
    leibniz: Callable[[Leibniz], Formula],
    expr: Callable[[sympy.Expr], sympy.Expr],
) -> Formula:
    """``formula`` with each derivative replaced by ``leibniz(it)`` and each expression by ``expr(it)``."""
    if isinstance(formula, Leibniz):
        return leibniz(formula)
    if isinstance(formula, Product):
        return Product(tuple(map_formula(f, leibniz, expr) for f in formula.factors))
    if isinstance(formula, Sum):
        return Sum(tuple(map_formula(t, leibniz, expr) for t in formula.terms))
    if isinstance(formula, Quotient):
        return Quotient(
            map_formula(formula.numerator, leibniz, expr),
            map_formula(formula.denominator, leibniz, expr),
        )
    if isinstance(formula, Neg):
        return Neg(map_formula(formula.operand, leibniz, expr))
    if isinstance(formula, sympy.Expr):
        return expr(formula)
    return formula


CheckStatus = Literal["symbolic", "numeric", "unconfirmed", "none"]


@record
class Check:
    """How a step's equality was confirmed.

    ``symbolic``: sympy proved it; ``numeric``: it held at ``detail``'s sample points
    where a proof was too expensive; ``unconfirmed``: neither (the step is marked);
    ``none``: the step claims no equality (a note, a definition). ``differs`` marks an
    unconfirmed claim whose check found a point where the two sides disagree: a wrong
    step, never shown as part of a solution (see :func:`chainsolve.derivation.solve_problem`).
    """

    status: CheckStatus
    detail: str = ""
    differs: bool = False

    @property
    def verified(self) -> bool:
        """True when the claim was confirmed, or when the step makes none."""
        return self.status != "unconfirmed"


NO_CLAIM = Check("none")

StepKind = Literal[
    "decompose",  # let u = g(x): the intermediate variables
    "chain_formula",  # dy/dx = dy/du · du/dx (or a sum over paths)
    "local_derivative",  # dy/du = cos(u), with its rule
    "rule",  # a differentiation rule applied to a whole expression (sum, product, ...)
    "product",  # the pieces put together: local derivatives multiplied (summed over paths)
    "substitute",  # intermediate variables replaced by their definitions
    "simplify",  # the result simplified
    "paths",  # the paths from the target to a variable
    "accumulate",  # layer-by-layer (reverse-mode) accumulation in a large graph
    "no_rule",  # no step-by-step rule: the result comes from sympy, said honestly
    "note",  # an explanation with no equality (partial vs total derivative, ...)
]


@record
class RuleRef:
    """A rule a step applies, by its stable id, with the names it concerns (``x`` in dx/dx = 1)."""

    id: str
    names: tuple[str, ...] = ()


@record
class Claim:
    """What a step's equality says, in the problem's inputs: each of ``values`` is d(subject)/d(var).

    Anyone can re-check the step from this alone (``sympy.diff(subject, var) == value``).
    """

    subject: sympy.Expr
    var: sympy.Symbol
    values: tuple[sympy.Expr, ...]


@record
class Step:
    """One line of a worked solution, as data: kind, wording key, equality chain, rules, check.

    ``phrase`` keys the sentence in :mod:`chainsolve.wording` (filled with ``words``);
    ``rules`` are the rules applied, by id. ``sides`` is the chain ``sides[0] = sides[1] = …``;
    ``claim`` says what it means in the inputs and ``check`` how it was confirmed.
    ``definitions`` lists ``name = expr`` pairs a ``decompose`` step introduces. ``depth``
    nests sub-derivations (the parts of a product rule, say).
    """

    kind: StepKind
    phrase: str
    sides: tuple[Formula, ...] = ()
    rules: tuple[RuleRef, ...] = ()
    check: Check = NO_CLAIM
    depth: int = 0
    definitions: tuple[tuple[sympy.Expr, sympy.Expr], ...] = ()
    paths: tuple[tuple[str, ...], ...] = ()
    claim: Claim | None = None
    words: tuple[tuple[str, str], ...] = ()
    #: ``f(u₁) = sin(u₁)``: the functions the Lagrange notation of a chain names (shown with it).
    lagrange_definitions: tuple[tuple[sympy.Expr, sympy.Expr], ...] = ()

    @property
    def rule_id(self) -> str | None:
        """The id of the main rule this step applies (the first), if any."""
        return self.rules[0].id if self.rules else None

    @property
    def verified(self) -> bool:
        """True when the step's equality (if any) was confirmed."""
        return self.check.verified


@record
class Derivation:
    """The derivation of the target with respect to one variable."""

    wrt: str
    derivative: Leibniz
    steps: tuple[Step, ...]
    result: sympy.Expr
    #: False when the result is left in terms of intermediate variables (a huge graph).
    in_terms_of_inputs: bool = True
    #: The paths from the target to ``wrt`` (each a tuple of names), when enumerated.
    paths: tuple[tuple[str, ...], ...] = ()
    path_count: int = 1
    #: The rule trees the steps were explained from, kept for the other walkers (mistakes):
    #: (target, wrt) for a single expression, (node, input) for each edge of a graph.
    rules: Mapping[tuple[str, str], Rule] = field(default_factory=lambda: MappingProxyType({}))
    #: The result as it is written when that is not sympy's form of ``result``: a sum in the
    #: order typed (chainsolve.textbook), the mixed partial by f's partials (chainsolve.mixed).
    shown: Formula | None = None

    @property
    def written(self) -> Formula:
        """The result as the Result line writes it."""
        return self.result if self.shown is None else self.shown

    @property
    def verified(self) -> bool:
        """True when every step of this derivation was confirmed."""
        return all(step.verified for step in self.steps)


@record
class Note:
    """A remark under a solution, as data: ``kind`` keys its sentence in :mod:`chainsolve.wording`
    (``wording.note_text``), ``values`` fill it: names, numbers and expressions, never text.

    ``Note("holds_for", ((x,), ()))`` is "The result holds for x ≠ 0, …" in every format.
    """

    kind: str
    values: tuple[Any, ...] = ()


@record
class Solution:
    """A complete worked solution: shared steps, one derivation per ``wrt`` variable, notes."""

    problem: Problem
    derivations: tuple[Derivation, ...]
    shared_steps: tuple[Step, ...] = ()
    graph: Graph | None = None
    notes: tuple[Note, ...] = ()
    evaluation: Evaluation | None = None
    intermediates: Mapping[str, sympy.Expr] = field(default_factory=lambda: MappingProxyType({}))
    #: How much of the solution its renderings show by default (``brief``, ``normal``, ``full``);
    #: the steps themselves are always all there.
    detail: str = "normal"

    @property
    def steps(self) -> tuple[Step, ...]:
        """All steps in reading order: the shared ones, then each derivation's."""
        result = list(self.shared_steps)
        for derivation in self.derivations:
            result.extend(derivation.steps)
        return tuple(result)

    @property
    def verified(self) -> bool:
        """True only when every step was confirmed (and, at a point, every gradient check passed)."""
        steps_confirmed = all(step.verified for step in self.steps)
        return steps_confirmed and (self.evaluation is None or self.evaluation.verified)

    @property
    def derivatives(self) -> dict[str, sympy.Expr]:
        """Each ``wrt`` name mapped to its final derivative."""
        return {d.wrt: d.result for d in self.derivations}

    def render(self, fmt: str, **options: Any) -> str:
        """This solution rendered as ``text``, ``markdown``, ``latex``, ``html`` or ``json``.

        ``options`` are those of :func:`chainsolve.render.render_solution`.
        """
        from chainsolve.render import render_solution

        return render_solution(self, fmt, **options)  # type: ignore[arg-type]

    def to_text(
        self,
        *,
        notation: Notation = "leibniz",
        detail: Detail | None = None,
        template_dir: str | Path | None = None,
    ) -> str:
        """The terminal rendering (``detail`` defaults to the solution's own)."""
        return self.render("text", notation=notation, detail=detail, template_dir=template_dir)

    def to_markdown(
        self,
        *,
        notation: Notation = "leibniz",
        detail: Detail | None = None,
        template_dir: str | Path | None = None,
    ) -> str:
        """Markdown with ``$…$`` maths and a Mermaid graph."""
        return self.render("markdown", notation=notation, detail=detail, template_dir=template_dir)

    def to_latex(
        self,
        *,
        notation: Notation = "leibniz",
        detail: Detail | None = None,
        template_dir: str | Path | None = None,
        fragment: bool = False,
    ) -> str:
        """A standalone LaTeX document (``fragment=True`` for the body only)."""
        return self.render(
            "latex", notation=notation, detail=detail, template_dir=template_dir, fragment=fragment
        )

    def to_html(
        self,
        *,
        notation: Notation = "leibniz",
        detail: Detail | None = None,
        template_dir: str | Path | None = None,
        fragment: bool = False,
        reveal: bool = False,
    ) -> str:
        """One self-contained HTML page (MathML, inline SVG graph; ``fragment=True``: the body).

        ``reveal`` folds each step's maths into a ``<details>`` a student opens.
        """
        return self.render(
            "html",
            notation=notation,
            detail=detail,
            template_dir=template_dir,
            fragment=fragment,
            reveal=reveal,
        )

    def to_json(self) -> str:
        """The documented JSON schema."""
        return self.render("json")

    def _repr_html_(self) -> str:
        """Jupyter: the HTML page's body with its style scoped to it (works offline)."""
        from chainsolve.render import html_body

        return html_body(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return self.to_latex(fragment=True)

    def __str__(self) -> str:
        """The results, one line each: ``dy/dx = 2x·cos(x²)``."""
        from chainsolve.filters import chain_unicode

        return "\n".join(chain_unicode([d.derivative, d.result]) for d in self.derivations)

    def __repr__(self) -> str:
        checked = "verified" if self.verified else "not all steps confirmed"
        results = "; ".join(str(self).splitlines())
        return (
            f"<Solution of {self.problem.source!r}: {results} ({len(self.steps)} steps, {checked})>"
        )
