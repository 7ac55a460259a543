"""``train_model``: fit one model on the train split, early-stopped on the validation split."""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from data_pipeline.errors import DataError
from data_pipeline.windowed import WindowedData
from model.build import build_model
from model.spec import ModelSpec

#: Per-epoch curves kept in ``TrainResult.history`` (and logged with step = epoch).
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class HistoryRecorder(keras.callbacks.Callback):
    """Records the per-epoch curves, including the learning rate the epoch was trained with.

    ``train_model`` runs it before every other callback, so when a later callback (the search's
    pruning callback) raises from ``on_epoch_end``, ``history`` still holds that epoch. Pass your
    own instance to ``train_model(recorder=...)`` to read it after such an exception.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {name: [] for name in CURVES}

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.history = {name: [] for name in CURVES}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        rate = self.model.optimizer.learning_rate
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))
        for name in CURVES:
            self.history[name].append(float(logs.get(name, np.nan)))


@dataclass(frozen=True)
class TrainResult:
    """Outcome of ``train_model``.

    Args:
        model: the trained model, holding the weights of the best epoch (lowest ``val_loss``).
        history: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
            ``learning_rate``; entry ``e - 1`` belongs to epoch ``e``.
        best_epoch: 1-based epoch whose weights were restored (first lowest ``val_loss``).
        epochs_trained: epochs actually run (early stopping included).
        training_time_seconds: wall time of ``fit``.
        class_weights: class name -> weight used in the loss.
        train_index: window indices trained on.
        val_index: window indices validated on (early stopping, LR decay).
    """

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    epochs_trained: int
    training_time_seconds: float
    class_weights: dict[str, float]
    train_index: np.ndarray
    val_index: np.ndarray

    def final(self, name: str) -> float:
        """Value of curve ``name`` at the best epoch: the ``final_*`` metrics follow the weights.

        Reporting the last epoch would describe other weights than the restored best epoch's;
        here ``final_train_loss`` etc. describe the returned model.
        """
        return self.history[name][self.best_epoch - 1]


def train_model(
    spec: ModelSpec,
    data: WindowedData,
    *,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    train_index: np.ndarray | None = None,
    val_index: np.ndarray | None = None,
    recorder: HistoryRecorder | None = None,
) -> TrainResult:
    """Build ``spec`` for ``data`` and fit it with class weights, early stopping and LR decay.

    Clears the Keras session first (so repeated calls in one process do not accumulate graphs)
    and seeds Python, NumPy and the backend with ``seed``.

    Args:
        spec: the model and its training settings.
        data: windows, labels, splits and class weights.
        seed: seed of weight initialisation, dropout and shuffling.
        callbacks: extra callbacks, run after the recorder, early stopping and LR decay.
        verbose: Keras ``fit`` verbosity. Defaults to 0.
        train_index: window indices to train on (e.g. a CV fold). Defaults to the train split;
            class weights are then ``data.class_weights``, else recomputed on ``train_index``.
        val_index: window indices to validate on. Defaults to the validation split.
        recorder: a ``HistoryRecorder`` to fill, readable even when a callback raises.

    Returns:
        The trained model (best epoch's weights) and its history.

    Raises:
        DataError: an empty train or validation split.
    """
    train = data.split.train if train_index is None else np.asarray(train_index)
    val = data.split.val if val_index is None else np.asarray(val_index)
    for name, index in (("train", train), ("validation", val)):
        if len(index) == 0:
            raise DataError(
                f"the {name} split has no windows; add clips, lower the window size or change "
                "the split fractions."
            )
    weights = (
        dict(data.class_weights)
        if train_index is None
        else balanced_class_weights(data.y[train], data.class_names)
    )
    recorder = HistoryRecorder() if recorder is None else recorder
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=spec.early_stopping_patience, restore_best_weights=True
    )
    reduce_lr = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=spec.reduce_lr_factor, patience=spec.reduce_lr_patience
    )
    reset_keras_state()
    keras.utils.set_random_seed(seed)
    model = build_model(spec, data.input_shape, data.n_classes)
    train_batches, val_batches = fit_batches(
        data, train, val, batch_size=spec.batch_size, class_weights=weights, seed=seed
    )
    start = time.perf_counter()
    model.fit(
        train_batches,
        validation_data=val_batches,
        epochs=spec.epochs,
        shuffle=False,  # the pipeline reshuffles itself
        callbacks=[recorder, early_stopping, reduce_lr, *callbacks],
        verbose=verbose,
    )
    elapsed = time.perf_counter() - start
    return TrainResult(
        model=model,
        history={name: list(values) for name, values in recorder.history.items()},
        best_epoch=int(early_stopping.best_epoch) + 1,
        epochs_trained=len(recorder.history["loss"]),
        training_time_seconds=elapsed,
        class_weights=weights,
        train_index=train,
        val_index=val,
    )


def fit_batches(
    data: WindowedData,
    train: np.ndarray,
    val: np.ndarray,
    *,
    batch_size: int,
    class_weights: Mapping[str, float],
    seed: int,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation batches of ``fit`` as plain ``tf.data`` pipelines.

    Training batches are ``(X, y, sample_weight)`` with each window weighted by its class
    weight (what ``fit(class_weight=...)`` does), reshuffled every epoch in an order that
    ``seed`` fixes; validation batches are ``(X, y)`` in order.

    Why not ``fit(X, y, class_weight=...)``: Keras' adapter for arrays builds an
    index-shuffling pipeline with several map stages and creates its iterator anew every
    epoch, for training and for validation: about 12 ms per iterator and 14 ms per pass over
    the default data's 604 training windows, against 2 ms and 6 ms here. On 2 cores an epoch
    takes 0.74 (small model), 0.89 (V2) and 0.72 (3 bidirectional layers) of the time it took
    from arrays (``benchmarks/bench_fit_input.py`` measures both side by side).

    Trade-off: the shuffle buffer holds one more copy of the training windows (6.5 MiB for
    the default data; a tenth of a GiB for 10,000 windows of 45 frames x 60 features).
    """
    X, y = data.X[train], data.y[train]
    by_index = np.array([class_weights[c] for c in data.class_names], dtype=np.float32)
    train_batches = (
        tf.data.Dataset.from_tensor_slices((X, y, by_index[y]))
        .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_batches = (
        tf.data.Dataset.from_tensor_slices((data.X[val], data.y[val]))
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_batches, val_batches


def reset_keras_state() -> None:
    """Clear the Keras session and free the previous model, at a cost that does not grow.

    ``clear_session`` alone would run a full ``gc.collect()``, which walks every tracked object:
    TensorFlow's and Keras' modules (hundreds of thousands of objects) and everything the
    earlier models of the process left behind for good (TensorFlow keeps about 25 MiB per
    model; see the README's memory note). That walk grew by about 0.03 s per trained model, to
    0.3 s after 10 models and past a second in a 50-trial search. Here the collection runs
    once, then ``gc.freeze()`` moves every survivor to the permanent generation, so the next
    collection walks only what the last model and trial created (0.03 s) and still frees
    every replaced model (``benchmarks/bench_session_reset.py`` compares both).

    Trade-off: an object alive now that becomes cyclic garbage later (a model the caller still
    holds and drops after the next ``train_model``) is freed only when its reference count
    drops to zero, not by the cycle collector. The search holds no model across trials.
    """
    keras.backend.clear_session(free_memory=False)
    gc.collect()
    gc.freeze()


def balanced_class_weights(y: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """``n / (k * n_c)`` per class (scikit-learn's "balanced"); a class absent from ``y`` gets 1.0.

    Example:
        >>> balanced_class_weights(np.array([0, 0, 0, 1]), ("backhand", "fronthand"))
        {'backhand': 0.6666666666666666, 'fronthand': 2.0}
    """
    counts = np.bincount(y, minlength=len(class_names))
    n, k = len(y), len(class_names)
    return {c: float(n / (k * m)) if m else 1.0 for c, m in zip(class_names, counts)}
