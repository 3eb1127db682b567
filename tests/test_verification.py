"""Tests for chainsolve.verify: verdicts on answers, line-by-line derivations, rendering."""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from chainsolve import equivalence, wording
from chainsolve.errors import ParseError, ProblemError
from chainsolve.parsing import parse_problem
from chainsolve.problem import make_symbol
from chainsolve.verification import (
    AnswerVerdict,
    render_verdict,
    split_lines,
    verify_answer,
    verify_derivation,
)

# The package facade may export a function named verify, so reach the module itself.
verify_module = importlib.import_module("chainsolve.verification")

SIN = "sin(x^2)"


def check(problem: str, answer: str, **options: object) -> AnswerVerdict:
    """verify_answer on a problem given as text."""
    return verify_answer(parse_problem(problem), answer, timeout=20, **options)  # type: ignore[arg-type]


def test_correct_answer_is_equivalent() -> None:
    """The true derivative is proved equivalent and correct."""
    result = check(SIN, "2*x*cos(x^2)")
    assert (result.verdict, result.correct, result.mistakes) == ("equivalent", True, ())


def test_other_correct_forms_are_accepted() -> None:
    """Different correct forms are accepted: -sin/cos for -tan's sibling, σ(1−σ) as exp."""
    assert check("log(cos(x))", "-sin(x)/cos(x)").correct
    assert check("log(cos(x))", "-tan(x)").correct
    assert check("sigmoid(x)", "exp(-x)/(1 + exp(-x))^2").correct
    assert check("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))").correct


def test_decimal_written_exactly_is_accepted() -> None:
    """0.5 in an answer means ½ exactly, so 0.5/sqrt(x) is right for sqrt(x)."""
    assert check("sqrt(x)", "0.5/sqrt(x)").correct


def test_wrong_answer_has_counterexample_and_mistake() -> None:
    """A wrong answer gets a point, both values there, and the mistake it matches."""
    result = check(SIN, "cos(x^2)")
    assert result.verdict == "not_equivalent" and not result.correct
    assert result.counterexample is not None
    assert result.counterexample.answer_value != result.counterexample.expected_value
    assert result.mistake_ids == ["missing_inner_derivative"]
    assert "inner derivative" in result.message


def test_near_miss_float_is_not_equivalent() -> None:
    """2x·cos(x²) + 1e-12 is not equivalent, and the message shows digits that differ."""
    result = check(SIN, "2*x*cos(x^2) + 1e-12")
    assert result.verdict == "not_equivalent"
    shown_answer, shown_expected = result.counterexample.values_text()  # type: ignore[union-attr]
    assert shown_answer != shown_expected


def test_equivalent_on_part_of_domain() -> None:
    """For sqrt(x²) the answer 1 is right only for x > 0, and the report says where."""
    result = check("sqrt(x^2)", "1")
    assert result.verdict == "equivalent_on_part" and not result.correct
    assert "x > 0" in result.message


def test_numeric_agreement_without_proof_is_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agreement at random points with no symbolic proof is undecided, never a guess."""
    monkeypatch.setattr(equivalence, "symbolic_zero", lambda difference, seconds: False)
    result = check(SIN, "2*x*cos(x^2)")
    assert result.verdict == "undecided" and not result.correct
    assert "no symbolic proof" in result.message


def test_unevaluated_derivative_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer still containing d/dx(…) is incomplete, even when it would evaluate right."""
    x = sympy.Symbol("x", real=True)
    monkeypatch.setattr(
        verify_module, "_parse", lambda text, problem, **_: sympy.Derivative(sympy.sin(x**2), x)
    )
    result = check(SIN, "d/dx(sin(x^2))")
    assert result.verdict == "incomplete" and not result.correct
    assert result.mistake_ids == ["unevaluated_derivative"]


def test_answer_may_use_intermediate_names() -> None:
    """For z = x²y; x = cos t; y = eᵗ an answer may keep x and y, which are substituted."""
    problem = "z = x^2*y; x = cos(t); y = exp(t)"
    assert check(problem, "2*x*y*(-sin(t)) + x^2*exp(t)").correct
    assert check(problem, "-2*cos(t)*sin(t)*exp(t) + cos(t)^2*exp(t)").correct


def test_dropped_path_is_caught() -> None:
    """Dropping one path of the multivariable chain rule is wrong and named missing_path."""
    result = check("z = x^2*y; x = cos(t); y = exp(t)", "2*x*y*(-sin(t))")
    assert result.verdict == "not_equivalent" and "missing_path" in result.mistake_ids


def test_abstract_answer_with_subscript_partials() -> None:
    """With f(x, y), g(t), h(t) unknown, f_x·g_t + f_y·h_t is right; a dropped path is caught."""
    problem = "z = f(x, y); x = g(t); y = h(t)"
    assert check(problem, "f_x*g_t + f_y*h_t").correct
    dropped = check(problem, "f_x*g_t")
    assert dropped.verdict == "not_equivalent" and "missing_path" in dropped.mistake_ids
    assert dropped.counterexample is not None and dropped.counterexample.concrete_functions


def test_unparseable_answer_raises_parse_error() -> None:
    """An answer that cannot be read is bad input (ParseError, exit code 2 in the CLI)."""
    with pytest.raises(ParseError):
        check(SIN, "2*x*cos(x^2")


def test_ambiguous_variable_is_a_problem_error() -> None:
    """With several inputs and no wrt the answer's variable is ambiguous."""
    from chainsolve.errors import ChainsolveError

    with pytest.raises(ChainsolveError):
        verify_answer(parse_problem("sin(x*t)", wrt=["x", "t"]), "t*cos(x*t)")
    assert verify_answer(parse_problem("sin(x*t)", wrt=["x", "t"]), "t*cos(x*t)", wrt="x").correct


def test_json_has_the_documented_keys() -> None:
    """JSON output carries correct, verdict, counterexample, mistakes and message."""
    data = json.loads(render_verdict(check(SIN, "cos(x^2)"), "json"))
    assert {"correct", "verdict", "counterexample", "mistakes", "message"} <= set(data)
    assert data["correct"] is False and data["mistakes"] == ["missing_inner_derivative"]
    assert set(data["counterexample"]) >= {"point", "answer", "expected"}


DERIVATION = """\
# chain rule
dy/dx = cos(x^2) * 2*x
= 2*x*cos(x^2)
= x*cos(x^2)        # slip: lost the 2
= cos(x^2)*x
"""


def test_derivation_with_slip_and_recovery() -> None:
    """Each line gets a status; the first wrong line is named; work after the slip follows."""
    report = verify_derivation(parse_problem(SIN), DERIVATION, timeout=20)
    statuses = [(line.number, line.status, line.follows_from) for line in report.lines]
    assert statuses == [
        (2, "follows", 0),
        (3, "follows", 2),
        (4, "does_not_follow", 3),
        (5, "follows", 4),
    ]
    assert report.first_wrong_line == 4 and not report.correct
    assert "constant_factor" in report.mistake_ids
    assert report.lines[3].summary == "follows from line 4"


def test_correct_derivation_is_correct() -> None:
    """A derivation whose lines all follow and end at the derivative is correct."""
    report = verify_derivation(
        parse_problem(SIN), "d/dx(sin(x^2))\n= cos(x^2)*2*x\n= 2*x*cos(x^2)\n"
    )
    assert report.correct and report.verdict == "equivalent"
    assert report.lines[0].status == "follows"


def test_unreadable_line_gets_a_caret_and_is_skipped() -> None:
    """An unreadable line gets a caret and is skipped; the next line is compared with the one before."""
    report = verify_derivation(
        parse_problem(SIN), "= 2*x*cos(x^2)\n= 2*x*cos(x^2))\n= 2*cos(x^2)*x\n"
    )
    assert [line.status for line in report.lines] == ["follows", "unreadable", "follows"]
    assert report.lines[1].caret is not None and "^" in report.lines[1].caret[1]
    assert report.lines[2].follows_from == 1
    assert (report.verdict, report.correct) == ("equivalent", True)
    assert "Line 2 could not be read and was skipped." in report.message


def test_empty_derivation_is_bad_input() -> None:
    """A derivation of only comments and blank lines is a ParseError."""
    with pytest.raises(ParseError):
        verify_derivation(parse_problem(SIN), "# nothing\n\n")


def test_split_lines_drops_comments_and_blanks_and_keeps_columns() -> None:
    """split_lines keeps each line that holds something, its number and its column."""
    lines = split_lines("# work\n\n  dy/dx = 2*x  # chain rule\n")
    assert [(line.number, line.text, line.offset) for line in lines] == [(3, "dy/dx = 2*x", 2)]


def _truth(problem: str = SIN) -> sympy.Expr:
    """The independent oracle: sympy.diff of the problem written directly."""
    x = sympy.Symbol("x", real=True)
    return sympy.diff(sympy.sympify(problem.replace("^", "**"), locals={"x": x}), x)


@pytest.mark.parametrize(
    "prefix", ["dy/dx = ", "y' = ", "f'(x) = ", "∂y/∂x = ", "d/dx(sin(x^2)) = ", "=> ", "= "]
)
def test_every_prefix_reads_the_derivative_on_any_line(prefix: str) -> None:
    """dy/dx, y', f'(x), ∂y/∂x, d/dx(…), => and = before the maths are read on every line."""
    report = verify_derivation(parse_problem(SIN), f"{prefix}cos(x^2)*2x\n{prefix}2x*cos(x^2)")
    assert [c.status for c in report.lines] == ["follows", "follows"], report.message
    assert report.correct
    assert sympy.simplify(report.lines[-1].expr - _truth()) == 0  # type: ignore[operator]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html", "json"])
def test_reports_render_in_every_format(fmt: str) -> None:
    """Verdicts and derivation reports render in every format with the lines typeset."""
    report = verify_derivation(parse_problem(SIN), DERIVATION, timeout=20)
    answer = check(SIN, "cos(x^2)")
    for rendered in (render_verdict(report, fmt), render_verdict(answer, fmt)):
        assert "inner derivative missing" in rendered or "off by a constant factor" in rendered
    text = render_verdict(report, fmt)
    typeset = {
        "text": "cos(x²)",
        "markdown": r"\cos",
        "latex": r"\cos",
        "html": "<math",
        "json": "x*cos(x^2)",
    }
    assert typeset[fmt] in text


def test_answer_with_a_function_nobody_defined_is_refused_with_a_suggestion() -> None:
    """cosine(x) is not compared as a made-up function: a ParseError at the name, 'did you mean cos?'."""
    with pytest.raises(ParseError) as caught:
        verify_answer(parse_problem("sin(x)"), "2*cosine(x)")
    error = caught.value
    assert error.code == "unknown_function"
    assert error.span is not None and (error.span.start, error.span.end) == (2, 8)
    assert error.hint == "did you mean cos?"


def test_answer_may_use_the_problems_unknown_functions() -> None:
    """f is the problem's own unknown function: answers with f and f_1 are judged, g is refused."""
    assert verify_answer(parse_problem("f(x^2)"), "2*x*f_1").verdict == "equivalent"
    assert verify_answer(parse_problem("f(x^2)"), "2*x*f(x^2)").verdict == "not_equivalent"
    with pytest.raises(ParseError):
        verify_answer(parse_problem("f(x^2)"), "2*x*g(x^2)")
    with pytest.raises(ParseError) as caught:
        verify_answer(parse_problem("f(x^2)"), "2*x*f_1(x^2)")
    assert caught.value.hint is not None and caught.value.hint.startswith("write f_1 without")


def test_line_with_a_foreign_function_is_unreadable_with_the_hint() -> None:
    """In a derivation, the line with the unknown name is marked unreadable and says what was meant."""
    report = verify_derivation(parse_problem("sin(x^2)"), "cos(x^2)*2x\n= 2x*cosin(x^2)")
    assert report.lines[1].status == "unreadable"
    assert "did you mean cos?" in (report.lines[1].note or "")


# -- issue 12: wrong verdicts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "answer", "wrt"),
    [
        ("sin(x^3)", "3x*cos(x^3)", None),
        ("(x^2+1)^3", "6(x^2+1)^2", None),
        ("e^(x^2)", "2*e^(x^2)", None),
        ("ln(x^2+1)", "2/(x^2+1)", None),
        ("sin(x)/x", "(x*cos(x) - sin(x))/x", None),
        ("L = (w*x + b - y)^2", "2(w*x + b - y)", "w"),
        ("sin(x^2)", "2x*cos(x)", None),
    ],
)
def test_agreement_at_scattered_points_is_not_equivalent(
    problem: str, answer: str, wrt: str | None
) -> None:
    """A wrong answer equal to the derivative at x = 1 only is 'not equivalent', no invented region."""
    parsed = parse_problem(problem, wrt=[wrt] if wrt else None)
    result = verify_answer(parsed, answer, timeout=20, wrt=wrt)
    assert result.verdict == "not_equivalent" and result.agree_where == ""
    assert "part of the domain" not in result.message and "sampled points" not in result.message
    assert result.counterexample is not None and result.counterexample.answer_value is not None
    x = {name: sympy.Symbol(name, real=True) for name in result.counterexample.point}
    truth = result.expected.subs({x[n]: v for n, v in result.counterexample.point.items()})
    assert abs(float(truth) - (result.counterexample.expected_value or 0)) < 1e-9


def test_answer_right_on_the_problems_domain_is_equivalent() -> None:
    """1/|x| is the derivative of ln x on its domain x > 0: no counterexample at x = -1."""
    result = check("ln(x)", "1/abs(x)")
    assert (result.verdict, result.correct, result.counterexample) == ("equivalent", True, None)


def test_counterexamples_lie_in_the_problems_domain() -> None:
    """A wrong answer to ln(x) is shown wrong at a point where ln x is defined (x > 0)."""
    result = check("ln(x)", "1/x^2")
    assert result.verdict == "not_equivalent" and result.counterexample is not None
    assert result.counterexample.point["x"] > 0


def test_no_counterexample_at_a_kink() -> None:
    """|x² − 1| has no derivative at x = ±1: 2x is judged away from them, right only where x² > 1.

    A teacher says 2x forgets the sign of x² − 1: right where x² > 1, wrong (−2x is right)
    where x² < 1; like sqrt(x²)′ against 1, that is 'equivalent only on part of the domain',
    with the region stated and a counterexample inside (−1, 1).
    """
    result = check("abs(x^2-1)", "2x")
    assert result.verdict == "equivalent_on_part" and not result.correct
    assert result.agree_where == "x^2 > 1" and "they agree where x^2 > 1" in result.message
    assert result.counterexample is not None
    assert abs(result.counterexample.point["x"]) < 1
    assert result.counterexample.expected_value == -(result.counterexample.answer_value or 0)


def test_expected_is_sympys_derivative_of_the_flattened_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The truth is sympy.diff of the flattened target, not chainsolve's derivation (shown only)."""
    real_solve = verify_module.solve_problem

    def wrong_derivation(problem: object, **options: object) -> object:
        solution = real_solve(problem, **options)
        derivation = solution.derivations[0]
        x = sympy.Symbol("x", real=True)
        broken = dataclasses.replace(derivation, result=sympy.cos(x**2))
        return dataclasses.replace(solution, derivations=(broken, *solution.derivations[1:]))

    monkeypatch.setattr(verify_module, "solve_problem", wrong_derivation)
    monkeypatch.setattr(verify_module, "_contexts", {})
    assert check(SIN, "2*x*cos(x^2)").correct
    wrong = check(SIN, "cos(x^2)")
    assert wrong.verdict == "not_equivalent"
    assert (
        sympy.simplify(wrong.expected - sympy.diff(sympy.sin(sympy.Symbol("x", real=True) ** 2)))
        == 0
    )


def test_verify_solves_for_the_result_alone() -> None:
    """A verdict prints no step: verify's solution is its closing claim (Expected), checked."""
    solved = verify_module._solve_context(parse_problem("sin(x^3)*exp(x)"), "x")
    steps = [(step.kind, step.check.status) for step in solved.derivation.steps]
    assert steps == [("simplify", "symbolic")]


def test_expected_form_reuses_the_proof_of_the_closing_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """chainsolve's form of dz/dt is shown as proved by its closing claim, not sampled again."""

    def no_sampling(*args: object, **options: object) -> object:
        raise AssertionError("the closing claim's proof should have been reused")

    problem = parse_problem("z = x^2*y; x = cos(t); y = exp(t)")
    monkeypatch.setattr(equivalence, "numeric_comparison", no_sampling)
    solved = verify_module._solve_context(problem, "t")
    assert solved.shown != solved.expected  # chainsolve's form, not sympy's
    assert sympy.simplify(solved.shown - solved.expected) == 0


def test_a_lines_dy_du_reuses_the_truth(monkeypatch: pytest.MonkeyPatch) -> None:
    """dy/du in a line is dy/dx ÷ du/dx with dy/dx the truth already taken, not differentiated again."""
    problem = parse_problem(SIN)
    verify_module.forget_solved_problems()
    verify_module._context(problem, "x")  # the truth, as verify_derivation takes it first
    target, x = sympy.sin(make_symbol("x") ** 2), make_symbol("x")
    taken = []
    real_diff = sympy.diff

    def counting_diff(expr: sympy.Expr, *symbols: sympy.Symbol) -> sympy.Expr:
        taken.append((expr, symbols))
        return real_diff(expr, *symbols)

    monkeypatch.setattr(sympy, "diff", counting_diff)
    report = verify_derivation(problem, "u = x^2\ndy/du * du/dx\ndy/du * u'(x)\n")
    assert [line.status for line in report.lines] == ["defines", "follows", "follows"]
    assert (target, (x,)) not in taken
    assert taken.count((x**2, (x,))) == 1  # du/dx, once for both lines


def test_restating_the_problem_is_not_a_derivation() -> None:
    """A derivation whose only line is d/dx(sin(x²)) is incomplete, not correct (exit 1)."""
    report = verify_derivation(parse_problem(SIN), "d/dx(sin(x^2))\n")
    assert (report.verdict, report.correct) == ("incomplete", False)
    assert "restating the problem is not a derivation" in report.message


def test_right_last_line_after_a_wrong_step_is_not_correct() -> None:
    """Two slips that cancel end at the derivative, but the derivation is not correct."""
    report = verify_derivation(parse_problem(SIN), "= 2*x*cos(x^2)\n= x*cos(x^2)\n= 2*x*cos(x^2)")
    assert (report.verdict, report.correct, report.first_wrong_line) == ("wrong_step", False, 2)
    assert report.verdict_label == "a step does not follow"


@pytest.mark.parametrize(
    ("lines", "verdict", "exit_code"),
    [
        ("= 2*x*cos(x^2)\n= 2*x*cos(x^2))\n= 2*cos(x^2)*x\n", "equivalent", 0),
        ("= cos(x^2)*2x\n= 2x*cos((x^2)\n= x*cos(x^2)\n", "not_equivalent", 1),
        ("d/dx(sin(x^2))\n", "incomplete", 1),
    ],
)
def test_text_json_and_grade_agree_on_one_verdict_and_exit_code(
    tmp_path: Path, lines: str, verdict: str, exit_code: int
) -> None:
    """Unreadable lines are skipped; text, JSON and grade give the same verdict, exit follows it."""
    from click.testing import CliRunner

    from chainsolve.cli import main as cli
    from chainsolve.grade import Submission, grade_submission

    derivation = tmp_path / "work.txt"
    derivation.write_text(lines, encoding="utf-8")
    runs = {
        fmt: CliRunner().invoke(
            cli, ["verify", SIN, "--derivation", str(derivation), "--format", fmt]
        )
        for fmt in ("text", "json")
    }
    label = wording.VERDICT_LABELS[verdict]
    assert f"Verdict: {label}" in runs["text"].output
    assert json.loads(runs["json"].output)["verdict"] == verdict
    assert {run.exit_code for run in runs.values()} == {exit_code}
    row = grade_submission(Submission(0, "s1", SIN, derivation=lines), timeout=20)
    assert (row["verdict"], row["correct"]) == (verdict, exit_code == 0)


def test_partial_by_a_variable_is_not_the_total_derivative() -> None:
    """For z = f(x, t), x = g(t), f_t is ∂₂f (not d/dt f(g(t), t)): f_x·g_t + f_t is right."""
    problem = parse_problem("z = f(x, t); x = g(t)", wrt=["t"])
    for answer in ("f_x*g_t + f_t", "f_1*g_t + f_2"):
        assert verify_answer(problem, answer, timeout=20).correct
    assert verify_answer(problem, "2*f_x*g_t + f_t", timeout=20).verdict == "not_equivalent"


def test_verification_returns_data_and_wording_words_the_verdict() -> None:
    """A verdict holds no prose: its message is worded by chainsolve.wording from its data."""
    import inspect

    from chainsolve import verification

    source = inspect.getsource(verification)
    sentences = (
        "Not equivalent to",
        "This matches a common mistake",
        "could not be read and",
        "but it is the correct derivative",
    )
    for sentence in sentences:
        assert sentence not in source
    result = verify_answer(parse_problem("sin(x^2)"), "cos(x^2)")
    assert "message" not in {f.name for f in dataclasses.fields(result)}
    assert "note" not in {f.name for f in dataclasses.fields(verification.LineCheck)}
    assert result.message == wording.answer_message(result)
    assert result.message.startswith("Not equivalent to dy/dx.")


def test_verdicts_print_greek_names_and_d_like_solutions() -> None:
    """A verdict on sin(theta^2) says dy/dθ and 'At θ = …'; on sin(d^2) dy/d(d), as solutions do."""
    result = verify_answer(parse_problem("sin(theta^2)"), "cos(theta^2)")
    assert result.message.startswith("Not equivalent to dy/dθ. At θ = ")
    assert "theta" not in render_verdict(result, "text").split("\n", 1)[0].split(" for ")[0]
    named_d = verify_answer(parse_problem("sin(d^2)"), "cos(d^2)")
    assert named_d.message.startswith("Not equivalent to dy/d(d).")


U_SUBSTITUTION = "y = sin(x^2)\nu = x^2\ndu/dx = 2x\ndy/dx = dy/du * du/dx\n= cos(u)*2x\n"


def test_u_substitution_with_side_lines_is_read_and_correct() -> None:
    """u = x², du/dx = 2x and dy/dx = dy/du·du/dx are side lines and a chain line, not new names."""
    report = verify_derivation(parse_problem(SIN), U_SUBSTITUTION, timeout=20)
    assert [c.status for c in report.lines] == [
        "follows",
        "defines",
        "follows",
        "follows",
        "follows",
    ]
    assert (report.verdict, report.first_wrong_line) == ("equivalent", None)
    assert report.lines[3].unevaluated and not report.lines[4].unevaluated
    x = sympy.Symbol("x", real=True)
    chain = report.lines[3].expr
    assert chain is not None and chain.has(sympy.Derivative)
    assert report.lines[4].expr == sympy.cos(sympy.Symbol("u", real=True)) * 2 * x


def test_a_wrong_side_derivative_is_the_first_wrong_step() -> None:
    """du/dx = 3x for u = x² does not hold (the oracle says 2x): the derivation is not correct."""
    lines = "u = x^2\ndu/dx = 3x\ndy/du = cos(u)\ndy/dx = cos(u)*2x\n"
    report = verify_derivation(parse_problem(SIN), lines, timeout=20)
    assert [c.status for c in report.lines] == ["defines", "does_not_follow", "follows", "follows"]
    assert (report.verdict, report.first_wrong_line) == ("wrong_step", 2)


def test_leibniz_line_alone_is_incomplete() -> None:
    """Stopping at dy/dx = dy/du·du/dx leaves derivatives to evaluate: incomplete, not correct."""
    report = verify_derivation(parse_problem(SIN), "u = x^2\ndy/dx = dy/du * du/dx\n", timeout=20)
    assert report.lines[1].status == "follows"
    assert report.verdict == "incomplete"


def test_derivatives_on_the_left_and_chains_on_one_line() -> None:
    """d/dx(x²) = 2x and (x²)' = 2x are side claims; a = b = c is judged side by side."""
    lines = (
        "Using the chain rule:\n"
        "d/dx(x^2) = 2x\n"
        "(x^2)' = 2*x\n"
        "dy/dx = cos(x^2)*d/dx(x^2) = cos(x^2)*2x = 2x*cos(x^2)\n"
        "Therefore\n"
        "so\n"
    )
    report = verify_derivation(parse_problem(SIN), lines, timeout=20)
    assert [c.status for c in report.lines] == [
        "prose",
        "follows",
        "follows",
        "follows",
        "prose",
        "prose",
    ]
    assert report.correct
    assert report.grounds.prose == (1, 5, 6)
    assert "Lines 1, 5, 6 are prose and were skipped." in report.message
    wrong = verify_derivation(parse_problem(SIN), "dy/dx = 2x*cos(x^2) = x*cos(x^2)\n")
    assert (wrong.verdict, wrong.first_wrong_line) == ("not_equivalent", 1)


def test_a_restated_problem_that_is_wrong_does_not_follow() -> None:
    """y = cos(x^2) as a first line is not the problem sin(x²): that line does not follow."""
    report = verify_derivation(parse_problem(SIN), "y = cos(x^2)\ndy/dx = 2x*cos(x^2)\n")
    assert report.lines[0].status == "does_not_follow"
    assert report.verdict == "wrong_step"


@pytest.mark.parametrize(
    "answer",
    [
        "dy/dx = 2x*cos(x^2)",
        "y' = 2x*cos(x^2)",
        "f'(x) = 2x*cos(x^2)",
        "d/dx(sin(x^2)) = 2x*cos(x^2)",
    ],
)
def test_answer_accepts_the_derivation_prefixes(answer: str) -> None:
    """--answer reads dy/dx = …, y' = …, f'(x) = … and d/dx(…) = … like a derivation line."""
    assert check(SIN, answer).verdict == "equivalent"


@pytest.mark.parametrize("answer", ["cos(x^2)*du/dx", "d/dx(x^2)*cos(x^2)", "(x^2)'*cos(x^2)"])
def test_answer_with_a_derivative_left_is_incomplete(answer: str) -> None:
    """A derivative left in an answer (du/dx with no u, d/dx(x²), (x²)') is incomplete, exit 1."""
    result = check(SIN, answer)
    assert (result.verdict, result.correct) == ("incomplete", False)
    assert "unevaluated_derivative" in result.mistake_ids


def test_answer_that_is_a_definition_is_bad_input() -> None:
    """u = x^2 is not an answer: a ParseError, not a verdict."""
    with pytest.raises(ParseError):
        check(SIN, "u = x^2")


def test_u_substitution_gives_one_verdict_in_text_json_and_grade(tmp_path: Path) -> None:
    """The u-substitution derivation with a prose line is correct in text, JSON and grade alike."""
    from click.testing import CliRunner

    from chainsolve.cli import main as cli
    from chainsolve.grade import Submission, grade_submission

    lines = "Using the chain rule:\n" + U_SUBSTITUTION + "= 2x*cos(x^2))\n= 2x*cos(x^2)\n"
    derivation = tmp_path / "work.txt"
    derivation.write_text(lines, encoding="utf-8")
    runs = [
        CliRunner().invoke(cli, ["verify", SIN, "--derivation", str(derivation), "--format", fmt])
        for fmt in ("text", "json")
    ]
    assert {run.exit_code for run in runs} == {0}
    data = json.loads(runs[1].output)
    assert data["verdict"] == "equivalent"
    assert data["lines"][0]["status"] == "prose"
    assert "Line 7 could not be read and was skipped. Line 1 is prose" in data["message"]
    row = grade_submission(Submission(0, "s1", SIN, derivation=lines), timeout=20)
    assert (row["verdict"], row["correct"]) == ("equivalent", True)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("d/dx(" * 3000 + "x" + ")" * 3000, "too_deep"),
        ("x" * 30_000, "input_too_long"),
        (
            "+".join(f"{c}0" for c in "QZWKJVXYBGHMNPRSTLCDEFAIOUqzwkjvxybghmnprstlcdefaiou")
            + "+y'",
            "too_many_names",
        ),
    ],
)
def test_hostile_lines_are_unreadable_not_a_crash(line: str, code: str) -> None:
    """Derivatives nested 3,000 deep, a 30,000-character line, every stand-in name taken: unreadable."""
    report = verify_derivation(parse_problem(SIN), line + "\n= 2x*cos(x^2)\n", timeout=20)
    assert [c.status for c in report.lines] == ["unreadable", "follows"]
    assert report.correct
    with pytest.raises(ParseError) as raised:
        check(SIN, line)
    assert raised.value.code == code


def test_side_derivative_by_an_intermediate_name_uses_the_chain_rule() -> None:
    """dy/du for u = x² is cos(u) (the oracle's dy/dx divided by du/dx); cos(x^2)*2 is wrong."""
    right = verify_derivation(parse_problem(SIN), "u = x^2\ndy/du = cos(u)\n= 2x*cos(x^2)")
    assert [c.status for c in right.lines] == ["defines", "follows", "follows"]
    wrong = verify_derivation(parse_problem(SIN), "u = x^2\ndy/du = 2*cos(u)\n= 2x*cos(x^2)")
    assert wrong.lines[1].status == "does_not_follow" and wrong.first_wrong_line == 2


@pytest.mark.parametrize(
    ("problem", "lines", "flat"),
    [
        (
            "y = sin(u); u = x^2",
            "dy/du = cos(u)\ndu/dx = 2x\ndy/dx = dy/du*du/dx = cos(u)*2x",
            "sin(x**2)",
        ),
        (
            "e^(3x)",
            "Let u = 3x\nthen y = e^u\ndy/du = e^u\ndu/dx = 3\nso dy/dx = 3e^(3x)",
            "exp(3*x)",
        ),
        ("(x^2+1)^3", "u = x^2+1\ny = u^3\ndy/dx = 3u^2 * du/dx\n∴ 3(x^2+1)^2*2x", "(x**2+1)**3"),
    ],
)
def test_substitution_derivations_of_several_problems_are_correct(
    problem: str, lines: str, flat: str
) -> None:
    """Side lines, connectors (let, then, so, ∴) and the problem's own u: read and correct."""
    report = verify_derivation(parse_problem(problem), lines, timeout=20)
    assert report.verdict == "equivalent", report.message
    assert all(c.status in ("follows", "defines") for c in report.lines)
    assert report.expected is not None
    assert sympy.simplify(report.expected - _truth(flat)) == 0


# --- derivation lines as students write them (issue 14): juxtaposition and LaTeX ---------------


def _derivation(problem: str, lines: str) -> verify_module.DerivationReport:
    return verify_derivation(parse_problem(problem), lines, timeout=20)


@pytest.mark.parametrize(
    ("problem", "lines"),
    [
        (SIN, "dy/dx = cos(x^2) * 2x\n= 2x cos(x^2)"),
        ("(x^2+1)^3", "dy/dx = 3(x^2+1)^2 * 2x\n= 6x(x^2+1)^2"),
        ("sin(x)^2/2", "dy/dx = sin(x) * cos(x)\n= cos(x)sin(x)"),
        ("sin(x)^2", "y = sin^2 x\ndy/dx = 2 sin x cos x"),
        ("sin(x)^2", "y = sin^2(x)\ndy/dx = 2sin(x)cos(x)"),
        ("cos(x)^2", "dy/dx = -2cos x sin x\n= -sin(2x)"),
        ("x*sin(x)", "dy/dx = sin x + x cos x"),
        (SIN, "d/dx sin(x^2) = cos(x^2) * d/dx(x^2)\n= 2x cos(x^2)"),
    ],
)
def test_juxtaposed_lines_are_read_and_judged(problem: str, lines: str) -> None:
    """2x cos(x^2), 6x(x^2+1)^2, cos(x)sin(x), sin x, sin^2(x), sin^2 x, d/dx E: each line read."""
    report = _derivation(problem, lines)
    assert report.verdict == "equivalent", report.to_text()
    assert all(line.status in ("follows", "defines") for line in report.lines)


@pytest.mark.parametrize(
    ("problem", "lines"),
    [
        (SIN, r"\frac{d}{dx}\sin(x^2) = \cos(x^2)\cdot 2x"),
        (
            SIN,
            "\\frac{d}{dx}\\left(\\sin(x^2)\\right) = \\cos(x^2) \\cdot \\frac{d}{dx}(x^2)\n"
            "= \\cos(x^2)\\cdot 2x",
        ),
        ("tan(x^2)", r"\frac{dy}{dx} = \sec^2(x^2) \cdot 2x"),
        ("tan(x^2)", r"y' = \sec^{2}(x^2)\cdot 2x"),
        (
            "sqrt(x^2+1)",
            r"\frac{dy}{dx} = \frac{1}{2\sqrt{x^2+1}} \cdot 2x = \frac{x}{\sqrt{x^2+1}}",
        ),
        (
            SIN,
            "$y = \\sin(x^2)$\n$u = x^2$\n$\\frac{du}{dx} = 2x$\n$\\frac{dy}{dx} = \\cos(u)\\cdot 2x$",
        ),
    ],
)
def test_latex_lines_are_read_and_judged(problem: str, lines: str) -> None:
    """LaTeX lines (\\frac{d}{dx}, \\cdot, \\sec^2, $…$, side definitions) are read and judged."""
    report = _derivation(problem, lines)
    assert report.verdict == "equivalent", report.to_text()
    assert all(line.status in ("follows", "defines") for line in report.lines)


@pytest.mark.parametrize(
    ("problem", "lines"),
    [
        (SIN, "dy/dx = 2x cos(x)"),
        (SIN, r"\frac{dy}{dx} = \cos(x^2)"),
        ("tan(x^2)", r"\frac{d}{dx}\tan(x^2) = \sec^2(x^2)"),
    ],
)
def test_wrong_juxtaposed_and_latex_lines_do_not_follow(problem: str, lines: str) -> None:
    """A wrong line written with juxtaposition or in LaTeX is judged wrong, not skipped."""
    report = _derivation(problem, lines)
    assert report.verdict == "not_equivalent", report.to_text()
    assert report.lines[-1].status == "does_not_follow"


def test_unreadable_latex_line_gives_one_verdict_everywhere(tmp_path: Path) -> None:
    """A refused LaTeX line (\\input) and a correct last line: one verdict in text, JSON, grade."""
    from click.testing import CliRunner

    from chainsolve.cli import main as cli
    from chainsolve.grade import Submission, grade_submission

    lines = "\\frac{d}{dx}\\sin(x^2) = \\input{x}\n= 2x \\cos(x^2)\n"
    derivation = tmp_path / "work.txt"
    derivation.write_text(lines, encoding="utf-8")
    runs = [
        CliRunner().invoke(cli, ["verify", SIN, "--derivation", str(derivation), "--format", fmt])
        for fmt in ("text", "json")
    ]
    assert [run.exit_code for run in runs] == [0, 0]
    assert "Line 1 could not be read and was skipped." in runs[0].output
    assert "\\input{x}\n" + " " * 30 + "^^^^^^" in runs[0].output
    data = json.loads(runs[1].output)
    assert (data["verdict"], data["lines"][0]["status"]) == ("equivalent", "unreadable")
    row = grade_submission(Submission(0, "s1", SIN, derivation=lines), timeout=20)
    assert (row["verdict"], row["correct"]) == ("equivalent", True)


def test_caret_of_a_latex_line_points_into_the_latex_typed() -> None:
    """An error found after translating a LaTeX line is shown under the LaTeX the student typed."""
    report = _derivation(SIN, "\\frac{d}{dx}\\sin(x^2) = \\cos(x^2 \\cdot 2x\n= 2x cos(x^2)")
    first = report.lines[0]
    assert first.status == "unreadable" and first.caret is not None
    line, caret = first.caret
    assert line[caret.index("^")] == "("


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (r"\frac{dy}{dx} = 2x\cos(x^2)", "equivalent"),
        (r"y' = 2x \cos(x^2)", "equivalent"),
        (r"\frac{d}{dx}\left(\sin(x^2)\right) = \cos(x^2)\cdot 2x", "equivalent"),
        (r"\frac{d}{dx}(x^2) \cos(x^2)", "incomplete"),
        (r"\frac{dy}{dx} = \cos(x^2)", "not_equivalent"),
    ],
)
def test_latex_answers_read_their_prefixes_like_plain_ones(answer: str, verdict: str) -> None:
    """--answer in LaTeX: \\frac{dy}{dx} = …, y' = …, and a \\frac{d}{dx}(…) left is incomplete."""
    assert check(SIN, answer).verdict == verdict


def test_latex_answer_error_points_into_the_latex_typed() -> None:
    """An unreadable LaTeX answer raises a ParseError whose caret and column are in the LaTeX."""
    with pytest.raises(ParseError) as caught:
        check(SIN, r"\frac{dy}{dx} = 2x\cos(x^2")
    line, caret = caught.value.caret_lines() or ("", "")
    assert line[caret.index("^")] == "(" and "at column 23" in caught.value.message


def _verify_json(*args: str) -> tuple[int, dict[str, object]]:
    from click.testing import CliRunner

    from chainsolve.cli import main

    result = CliRunner().invoke(main, ["verify", *args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def _input_text(expr: sympy.Expr) -> str:
    """A sympy expression (the test's own oracle) as the input language."""
    return str(expr).replace("**", "^")


_MIXED_E = "x^2*y^3 + sin(x*y)"
_X, _Y = sympy.symbols("x y")
_MIXED_SYMPY = _X**2 * _Y**3 + sympy.sin(_X * _Y)


@pytest.mark.parametrize(
    "problem",
    [
        (f"∂²z/∂y∂x = {_MIXED_E}",),
        (r"\frac{\partial^2 z}{\partial y \partial x} = x^2 y^3 + \sin(x y)",),
        (f"z = {_MIXED_E}", "--wrt", "x,y", "--order", "2"),
    ],
)
def test_an_answer_to_a_mixed_partial_is_checked_against_sympy(problem: tuple[str, ...]) -> None:
    """verify ∂²z/∂y∂x (written, or --wrt x,y --order 2): sympy's diff(E, x, y) is right, ∂z/∂x named."""
    right = _input_text(sympy.diff(_MIXED_SYMPY, _X, _Y))
    code, data = _verify_json(*problem, "--answer", right)
    assert code == 0 and data["correct"] and data["wrt"] == "x,y"
    first = _input_text(sympy.diff(_MIXED_SYMPY, _X))
    code, data = _verify_json(*problem, "--answer", first)
    assert code == 1 and data["mistakes"] == ["previous_order"]
    wrong = _input_text(sympy.diff(_MIXED_SYMPY, _X, _Y) + _X)
    code, data = _verify_json(*problem, "--answer", wrong)
    assert code == 1 and data["verdict"] == "not_equivalent"


def test_a_mixed_partial_verdict_is_labelled_as_the_mixed_partial() -> None:
    """The verdict names ∂²z/∂y∂x (not ∂²z/∂y²) and its Expected line is sympy's derivative."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    args = ["verify", "∂²z/∂y∂x = u^2*v; u = x*y; v = x + y", "--answer", "x*y"]
    out = CliRunner().invoke(main, args).stdout
    assert "Check of ∂²z/∂y∂x for" in out and "Not equivalent to ∂²z/∂y∂x." in out
    from chainsolve.parsing import parse_expression

    expected = parse_expression(out.split("Expected: ∂²z/∂y∂x = ", 1)[1].splitlines()[0])
    oracle = sympy.diff((_X * _Y) ** 2 * (_X + _Y), _X, _Y)
    assert sympy.simplify(expected.subs(_named_symbols()) - oracle) == 0


def _named_symbols() -> dict[sympy.Symbol, sympy.Symbol]:
    from chainsolve.problem import make_symbol

    return {make_symbol("x"): _X, make_symbol("y"): _Y}


def test_an_answer_to_a_mixed_partial_of_an_unknown_function_is_refused_in_one_line() -> None:
    """∂²z/∂y∂x of f(u, v): one error line with a caret (its first partial holds Subs forms)."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    problem = "∂²z/∂y∂x = f(u, v); u = x*y; v = x + y"
    result = CliRunner().invoke(main, ["verify", problem, "--answer", "D[12]f(x*y, x + y)"])
    assert result.exit_code == 2 and not result.stdout
    assert result.stderr.count("error:") == 1 and "^^^^^^^^" in result.stderr
    assert "mixed partial of an unknown function" in result.stderr


# -- derivations of order 2 and more --------------------------------------------------------------


def _oracle(expr: str, order: int) -> str:
    """sympy's own derivative of ``expr`` (in x) of ``order``, as text the checker reads."""
    x = sympy.Symbol("x", real=True)
    flat = sympy.sympify(expr.replace("^", "**"), locals={"x": x})
    return str(sympy.diff(flat, x, order)).replace("**", "^")


@pytest.mark.parametrize(
    ("problem", "left", "flat", "order"),
    [
        (SIN, "d^2/dx^2 sin(x^2)", SIN, 2),
        (SIN, "y''", SIN, 2),
        (SIN, "f''(x)", SIN, 2),
        (SIN, "d²y/dx²", SIN, 2),
        (SIN, "y″", SIN, 2),
        (SIN, "f′′(x)", SIN, 2),
        ("x^5", "y‴", "x^5", 3),
        ("exp(x)*cos(x)", "d^3/dx^3 (exp(x)*cos(x))", "exp(x)*cos(x)", 3),
        ("z = u^2; u = sin(x)", "z''", "sin(x)^2", 2),
    ],
)
def test_derivation_lines_of_higher_order_are_judged_against_their_order(
    problem: str, left: str, flat: str, order: int
) -> None:
    """A line `<order n> = …` is right when it equals sympy.diff n times, wrong (and named) if not."""
    first = f"{'z' if problem.startswith('z') else 'y'}' = {_oracle(flat, 1)}"
    right = f"{first}\n{left} = {_oracle(flat, order)}"
    report = verify_derivation(parse_problem(problem), right, timeout=20)
    assert (report.verdict, report.order) == ("equivalent", order)
    assert [line.equals_derivative for line in report.lines] == [True, True]
    wrong = f"{first}\n{left} = {_oracle(flat, order)} + x"
    report = verify_derivation(parse_problem(problem), wrong, timeout=20)
    assert (report.verdict, report.first_wrong_line) == ("not_equivalent", 2)


def test_derivation_of_order_two_steps_follow_within_their_order() -> None:
    """After d²/dx² sin(x²) = d/dx(2x·cos(x²)), the next line follows from it, not from y′."""
    lines = "y' = 2x*cos(x^2)\nd^2/dx^2 sin(x^2) = d/dx(2x*cos(x^2))\n= 2cos(x^2) - 4x^2*sin(x^2)"
    report = verify_derivation(parse_problem(SIN), lines, timeout=20)
    assert report.verdict == "equivalent"
    assert report.lines[2].follows_from == 2


def test_derivation_stopping_below_the_asked_order_is_incomplete() -> None:
    """--order 2 with a derivation ending at y′ is incomplete, naming the order below."""
    report = verify_derivation(parse_problem(SIN), "y' = 2x*cos(x^2)", timeout=20, order=2)
    assert report.verdict == "incomplete"
    assert report.mistake_ids[0] == "previous_order"
    assert "lower order" in report.message


def test_cli_verify_derivation_with_order_two(tmp_path: Path) -> None:
    """`verify "sin(x^2)" --order 2 --derivation lines.txt` checks the lines: exit 0 when right."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    lines = tmp_path / "lines.txt"
    lines.write_text(f"y' = 2x*cos(x^2)\ny'' = {_oracle(SIN, 2)}\n")
    result = CliRunner().invoke(main, ["verify", SIN, "--order", "2", "--derivation", str(lines)])
    assert result.exit_code == 0, result.output
    assert "Check of d²y/dx²" in result.output


MIXED_PROBLEM = "z = x^2*y^3 + sin(x*y)"


@pytest.mark.parametrize(
    "lines",
    [
        "∂z/∂x = 2x*y^3 + y*cos(x*y)\n∂^2z/∂y∂x = ∂/∂y(2x*y^3 + y*cos(x*y))\n"
        "= 6x*y^2 + cos(x*y) - x*y*sin(x*y)",
        "z_x = 2x*y^3 + y*cos(x*y)\nz_xy = 6x*y^2 + cos(x*y) - x*y*sin(x*y)",
        "z_{xy} = 6x*y^2 + cos(x*y) - x*y*sin(x*y)",
        "∂²/∂y∂x(x^2*y^3 + sin(x*y)) = 6x*y^2 + cos(x*y) - x*y*sin(x*y)",
        "\\frac{\\partial z}{\\partial x} = 2xy^3 + y\\cos(xy)\n"
        "\\frac{\\partial^2 z}{\\partial y \\partial x} = 6xy^2 + \\cos(xy) - xy\\sin(xy)",
    ],
)
def test_a_derivation_of_the_mixed_partial_is_checked_line_by_line(lines: str) -> None:
    """∂z/∂x, then ∂²z/∂y∂x (Leibniz, subscripts, an operator or LaTeX): each line against sympy."""
    x, y = make_symbol("x"), make_symbol("y")
    flat = x**2 * y**3 + sympy.sin(x * y)
    report = verify_derivation(parse_problem(MIXED_PROBLEM, wrt=["x", "y"]), lines, order=2)
    assert report.verdict == "equivalent", [(c.status, c.raw) for c in report.lines]
    assert (report.order, report.mixed, report.wrt) == (2, ("x",), "y")
    assert sympy.simplify(report.expected - sympy.diff(flat, x, y)) == 0
    assert all(check.status == "follows" for check in report.lines)


def test_a_wrong_mixed_partial_line_is_the_first_wrong_one_with_its_mistake() -> None:
    """z_xy with +x·y·sin(x·y): line 2 is the first wrong line, a sign error; line 1 follows."""
    lines = "z_x = 2x*y^3 + y*cos(x*y)\nz_xy = 6x*y^2 + cos(x*y) + x*y*sin(x*y)"
    report = verify_derivation(parse_problem(MIXED_PROBLEM, wrt=["x", "y"]), lines, order=2)
    assert report.verdict == "not_equivalent"
    assert [c.status for c in report.lines] == ["follows", "does_not_follow"]
    assert report.first_wrong_line == 2
    assert "sign_error" in report.mistake_ids


def test_the_mixed_partial_written_in_the_problem_is_checked_from_the_cli() -> None:
    """`verify "∂^2z/∂y∂x = x*y^2" --derivation` judges z_xy = 2y; JSON names both variables."""
    from chainsolve import verify

    report = verify("∂^2z/∂y∂x = x*y^2", derivation="z_xy = 2y\n")
    assert report.correct
    assert json.loads(render_verdict(report, "json"))["wrt"] == "x,y"


def test_a_subscript_on_an_input_is_a_name_not_a_partial() -> None:
    """In z = w_x*x, w_x is the user's name: z_x = w_x is ∂z/∂x, and w_x itself no derivative."""
    report = verify_derivation(parse_problem("z = w_x*x", wrt=["x"]), "z_x = w_x")
    assert report.verdict == "equivalent"


def test_a_derivation_of_the_mixed_partial_of_an_unknown_function_is_refused() -> None:
    """∂²z/∂y∂x of f(x·y): one clear error, as for an answer (not checked yet)."""
    from chainsolve import verify

    with pytest.raises(ProblemError) as raised:
        verify("z = f(x*y)", wrt="x,y", order=2, derivation="z_xy = 1\n")
    assert raised.value.code == "mixed_partial_answer"


def test_derivation_reads_unicode_primes_as_chainsolve_prints_them() -> None:
    """`y′ = …` (the prime chainsolve prints) is read as dy/dx, not refused as unreadable."""
    report = verify_derivation(parse_problem(SIN), "y′ = 2x*cos(x^2)", timeout=20)
    assert report.verdict == "equivalent"
    assert report.lines[0].status == "follows"


def test_api_verify_passes_the_order_to_a_derivation() -> None:
    """chainsolve.verify(…, derivation=…, order=2) checks against d²y/dx², not silently dy/dx."""
    from chainsolve import verify

    report = verify(SIN, derivation="y' = 2x*cos(x^2)\n", order=2)
    assert (report.verdict, report.order) == ("incomplete", 2)
    right = verify(SIN, derivation=f"y'' = {_oracle(SIN, 2)}\n", order=2)
    assert right.verdict == "equivalent"


def test_derivation_opening_with_a_second_derivative_alone_is_of_order_two() -> None:
    """A first line `d^2/dx^2 sin(x^2)` alone sets order 2; the lines after it follow from it."""
    lines = f"d^2/dx^2 sin(x^2)\n= d/dx(2x*cos(x^2))\n= {_oracle(SIN, 2)}"
    report = verify_derivation(parse_problem(SIN), lines, timeout=20)
    assert (report.verdict, report.order) == ("equivalent", 2)
    assert [line.status for line in report.lines] == ["follows"] * 3
    assert render_verdict(report, "text").count("d²/dx²(sin(x²))") == 1


def test_wrong_second_derivative_is_judged_without_sympy_simplify() -> None:
    """A wrong d²y/dx² is told from the order below without simplify (no sympy.physics import)."""
    code = (
        "import sys\n"
        "import chainsolve\n"
        "wrong = chainsolve.verify('sin(x^2)', answer='2x*cos(x)', order=2)\n"
        "lower = chainsolve.verify('sin(x^2)', answer='2x*cos(x^2)', order=2)\n"
        "print(wrong.verdict, wrong.mistake_ids, lower.verdict, lower.mistake_ids)\n"
        "print('physics imported:', 'sympy.physics' in sys.modules)\n"
    )
    verdicts, physics = _in_a_child(code).strip().splitlines()[-2:]
    assert "previous_order" not in verdicts.split("]")[0]
    assert verdicts.endswith("not_equivalent ['previous_order']")
    assert physics == "physics imported: False"


def test_text_verdict_does_not_load_the_json_writer() -> None:
    """verify with text output never imports chainsolve.jsonout (its schema loading is JSON's cost)."""
    code = (
        "import sys\n"
        "from chainsolve.cli import main\n"
        "try:\n"
        "    main(['verify', 'sin(x^2)', '--answer', 'cos(x^2)'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('jsonout imported:', 'chainsolve.jsonout' in sys.modules)\n"
    )
    printed = _in_a_child(code)
    assert "Verdict: not equivalent" in printed
    assert printed.strip().endswith("jsonout imported: False")


def _in_a_child(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (so that its imports are its own)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


def _loads_implicit(*args: str) -> bool:
    """Does a fresh process running ``chainsolve verify args`` import chainsolve.implicit?"""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from chainsolve.cli import main\n"
        f"result = CliRunner().invoke(main, ['verify', *{list(args)!r}])\n"
        "assert result.exit_code in (0, 1), result.output\n"
        "print('chainsolve.implicit' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return completed.stdout.split()[-1] == "True"


def test_a_first_derivative_check_does_not_load_the_implicit_module() -> None:
    """implicit.py loads only to prove a d²y/dx² answer the order below written otherwise."""
    assert not _loads_implicit(SIN, "--answer", "2*x*cos(x^2)")
    assert not _loads_implicit(SIN, "--order", "2", "--answer", "2cos(x^2) - 4x^2*sin(x^2)")
    assert not _loads_implicit(SIN, "--order", "2", "--answer", "2x*cos(x^2)")
    assert _loads_implicit(SIN, "--order", "2", "--answer", "2*cos(x^2)*(x + 1) - 2*cos(x^2)")


_NOTATION_PATTERNS = (
    "_OPERATOR",
    "_BARE_OPERATOR",
    "_LEIBNIZ",
    "_PRIME",
    "_HIGHER",
    "_MIXED",
    "_SUBSCRIPT",
)


@given(st.text(alphabet="dy∂xzu^2²³(){} */=_'′″‴sinco", max_size=14))
@settings(max_examples=300, deadline=None)
def test_text_without_a_derivative_mark_matches_no_derivative_notation(text: str) -> None:
    """The prefilter decides as the patterns do: no '/', '_' or prime mark, no notation matches."""
    if verify_module._may_write_derivative(text):
        return
    for name in _NOTATION_PATTERNS:
        pattern = getattr(verify_module, name)
        assert all(pattern.match(text, index) is None for index in range(len(text))), name
    # (…)′ needs the prime itself after the bracket.
    assert "'" not in text


def test_a_plain_answer_compiles_no_pattern_of_derivative_notation() -> None:
    """Reading cos(x²) tries no derivative notation: its patterns stay uncompiled in a new process."""
    script = (
        "import chainsolve.verification as v\n"
        "from chainsolve.parsing import parse_problem\n"
        "v.verify_answer(parse_problem('sin(x^2)'), 'cos(x^2)')\n"
        f"names = {(*_NOTATION_PATTERNS, '_CALL_PRIME')!r}\n"
        "print([n for n in names if getattr(v, n)._compiled is not None])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert ran.stdout.strip() == "[]"


def test_the_order_below_written_otherwise_is_still_named() -> None:
    """2cos(x²)(x + 1) − 2cos(x²), the order below in another form, is proved the same and named."""
    report = check(SIN, "2*cos(x^2)*(x + 1) - 2*cos(x^2)", order=2)
    assert (report.verdict, report.mistake_ids[0]) == ("not_equivalent", "previous_order")
