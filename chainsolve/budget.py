"""Budgets: one wall-clock deadline per command naming the running stage; CPU-time nets for optional work."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

from sympy.core import parameters as sympy_parameters
from sympy.polys.polyerrors import BasePolynomialError

from chainsolve.errors import BudgetExceeded, ChainsolveError

T = TypeVar("T")

#: Seconds a whole command may take unless ``--timeout`` says otherwise.
DEFAULT_TIMEOUT = 20.0
#: Longest timeout accepted (a day): larger values are refused, not taken as "no limit".
MAX_TIMEOUT = 86_400.0
#: Seconds until an expired budget is raised again when its first raise was swallowed.
RETRY_SECONDS = 0.05
#: Seconds past a command's deadline after which a command-line process is ended from outside
#: (a sympy call stuck in C code never reaches the point where the deadline is raised).
HARD_EXIT_GRACE = 2.0


class _Expired(BaseException):
    """Raised inside the interrupted code; a BaseException so that ``except Exception`` in sympy cannot swallow it.

    Each budget raises its own subclass (its token): asynchronous exceptions are raised
    from a class, so the class is what tells whose budget ran out.
    """

    def __init__(self) -> None:
        super().__init__("time budget expired")


def _new_token() -> type[_Expired]:
    return type("_Expired", (_Expired,), {})


def checked_timeout(seconds: float | None) -> float | None:
    """``seconds`` if it is a usable timeout (``None``: no limit); otherwise a clear error.

    NaN, infinities, zero, negative values and values over :data:`MAX_TIMEOUT` are refused:
    they cannot arm a timer (and once broke every later call in the process).
    """
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ChainsolveError(
            "bad_timeout",
            f"timeout must be a number of seconds, not {type(seconds).__name__}",
            hint=f"give a finite number in (0, {MAX_TIMEOUT:g}], or None for no limit",
        )
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise ChainsolveError(
            "bad_timeout",
            f"timeout must be a finite number of seconds in (0, {MAX_TIMEOUT:g}], not {seconds!r}",
            hint="give for example timeout=20, or None for no limit",
        )
    return float(seconds)


# -- which stage is running ----------------------------------------------------------------------

# The innermost stage of each thread, read by the alarm handler and by the watchdog.
_stages: dict[int, list[str]] = {}


def _current_stage(thread: int) -> str:
    names = _stages.get(thread)
    return names[-1] if names else "command"


# -- the watchdog: CPU-time nets anywhere, wall-clock deadlines off the main thread ---------------


@dataclass(eq=False)
class _Watch:
    """One budget the watchdog enforces on ``thread``: a wall-clock or thread CPU-time limit."""

    thread: int
    token: type[_Expired]
    limit: float
    cpu: bool
    clock: int | None = None
    fired_at: float | None = None
    #: Raised by SIGALRM (the main thread's wall-clock deadlines), not asynchronously.
    by_signal: bool = False

    def left(self, now: float) -> float:
        if self.fired_at is not None:  # raised but still open: the raise was swallowed
            return self.fired_at + RETRY_SECONDS - now
        if not self.cpu:
            return self.limit - now
        assert self.clock is not None
        try:
            used = time.clock_gettime(self.clock)
        except OSError:  # the thread has ended
            return math.inf
        # A thread's CPU clock advances at most as fast as the wall clock: sleeping this
        # long wakes no later than the limit.
        return self.limit - used


# Plain locks only: their ``with`` has no Python frame an expiry could land in and skip the
# release (a Condition's has). ``_wake`` is held by the watchdog; releasing it wakes it.
_lock = threading.Lock()
_wake = threading.Lock()
_watches: list[_Watch] = []
_watchdog: threading.Thread | None = None


_BOOK_KEEPING = {__file__, contextlib.__file__}
#: Code below which an expiry is never raised: where sympy sets its process-wide switches
#: (``evaluate``, ``distribute``; an expiry there would leave one flipped for every later
#: call), and ``signal``'s Python wrappers (``pthread_sigmask`` turns its result into enums
#: in Python after the mask is set: an expiry there would leave SIGALRM blocked for good).
_DEFERRED_BELOW = {sympy_parameters.__file__, signal.__file__}


def _in_book_keeping(frame: FrameType | None) -> bool:
    """Is ``frame`` opening or closing a budget (or a ``with`` block's exit), or below it is
    sympy setting one of its global switches or ``signal`` changing the mask?

    An expiry raised there would skip the closing, leave the ``with`` statement before its
    budget can catch it, leave sympy evaluating nothing ("Cannot convert symbols to int"
    in every later call) or SIGALRM blocked (no deadline would fire again in the process):
    it is raised again a moment later instead.
    """
    if frame is None:
        return False
    if frame.f_code.co_filename in _BOOK_KEEPING:
        return True
    caller: FrameType | None = frame
    while caller is not None:
        if caller.f_code.co_filename in _DEFERRED_BELOW:
            return True
        caller = caller.f_back
    return False


def _sympy_switches() -> dict[str, bool]:
    """sympy's process-wide switches as they are now (``evaluate``, ``distribute``, ...)."""
    return dict(vars(sympy_parameters.global_parameters))


def _restore_sympy_switches(switches: dict[str, bool]) -> None:
    """Put sympy's switches back as a budget found them, after an expiry interrupted the work.

    An ``evaluate(False)`` block left by the expiry restores its switch itself; this is the
    net under it, should the expiry have landed where the block could not (a safe point
    missed by a raise repeated while the first was still on its way out).
    """
    for name, value in switches.items():
        if getattr(sympy_parameters.global_parameters, name) != value:
            setattr(sympy_parameters.global_parameters, name, value)


def _set_async(thread: int, token: type[_Expired] | None) -> None:
    # CPython API: raise ``token`` in ``thread`` at its next bytecode boundary (None: cancel).
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(token) if token is not None else None
    )


def _watch_loop(wake: threading.Lock) -> None:
    while True:
        with _lock:
            wait = _fire_due(time.monotonic())
        wake.acquire(timeout=-1 if math.isinf(wait) else max(wait, 1e-3))


def _fire_due(now: float) -> float:
    """Raise every budget that has run out in its thread; the seconds until one may run out."""
    wait = math.inf
    for watch in list(_watches):
        left = watch.left(now)
        if left <= 0 and _in_book_keeping(sys._current_frames().get(watch.thread)):
            left = 1e-3
        elif left <= 0:
            watch.fired_at = now
            if watch.by_signal:
                signal.pthread_kill(watch.thread, signal.SIGALRM)
            else:
                _set_async(watch.thread, watch.token)
            left = RETRY_SECONDS
        wait = min(wait, left)
    return wait


def _notify() -> None:
    with contextlib.suppress(RuntimeError):  # already released: the watchdog is awake
        _wake.release()


def _start_watch(seconds: float, token: type[_Expired], *, cpu: bool) -> None:
    global _watchdog
    thread = threading.get_ident()
    clock = time.pthread_getcpuclockid(thread) if cpu else None
    start = time.clock_gettime(clock) if clock is not None else time.monotonic()
    watch = _Watch(
        thread, token, start + seconds, cpu, clock, by_signal=not cpu and _in_main_thread()
    )
    _keep_expiries_quiet()
    with _lock:
        if _watchdog is None:
            _wake.acquire(blocking=False)
            _watchdog = threading.Thread(
                target=_watch_loop, args=(_wake,), name="chainsolve-budget", daemon=True
            )
            _watchdog.start()
        _watches.append(watch)
    _notify()


def _stop_watch(token: type[_Expired]) -> None:
    """Close ``token``'s watch; an expiry raised but not yet delivered is cancelled. Idempotent."""
    while True:
        try:
            with _lock:
                for watch in [watch for watch in _watches if watch.token is token]:
                    _watches.remove(watch)
                    if watch.fired_at is not None and not watch.by_signal:
                        _set_async(watch.thread, None)
            return
        except _Expired:  # delivered during this book-keeping: the watch is closed now
            continue


def _after_fork_in_child() -> None:
    # The watchdog thread does not survive a fork, and its lock may have been held.
    global _lock, _wake, _watches, _watchdog
    _lock = threading.Lock()
    _wake = threading.Lock()
    _watches = []
    _watchdog = None


os.register_at_fork(after_in_child=_after_fork_in_child)


# -- wall-clock deadlines in the main thread: a signal, which also interrupts sleeps -------------
#
# The watchdog sends SIGALRM to the main thread alone (pthread_kill): a process-wide timer's
# signal may go to any thread, late, after the previous handler (by default: end the
# process) is back.

# Open deadlines of the main thread, innermost last: (absolute time, token).
_deadlines: list[tuple[float, type[_Expired]]] = []
# The SIGALRM handler the outermost deadline replaced, restored when it closes.
_restore: dict[type[_Expired], Any] = {}


def _in_main_thread() -> bool:
    return hasattr(signal, "pthread_kill") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum: int, frame: Any) -> None:
    if _in_book_keeping(frame):
        return  # the watchdog sends the signal again shortly while the deadline is open
    now = time.monotonic()
    for deadline, token in _deadlines:
        if deadline <= now + 1e-3:
            raise token()


def _open_signal_deadline(seconds: float, token: type[_Expired]) -> None:
    """Open ``token``'s deadline with SIGALRM blocked; the caller unblocks inside its ``try``."""
    # Entries of deadlines no longer open (an expiry that landed in their closing) are
    # dropped, and the handler is put back if anything replaced it: otherwise a stale entry
    # would keep every later deadline from installing the handler, and none would fire.
    open_tokens = _ends.get(threading.get_ident(), {})
    _deadlines[:] = [entry for entry in _deadlines if entry[1] in open_tokens]
    if signal.getsignal(signal.SIGALRM) is not _on_alarm:
        _restore[token] = signal.signal(signal.SIGALRM, _on_alarm)
    _deadlines.append((time.monotonic() + seconds, token))
    _start_watch(seconds, token, cpu=False)


def _close_signal_deadline(token: type[_Expired]) -> None:
    """Close ``token``'s deadline (idempotent); no alarm may interrupt the book-keeping."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        for entry in [entry for entry in _deadlines if entry[1] is token]:
            _deadlines.remove(entry)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    _stop_watch(token)
    _let_pending_alarms_through()
    if token in _restore:
        signal.signal(signal.SIGALRM, _restore.pop(token))


def _let_pending_alarms_through() -> None:
    """A Python call: an alarm sent before the watch closed is handled here, found stale."""


def _keep_expiries_quiet() -> None:
    """Make ``sys.unraisablehook`` drop an expiry swallowed by a ``__del__`` or gc callback.

    Such an expiry is raised again (see ``RETRY_SECONDS``); printing its traceback would
    only alarm the user. Every other unraisable exception goes to the hook in place. The
    filter is put in front of whatever hook is installed (once), and left there.
    """
    report = sys.unraisablehook
    if getattr(report, "chainsolve_quiet", False):
        return

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, _Expired):
            report(unraisable)

    hook.chainsolve_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _open_wall(seconds: float, token: type[_Expired]) -> None:
    if _in_main_thread():
        _open_signal_deadline(seconds, token)
    else:
        _start_watch(seconds, token, cpu=False)


def _close_wall(token: type[_Expired]) -> None:
    if _in_main_thread():
        _close_signal_deadline(token)
    else:
        _stop_watch(token)


# -- the public interface -------------------------------------------------------------------------

# When each open deadline of each thread passes (monotonic seconds).
_ends: dict[int, dict[type[_Expired], float]] = {}


def _forget_end(thread: int, token: type[_Expired]) -> None:
    ends = _ends.get(thread, {})
    ends.pop(token, None)
    if not ends:
        _ends.pop(thread, None)


@contextmanager
def deadline(seconds: float | None, *, hard_exit: bool = False) -> Iterator[None]:
    """Run a block (a whole command) under one wall-clock deadline of ``seconds``.

    Past it, :class:`BudgetExceeded` is raised naming the :func:`stage` that was running.
    This only ever aborts: nothing inside decides anything by the clock. Works in any
    thread. ``hard_exit`` (the command line): if the block is stuck in C code and cannot be
    interrupted, the process prints the message and exits 2 :data:`HARD_EXIT_GRACE` later.
    """
    seconds = checked_timeout(seconds)
    if seconds is None:
        yield
        return
    token = _new_token()
    thread = threading.get_ident()
    switches = _sympy_switches()
    _ends.setdefault(thread, {})[token] = time.monotonic() + seconds
    guard: list[threading.Timer] = []
    main = _in_main_thread()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}) if main else None
    try:
        try:
            if hard_exit:
                guard.append(_hard_exit_guard(seconds, thread))
            _open_wall(seconds, token)
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # the alarm may come now
            yield
        finally:
            _close_wall(token)
            for timer in guard:
                timer.cancel()
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            _forget_end(thread, token)
    except _Expired as expired:
        # Closed again: an expiry landing in the ``finally`` above skips the rest of it.
        _close_wall(token)
        for timer in guard:
            timer.cancel()
        _forget_end(thread, token)
        if not isinstance(expired, token):
            raise
        _restore_sympy_switches(switches)
        running = getattr(expired, "stage", None) or _current_stage(thread)
        raise BudgetExceeded(running, seconds) from None


def remaining() -> float | None:
    """Seconds left before the nearest deadline open in this thread passes (``None``: no deadline)."""
    ends = _ends.get(threading.get_ident())
    return min(ends.values()) - time.monotonic() if ends else None


def _hard_exit_guard(seconds: float, thread: int) -> threading.Timer:
    def end_process() -> None:
        error = BudgetExceeded(_current_stage(thread), seconds)
        sys.stderr.write(f"error: {error.message}\nhint: {error.hint}\n")
        sys.stderr.flush()
        os._exit(2)

    guard = threading.Timer(seconds + HARD_EXIT_GRACE, end_process)
    guard.daemon = True
    guard.start()
    return guard


@contextmanager
def stage(name: str, seconds: float | None = None) -> Iterator[None]:
    """Name the stage running in this block, for the message when a deadline passes.

    With ``seconds``, the block also gets a deadline of its own (see :func:`deadline`).
    """
    thread = threading.get_ident()
    names = _stages.setdefault(thread, [])
    names.append(name)
    try:
        with deadline(seconds):
            yield
    except _Expired as expired:
        # Noted on the way out, for the deadline that catches it further up.
        if getattr(expired, "stage", None) is None:
            expired.stage = name  # type: ignore[attr-defined]
        raise
    finally:
        names.pop()
        if not names:
            _stages.pop(thread, None)


_local = threading.local()


def cut_ins() -> int:
    """How many :func:`attempt` calls of this thread have run out of CPU time so far.

    A caller caching a result compares this before and after: an outcome that depended on a
    budget cutting in must not be cached.
    """
    return int(getattr(_local, "cut_ins", 0))


def attempt(cpu_seconds: float, work: Callable[[], T]) -> T | None:
    """``work()``, or ``None`` if it used more than ``cpu_seconds`` of this thread's CPU time.

    For optional work such as simplifying. A safety net against runaway sympy calls, set far
    above what ordinary inputs need: which inputs get a result is decided by size gates at
    the call sites, and CPU time does not grow with the machine's load as wall time does.
    """
    token = _new_token()
    switches = _sympy_switches()
    try:
        try:
            _start_watch(cpu_seconds, token, cpu=True)
            return work()
        finally:
            _stop_watch(token)
    except _Expired as expired:
        _stop_watch(token)  # again: an expiry landing in the ``finally`` skips the rest of it
        if not isinstance(expired, token):
            raise
        _restore_sympy_switches(switches)
        _local.cut_ins = cut_ins() + 1
        return None
    except RecursionError:
        return None
    except (BasePolynomialError, NotImplementedError):
        # sympy gives up where it cannot decide (zero testing in the EX domain:
        # PolynomialDivisionFailed): optional work that did not finish, like a cut-in.
        return None
