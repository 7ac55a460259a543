"""Grouped K-fold objective (``python -m search.run --cv K``): K fold models, then one final model.

A CV trial, step by step (the choices are documented here; measured in
``benchmarks/bench_generalisation.py``):

- **Folds.** ``Dataset.group_folds(K, seed, data)``: scikit-learn's ``StratifiedGroupKFold`` over
  the non-test windows (the train and validation groups of the single split). Folds never share a
  group and the test groups are in no fold. The fold seed is the study's ``--seed``, not the
  trial's, so every trial is scored on the same folds (a paired comparison between trials).
- **Objective.** Each fold model trains on its fold's train groups and early-stops on its val
  groups; the trial's value is the mean over folds of the validation metric the study optimises
  (``val_macro_avg_f1_score``, or ``val_eval_loss`` for ``--objective val_loss``).
- **Pruning.** Per-epoch pruning on the *first fold only*: the usual ``PruningCallback`` reports
  that fold's ``val_loss`` with ``step`` = epoch, later folds run without it. Every trial's first
  fold is the same fold, so the pruner compares like with like, the ``--pruner`` and
  ``--n-warmup-steps`` flags and the intermediate-values plot keep their meaning, and a poor trial
  stops after a fraction of one fold. Optuna's ``WilcoxonPruner`` was not chosen: it needs one
  report per fold (a whole training run), so it can stop a trial only between folds, never within
  the first one, and it compares against the best trial's fold scores (a complete trial first).
- **Final model.** Every complete trial retrains once on all non-test groups for
  ``E = median of the folds' best epochs`` (no held-out data is left to early-stop on; early
  stopping is switched off by a patience of ``E``), then evaluates that model once on the test
  groups. Cost: K + 1 fits per trial (+20 % at K = 5). Chosen over "retrain only the best trial
  at the end" because the run contract wants every complete child run to hold a model and test
  metrics, and the champion alias moves after each new best, so an interrupted study still has a
  usable, fully retrained champion.
- **Record** (the trial's child run): the final model with the plain test metrics; every
  validation metric ``val_*`` as the *mean over folds* (so ``search.best`` and the champion read
  the CV score); ``fold_{i}_val_*`` (i = 1..K) and ``cv_std_val_*`` (population std) for
  :data:`FOLD_METRICS`; params ``cv_folds``, ``cv_fold_seed``, ``cv_fold_best_epochs``,
  ``cv_final_epochs``. The retrain monitors its own training windows, so its ``val_loss`` /
  ``val_accuracy`` curves and ``final_val_*`` describe the fit to those, not validation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import mlflow
import numpy as np

from data_pipeline.errors import DataError
from data_pipeline.windowed import WindowedData
from model.evaluation import Evaluation
from model.evaluation import evaluate
from model.spec import ModelSpec
from model.tracking import log_training_run
from model.training import HistoryRecorder
from model.training import TrainResult
from model.training import train_model
from search._config import OBJECTIVE_METRICS

#: Validation metrics (``val_`` + name) logged per fold and with their spread across folds.
FOLD_METRICS = ("macro_avg_f1_score", "weighted_avg_f1_score", "eval_accuracy", "eval_loss")


@dataclass(frozen=True)
class FoldResult:
    """One fold model: where it stopped and how it scored on the fold's validation groups."""

    best_epoch: int
    epochs_trained: int
    evaluation: Evaluation


@dataclass(frozen=True)
class CrossValidation:
    """The outcome of one CV trial.

    Args:
        folds: the fold models' results, fold 1 first.
        metrics: fold means under the validation names, ``fold_{i}_val_*`` and ``cv_std_val_*``.
        value: the objective (mean over folds of the optimised validation metric).
        final: the model retrained on all non-test groups for ``final_epochs`` epochs.
        test: ``final`` evaluated once on the test groups.
        final_epochs: epochs of the retrain (median of the folds' best epochs).
    """

    folds: tuple[FoldResult, ...]
    metrics: dict[str, float]
    value: float
    final: TrainResult
    test: Evaluation
    final_epochs: int

    def params(self, fold_seed: int) -> dict[str, object]:
        """The CV settings as run parameters."""
        return {
            "cv_folds": len(self.folds),
            "cv_fold_seed": fold_seed,
            "cv_fold_best_epochs": ",".join(str(f.best_epoch) for f in self.folds),
            "cv_final_epochs": self.final_epochs,
        }


def fold_metrics(evaluations: Sequence[Evaluation]) -> dict[str, float]:
    """Mean over folds of every ``val_*`` metric; per-fold values and std of :data:`FOLD_METRICS`.

    Example:
        >>> from model.evaluation import evaluation_from_probabilities
        >>> good = evaluation_from_probabilities(np.array([0, 1]), np.eye(2), ("a", "b"))
        >>> bad = evaluation_from_probabilities(np.array([0, 1]), np.eye(2)[::-1], ("a", "b"))
        >>> m = fold_metrics([good, bad])
        >>> names = ("val_", "fold_2_val_", "cv_std_val_")
        >>> [m[f"{name}macro_avg_f1_score"] for name in names]
        [0.5, 0.0, 0.5]
    """
    per_fold = [e.as_metrics("val_") for e in evaluations]
    metrics = {name: float(np.mean([m[name] for m in per_fold])) for name in per_fold[0]}
    for name in (f"val_{n}" for n in FOLD_METRICS):
        values = [m[name] for m in per_fold]
        metrics.update({f"fold_{i}_{name}": float(v) for i, v in enumerate(values, 1)})
        metrics[f"cv_std_{name}"] = float(np.std(values))
    return metrics


def final_epochs(best_epochs: Sequence[int]) -> int:
    """Epochs of the retrain on all non-test groups: the median of the folds' best epochs.

    Example:
        >>> final_epochs([12, 30, 15, 14, 90])
        15
    """
    return max(1, round(float(np.median(best_epochs))))


def cross_validate(
    data: WindowedData,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    spec: ModelSpec,
    *,
    seed: int,
    objective: str,
    pruning: keras.callbacks.Callback | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    recorder: HistoryRecorder | None = None,
) -> CrossValidation:
    """Train one model per fold, score the folds, retrain on all non-test groups, test once.

    Args:
        data: the trial's windows.
        folds: ``(train, val)`` window indices (``Dataset.group_folds``), none touching test.
        spec: the trial's model.
        seed: training seed of every fit.
        objective: ``val_macro_avg_f1_score`` or ``val_loss``.
        pruning: callback that may stop the trial, attached to the first fold only.
        callbacks: callbacks of every fit (before ``pruning``).
        verbose: Keras ``fit`` verbosity.
        recorder: filled by each fit in turn (readable after a prune or failure).

    Raises:
        DataError: the mean objective is NaN (a diverged fold).
        optuna.TrialPruned: from ``pruning`` during the first fold.
    """
    results = []
    for i, (train_index, val_index) in enumerate(folds):
        extra = [pruning] if pruning is not None and i == 0 else []
        result = train_model(
            spec,
            data,
            seed=seed,
            callbacks=[*callbacks, *extra],
            verbose=verbose,
            train_index=train_index,
            val_index=val_index,
            recorder=recorder,
        )
        evaluation = evaluate(result.model, data.X[val_index], data.y[val_index], data.class_names)
        results.append(FoldResult(result.best_epoch, result.epochs_trained, evaluation))
    metrics = fold_metrics([r.evaluation for r in results])
    value = metrics[OBJECTIVE_METRICS[objective]]
    if math.isnan(value):
        raise DataError(f"the trial's mean {objective} over folds is NaN (a fold diverged).")
    epochs = final_epochs([r.best_epoch for r in results])
    pool = np.sort(np.concatenate(folds[0]))
    final = train_model(
        spec.replace(epochs=epochs, early_stopping_patience=epochs),
        data,
        seed=seed,
        callbacks=callbacks,
        verbose=verbose,
        train_index=pool,
        val_index=pool,
        recorder=recorder,
    )
    test = evaluate(final.model, *data.subset("test"), data.class_names)
    return CrossValidation(tuple(results), metrics, value, final, test, epochs)


def log_cross_validation(
    cv: CrossValidation,
    data: WindowedData,
    spec: ModelSpec,
    *,
    seed: int,
    fold_seed: int,
    extra_params: Mapping[str, Any] | None = None,
) -> None:
    """Log a CV trial into the active run: the final model's record, then the fold metrics.

    ``spec`` is the trial's spec (its ``epochs`` is the maximum the folds could run), so the
    parameters match those of single-split trials; the retrain's epochs are ``cv_final_epochs``.
    """
    params = {**(extra_params or {}), **cv.params(fold_seed)}
    log_training_run(cv.final, {"test": cv.test}, data, spec, seed=seed, extra_params=params)
    mlflow.log_metrics(cv.metrics)
