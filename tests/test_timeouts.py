"""--timeout bounds each command as a whole, printing included, and only ever aborts; inner budgets are work."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from chainsolve import api, budget, derivation, equivalence
from chainsolve.budget import DEFAULT_TIMEOUT, attempt
from chainsolve.cli import main
from chainsolve.errors import BudgetExceeded, ChainsolveError
from chainsolve.parsing import parse_problem
from chainsolve.problem import make_symbol
from chainsolve.wording import note_text
from tests.conftest import ROOT, run_timed

#: Wall-clock seconds a `--timeout 1` command may take, start-up of a fresh interpreter on a
#: busy machine included (the expensive problems below run for minutes when not stopped).
WALL = 10.0
#: Seconds that stand for "stuck": far longer than the deadlines of the tests using it.
STUCK = 30.0


def _deep_chain(levels: int) -> str:
    """A valid chain of ``levels`` definitions, each a product and a sum of the next."""
    lines = ["z = sin(u1) + u1"]
    lines += [f"u{i} = sin(u{i + 1})*cos(u{i + 1}) + u{i + 1}" for i in range(1, levels)]
    lines.append(f"u{levels} = x^2 + 1")
    return "; ".join(lines)


def _many_powers(count: int, exponent: int) -> str:
    """A product of ``2·count`` high powers, (x ± k)^exponent: small to type, huge to check.

    Both signs: a constant past 26^700 is refused as too large, and 26 factors alone are
    solved in about a second since the oracle differentiates each shared part once.
    """
    return "*".join(f"(x{sign}{k})^{exponent}" for k in range(1, count + 1) for sign in "+-")


def _squares(count: int) -> str:
    """``count`` valid definitions, each the square of the next plus a number."""
    lines = ["z = u1 + 1"] + [f"u{i} = u{i + 1}^2 + {i}" for i in range(1, count)]
    return "; ".join([*lines, f"u{count} = x"])


EXPENSIVE = {
    "deep graph": ["solve", _deep_chain(400)],
    "many huge powers": ["solve", _many_powers(26, 700)],
    "deep graph as json": ["solve", _deep_chain(400), "--format", "json"],
}


@pytest.mark.parametrize("name", list(EXPENSIVE))
def test_expensive_problem_stops_at_the_timeout(name: str) -> None:
    """With --timeout 1 an expensive valid problem exits 2 promptly, naming the stage that ran out.

    Idle, that is the derivation; on a loaded machine the second may run out earlier (while
    the command starts up or parses), and the message names that stage instead.
    """
    completed, elapsed = run_timed([*EXPENSIVE[name], "--timeout", "1"])
    assert completed.returncode == 2, completed.stderr[-500:]
    ran_out = re.search(r"the (.+) stage ran out of its time budget \(1 s\)", completed.stderr)
    assert ran_out is not None and ran_out[1] in {"solve", "parse", "derivation"}, completed.stderr
    assert "hint: raise --timeout" in completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert elapsed < WALL, elapsed


def test_many_definitions_are_bounded_as_a_whole() -> None:
    """Bug: --timeout was per stage, so 700 definitions with --timeout 3 took 4.5 s; now one deadline."""
    completed, elapsed = run_timed(["solve", _squares(700), "--timeout", "3"])
    assert completed.returncode in (0, 2), completed.stderr[-500:]
    if completed.returncode == 2:
        assert "ran out of its time budget (3 s)" in completed.stderr
    assert elapsed < 3 + WALL, elapsed


def _slowed(monkeypatch: pytest.MonkeyPatch, module: object, name: str, seconds: float) -> None:
    """``module.name`` made ``seconds`` slower (a sleep first), standing for one slow stage."""
    original = getattr(module, name)

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def test_solve_deadline_covers_every_stage_and_the_printing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Derivation and rendering of 0.6 s each do not fit --timeout 1: the rendering stage is named."""
    import chainsolve.higher as higher
    import chainsolve.render as render

    # solve_parsed reaches the derivation through higher.solve_higher, which holds its own name.
    _slowed(monkeypatch, higher, "solve_problem", 0.6)
    _slowed(monkeypatch, render, "render_solution", 0.6)
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert "the rendering stage ran out of its time budget (1 s)" in result.output
    assert "Result" not in result.output


def test_verify_deadline_covers_the_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify: a check of 0.6 s and a report of 0.6 s do not fit --timeout 1; no verdict is printed."""
    import chainsolve.verification as verification

    _slowed(monkeypatch, verification, "verify_answer", 0.6)
    _slowed(monkeypatch, verification, "render_verdict", 0.6)
    result = CliRunner().invoke(
        main, ["verify", "sin(x^2)", "--answer", "2x*cos(x^2)", "--timeout", "1"]
    )
    assert result.exit_code == 2, result.output
    assert "the rendering stage ran out of its time budget (1 s)" in result.output
    assert "Verdict" not in result.output


def test_graph_deadline_covers_the_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    """graph: printing the labels is inside --timeout (it once ran 300 s past --timeout 1)."""
    import chainsolve.emitters as emitters

    def stuck_emitter(*args: object, **kwargs: object) -> object:
        def emit(*args: object, **kwargs: object) -> str:
            time.sleep(STUCK)
            return ""

        return emit

    monkeypatch.setattr(emitters, "emitter", stuck_emitter)
    result = CliRunner().invoke(main, ["graph", "z = x*y; x = t; y = t", "--timeout", "0.5"])
    assert result.exit_code == 2, result.output
    assert "the rendering stage ran out of its time budget (0.5 s)" in result.output


def test_sheet_deadline_is_for_the_whole_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sheet: three problems of 0.4 s each do not fit --timeout 1 (it was per problem)."""
    import chainsolve.higher as higher

    _slowed(monkeypatch, higher, "solve_problem", 0.4)
    sheet = tmp_path / "hw.toml"
    sheet.write_text(
        'title = "HW"\n' + "".join(f'[[problems]]\nproblem = "sin(x^{k})"\n' for k in (2, 3, 4)),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["sheet", str(sheet), "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert "ran out of its time budget (1 s)" in result.output


def test_evaluation_at_a_point_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow evaluation at --at stops with a message naming 'evaluation at the point'."""
    import chainsolve.evaluation as evaluation

    def slow(*args: object, **kwargs: object) -> None:
        time.sleep(STUCK)

    monkeypatch.setattr(evaluation, "evaluate_at", slow)
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--at", "x=1", "--timeout", "0.3"])
    assert result.exit_code == 2
    assert "the evaluation at the point stage ran out of its time budget" in result.output


STUCK_IN_C = """
import signal, sys, time
import chainsolve.render as render
from chainsolve.cli import run

def stuck(*args, **kwargs):
    # Standing for a sympy call stuck in C code: no alarm can be delivered to Python.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(%(stuck)s)

render.render_solution = stuck
sys.argv = ["chainsolve", "solve", "sin(x^2)", "--timeout", "5"]
run()
"""


def test_a_command_stuck_where_no_alarm_reaches_still_ends() -> None:
    """--timeout is a hard bound: past it and a grace second the process prints the stage and exits 2."""
    # Stuck for longer than elsewhere: a loaded machine can take 20 s to start the process.
    stuck = 2 * STUCK
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", STUCK_IN_C % {"stuck": stuck}],
        capture_output=True,
        text=True,
        timeout=stuck * 2,
        cwd=ROOT,
    )
    assert completed.returncode == 2, completed.stderr[-500:]
    # 5 s, not 1: on a loaded machine the solve stage before it could use up a 1 s budget.
    assert "the rendering stage ran out of its time budget (5 s)" in completed.stderr
    assert time.monotonic() - started < stuck - 5


def test_in_process_commands_never_end_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Called in-process (click's runner, another program), a command never arms the hard exit."""
    armed: list[float] = []
    monkeypatch.setattr(budget, "_hard_exit_guard", lambda seconds, thread: armed.append(seconds))
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--timeout", "5"])
    assert result.exit_code == 0, result.output
    assert armed == []


def test_default_timeout_is_sensible() -> None:
    """Without --timeout a command still has a budget: neither unlimited nor too short for real work."""
    assert 5 <= DEFAULT_TIMEOUT <= 60
    help_text = CliRunner().invoke(main, ["solve", "--help"]).output
    assert "--timeout" in help_text
    assert f"default: {DEFAULT_TIMEOUT:g}" in help_text.replace("default:\n", "default: ")


def test_huge_powers_within_limits_are_answered() -> None:
    """(x+1)^5000 * (x-1)^5000 is not expanded: it is answered, correctly, with CPU time to spare."""
    cpu = time.thread_time()
    result = CliRunner().invoke(main, ["solve", "(x+1)^5000 * (x-1)^5000"])
    assert result.exit_code == 0, result.output
    assert "All steps verified" in result.output
    assert time.thread_time() - cpu < 10


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e10, 0.0, -1.0, 86_401.0])
def test_api_refuses_unusable_timeouts_and_keeps_working(value: float) -> None:
    """Bug: timeout=nan, inf or 1e10 broke every later call; now refused, and the next call works."""
    for call in (
        lambda: api.solve("sin(x^2)", timeout=value),
        lambda: api.verify("sin(x^2)", answer="2x*cos(x^2)", timeout=value),
        lambda: api.load_problem("sin(x^2)", timeout=value),
    ):
        with pytest.raises(ChainsolveError) as info:
            call()
        assert info.value.code == "bad_timeout"
    assert str(api.solve("sin(x^2)", timeout=20).derivatives["x"]) == "2*x*cos(x**2)"
    assert api.verify("sin(x^2)", answer="2x*cos(x^2)", timeout=20).correct


#: The tiny-timeout check, run in a child process of its own (see the test).
_TINY_TIMEOUT_SCRIPT = """
from chainsolve import api
from chainsolve.errors import BudgetExceeded
for _ in range(20):
    try:
        api.solve("sin(x^2)", timeout=1e-9)
    except Exception as error:  # what a caller writes: nothing may get past it
        assert isinstance(error, BudgetExceeded), repr(error)
assert api.solve("sin(x^2)", timeout=20).verified
print("ok")
"""


def test_api_tiny_timeout_is_budget_exceeded() -> None:
    """Bug: timeout=1e-9 leaked a private BaseException; now BudgetExceeded, caught by `except Exception`.

    In a child process: a deadline interrupting sympy mid-computation once left its
    evaluate switch off, and twenty of them in the test process broke later tests ("Cannot
    convert symbols to int"). budget.py now defers an expiry while sympy sets a switch and
    puts the switches back after one (see the tests below); the child keeps it isolated.
    """
    child = subprocess.run(
        [sys.executable, "-c", _TINY_TIMEOUT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0 and child.stdout.strip() == "ok", child.stderr[-2000:]


#: Many in-process timeouts cutting sympy at random points, then every problem solved again
#: and compared with sympy.diff (the oracle); prints the failures, then "ok".
_MANY_TIMEOUTS_SCRIPT = """
import random
import sympy
from chainsolve import api
from chainsolve.errors import BudgetExceeded
from chainsolve.parsing import parse_expression
from chainsolve.problem import make_symbol

PROBLEMS = ["sin(x^2)", "exp(3*x)*cos(x)", "(x^2+1)^3*log(x)", "atan(1/x)",
            "sqrt(1+sin(x))/x", "sigmoid(2*x)", "x^x", "tan(x)^2*sec(x)"]
chosen = random.Random(7)
for _ in range(300):
    try:  # 1 ms to 0.5 s: the deadline lands anywhere in parsing, solving and checking
        api.solve(chosen.choice(PROBLEMS), timeout=10 ** chosen.uniform(-3, -0.3))
    except BudgetExceeded:
        pass
x = make_symbol("x")
for text in PROBLEMS:
    got = api.solve(text, timeout=60).derivatives["x"]
    if sympy.simplify(got - sympy.diff(parse_expression(text), x)) != 0:
        print("wrong:", text, got)
print("ok")
"""


def test_many_in_process_timeouts_leave_the_api_working() -> None:
    """Bug: a deadline interrupting sympy could leave its evaluate switch off ("Cannot convert
    symbols to int" in every later call); after 300 random timeouts every solve equals sympy.diff.

    In a child process, so that a failure here cannot break the other tests.
    """
    child = subprocess.run(
        [sys.executable, "-c", _MANY_TIMEOUTS_SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0 and child.stdout.strip() == "ok", (
        child.stdout[-2000:] + child.stderr[-2000:]
    )


def test_an_expiry_puts_sympys_switches_back() -> None:
    """A deadline that interrupts work which had turned sympy's evaluation off (its own restore
    skipped) leaves it on again, and the next solve equals sympy.diff."""
    from sympy.core.parameters import global_parameters

    try:
        with pytest.raises(BudgetExceeded), budget.deadline(0.05):
            global_parameters.evaluate = False  # as an evaluate(False) block whose exit was cut
            end = time.monotonic() + STUCK
            while time.monotonic() < end:
                time.sleep(0.001)
        assert global_parameters.evaluate is True
    finally:
        global_parameters.evaluate = True  # whatever happened, later tests get sympy as usual
    x = make_symbol("x")
    assert api.solve("sin(x^2)", timeout=20).derivatives["x"] == sympy.diff(sympy.sin(x**2), x)


def test_api_timeout_works_in_a_worker_thread() -> None:
    """In a thread (a web server's worker) the API's timeout stops an expensive problem too."""
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(api.solve(_many_powers(26, 700), timeout=1))
        except BaseException as error:  # reported to the test, whatever it is
            outcome.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(STUCK * 4)
    assert not thread.is_alive()
    assert isinstance(outcome[0], BudgetExceeded), outcome
    assert outcome[0].stage == "derivation"


def test_simplify_cut_in_shows_the_unsimplified_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """When simplifying runs out of CPU time the correct unsimplified result is shown, with a note saying so."""
    text = "sin(x)^2*cos(x) + cos(x)^3 + x/(x^2 - 1) + 1/(x + 1)"
    monkeypatch.setattr(derivation, "SIMPLIFY_SECONDS", 0.01)
    monkeypatch.setattr(
        derivation, "attempt", lambda seconds, work: attempt(seconds, _busy_then(work))
    )
    problem = parse_problem(text)
    solution = derivation.solve_problem(problem)
    x = make_symbol("x")
    assert any("Simplifying took too long" in note for note in map(note_text, solution.notes))
    result = solution.derivatives["x"]
    assert sympy.simplify(result - sympy.diff(problem.definitions[0].expr, x)) == 0
    assert solution.verified
    assert "Simplifying took too long" in solution.render("text")


def _busy_then(work: object) -> object:
    """``work`` preceded by more CPU work than any tiny budget (simplification made slow)."""

    def slow() -> object:
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass
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


def test_a_step_check_cut_in_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check whose outcome depended on a CPU net cutting in is not remembered; a clean one is."""
    x = make_symbol("x")
    # exp(x) keeps the proof on the budgeted path (the exact circle proof declines it).
    claimed = sympy.exp(x) * (sympy.sin(x) ** 2 + sympy.cos(x) ** 2) + x
    reference = sympy.exp(x) + x
    equivalence._claims.clear()
    monkeypatch.setattr(
        equivalence, "attempt", lambda seconds, work: attempt(1e-3, _busy_then(work))
    )
    cut = equivalence.check_claim(claimed, reference)
    assert not equivalence.remembered(claimed, reference)
    monkeypatch.undo()
    clean = equivalence.check_claim(claimed, reference)
    assert equivalence.remembered(claimed, reference)
    assert clean.status == "symbolic" and cut.status in ("numeric", "symbolic")


def test_expansion_too_big_to_try_is_not_tried() -> None:
    """A step whose difference would expand to millions of terms is checked without expanding."""
    a, b, c = sympy.symbols("a b c", real=True)
    power = (a + b + c + 1) ** 1296
    assert equivalence.expanded_terms(power) == math.comb(1299, 3)
    assert equivalence.expanded_terms(power) > equivalence.EXPAND_TERMS_LIMIT
    assert equivalence.expanded_terms((a + b) * (a - b) + c) == 5
    before = budget.cut_ins()
    assert equivalence.check_claim(1296 * (a + b + c + 1) ** 1295, sympy.diff(power, a)).verified
    assert budget.cut_ins() == before  # decided by the size gate, not by a CPU net cutting in
