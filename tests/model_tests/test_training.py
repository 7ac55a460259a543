"""train_model: best-epoch weights and "final" metrics, class weights, history under pruning."""

from __future__ import annotations

import dataclasses
import weakref

import keras
import numpy as np
import pytest

from data_pipeline.errors import DataError
from model.evaluation import evaluate
from model.training import CURVES
from model.training import HistoryRecorder
from model.training import balanced_class_weights
from model.training import fit_batches
from model.training import train_model


class _StopAtEpoch(keras.callbacks.Callback):
    """Raises like the search's pruning callback does, from ``on_epoch_end``."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise RuntimeError(f"pruned at epoch {self.epoch}")


def test_train_model_final_metrics_follow_restored_best_epoch(tiny_data, tiny_spec):
    # Validation labels are shifted by one class: the better the model learns the train split,
    # the worse its val_loss, so the best epoch is early and early stopping ends training.
    y = tiny_data.y.copy()
    y[tiny_data.split.val] = (y[tiny_data.split.val] + 1) % tiny_data.n_classes
    data = dataclasses.replace(tiny_data, y=y)
    spec = tiny_spec.replace(epochs=8, early_stopping_patience=2, learning_rate=0.02)
    result = train_model(spec, data, seed=3)
    val_loss = result.history["val_loss"]
    # best_epoch is the (first) lowest val_loss, 1-based; epochs_trained counts every epoch run.
    assert result.best_epoch == int(np.argmin(val_loss)) + 1
    assert result.epochs_trained == len(val_loss) and result.best_epoch < result.epochs_trained
    # "final" metrics are the best epoch's values, not the last epoch's.
    assert result.final("val_loss") == min(val_loss) != val_loss[-1]
    # The returned weights are the best epoch's: re-evaluating reproduces its val_loss.
    evaluation = evaluate(result.model, *data.subset("val"), data.class_names)
    assert evaluation.loss == pytest.approx(result.final("val_loss"), rel=1e-4)
    # Every curve has one value per epoch and the learning rate starts at the spec's.
    assert all(len(result.history[name]) == result.epochs_trained for name in CURVES)
    assert result.history["learning_rate"][0] == pytest.approx(spec.learning_rate)
    assert result.training_time_seconds > 0


def test_train_model_recorder_keeps_history_when_a_callback_raises(tiny_data, tiny_spec):
    recorder = HistoryRecorder()
    with pytest.raises(RuntimeError, match="pruned at epoch 2"):
        train_model(
            tiny_spec.replace(epochs=5),
            tiny_data,
            seed=0,
            callbacks=[_StopAtEpoch(2)],
            recorder=recorder,
        )
    # The curves of both epochs run, including the one whose callback raised, are available.
    assert [len(recorder.history[name]) for name in CURVES] == [2] * len(CURVES)
    assert all(np.isfinite(recorder.history["val_loss"]))


def test_balanced_class_weights_match_guide_formula():
    y = np.array([0] * 430 + [1] * 1000)
    weights = balanced_class_weights(y, ("backhand", "fronthand", "serve"))
    # n / (k * n_c) with the guide's counts (k = 3 here) and 1.0 for an absent class.
    assert weights == pytest.approx(
        {"backhand": 1430 / (3 * 430), "fronthand": 1430 / (3 * 1000), "serve": 1.0}
    )
    # The guide's own two-class example: 1.663 and 0.715.
    two = balanced_class_weights(y, ("backhand", "fronthand"))
    assert round(two["backhand"], 3) == 1.663 and round(two["fronthand"], 3) == 0.715


def test_train_model_class_weights_from_data_or_fold(tiny_data, tiny_spec):
    fold = tiny_data.split.train[:30]
    result = train_model(tiny_spec.replace(epochs=1), tiny_data, seed=0, train_index=fold)
    # A custom training index gets weights recomputed on that index ...
    assert result.class_weights == balanced_class_weights(tiny_data.y[fold], tiny_data.class_names)
    # ... while the default uses the data pipeline's train-split weights.
    assert tiny_data.class_weights == balanced_class_weights(
        tiny_data.y[tiny_data.split.train], tiny_data.class_names
    )


def test_train_model_rejects_empty_validation(tiny_data, tiny_spec):
    # An empty split is a data problem with a fix, not a Keras traceback.
    with pytest.raises(DataError, match="validation split has no windows"):
        train_model(tiny_spec, tiny_data, seed=0, val_index=np.array([], dtype=np.int64))


def test_train_model_frees_the_previous_model_once_dropped(tiny_data, tiny_spec):
    # the next train_model's session reset collects the dropped model's reference cycles
    # before freezing the survivors (freezing first would keep every model of a search)
    spec = tiny_spec.replace(epochs=1)
    first = weakref.ref(train_model(spec, tiny_data, seed=0).model)
    second = train_model(spec, tiny_data, seed=1)
    assert first() is None
    assert second.model.predict(tiny_data.X[:2], verbose=0).shape == (2, tiny_data.n_classes)


def _epoch(batches) -> list[tuple[np.ndarray, ...]]:
    """One pass over a tf.data pipeline, as NumPy arrays concatenated over its batches."""
    parts = [tuple(np.asarray(t) for t in batch) for batch in batches]
    return [np.concatenate(column) for column in zip(*parts)]


def test_fit_batches_weight_every_window_once_per_epoch_and_reshuffle(tiny_data):
    train, val = tiny_data.split.train, tiny_data.split.val
    weights = {"backhand": 0.5, "fronthand": 2.0, "serve": 3.0}
    batches, val_batches = fit_batches(
        tiny_data, train, val, batch_size=16, class_weights=weights, seed=4
    )
    first, second = _epoch(batches), _epoch(batches)
    for X, y, sample_weight in (first, second):
        # each training window exactly once, with its label and its class's weight
        order = np.array(
            [np.flatnonzero((tiny_data.X[train] == x).all(axis=(1, 2)))[0] for x in X]
        )
        assert sorted(order) == list(range(len(train)))
        np.testing.assert_array_equal(y, tiny_data.y[train][order])
        expected = [weights[tiny_data.class_names[label]] for label in y]
        np.testing.assert_allclose(sample_weight, expected)
    assert not np.array_equal(first[0], second[0])  # reshuffled for the next epoch
    # the same seed gives the same order; the validation batches are in order, unweighted
    again, _ = fit_batches(tiny_data, train, val, batch_size=16, class_weights=weights, seed=4)
    np.testing.assert_array_equal(_epoch(again)[0], first[0])
    X_val, y_val = _epoch(val_batches)
    np.testing.assert_array_equal(X_val, tiny_data.X[val])
    np.testing.assert_array_equal(y_val, tiny_data.y[val])


def test_train_model_is_reproducible_with_a_seed(tiny_data, tiny_spec):
    spec = tiny_spec.replace(epochs=3)
    first = train_model(spec, tiny_data, seed=7).history
    assert train_model(spec, tiny_data, seed=7).history == first
    assert train_model(spec, tiny_data, seed=8).history != first
