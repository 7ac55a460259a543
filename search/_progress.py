"""The callback run after every trial: progress line, failure stop rule, best-trial record.

One line per trial, with the study's progress and an estimate of the time left, e.g.::

    [ 8/50] trial   7  COMPLETE  val_macro_avg_f1_score=0.8123  best=0.8300 (#3)  epochs=17  42.1s  elapsed 5m36s, ~29m left

The estimate is the time this run has taken per finished trial (all workers of the study
together) times the trials still to finish; it appears from the first finished trial on.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from typing import TextIO

import optuna
from optuna.trial import TrialState

from search._pruning import intermediate_sign
from search._selection import best_trial

STATE_WIDTH = 8


def progress_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, objective: str) -> str:
    """The one-line summary of a finished trial (number, state, objective, best, epochs, time)."""
    if trial.state == TrialState.COMPLETE:
        value = f"{objective}={trial.value:.4f}"
    elif trial.intermediate_values:  # pruned: the val_loss it was judged on
        last = max(trial.intermediate_values)
        loss = trial.intermediate_values[last] * intermediate_sign(study.direction.name.lower())
        value = f"val_loss={loss:.4f} at epoch {last}"
    else:
        value = f"{objective}=-"
    best = best_trial(study)
    best_text = "best=-" if best is None else f"best={best.value:.4f} (#{best.number})"
    seconds = trial.duration.total_seconds() if trial.duration else 0.0
    epochs = trial.user_attrs.get("epochs", "-")
    text = (
        f"trial {trial.number:>3}  {trial.state.name:<{STATE_WIDTH}}  {value}  {best_text}  "
        f"epochs={epochs}  {seconds:.1f}s"
    )
    if trial.state == TrialState.FAIL and "error" in trial.user_attrs:
        text += f"  ({trial.user_attrs['error']})"
    return text


def format_duration(seconds: float) -> str:
    """``42s``, ``5m36s``, ``2h05m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_prefix(
    study: optuna.Study, n_trials: int, started: datetime.datetime, now: datetime.datetime
) -> tuple[str, str]:
    """``[done/N]`` and ``elapsed …, ~… left`` for a study run that began at ``started``.

    Done counts the study's finished (complete + pruned) trials, earlier runs' included, as
    ``--n-trials`` does; the rate counts only the trials finished since ``started``.
    """
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    since = sum(1 for t in finished if t.datetime_complete and t.datetime_complete >= started)
    elapsed = (now - started).total_seconds()
    width = len(str(n_trials))
    counter = f"[{len(finished):>{width}}/{n_trials}]"
    timing = f"elapsed {format_duration(elapsed)}"
    remaining = n_trials - len(finished)
    if remaining <= 0:
        timing += ", done"
    elif since:
        timing += f", ~{format_duration(elapsed / since * remaining)} left"
    return counter, timing


class StudyFailed(Exception):
    """Raised after the loop when the stop rules ended it because trials kept failing."""


class TrialCallbacks:
    """The callback ``study.optimize`` calls after each trial.

    Args:
        objective: the objective's name, for the progress line.
        max_failures: stop after this many failed trials in a row in this process.
        on_complete: called with each finished trial (records the best trial and champion).
        out: where progress lines go. Defaults to stdout.
        n_trials: the study's target of finished trials, for ``[done/N]`` and the time left;
            ``None`` leaves them out.
    """

    def __init__(
        self,
        *,
        objective: str,
        max_failures: int,
        on_complete: Callable[[optuna.Study, optuna.trial.FrozenTrial], object],
        out: TextIO | None = None,
        n_trials: int | None = None,
    ) -> None:
        self.objective = objective
        self.max_failures = max_failures
        self.on_complete = on_complete
        self.out = out or sys.stdout
        self.consecutive_failures = 0
        self.failure: str | None = None
        self.trial_numbers: list[int] = []
        self.n_trials = n_trials
        # naive local time: Optuna's datetime_complete
        self.started = datetime.datetime.now()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.trial_numbers.append(trial.number)
        if trial.state == TrialState.COMPLETE:
            self.on_complete(study, trial)
        line = progress_line(study, trial, self.objective)
        if self.n_trials is not None:
            now = datetime.datetime.now()
            counter, timing = progress_prefix(study, self.n_trials, self.started, now)
            line = f"{counter} {line}  {timing}"
        print(line, file=self.out, flush=True)
        if trial.state == TrialState.FAIL:
            self.consecutive_failures += 1
        else:
            self.consecutive_failures = 0
        if self.consecutive_failures >= self.max_failures:  # the loop checks ``failure``
            self.failure = (
                f"study {study.study_name!r} stopped: the last {self.consecutive_failures} trials "
                f"all failed (last error: {_error_of(trial)}); fix the cause (see the FAILED "
                "child runs' 'error' tag, or -v), then run the same command again to resume."
            )


def _error_of(trial: optuna.trial.FrozenTrial) -> str:
    return str(trial.user_attrs.get("error", "unknown"))
