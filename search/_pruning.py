"""Pruning on per-epoch validation loss, whatever direction the study optimises.

Optuna's pruners compare a trial's intermediate values in the *study's* direction. The objective
is usually ``val_macro_avg_f1_score`` (maximised) while pruning must judge ``val_loss`` (lower is
better): reporting the raw loss to a maximising study makes the pruner keep the worst trials and
prune the best ones. So the reported intermediate value is a *score* oriented like the study:

    intermediate value = val_loss    when the study minimises (objective val_loss)
    intermediate value = -val_loss   when the study maximises (objective val_macro_avg_f1_score)

Every Optuna pruner (median, percentile, Hyperband, patient) then compares correctly, because they
all read ``study.direction``. The sign is stored in the study's user attribute
``intermediate_value`` (``"val_loss"`` or ``"-val_loss"``) and labels the intermediate-values plot;
the child runs log the true ``val_loss`` curve.
"""

from __future__ import annotations

import math
import warnings

import keras
import optuna

from data_pipeline.errors import ConfigError
from search._config import PRUNERS

MONITOR = "val_loss"


def intermediate_sign(direction: str) -> float:
    """+1 for a minimising study, -1 for a maximising one (see the module docstring)."""
    return 1.0 if direction == "minimize" else -1.0


def intermediate_label(direction: str) -> str:
    """What the study's intermediate values are: ``val_loss`` or ``-val_loss``."""
    return MONITOR if direction == "minimize" else f"-{MONITOR}"


class PruningCallback(keras.callbacks.Callback):
    """Report each epoch's ``val_loss`` to the trial and stop the fit when the pruner says so.

    Args:
        trial: the running Optuna trial.
        direction: the study's direction; sets the sign of the reported value.

    Raises (from ``fit``):
        optuna.TrialPruned: naming the trial, the epoch (1-based) and the ``val_loss``.
        ConfigError: the epoch logs have no ``val_loss`` (training without validation data).

    Example:
        >>> study = optuna.create_study(direction="maximize")
        >>> callback = PruningCallback(study.ask(), direction="maximize")
        >>> callback.on_epoch_end(0, {"val_loss": 0.5})
        >>> callback.last_epoch
        1
    """

    def __init__(self, trial: optuna.Trial, *, direction: str) -> None:
        super().__init__()
        self.trial = trial
        self.sign = intermediate_sign(direction)
        self.last_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.last_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if MONITOR not in logs:
            raise ConfigError(
                f"pruning monitors {MONITOR!r} but epoch {epoch + 1} logged only "
                f"{sorted(logs)}; train with a validation split (validation_data) so Keras "
                f"reports {MONITOR!r}."
            )
        value = float(logs[MONITOR])
        self.last_epoch = epoch + 1
        # A NaN loss reports as NaN: every pruner prunes a trial whose best value is NaN.
        self.trial.report(
            self.sign * value if not math.isnan(value) else value, step=self.last_epoch
        )
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"trial {self.trial.number} pruned at epoch {self.last_epoch}: "
                f"{MONITOR}={value:.4f} is worse than the pruner's threshold"
            )


def make_pruner(
    kind: str,
    *,
    n_startup_trials: int,
    n_warmup_steps: int,
    max_epochs: int,
    patience: int | None,
    percentile: float,
) -> optuna.pruners.BasePruner:
    """The study's pruner: ``median``, ``percentile``, ``successive-halving``, ``hyperband``
    or ``none``.

    Args:
        kind: ``median`` (prune a trial whose best value so far is worse than the median of the
            complete trials' values at the same epoch, after a warm-up), ``percentile`` (the
            same against the ``percentile`` below), ``successive-halving`` (asynchronous
            successive halving: at epochs ``n_warmup_steps * 4**k`` only the best quarter of
            the trials that reached that epoch go on), ``hyperband`` or ``none``.
        n_startup_trials: finished trials before the median or percentile pruner acts.
        n_warmup_steps: epochs never pruned by the median or percentile pruner; the first
            rung of successive halving.
        max_epochs: Hyperband's maximum resource (epochs).
        patience: wrap in ``PatientPruner``: prune only after this many epochs without
            improvement in the reported value; None for no wrapper.
        percentile: the percentile pruner's percentile, 0-100: a trial goes on while its
            value is within the best ``percentile`` % of the complete trials' (Optuna's
            ``PercentilePruner``; 50 is the median pruner, 75 prunes only the worst quarter).
    """
    if kind == "median":
        pruner: optuna.pruners.BasePruner = optuna.pruners.MedianPruner(
            n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps
        )
    elif kind == "percentile":
        pruner = optuna.pruners.PercentilePruner(
            percentile, n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps
        )
    elif kind == "successive-halving":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=n_warmup_steps)
    elif kind == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)
    elif kind == "none":
        return optuna.pruners.NopPruner()
    else:
        raise ConfigError(f"--pruner must be one of {', '.join(PRUNERS)}, but got {kind!r}.")
    if patience is None:
        return pruner
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.PatientPruner(pruner, patience=patience)
