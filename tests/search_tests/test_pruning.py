"""Pruning judges per-epoch val_loss (lower is better) whatever direction the study optimises."""

from __future__ import annotations

import keras
import numpy as np
import optuna
import pytest

from data_pipeline.errors import ConfigError
from search._config import SearchConfig
from search._pruning import PruningCallback
from search._pruning import make_pruner

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def _study(direction: str) -> optuna.Study:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    return optuna.create_study(direction=direction, pruner=pruner)


def _feed(study: optuna.Study, direction: str, losses: list[float]) -> tuple[optuna.Trial, bool]:
    """Run one trial's epochs through the callback; True if it was pruned."""
    trial = study.ask()
    callback = PruningCallback(trial, direction=direction)
    callback.on_train_begin()
    try:
        for epoch, loss in enumerate(losses):
            callback.on_epoch_end(epoch, {"loss": loss, "val_loss": loss})
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return trial, True
    return trial, False


def _with_predecessors(direction: str, objective_value: float) -> optuna.Study:
    study = _study(direction)
    for offset in (0.0, 0.05, 0.1):
        trial, pruned = _feed(study, direction, [1.0 + offset, 0.9 + offset, 0.8 + offset])
        assert not pruned  # startup trials are never pruned
        study.tell(trial, objective_value)
    return study


@pytest.mark.parametrize(("direction", "objective_value"), [("maximize", 0.6), ("minimize", 0.85)])
def test_pruning_worse_val_loss_is_pruned_better_is_not(
    direction: str, objective_value: float
) -> None:
    # direction "maximize": objective val_macro_avg_f1_score; "minimize": objective val_loss
    study = _with_predecessors(direction, objective_value)
    worse, worse_pruned = _feed(study, direction, [3.0, 2.9, 2.8])
    # a trial whose val_loss is clearly above its predecessors' is pruned at its first epoch
    assert worse_pruned
    assert worse.number == 3 and max(study.trials[3].intermediate_values) == 1
    better, better_pruned = _feed(study, direction, [0.3, 0.2, 0.1])
    # a clearly better trial runs all its epochs
    assert not better_pruned
    assert len(study.trials[4].intermediate_values) == 3


def test_pruning_naive_loss_report_would_prune_the_best_trial() -> None:
    # why the sign matters: reporting raw val_loss to a maximising study inverts the pruner
    study = _study("maximize")
    for offset in (0.0, 0.05, 0.1):
        trial = study.ask()
        for step, loss in enumerate([1.0 + offset, 0.9 + offset], 1):
            trial.report(loss, step)
        study.tell(trial, 0.6)
    good = study.ask()
    good.report(0.1, 1)
    assert good.should_prune()  # the best trial would be pruned...
    study.tell(good, state=optuna.trial.TrialState.PRUNED)
    _, pruned = _feed(_with_predecessors("maximize", 0.6), "maximize", [0.1])
    assert not pruned  # ...and our callback keeps it


def test_pruning_missing_val_loss_raises_listing_keys() -> None:
    study = _study("maximize")
    callback = PruningCallback(study.ask(), direction="maximize")
    # training without validation data must not silently disable pruning
    with pytest.raises(ConfigError, match=r"'val_loss'.*\['accuracy', 'loss'\]"):
        callback.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})


def test_pruning_callback_stops_a_real_fit_with_trial_and_epoch() -> None:
    study = _study("maximize")
    for _ in range(3):
        trial = study.ask()
        trial.report(-1e-6, 1)  # predecessors with a near-zero val_loss
        study.tell(trial, 0.9)
    trial = study.ask()
    callback = PruningCallback(trial, direction="maximize")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5, 3)).astype("float32"), rng.integers(0, 2, 16)
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # Keras lets the callback's TrialPruned out of fit, naming the trial and the epoch
    with pytest.raises(optuna.TrialPruned, match=r"trial 3 pruned at epoch 1: val_loss="):
        model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[callback])
    assert callback.last_epoch == 1


def test_make_pruner_options() -> None:
    kwargs = {"n_startup_trials": 5, "n_warmup_steps": 10, "max_epochs": 50, "percentile": 75.0}
    assert isinstance(make_pruner("median", patience=None, **kwargs), optuna.pruners.MedianPruner)
    assert isinstance(
        make_pruner("hyperband", patience=None, **kwargs), optuna.pruners.HyperbandPruner
    )
    assert isinstance(make_pruner("none", patience=None, **kwargs), optuna.pruners.NopPruner)
    assert isinstance(
        make_pruner("percentile", patience=None, **kwargs), optuna.pruners.PercentilePruner
    )
    with pytest.raises(ConfigError, match="--pruner must be one of median, percentile, succ"):
        make_pruner("asha", patience=None, **kwargs)
    patient = make_pruner("median", patience=3, **kwargs)
    # the patience wrapper tolerates noisy epochs around the median pruner
    assert isinstance(patient, optuna.pruners.PatientPruner)


def test_patient_pruner_keeps_an_improving_trial_in_a_maximising_study() -> None:
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.PatientPruner(None, patience=2)
    )
    _, pruned = _feed(study, "maximize", [1.0, 0.9, 0.8, 0.7, 0.6])
    # a steadily falling val_loss is an improvement, even though the study maximises
    assert not pruned
    _, pruned = _feed(study, "maximize", [1.0, 1.1, 1.2, 1.3, 1.4])
    assert pruned  # a rising val_loss runs out of patience


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_successive_halving_judges_val_loss_at_its_first_rung(direction: str) -> None:
    kwargs = {"n_startup_trials": 5, "n_warmup_steps": 2, "max_epochs": 50, "percentile": 75.0}
    study = optuna.create_study(
        direction=direction, pruner=make_pruner("successive-halving", patience=None, **kwargs)
    )
    first, pruned = _feed(study, direction, [1.0, 0.8, 0.7])
    assert not pruned  # the first trial to reach a rung always goes on
    study.tell(first, 0.5)
    worse, pruned = _feed(study, direction, [3.0, 2.9, 2.8])
    # pruned where its val_loss is first compared (epoch 2, the rung), not at epoch 1
    assert pruned and max(study.trials[worse.number].intermediate_values) == 2
    _, pruned = _feed(study, direction, [0.5, 0.4, 0.3])
    assert not pruned  # a lower val_loss is better in either direction


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_percentile_pruner_cuts_only_the_worst_quarter(direction: str) -> None:
    kwargs = {"n_startup_trials": 4, "n_warmup_steps": 0, "max_epochs": 50}
    pruner = make_pruner("percentile", patience=None, percentile=75.0, **kwargs)
    study = optuna.create_study(direction=direction, pruner=pruner)
    for final_loss in (0.2, 0.4, 0.6, 0.8):  # complete trials' val_loss at epoch 1
        trial, pruned = _feed(study, direction, [final_loss])
        assert not pruned  # start-up trials are never pruned
        study.tell(trial, 1.0 - final_loss if direction == "maximize" else final_loss)
    # 0.6 is worse than the median (0.5) but not in the worst quarter (above 0.65)
    _, pruned = _feed(study, direction, [0.6])
    assert not pruned
    # the median pruner on the same trials cuts it: the percentile pruner is the lenient one
    median = make_pruner("median", patience=None, percentile=75.0, **kwargs)
    assert median.prune(study, study.trials[-1])
    _, pruned = _feed(study, direction, [0.7])
    assert pruned  # within the worst quarter


@pytest.mark.parametrize("percentile", [-1.0, 100.5])
def test_a_percentile_outside_0_to_100_is_refused_by_name(percentile: float) -> None:
    with pytest.raises(
        ConfigError, match=rf"--percentile must be between 0 and 100.*{percentile}"
    ):
        SearchConfig(pruner="percentile", percentile=percentile)
