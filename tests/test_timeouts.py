"""Valid but expensive problems end within --timeout with a message naming the stage, never a hang."""

from __future__ import annotations

import time

import pytest
import sympy
from click.testing import CliRunner

from chainsolve import budget, derivation
from chainsolve.budget import DEFAULT_TIMEOUT, attempt, stage
from chainsolve.cli import main
from chainsolve.errors import BudgetExceeded
from chainsolve.parsing import parse_problem
from chainsolve.problem import make_symbol
from tests.conftest import run_timed

#: Wall-clock seconds a `--timeout 1` command may take, start-up of a fresh interpreter included.
WALL = 3.5


def _deep_chain(levels: int) -> str:
    """A valid chain of ``levels`` definitions, each a product and a sum of the next."""
    lines = ["z = sin(u1) + u1"]
    lines += [f"u{i} = sin(u{i + 1})*cos(u{i + 1}) + u{i + 1}" for i in range(1, levels)]
    lines.append(f"u{levels} = x^2 + 1")
    return "; ".join(lines)


def _many_powers(count: int, exponent: int) -> str:
    """A product of ``count`` high powers: small to type, huge to differentiate and check."""
    return "*".join(f"(x+{k})^{exponent}" for k in range(1, count + 1))


EXPENSIVE = {
    "deep graph": ["solve", _deep_chain(400)],
    "many huge powers": ["solve", _many_powers(24, 700)],
    "deep graph as json": ["solve", _deep_chain(400), "--format", "json"],
}


@pytest.mark.parametrize("name", list(EXPENSIVE))
def test_expensive_problem_stops_at_the_timeout(name: str) -> None:
    """With --timeout 1 an expensive valid problem exits 2 within ~3 s, naming the stage that ran out."""
    completed, elapsed = run_timed([*EXPENSIVE[name], "--timeout", "1"])
    assert completed.returncode == 2, completed.stderr[-500:]
    assert "the derivation stage ran out of its time budget (1 s)" in completed.stderr
    assert "hint: raise --timeout" in completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert elapsed < WALL, elapsed


def test_expensive_problem_in_process_names_the_stage() -> None:
    """In-process, the timeout message also names the stage and the budget, with exit code 2."""
    start = time.perf_counter()
    result = CliRunner().invoke(main, [*EXPENSIVE["many huge powers"], "--timeout", "0.5"])
    assert result.exit_code == 2
    assert "derivation stage ran out of its time budget (0.5 s)" in result.output
    assert time.perf_counter() - start < 2.5


def test_evaluation_at_a_point_is_budgeted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow evaluation at --at stops with a message naming 'evaluation at the point'."""
    import chainsolve.evaluation as evaluation

    def slow(*args: object, **kwargs: object) -> None:
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(evaluation, "evaluate_at", slow)
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--at", "x=1", "--timeout", "0.3"])
    assert result.exit_code == 2
    assert "the evaluation at the point stage ran out of its time budget" in result.output


def test_default_timeout_is_sensible() -> None:
    """Without --timeout a command still has a budget: neither unlimited nor too short for real work."""
    assert 5 <= DEFAULT_TIMEOUT <= 60
    help_text = CliRunner().invoke(main, ["solve", "--help"]).output
    assert "--timeout" in help_text
    assert f"default: {DEFAULT_TIMEOUT:g}" in help_text.replace("default:\n", "default: ")


def test_huge_powers_within_limits_are_answered_in_time() -> None:
    """(x+1)^5000 * (x-1)^5000 is not expanded: it is answered, correctly, well within the default budget."""
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["solve", "(x+1)^5000 * (x-1)^5000"])
    assert result.exit_code == 0, result.output
    assert "All steps verified" in result.output
    assert time.perf_counter() - start < 5


def test_simplify_out_of_time_shows_the_unsimplified_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """When simplifying runs out of time the correct unsimplified result is shown, with a note saying so."""
    text = "sin(x)^2*cos(x) + cos(x)^3 + x/(x^2 - 1) + 1/(x + 1)"
    monkeypatch.setattr(derivation, "SIMPLIFY_SECONDS", 1e-6)
    monkeypatch.setattr(
        derivation, "attempt", lambda seconds, work: attempt(seconds, _slow_then(work))
    )
    problem = parse_problem(text)
    solution = derivation.solve_problem(problem)
    x = make_symbol("x")
    assert any("Simplifying took too long" in note for note in solution.notes)
    result = solution.derivatives["x"]
    assert sympy.simplify(result - sympy.diff(problem.definitions[0].expr, x)) == 0
    assert solution.verified
    rendered = solution.render("text")
    assert "Simplifying took too long" in rendered


def _slow_then(work: object) -> object:
    """``work`` preceded by a pause longer than any tiny budget (simplification made slow)."""

    def slow() -> object:
        time.sleep(0.05)
        return work()  # type: ignore[operator]

    return slow


def test_tidy_reads_simplify_seconds_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """tidy honours a changed SIMPLIFY_SECONDS (it was frozen as a default argument)."""
    seen: list[float] = []

    def spy(seconds: float, work: object) -> None:
        seen.append(seconds)
        return None

    monkeypatch.setattr(derivation, "SIMPLIFY_SECONDS", 0.123)
    monkeypatch.setattr(derivation, "attempt", spy)
    x = make_symbol("x")
    _, timed_out = derivation.tidy(sympy.sin(x) ** 2 + sympy.cos(x) ** 2 + x / (x**2 - 1) + x)
    assert seen == [0.123]
    assert timed_out


def test_stage_interrupts_a_busy_loop() -> None:
    """stage() interrupts plain Python work past its budget and names the stage."""
    start = time.perf_counter()
    with pytest.raises(BudgetExceeded) as info, stage("busy", 0.2):
        while time.perf_counter() - start < 5:
            pass
    assert info.value.stage == "busy"
    assert time.perf_counter() - start < 1


def test_attempt_gives_none_past_its_budget() -> None:
    """attempt() returns None (not an error) when optional work runs out of time."""
    start = time.perf_counter()
    assert attempt(0.1, lambda: time.sleep(3)) is None
    assert time.perf_counter() - start < 1
    assert attempt(1, lambda: 42) == 42


def test_budget_survives_an_alarm_swallowed_by_a_finaliser() -> None:
    """An expiry that lands in a __del__ (where Python drops exceptions) is raised again, not lost."""

    class SlowFinaliser:
        def __del__(self) -> None:
            time.sleep(0.5)  # the alarm arrives here and Python ignores what __del__ raises

    start = time.monotonic()
    with pytest.raises(BudgetExceeded), stage("work", 0.1):
        SlowFinaliser()
        while time.monotonic() - start < 5:
            pass
    assert time.monotonic() - start < 1
    assert budget.RETRY_SECONDS < 0.5
