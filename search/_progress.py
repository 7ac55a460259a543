"""The callback run after every trial: progress line, failure stop rule, best-trial record.

One line per trial, e.g.::

    trial   7  COMPLETE  val_macro_avg_f1_score=0.8123  best=0.8300 (#3)  epochs=17  42.1s
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

import optuna
from optuna.trial import TrialState

from search._pruning import intermediate_sign

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
    try:
        best = study.best_trial
        best_text = f"best={best.value:.4f} (#{best.number})"
    except ValueError:
        best_text = "best=-"
    seconds = trial.duration.total_seconds() if trial.duration else 0.0
    epochs = trial.user_attrs.get("epochs", "-")
    text = (
        f"trial {trial.number:>3}  {trial.state.name:<{STATE_WIDTH}}  {value}  {best_text}  "
        f"epochs={epochs}  {seconds:.1f}s"
    )
    if trial.state == TrialState.FAIL and "error" in trial.user_attrs:
        text += f"  ({trial.user_attrs['error']})"
    return text


class StudyFailed(Exception):
    """Raised after the loop when the stop rules ended it because trials kept failing."""


class TrialCallbacks:
    """The callback ``study.optimize`` calls after each trial.

    Args:
        objective: the objective's name, for the progress line.
        max_failures: stop after this many failed trials in a row in this process.
        on_complete: called with each finished trial (records the best trial and champion).
        out: where progress lines go. Defaults to stdout.
    """

    def __init__(
        self,
        *,
        objective: str,
        max_failures: int,
        on_complete: Callable[[optuna.Study, optuna.trial.FrozenTrial], object],
        out: TextIO | None = None,
    ) -> None:
        self.objective = objective
        self.max_failures = max_failures
        self.on_complete = on_complete
        self.out = out or sys.stdout
        self.consecutive_failures = 0
        self.failure: str | None = None
        self.trial_numbers: list[int] = []

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.trial_numbers.append(trial.number)
        if trial.state == TrialState.COMPLETE:
            self.on_complete(study, trial)
        print(progress_line(study, trial, self.objective), file=self.out, flush=True)
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
