"""``build_model``: a compiled Keras 3 LSTM classifier from a ``ModelSpec``."""

from __future__ import annotations

import keras

from data_pipeline.errors import ConfigError
from model.spec import ModelSpec


def build_model(spec: ModelSpec, input_shape: tuple[int, int], n_classes: int) -> keras.Model:
    """Build and compile the classifier ``spec`` describes.

    LSTMs keep Keras' defaults (tanh, sigmoid recurrent activation, no recurrent dropout), which
    makes them eligible for the fused cuDNN kernel on GPU.

    Args:
        spec: architecture and optimiser settings.
        input_shape: ``(window_size, n_features)``.
        n_classes: size of the softmax output (at least 2).

    Returns:
        A compiled ``keras.Sequential`` (sparse categorical cross-entropy, accuracy).

    Raises:
        ConfigError: ``n_classes`` below 2 or an empty input shape.
    """
    if n_classes < 2:
        raise ConfigError(
            f"a classifier needs at least 2 classes, but got n_classes={n_classes}; check the "
            "labels of the data folder (or drop_serve / neutral_class settings)."
        )
    if len(input_shape) != 2 or min(input_shape) < 1:
        raise ConfigError(
            f"input_shape must be (window_size, n_features) with both >= 1, but got {input_shape}."
        )
    layers: list[keras.layers.Layer] = [keras.Input(shape=tuple(input_shape), name="windows")]
    if spec.mask_missing:
        layers.append(keras.layers.Masking(mask_value=0.0, name="missing_frames"))
    n_lstm = len(spec.lstm_units)
    for i, (units, both_ways) in enumerate(zip(spec.lstm_units, spec.bidirectional), start=1):
        lstm = keras.layers.LSTM(
            units, return_sequences=i < n_lstm, unroll=spec.unroll, name=f"lstm_{i}"
        )
        if both_ways:
            lstm = keras.layers.Bidirectional(lstm, name=f"bidirectional_{i}")
        layers.append(lstm)
        layers.extend(_normalise_and_drop(spec, i, f"lstm_{i}"))
    for j, units in enumerate(spec.dense_units, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"dense_{j}"))
        layers.extend(_normalise_and_drop(spec, n_lstm + j, f"dense_{j}"))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", name="output"))
    model = keras.Sequential(layers, name="stroke_lstm")
    model.compile(
        optimizer=_optimizer(spec),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _normalise_and_drop(spec: ModelSpec, index: int, after: str) -> list[keras.layers.Layer]:
    """Optional BatchNorm then the ``index``-th (1-based) Dropout, placed after layer ``after``."""
    layers: list[keras.layers.Layer] = []
    if spec.batch_norm:
        layers.append(keras.layers.BatchNormalization(name=f"{after}_batch_norm"))
    layers.append(keras.layers.Dropout(spec.dropout[index - 1], name=f"dropout_{index}"))
    return layers


def _optimizer(spec: ModelSpec) -> keras.optimizers.Optimizer:
    optimizers = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
    }
    return optimizers[spec.optimizer](learning_rate=spec.learning_rate)
