"""Tests for chainsolve.budget: stages interrupted past their budget, optional work abandoned, timers cleaned up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest

from chainsolve.budget import attempt, stage
from chainsolve.errors import BudgetExceeded, ChainsolveError

DISARMED = (0.0, 0.0)


def slow() -> str:
    """Work that takes far longer than any budget in these tests."""
    time.sleep(5)
    return "finished"


def busy() -> int:
    """Pure-Python work (no sleeping) that takes far longer than any budget here."""
    total = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        total += 1
    return total


@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    """Every test starts and ends with no timer armed and the SIGALRM handler restored."""
    handler = signal.getsignal(signal.SIGALRM)
    assert signal.getitimer(signal.ITIMER_REAL) == DISARMED
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == DISARMED
    assert signal.getsignal(signal.SIGALRM) is handler


def test_stage_past_its_budget_names_the_stage() -> None:
    """A stage running past its budget raises BudgetExceeded naming the stage, soon after."""
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as info, stage("derivation", 0.05):
        slow()
    assert time.monotonic() - started < 1
    error = info.value
    assert (error.stage, error.seconds, error.code) == ("derivation", 0.05, "timeout")
    assert "derivation stage" in error.message and "0.05 s" in error.message
    assert isinstance(error, ChainsolveError) and error.hint


def test_stage_interrupts_busy_python_code() -> None:
    """A busy loop (no sleeping) is interrupted too."""
    with pytest.raises(BudgetExceeded), stage("parse", 0.05):
        busy()


def test_stage_within_budget_runs_to_the_end() -> None:
    """A stage that finishes in time raises nothing, and later sleeps are not interrupted."""
    with stage("quick", 1.0):
        value = sum(range(1000))
    assert value == 499500
    time.sleep(0.05)


def test_stage_without_budget_arms_nothing() -> None:
    """stage(name, None) runs the block with no timer."""
    with stage("unbounded", None):
        assert signal.getitimer(signal.ITIMER_REAL) == DISARMED


def test_stage_lets_other_errors_through() -> None:
    """An ordinary exception inside a stage propagates unchanged."""
    with pytest.raises(ZeroDivisionError), stage("maths", 1.0):
        _ = 1 / 0


def test_attempt_returns_the_value() -> None:
    """attempt() returns work()'s value when it finishes in time."""
    assert attempt(1.0, lambda: 42) == 42


def test_attempt_returns_none_on_timeout() -> None:
    """attempt() returns None when the work outlasts its budget."""
    started = time.monotonic()
    assert attempt(0.05, slow) is None
    assert time.monotonic() - started < 1


def test_attempt_returns_none_on_recursion_error() -> None:
    """Work that recurses too deeply counts as not done (None)."""

    def deep(n: int) -> int:
        return deep(n + 1) + 1

    assert attempt(1.0, lambda: deep(0)) is None


def test_inner_attempt_times_out_inside_an_outer_stage() -> None:
    """An inner attempt that runs out returns None; the outer stage goes on and completes."""
    with stage("outer", 2.0):
        assert attempt(0.05, slow) is None
        assert attempt(0.05, lambda: "ok") == "ok"
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 2.0  # the outer deadline is armed again


def test_outer_stage_expiring_during_an_inner_attempt() -> None:
    """When the outer budget runs out inside a longer inner attempt, the outer stage reports it."""
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as info, stage("outer", 0.05):
        attempt(5.0, slow)
    assert info.value.stage == "outer"
    assert time.monotonic() - started < 1


def test_nested_stages_report_the_one_that_ran_out() -> None:
    """In nested stages the one whose budget ran out is named."""
    with pytest.raises(BudgetExceeded) as info, stage("outer", 5.0), stage("inner", 0.05):
        slow()
    assert info.value.stage == "inner"
    with pytest.raises(BudgetExceeded) as info, stage("outer", 0.05), stage("inner", 5.0):
        slow()
    assert info.value.stage == "outer"


def test_many_stages_in_a_row_leave_no_timer() -> None:
    """Repeated stages and attempts, finished or expired, leave no timer armed."""
    for _ in range(5):
        with stage("quick", 1.0):
            pass
        assert attempt(0.01, slow) is None
    assert signal.getitimer(signal.ITIMER_REAL) == DISARMED


def test_off_the_main_thread_work_runs_to_the_end() -> None:
    """Outside the main thread a stage cannot interrupt: the block simply runs to the end."""
    results: list[object] = []

    def work() -> None:
        with stage("background", 0.01):
            time.sleep(0.1)
        results.append(attempt(0.01, lambda: "done"))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert results == ["done"]
