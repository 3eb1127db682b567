"""Rubrics: a problem's points, partial credit, required form, domain and anticipated answers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chainsolve import wording
from chainsolve.record import record

if TYPE_CHECKING:
    import sympy

    from chainsolve.problem import Problem

#: The keys of a ``[problems.rubric]`` table and of each anticipated answer in it.
RUBRIC_KEYS = ("points", "credit", "after_slip", "form", "form_credit", "assume", "feedback")
FEEDBACK_KEYS = ("answer", "text", "credit")
#: The required forms a rubric may ask for (see :func:`form_failures` for how each is checked).
FORMS = ("simplified", "factored", "no derivative left")
#: Columns a graded row gains from its rubric.
RUBRIC_COLUMNS = ("student", "problem", "score", "points", "feedback")
#: Verdicts that are a judgement on the answer (the others go to hand review, unscored).
JUDGED = ("equivalent", "not_equivalent", "equivalent_on_part", "wrong_step", "incomplete")
#: Most anticipated answers one rubric may hold (each costs a comparison per wrong answer).
MAX_FEEDBACK = 30
#: CPU seconds each symbolic proof of a rubric comparison may take.
PROOF_SECONDS = 0.5

_BOUND = re.compile(r"\s*([A-Za-z]\w*)\s*(>=|<=|>|<|≥|≤)\s*(-?\d+(?:\.\d+)?)\s*\Z")


@record
class Feedback:
    """An anticipated answer (an expression, matched by equivalence) and the instructor's text.

    ``credit`` is its share of the points; None gives what its named mistake would get.
    """

    answer: str
    text: str
    credit: float | None = None


@record
class Bound:
    """One condition of a declared domain: ``name op value`` such as ``x > 0``."""

    name: str
    op: str
    value: str


@record
class Rubric:
    """How one problem is scored; ``problem_id`` and ``student`` label the graded row."""

    points: float = 1.0
    credit: tuple[tuple[str, float], ...] = ()
    after_slip: float = 0.0
    form: tuple[str, ...] = ()
    form_credit: float = 0.5
    assume: tuple[Bound, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    problem_id: str = ""
    student: str = ""

    def unlabelled(self) -> Rubric:
        """The same rubric without the row's labels (what the score depends on)."""
        return dataclasses.replace(self, problem_id="", student="")


# -- reading a rubric from the sheet ----------------------------------------------------------


def _share(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"'{key}' must be a share of the points between 0 and 1")
    return float(value)


def _credit(value: Any) -> tuple[tuple[str, float], ...]:
    from chainsolve.mistakes import MISTAKES

    if not isinstance(value, dict):
        raise ValueError("'credit' must be a table such as {missing_inner_derivative = 0.5}")
    for mistake in value:
        # A matrix problem's mistakes (matrix_wrong_order, …) earn credit as a scalar one's do.
        if mistake not in MISTAKES and mistake not in wording.MATRIX_MISTAKES:
            raise ValueError(f"'credit': unknown mistake {mistake!r} (see chainsolve mistakes)")
    return tuple((mistake, _share(value, mistake, 0.0)) for mistake in sorted(value))


def _forms(value: Any) -> tuple[str, ...]:
    forms = [value] if isinstance(value, str) else value
    if not isinstance(forms, list) or any(f not in FORMS for f in forms):
        raise ValueError(f"'form' must be one or more of {', '.join(map(repr, FORMS))}")
    return tuple(forms)


def parse_assume(text: Any) -> tuple[Bound, ...]:
    """The conditions of ``assume = "x > 0, y >= 1"``; raises ValueError on anything else."""
    parts = text.split(",") if isinstance(text, str) and text.strip() else None
    bounds = [_BOUND.match(part) for part in parts or [""]]
    if parts is None or not all(bounds):
        raise ValueError('\'assume\' must be conditions such as "x > 0" or "x > 0, y <= 1"')
    ascii_op = {"≥": ">=", "≤": "<="}
    return tuple(
        Bound(m.group(1), ascii_op.get(m.group(2), m.group(2)), m.group(3)) for m in bounds if m
    )


def _feedback(value: Any) -> tuple[Feedback, ...]:
    from chainsolve.errors import ChainsolveError
    from chainsolve.parsing import parse_expression

    if not isinstance(value, list) or len(value) > MAX_FEEDBACK:
        raise ValueError(f"'feedback' must be a list of at most {MAX_FEEDBACK} tables")
    items = []
    for table in value:
        if not isinstance(table, dict) or set(table) - set(FEEDBACK_KEYS):
            raise ValueError(f"each 'feedback' entry is a table of {', '.join(FEEDBACK_KEYS)}")
        answer, text = table.get("answer"), table.get("text")
        if not isinstance(answer, str) or not isinstance(text, str) or not text.strip():
            raise ValueError("each 'feedback' entry needs an 'answer' and a 'text'")
        try:
            parse_expression(answer)  # the instructor's typo is reported when the sheet is read
        except ChainsolveError as error:
            raise ValueError(f"'feedback' answer {answer!r}: {error.message}") from None
        credit = _share(table, "credit", 0.0) if "credit" in table else None
        items.append(Feedback(answer, text.strip(), credit))
    return tuple(items)


def rubric_from_dict(table: Any) -> Rubric:
    """Validate a ``[problems.rubric]`` table; raises ValueError with what is wrong."""
    if not isinstance(table, dict):
        raise ValueError("'rubric' must be a table")
    unknown = sorted(set(table) - set(RUBRIC_KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (the keys are {', '.join(RUBRIC_KEYS)})")
    points = table.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, int | float) or not 0 < points <= 1e6:
        raise ValueError("'points' must be a positive number")
    return Rubric(
        points=float(points),
        credit=_credit(table.get("credit", {})),
        after_slip=_share(table, "after_slip", 0.0),
        form=_forms(table.get("form", [])),
        form_credit=_share(table, "form_credit", 0.5),
        assume=parse_assume(table["assume"]) if "assume" in table else (),
        feedback=_feedback(table.get("feedback", [])),
    )


# -- scoring a graded row ---------------------------------------------------------------------


def label_row(row: dict[str, Any], rubric: Rubric) -> dict[str, Any]:
    """``row`` with the rubric's columns: the student, the problem id, its points, no score yet."""
    row.update(student=rubric.student, problem=rubric.problem_id, points=rubric.points)
    row.setdefault("score", None)
    row.setdefault("feedback", wording.RUBRIC_HAND_REVIEW)
    return row


@record
class _Outcome:
    """The rubric's score of one answer: its credit (None: hand review) and feedback."""

    credit: float | None
    feedback: str
    on_domain: bool = False


def score_row(
    row: Mapping[str, Any],
    rubric: Rubric,
    *,
    problem: Problem | None = None,
    answer: str | None = None,
    lines: Sequence[Mapping[str, Any]] = (),
    timeout: float | None = None,
) -> dict[str, Any]:
    """``row`` with ``score``, ``points`` and ``feedback`` from ``rubric``.

    ``problem`` (parsed) and the student's ``answer`` text let the rubric judge the required
    form, the declared domain and the anticipated answers; a derivation's ``lines`` (as in
    its JSON verdict) give credit for correct lines after a slip. Undecided and invalid rows
    get no score: they go to hand review.
    """
    from chainsolve.budget import stage
    from chainsolve.errors import BudgetExceeded, ChainsolveError

    scored = label_row(dict(row), rubric)
    if row.get("verdict") not in JUDGED or row.get("limit"):
        return scored
    try:
        with stage("rubric", timeout):
            expressions = _expressions(problem, answer)
            outcome = _outcome(row, rubric, expressions, lines)
    except (BudgetExceeded, ChainsolveError, RecursionError, MemoryError):
        return scored  # the rubric could not be applied: hand review
    if outcome.on_domain:
        scored.update(
            verdict="equivalent",
            correct=True,
            mistakes=[],
            counterexample=None,
            message=wording.RUBRIC_ON_DOMAIN.format(domain=_domain_text(rubric.assume)),
        )
    scored["score"] = None if outcome.credit is None else round(rubric.points * outcome.credit, 4)
    scored["feedback"] = outcome.feedback
    return scored


#: The student's answer and the oracle's derivative, both in terms of the problem's inputs.
_Pair = tuple["sympy.Expr", "sympy.Expr", dict["sympy.Symbol", "sympy.Expr"]]


def _expressions(problem: Problem | None, answer: str | None) -> _Pair | None:
    """The student's answer and ``sympy.diff`` of the flattened problem (the oracle)."""
    import sympy

    from chainsolve.derivation import flatten_definitions, substitute
    from chainsolve.parsing import parse_expression
    from chainsolve.problem import make_symbol

    if problem is None or answer is None or len(problem.wrt) != 1:
        return None
    flat = flatten_definitions(problem)
    target = flat[make_symbol(problem.target)]
    oracle = sympy.diff(target, make_symbol(problem.wrt[0]))
    return substitute(parse_expression(answer), flat), oracle, flat


def _outcome(
    row: Mapping[str, Any],
    rubric: Rubric,
    expressions: _Pair | None,
    lines: Sequence[Mapping[str, Any]],
) -> _Outcome:
    on_domain = False
    if row.get("verdict") != "equivalent":
        # Only a verdict on the value is judged again on the domain: an incomplete answer
        # (a derivative left) stays incomplete whatever its value.
        on_domain = bool(
            expressions
            and rubric.assume
            and row.get("verdict") in ("not_equivalent", "equivalent_on_part")
            and _equal(expressions[0], expressions[1], rubric)
        )
        if not on_domain:
            return _wrong(row, rubric, expressions, lines)
    failures = form_failures(expressions[0], expressions[1]) if expressions else []
    failures = [form for form in failures if form in rubric.form]
    if failures:
        return _Outcome(
            rubric.form_credit,
            wording.RUBRIC_FORM.format(forms=", ".join(failures)),
            on_domain,
        )
    return _Outcome(1.0, "", on_domain)


def _wrong(
    row: Mapping[str, Any],
    rubric: Rubric,
    expressions: _Pair | None,
    lines: Sequence[Mapping[str, Any]],
) -> _Outcome:
    """The credit of a wrong answer: an anticipated one's, a named mistake's, or a slip's."""
    credit = _credit_of(row, rubric, lines)
    anticipated = _anticipated(rubric, expressions)
    if anticipated is None:
        return credit
    share = credit.credit if anticipated.credit is None else anticipated.credit
    return _Outcome(share, anticipated.text)


def _anticipated(rubric: Rubric, expressions: _Pair | None) -> Feedback | None:
    """The first anticipated answer equivalent to the student's (on the declared domain)."""
    from chainsolve.derivation import substitute
    from chainsolve.parsing import parse_expression

    if expressions is None:
        return None
    for item in rubric.feedback:
        expected = substitute(parse_expression(item.answer), expressions[2])
        if _equal(expressions[0], expected, rubric):
            return item
    return None


def _credit_of(
    row: Mapping[str, Any], rubric: Rubric, lines: Sequence[Mapping[str, Any]]
) -> _Outcome:
    """The best of the named mistakes' credit and the credit for lines after a slip."""
    from chainsolve.mistakes import MISTAKES

    credits = dict(rubric.credit)
    named = [(credits[m], m) for m in row.get("mistakes") or [] if m in credits]
    slip = _after_slip(row, rubric, lines)
    best = max([(0.0, ""), *named, (slip, "after_slip")], key=lambda credit: credit[0])
    if best[1] == "after_slip":
        return _Outcome(best[0], wording.RUBRIC_AFTER_SLIP)
    if best[1]:
        title = (
            MISTAKES[best[1]].title if best[1] in MISTAKES else wording.MATRIX_MISTAKES[best[1]][0]
        )
        return _Outcome(best[0], wording.RUBRIC_MISTAKE.format(mistake=title))
    return _Outcome(0.0, "")


def _after_slip(
    row: Mapping[str, Any], rubric: Rubric, lines: Sequence[Mapping[str, Any]]
) -> float:
    """``after_slip`` times the share of the lines after the first wrong one that follow."""
    first = row.get("first_wrong_line")
    if not rubric.after_slip or first is None:
        return 0.0
    after = [line for line in lines if line.get("line", 0) > int(first)]
    if not after:
        return 0.0
    follows = sum(1 for line in after if line.get("status") == "follows")
    return rubric.after_slip * follows / len(after)


def _on_domain(expr: sympy.Expr, assume: Sequence[Bound]) -> sympy.Expr:
    """``expr`` with each bounded variable written so that it can only take the domain's values.

    ``x > c`` becomes ``c + exp(t)`` and ``x >= c`` becomes ``c + t²`` for a real ``t``:
    every real ``t`` is a point of the domain and every point of it is reached, so the
    comparison (sampling ``t`` with both signs) judges equivalence on the domain only.
    """
    import sympy

    from chainsolve.problem import make_symbol

    mapping = {}
    for bound in assume:
        t = sympy.Dummy(f"t_{bound.name}", real=True)
        value = sympy.Rational(bound.value)
        offset = sympy.exp(t) if bound.op in (">", "<") else t**2
        mapping[make_symbol(bound.name)] = value + offset if ">" in bound.op else value - offset
    return expr.xreplace(mapping)


def _equal(a: sympy.Expr, b: sympy.Expr, rubric: Rubric) -> bool:
    """Whether ``a`` equals ``b`` on the rubric's domain (everywhere without one)."""
    from chainsolve.equivalence import compare

    if rubric.assume:
        a, b = _on_domain(a, rubric.assume), _on_domain(b, rubric.assume)
    return compare(a, b, proof_seconds=PROOF_SECONDS).verdict == "equal"


def form_failures(answer: sympy.Expr, oracle: sympy.Expr) -> list[str]:
    """The required forms ``answer`` (as parsed, in the inputs) is not in, checked structurally.

    - ``no derivative left``: no ``Derivative`` node of a known expression in the tree
      (f′(g(x)) of an unknown f is a final answer, as in the verdict's own check);
    - ``factored``: not a sum whose terms share a non-numeric factor (``factor_terms``
      pulls none out; a numeric one cannot be seen, the parser distributes 2·(x + 1));
    - ``simplified``: no more operations (``count_ops``) than the oracle's derivative.
    """
    import sympy
    from sympy.core.function import AppliedUndef

    failures = []
    if any(not isinstance(d.expr, AppliedUndef) for d in answer.atoms(sympy.Derivative)):
        failures.append("no derivative left")
    if isinstance(answer, sympy.Add):
        _, rest = sympy.factor_terms(answer).as_coeff_Mul()
        if not isinstance(rest, sympy.Add):
            failures.append("factored")
    if sympy.count_ops(answer) > sympy.count_ops(oracle):
        failures.append("simplified")
    return failures


def _domain_text(assume: Sequence[Bound]) -> str:
    return ", ".join(f"{b.name} {b.op} {b.value}" for b in assume)
