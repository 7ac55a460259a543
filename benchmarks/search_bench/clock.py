"""One wall-clock budget per contender run, and the time spent inside Keras ``fit``.

A :class:`FitClock` goes into every ``fit`` of every contender (as an extra Keras callback) and
records when each fit began and ended and how many epochs it ran. :meth:`FitClock.until_budget`
ends the run when the budget is spent, wherever the tool is (fit, evaluation, logging), by raising
:class:`BudgetSpent` from a ``SIGALRM``: a ``KeyboardInterrupt``, so the tools treat it as a
Ctrl-C (our objective fails the trial and closes its run; Optuna and KerasTuner re-raise it
instead of recording a failure and going on). Nothing a trial finishes after the budget counts.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import keras


class BudgetSpent(KeyboardInterrupt):
    """The contender's wall-clock budget is over; the running fit stops."""


@dataclass
class Fit:
    """One ``fit`` call: absolute begin and end (``time.time()``) and epochs finished."""

    begin: float
    end: float
    epochs: int = 0


@dataclass
class Trial:
    """One trial as the benchmark sees it; times are seconds since the run's start.

    Args:
        number: the tool's trial number (order of start).
        start: when the trial started.
        end: when its result was recorded (None: it never finished).
        state: ``COMPLETE``, ``PRUNED`` or ``FAIL``.
        val_f1: validation macro-F1 of the trained model (None unless COMPLETE).
        test_f1: test macro-F1 of the same model (reported, never used for selection).
        epochs: epochs trained.
        fit_s: seconds inside ``fit``.
        params: the trial's sampled parameters (Optuna contenders; empty for KerasTuner).
    """

    number: int
    start: float
    end: float | None
    state: str
    val_f1: float | None = None
    test_f1: float | None = None
    epochs: int = 0
    fit_s: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)


class FitClock(keras.callbacks.Callback):
    """Keras callback: records every fit and stops the run at ``deadline`` (``time.time()``).

    Shared by reference even where a tool deep-copies its callbacks (KerasTuner does).

    Args:
        deadline: absolute end of the budget (``time.time()``).
    """

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.fits: list[Fit] = []
        self.interrupted = False

    def __deepcopy__(self, memo: dict[int, Any]) -> FitClock:
        return self

    def on_train_begin(self, logs: dict | None = None) -> None:
        now = time.time()
        self.fits.append(Fit(begin=now, end=now))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.fits[-1].end = time.time()

    def on_test_end(self, logs: dict | None = None) -> None:
        """An epoch counts once its validation ran (every contender validates each epoch).

        Not in ``on_epoch_end``: a pruning callback that raises there, before this one, would
        leave the epoch that got its trial pruned uncounted.
        """
        self.fits[-1].end = time.time()
        self.fits[-1].epochs += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.fits[-1].end = time.time()

    def until_budget(self, search: Callable[[], object]) -> None:
        """Run ``search`` until it returns or the deadline passes (then stop it, wherever it is).

        An error raised after the deadline (a store write cut short by the interruption) ends
        the run like the budget does; one raised before it propagates.
        """

        def spent(signum: int, frame: object) -> None:
            raise BudgetSpent(f"budget spent at {time.strftime('%H:%M:%S')}")

        previous = signal.signal(signal.SIGALRM, spent)
        # repeats every second: Python swallows an exception raised inside a weakref callback
        signal.setitimer(signal.ITIMER_REAL, max(0.001, self.deadline - time.time()), 1.0)
        try:
            search()
        except BudgetSpent:
            self.interrupted = True
        except Exception:
            if time.time() < self.deadline:
                raise
            self.interrupted = True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def fit_seconds(self, start: float, end: float, t0: float) -> tuple[float, int]:
        """Seconds and epochs of the fits that began in ``[start, end]`` (run-relative times)."""
        inside = [f for f in self.fits if start <= f.begin - t0 <= end]
        return sum(f.end - f.begin for f in inside), sum(f.epochs for f in inside)

    def total_fit_seconds(self, t0: float, budget: float) -> float:
        """Seconds of all fits inside the budget, the interrupted one included."""
        return sum(max(0.0, min(f.end - t0, budget) - (f.begin - t0)) for f in self.fits)


def as_dicts(trials: list[Trial]) -> list[dict[str, Any]]:
    """JSON-ready trial records."""
    return [asdict(t) for t in trials]
