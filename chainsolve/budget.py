"""Time budgets: a stage that runs too long is interrupted and reported by name, never left to hang."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sympy.polys.polyerrors import BasePolynomialError

from chainsolve.errors import BudgetExceeded

T = TypeVar("T")

#: Seconds a whole command may take unless ``--timeout`` says otherwise.
DEFAULT_TIMEOUT = 20.0
#: Seconds until an expired deadline is raised again when its first raise was swallowed.
RETRY_SECONDS = 0.05


class _Expired(BaseException):
    """Raised inside the interrupted code; a BaseException so that ``except Exception`` in sympy cannot swallow it."""

    def __init__(self, token: object) -> None:
        super().__init__("time budget expired")
        self.token = token


# Open deadlines, innermost last: (absolute time, token).
_deadlines: list[tuple[float, object]] = []


def _can_interrupt() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum: int, frame: Any) -> None:
    now = time.monotonic()
    for deadline, token in _deadlines:
        if deadline <= now + 1e-4:
            # If the signal lands in code that swallows exceptions (a __del__ method, a gc
            # or weakref callback), this raise is lost: fire again shortly rather than never.
            signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
            raise _Expired(token)
    _arm()


def _arm() -> None:
    if not _deadlines:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    remaining = min(deadline for deadline, _ in _deadlines) - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3))


@contextmanager
def _deadline(seconds: float) -> Iterator[object]:
    token = object()
    if not _can_interrupt():
        yield token
        return
    outermost = not _deadlines
    previous = signal.signal(signal.SIGALRM, _on_alarm) if outermost else None
    previous_hook = sys.unraisablehook
    if outermost:
        sys.unraisablehook = _quiet_unraisable(previous_hook)
    _deadlines.append((time.monotonic() + seconds, token))
    _arm()
    try:
        yield token
    finally:
        # No alarm (such as a repeated expiry) may interrupt the book-keeping; one that came
        # meanwhile is delivered on unblocking, still to our handler, which finds it stale.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            _deadlines.remove(next(entry for entry in _deadlines if entry[1] is token))
            _arm()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)
        if outermost:
            sys.unraisablehook = previous_hook


def _quiet_unraisable(report: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A ``sys.unraisablehook`` that drops an expiry swallowed by a ``__del__`` or gc callback.

    Such an expiry is raised again (see ``RETRY_SECONDS``); printing its traceback would
    only alarm the user. Every other unraisable exception goes to ``report``.
    """

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, _Expired):
            report(unraisable)

    return hook


@contextmanager
def stage(name: str, seconds: float | None) -> Iterator[None]:
    """Run a block under a time budget; past it, raise :class:`BudgetExceeded` naming ``name``.

    ``seconds=None`` means no budget. Only the main thread can be interrupted (a signal
    timer); elsewhere the block runs to the end.
    """
    if seconds is None:
        yield
        return
    with _deadline(seconds) as token:
        try:
            yield
        except _Expired as expired:
            if expired.token is not token:
                raise
            raise BudgetExceeded(name, seconds) from None


def attempt(seconds: float, work: Callable[[], T]) -> T | None:
    """``work()``, or ``None`` if it did not finish within ``seconds`` (for optional work such as simplifying)."""
    with _deadline(seconds) as token:
        try:
            return work()
        except _Expired as expired:
            if expired.token is not token:
                raise
            return None
        except RecursionError:
            return None
        except (BasePolynomialError, NotImplementedError):
            # sympy gives up where it cannot decide (zero testing in the EX domain:
            # PolynomialDivisionFailed): optional work that did not finish, like a timeout.
            return None
