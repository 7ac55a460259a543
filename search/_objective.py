"""One trial: sample -> cached windows -> spec -> train with pruning -> evaluate -> child run.

Follows ``_run_trial`` in ``optuna/study/_optimize.py``: one ``try`` records the outcome (COMPLETE,
PRUNED, or FAIL with its error) and one ``finally`` ends the child run once with the mapped status.
Optuna tells the study right after, from the value returned or the exception raised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import optuna

from data_pipeline.dataset import validation_rotations
from data_pipeline.errors import DataError
from model.evaluation import Evaluation
from model.evaluation import evaluate_held_out
from model.tracking import log_training_run
from model.training import HistoryRecorder
from model.training import train_model
from search._attrs import PER_GROUP_ATTR
from search._attrs import TEST_ATTR
from search._attrs import VAL_LOSS_ATTR
from search._config import OBJECTIVE_METRICS
from search._cv import cross_validate
from search._cv import log_cross_validation
from search._params import TrialParams
from search._params import suggest
from search._pruning import PruningCallback
from search._recovery import mark_owner
from search._remote import is_tracking_outage
from search._space import SearchSpace
from search._study import retry_once
from search._tracking import Tracker


def objective_value(evaluation: Evaluation, objective: str) -> float:
    """The objective read from the validation evaluation, under its logged metric name.

    Raises:
        DataError: the value is NaN (a diverged model), so the trial fails instead of ranking.
    """
    metrics = evaluation.as_metrics("val_")
    value = float(metrics[OBJECTIVE_METRICS[objective]])
    if math.isnan(value):
        raise DataError(f"the trial's {objective} is NaN (training diverged); the trial fails.")
    return value


@dataclass(frozen=True)
class Trained:
    """What one training of a configuration scored.

    Args:
        value: the objective on validation.
        val_loss: validation loss (breaks ties between equal objective values).
        test_macro_f1: macro F1 on the test groups (reported, never optimised).
        test_per_group: test macro F1, accuracy and windows per held-out group.
    """

    value: float
    val_loss: float
    test_macro_f1: float
    test_per_group: dict[str, dict[str, float]]


class DivergenceGuard(keras.callbacks.Callback):
    """Fails the trial as soon as an epoch's loss is NaN or infinite (a diverged model).

    Without it a diverged trial either completes with a meaningless model or, because its
    NaN ``val_loss`` reaches the pruner, is recorded PRUNED instead of FAIL.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        for name in ("loss", "val_loss"):
            value = float((logs or {}).get(name, 0.0))
            if not math.isfinite(value):
                raise DataError(
                    f"training diverged: {name} is {value} at epoch {epoch + 1}; the trial "
                    "fails (a learning_rate this high cannot train this model)."
                )


class Objective:
    """The callable Optuna runs for each trial.

    Args:
        dataset: an open ``data_pipeline.dataset.Dataset`` (windows cached per setting).
        space: the validated, window-clipped search space.
        tracker: child runs under the study's parent run.
        objective: ``val_macro_avg_f1_score`` or ``val_loss``.
        direction: the study's direction (sign of the pruning reports).
        seed: trial ``n`` trains with seed ``seed + n``.
        epochs: maximum epochs overriding the space's ``epochs``; None keeps it.
        callbacks: extra Keras callbacks for every fit (after the pruning callback).
        verbose: Keras ``fit`` verbosity.
        cv: grouped K-fold objective with this many folds (``search._cv``); None trains on
            the single train/val split.
    """

    def __init__(
        self,
        *,
        dataset: Any,
        space: SearchSpace,
        tracker: Tracker,
        objective: str,
        direction: str,
        seed: int,
        epochs: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 0,
        cv: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.space = space
        self.tracker = tracker
        self.objective = objective
        self.direction = direction
        self.seed = seed
        self.epochs = epochs
        self.callbacks = tuple(callbacks)
        self.verbose = verbose
        self.cv = cv

    def __call__(self, trial: optuna.Trial) -> float:
        mark_owner(trial)  # lets a restart tell this trial from a live worker's
        try:
            return self._tracked_trial(trial)
        except BaseException as exc:
            # Here, not only around training: a signal also lands in sampling, in opening the
            # child run or in the closing record of a pruned trial (CI saw SIGTERM leave a FAIL
            # trial without its retry), and Optuna fails the trial wherever it lands.
            if isinstance(exc, KeyboardInterrupt) or is_tracking_outage(exc):
                retry_once(trial.study, trial.number, trial.params, trial.user_attrs)
            raise

    def _tracked_trial(self, trial: optuna.Trial) -> float:
        """Sample, train and evaluate inside the trial's child run, which always ends."""
        params = suggest(trial, self.space)
        run_id = self.tracker.start_child(trial, params.sampled)
        recorder = HistoryRecorder()
        pruning = PruningCallback(trial, direction=self.direction)
        state, error = "FAIL", None
        try:
            value = self._train_and_log(trial, params, run_id, recorder, pruning)
            state = "COMPLETE"
            return value
        except optuna.TrialPruned:
            state = "PRUNED"
            raise
        except BaseException as exc:  # KeyboardInterrupt/termination too: the run must end
            error = f"{type(exc).__name__}: {exc}"
            trial.set_user_attr("error", error[:1000])
            raise
        finally:
            trial.set_user_attr("epochs", pruning.last_epoch)
            if state != "COMPLETE":
                self.tracker.log_partial(run_id, recorder.history, pruning.last_epoch)
            self.tracker.finish_child(run_id, state, error)

    def _train_and_log(
        self,
        trial: optuna.Trial,
        params: TrialParams,
        run_id: str,
        recorder: HistoryRecorder,
        pruning: PruningCallback,
    ) -> float:
        trained = self.train_and_log(
            params, seed=self.seed + trial.number, run_id=run_id, recorder=recorder,
            pruning=pruning,
        )  # fmt: skip
        trial.set_user_attr(VAL_LOSS_ATTR, trained.val_loss)
        trial.set_user_attr(TEST_ATTR, trained.test_macro_f1)
        trial.set_user_attr(PER_GROUP_ATTR, trained.test_per_group)
        return trained.value

    def train_and_log(
        self,
        params: TrialParams,
        *,
        seed: int,
        run_id: str,
        recorder: HistoryRecorder | None = None,
        pruning: PruningCallback | None = None,
        rotation: int | None = None,
    ) -> Trained:
        """Train ``params`` with ``seed``, evaluate, log everything into run ``run_id``.

        A trial passes its pruning callback; a confirmation retraining passes none and its
        ``rotation``: it validates on that part of the training groups
        (``validation_rotations``, cycled; the study seed draws the parts), so the top trials
        are judged on every non-test player. Data without rotations, and a cross-validated
        objective, keep their split.
        """
        data = self.dataset.windows(params.window_config(), params.feature_config())
        extra = dict(params.sampled)
        rotations = [] if rotation is None or self.cv else validation_rotations(data, self.seed)
        if rotations:
            index = rotation % len(rotations)
            data = rotations[index]
            extra["validation_rotation"] = f"{index + 1}/{len(rotations)}"
        spec = params.model_spec(epochs=self.epochs)
        if self.cv is not None:
            outcome = cross_validate(
                data,
                self.dataset.group_folds(self.cv, self.seed, data),
                spec,
                seed=seed,
                objective=self.objective,
                pruning=pruning,
                callbacks=[DivergenceGuard(), *self.callbacks],
                verbose=self.verbose,
                recorder=recorder,
            )
            with self.tracker.child_logging(run_id):
                log_cross_validation(
                    outcome, data, spec, seed=seed, fold_seed=self.seed,
                    extra_params=params.sampled,
                )  # fmt: skip
            return Trained(
                value=outcome.value,
                val_loss=float(outcome.metrics.get("val_eval_loss", math.nan)),
                test_macro_f1=float(outcome.test.averages["macro"]["f1_score"]),
                test_per_group=outcome.test.per_group,
            )
        callbacks = [DivergenceGuard(), *([pruning] if pruning else []), *self.callbacks]
        result = train_model(
            spec, data, seed=seed, callbacks=callbacks, verbose=self.verbose, recorder=recorder
        )
        evaluations = evaluate_held_out(result.model, data)
        value = objective_value(evaluations["val"], self.objective)
        with self.tracker.child_logging(run_id):
            log_training_run(result, evaluations, data, spec, seed=seed, extra_params=extra)
        return Trained(
            value=value,
            val_loss=evaluations["val"].loss,
            test_macro_f1=float(evaluations["test"].averages["macro"]["f1_score"]),
            test_per_group=evaluations["test"].per_group,
        )
