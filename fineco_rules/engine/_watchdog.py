"""A time limit on an evaluation, so a hung scorer plugin stops with an error that names it.

On the main thread of a POSIX process the limit is a ``SIGALRM`` timer (``setitimer``): it
interrupts pure-Python loops and blocking calls such as ``time.sleep`` or a socket read. On any
other thread, where signals cannot be delivered, a watchdog thread raises the error in the
evaluating thread (``PyThreadState_SetAsyncExc``); that stops Python code, but not a call
blocked inside C until it returns. Either way the error names the indicator, scorer, plugin
and county that were running, and the line the scorer was on.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Final

from fineco_rules.errors import EvaluationTimeout

__all__ = ["EvaluationTimeout", "time_limit"]

#: After the limit, the timer fires again this often in case a scorer swallowed the first interruption.
_AGAIN: Final = 1.0
_PACKAGE: Final = os.path.dirname(os.path.abspath(__file__))


class _Expired(BaseException):
    """Raised inside the evaluation when the limit passes.

    A ``BaseException``, so that the engine's per-county ``except Exception`` (which reports one
    county's scorer failure and goes on) does not absorb it: the whole evaluation must stop.
    """


def _describe(frame: FrameType | None) -> dict[str, str | None]:
    """Which indicator, scorer, plugin and county the interrupted stack was working on, and where."""
    found: dict[str, str | None] = {"indicator": None, "scorer": None, "plugin": None, "county": None, "where": None}
    innermost = frame
    while innermost is not None and innermost.f_code.co_filename == __file__:
        innermost = innermost.f_back
    if innermost is not None:
        code = innermost.f_code
        found["where"] = f"{code.co_name} ({code.co_filename}:{innermost.f_lineno})"
    current = innermost
    while current is not None:
        for value in list(current.f_locals.values()):
            try:
                indicator = getattr(value, "indicator", None)
                county = getattr(value, "county", None)
                is_record = hasattr(value, "values")
            except Exception:  # an odd object in a scorer's locals; nothing to learn from it
                continue
            if found["scorer"] is None and indicator is not None and hasattr(indicator, "scorer"):
                found["indicator"] = str(getattr(indicator, "name", None))
                found["scorer"] = str(indicator.scorer)
                plugin = getattr(value, "plugin", None)
                found["plugin"] = str(plugin) if plugin is not None else None
            if found["county"] is None and isinstance(county, str) and is_record:
                found["county"] = county
        current = current.f_back
    return found


class _Limit:
    """The state one :func:`time_limit` block shares with its timer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = True
        self.details: dict[str, str | None] | None = None

    def expire(self, frame: FrameType | None) -> None:
        if self.details is None:
            self.details = _describe(frame)

    def error(self) -> EvaluationTimeout:
        return EvaluationTimeout(self.seconds, **(self.details or {}))


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Stop the code in the block after ``seconds`` with :class:`EvaluationTimeout`; ``None``: no limit.

    >>> with time_limit(30):
    ...     evaluation = compiled.evaluate(records)  # doctest: +SKIP
    """
    if seconds is None:
        yield
        return
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"a time limit is a positive number of seconds, not {seconds!r}")
    limit = _Limit(float(seconds))
    on_main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    runner = _alarm if on_main else _watchdog
    try:
        with runner(limit):
            yield
    except _Expired:
        raise limit.error() from None


@contextlib.contextmanager
def _alarm(limit: _Limit) -> Iterator[None]:
    collecting = [False]

    def fire(signum: int, frame: FrameType | None) -> None:
        if not limit.active:
            return
        if collecting[0]:
            # An exception raised inside a garbage-collection callback (another library's, in Python) is lost
            # as "unraisable": try again just after the collection instead.
            signal.setitimer(signal.ITIMER_REAL, _AGAIN)
            return
        limit.expire(frame)
        signal.setitimer(signal.ITIMER_REAL, _AGAIN)  # again, should the scorer swallow this one
        raise _Expired

    def started_collecting(phase: str, info: object) -> None:
        if phase == "start":
            collecting[0] = True

    def stopped_collecting(phase: str, info: object) -> None:
        if phase == "stop":
            collecting[0] = False

    # First to see a collection start, last to see it stop: every other callback runs inside the window.
    gc.callbacks.insert(0, started_collecting)
    gc.callbacks.append(stopped_collecting)
    previous = signal.signal(signal.SIGALRM, fire)
    outer = signal.getitimer(signal.ITIMER_REAL)
    if outer[0]:  # an enclosing limit: keep the sooner of the two
        limit.seconds = min(limit.seconds, outer[0])
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, limit.seconds)
    try:
        yield
    finally:
        limit.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        gc.callbacks.remove(started_collecting)
        gc.callbacks.remove(stopped_collecting)
        if outer[0]:  # give the enclosing limit back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - started), 0.001))


class _Cleared(BaseException):
    """Sent to the evaluating thread in place of a pending :class:`_Expired`, and caught at once."""


@contextlib.contextmanager
def _watchdog(limit: _Limit) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()
    sent = threading.Event()

    def watch() -> None:
        wait = limit.seconds
        while not done.wait(wait):
            if not limit.active:
                return
            frame = sys._current_frames().get(target)  # noqa: SLF001 - CPython's only way to see another thread's frame
            limit.expire(frame)
            sent.set()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(_Expired))
            wait = _AGAIN

    watcher = threading.Thread(target=watch, name="fineco-time-limit", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        limit.active = False
        done.set()
        watcher.join()
        if sent.is_set():
            _settle(target)


def _settle(target: int) -> None:
    """Leave no interruption pending in this thread, and the interpreter's "async exception" flag clear.

    An interruption sent just as the block ended must not escape later. Clearing it by sending
    NULL would leave CPython's interpreter-wide flag set for good (3.11 signals it even for NULL,
    and only the delivery of an exception clears it), and every thread would then run slowly. So
    send a harmless exception in its place and let it be delivered here, where it is caught.
    """
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(_Cleared))
        for _ in range(1_000_000):  # delivered at the eval loop's first check, long before the end
            pass
    except _Cleared:
        return
