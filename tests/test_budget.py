"""Tests for chainsolve.budget: one deadline naming the stage, CPU-time nets, any thread, timers cleaned up."""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chainsolve import budget
from chainsolve.budget import attempt, checked_timeout, cut_ins, deadline, remaining, stage
from chainsolve.errors import BudgetExceeded, ChainsolveError

DISARMED = (0.0, 0.0)
#: How long the runaway work below would run if nothing stopped it.
RUNAWAY = 30.0
#: Seconds within which a stopped runaway must have ended (far below RUNAWAY, far above any delay).
PROMPTLY = 5.0


def slow() -> str:
    """Work that sleeps far longer than any budget in these tests."""
    time.sleep(RUNAWAY)
    return "finished"


def busy() -> int:
    """Pure-Python work (no sleeping) that takes far longer than any budget here."""
    total = 0
    end = time.monotonic() + RUNAWAY
    while time.monotonic() < end:
        total += 1
    return total


@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    """Every test starts and ends with no timer armed, no watch open and SIGALRM's handler restored."""
    handler = signal.getsignal(signal.SIGALRM)
    assert signal.getitimer(signal.ITIMER_REAL) == DISARMED
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == DISARMED
    assert signal.getsignal(signal.SIGALRM) is handler
    assert budget._watches == []
    assert remaining() is None


def test_deadline_names_the_stage_running_when_it_passes() -> None:
    """Past the deadline BudgetExceeded names the stage that was running and the command's budget."""
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as info, deadline(0.05):
        with stage("parse"):
            pass
        with stage("derivation"):
            slow()
    assert time.monotonic() - started < PROMPTLY
    error = info.value
    assert (error.stage, error.seconds, error.code) == ("derivation", 0.05, "timeout")
    assert "derivation stage" in error.message and "0.05 s" in error.message
    assert isinstance(error, ChainsolveError) and error.hint


def test_deadline_interrupts_busy_python_code() -> None:
    """A busy loop (no sleeping) is interrupted too, in the innermost stage."""
    with pytest.raises(BudgetExceeded) as info, deadline(0.05), stage("outer"), stage("inner"):
        busy()
    assert info.value.stage == "inner"


def test_deadline_is_one_for_the_whole_block() -> None:
    """Stages share the block's one deadline: three stages of 0.1 s do not each get 0.25 s."""
    with pytest.raises(BudgetExceeded) as info, deadline(0.25):
        for name in ("parse", "derivation", "rendering"):
            with stage(name):
                time.sleep(0.1)
    assert info.value.stage == "rendering"


def test_deadline_within_budget_runs_to_the_end() -> None:
    """A block that finishes in time raises nothing, and later sleeps are not interrupted."""
    with deadline(5.0), stage("quick"):
        value = sum(range(1000))
        left = remaining()
        assert left is not None and 0 < left <= 5.0
    assert value == 499500
    time.sleep(0.1)


def test_deadline_without_budget_arms_nothing() -> None:
    """deadline(None) and stage(name) alone run the block with no timer."""
    with deadline(None), stage("unbounded"):
        assert signal.getitimer(signal.ITIMER_REAL) == DISARMED
        assert remaining() is None


def test_stage_lets_other_errors_through() -> None:
    """An ordinary exception inside a stage propagates unchanged."""
    with pytest.raises(ZeroDivisionError), deadline(5.0), stage("maths"):
        _ = 1 / 0


def test_nested_deadlines_report_the_one_that_ran_out() -> None:
    """Of nested deadlines the one that passed is reported, with its own seconds."""
    with pytest.raises(BudgetExceeded) as info, stage("outer", 5.0), stage("inner", 0.05):
        slow()
    assert (info.value.stage, info.value.seconds) == ("inner", 0.05)
    with pytest.raises(BudgetExceeded) as info, stage("outer", 0.05), stage("inner", 5.0):
        slow()
    assert (info.value.stage, info.value.seconds) == ("inner", 0.05)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 1e10, 86_400.5, 0, 0.0, -1, "5", True]
)
def test_unusable_timeouts_are_refused(value: object) -> None:
    """NaN, infinities, zero, negatives, more than a day and non-numbers are refused with a clear error."""
    with pytest.raises(ChainsolveError) as info:
        checked_timeout(value)  # type: ignore[arg-type]
    assert info.value.code == "bad_timeout"
    assert "timeout" in info.value.message
    with pytest.raises(ChainsolveError), deadline(value):  # type: ignore[arg-type]
        pass


def test_usable_timeouts_are_kept() -> None:
    """None (no limit), a day, and small positive values are accepted as given."""
    assert checked_timeout(None) is None
    assert checked_timeout(86_400) == 86_400.0
    assert checked_timeout(1e-9) == 1e-9


def _tiny_deadlines() -> set[str]:
    """Many tiny deadlines around short work (racing their own set-up), then around long work."""
    outcomes = set()
    for seconds in (1e-9, 1e-6, 1e-4, 1e-3):
        for _ in range(50):
            try:
                with deadline(seconds), stage("parse"):
                    sum(range(20_000))
                outcomes.add("finished")
            except Exception as error:  # what a caller writes: nothing may get past it
                assert isinstance(error, BudgetExceeded), error
    for _ in range(3):
        with pytest.raises(BudgetExceeded), deadline(1e-9), stage("parse"):
            busy()
        outcomes.add("timeout")
    time.sleep(0.2)  # a stray expiry would land here
    return outcomes


def test_tiny_deadlines_raise_budget_exceeded_and_never_a_private_exception() -> None:
    """timeout=1e-9 (and other tiny values) ends in BudgetExceeded or success, caught by `except Exception`."""
    assert "timeout" in _tiny_deadlines()


def test_attempt_returns_the_value() -> None:
    """attempt() returns work()'s value when it finishes within its CPU time, cutting nothing."""
    before = cut_ins()
    assert attempt(1.0, lambda: 42) == 42
    assert cut_ins() == before


def test_attempt_gives_none_past_its_cpu_time() -> None:
    """attempt() returns None when the work uses more CPU time than allowed, and counts a cut-in."""
    before = cut_ins()
    started = time.monotonic()
    assert attempt(0.05, busy) is None
    assert time.monotonic() - started < PROMPTLY
    assert cut_ins() == before + 1


def test_attempt_counts_cpu_time_not_waiting() -> None:
    """Time spent waiting (a busy machine, a sleep) is not CPU time: the work still finishes."""
    assert attempt(0.05, lambda: time.sleep(0.3) or "done") == "done"


def test_attempt_returns_none_on_recursion_error() -> None:
    """Work that recurses too deeply counts as not done (None)."""

    def deep(n: int) -> int:
        return deep(n + 1) + 1

    assert attempt(1.0, lambda: deep(0)) is None


def test_attempt_inside_a_deadline() -> None:
    """An attempt cut in returns None and the deadline goes on; a deadline passing inside an attempt wins."""
    with deadline(5.0), stage("outer"):
        assert attempt(0.05, busy) is None
        assert attempt(0.05, lambda: "ok") == "ok"
        left = remaining()
        assert left is not None and 0 < left <= 5.0  # the outer deadline is still open
    with pytest.raises(BudgetExceeded) as info, deadline(0.05), stage("outer"):
        attempt(RUNAWAY, busy)
    assert info.value.stage == "outer"


def test_many_deadlines_and_attempts_in_a_row_leave_nothing() -> None:
    """Repeated deadlines and attempts, finished or expired, leave no timer and no watch."""
    for _ in range(5):
        with deadline(1.0), stage("quick"):
            pass
        assert attempt(0.01, busy) is None
        assert attempt(0.5, lambda: 1) == 1


def _in_thread(work: object) -> list[object]:
    results: list[object] = []

    def run() -> None:
        try:
            results.append(work())  # type: ignore[operator]
        except BaseException as error:  # reported to the test, whatever it is
            results.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(RUNAWAY + 10)
    assert not thread.is_alive()
    return results


def test_deadline_works_off_the_main_thread() -> None:
    """In a worker thread (a web server, a Jupyter kernel) a deadline interrupts busy work too."""

    def work() -> str:
        with deadline(0.1), stage("derivation"):
            busy()
        return "not interrupted"

    started = time.monotonic()
    [outcome] = _in_thread(work)
    assert isinstance(outcome, BudgetExceeded), outcome
    assert outcome.stage == "derivation"
    assert time.monotonic() - started < PROMPTLY


def test_attempt_works_off_the_main_thread() -> None:
    """In a worker thread an attempt is cut at its CPU time, and one that finishes keeps its value."""
    [outcome] = _in_thread(lambda: (attempt(0.05, busy), attempt(1.0, lambda: "done")))
    assert outcome == (None, "done")


def test_tiny_deadlines_off_the_main_thread_raise_budget_exceeded() -> None:
    """Off the main thread too, tiny timeouts end in BudgetExceeded or success, never a private exception."""
    [outcome] = _in_thread(_tiny_deadlines)
    assert isinstance(outcome, set) and "timeout" in outcome, outcome


def test_a_worker_threads_deadline_leaves_the_main_thread_alone() -> None:
    """A deadline passing in a worker thread interrupts that thread only."""

    def work() -> None:
        with deadline(0.05):
            busy()

    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.extend(_in_thread(work)))
    thread.start()
    total = sum(1 for _ in range(2_000_000))  # the main thread keeps working meanwhile
    thread.join(RUNAWAY + 10)
    assert total == 2_000_000
    assert isinstance(outcome[0], BudgetExceeded), outcome


def test_budget_survives_an_expiry_swallowed_by_a_finaliser() -> None:
    """An expiry that lands in a __del__ (where Python drops exceptions) is raised again, not lost."""

    class SlowFinaliser:
        def __del__(self) -> None:
            time.sleep(0.5)  # the alarm arrives here and Python ignores what __del__ raises

    started = time.monotonic()
    with pytest.raises(BudgetExceeded), deadline(0.1):
        SlowFinaliser()
        busy()
    assert time.monotonic() - started < PROMPTLY
    assert budget.RETRY_SECONDS < 0.5


def test_an_attempts_expiry_swallowed_by_a_finaliser_is_raised_again() -> None:
    """An attempt's expiry landing in a __del__ is raised again: the attempt still gives None."""

    class BusyFinaliser:
        def __del__(self) -> None:
            end = time.thread_time() + 0.3
            while time.thread_time() < end:  # the expiry arrives here and Python drops it
                pass

    def work() -> int:
        BusyFinaliser()
        return busy()

    started = time.monotonic()
    assert attempt(0.05, work) is None
    assert time.monotonic() - started < PROMPTLY


def test_swallowed_expiries_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unraisable hook drops expiries lost in finalisers (raised again anyway), and reports the rest."""
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    budget._keep_expiries_quiet()
    budget._keep_expiries_quiet()  # once only: not a filter in front of a filter
    sys.unraisablehook(SimpleNamespace(exc_value=budget._Expired()))  # type: ignore[arg-type]
    sys.unraisablehook(SimpleNamespace(exc_value=ValueError("real")))  # type: ignore[arg-type]
    assert [type(u.exc_value) for u in seen] == [ValueError]  # type: ignore[attr-defined]


def _frame_inside(monkeypatch: pytest.MonkeyPatch, module: object, name: str, run: object) -> Any:
    """The frame of ``module.name`` (patched to record it) as ``run()`` calls it from below."""
    seen: list[Any] = []
    original = getattr(module, name)

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(sys._getframe())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    run()  # type: ignore[operator]
    monkeypatch.undo()
    return seen[0]


def test_no_expiry_while_signal_sets_the_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: an expiry raised in pthread_sigmask's Python wrapper (after the mask was set) left
    SIGALRM blocked, and no deadline of the process fired again; it is deferred there now."""
    frame = _frame_inside(
        monkeypatch,
        signal,
        "_int_to_enum",
        lambda: (
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2}),
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2}),  # returns SIGUSR2
        ),
    )
    assert budget._in_book_keeping(frame)


def test_no_expiry_while_sympy_sets_a_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: an expiry raised while sympy flipped its evaluate switch (clearing its cache) left
    it flipped for every later call; it is deferred there now."""
    from sympy.core import parameters

    def flip() -> None:
        parameters.global_parameters.evaluate = False
        parameters.global_parameters.evaluate = True

    frame = _frame_inside(monkeypatch, parameters, "clear_cache", flip)
    assert budget._in_book_keeping(frame)
    assert parameters.global_parameters.evaluate is True
    assert not budget._in_book_keeping(sys._getframe())  # ordinary code is not deferred
