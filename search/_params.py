"""One trial's sampled values as a frozen ``TrialParams``, and from there model and data configs.

``model`` never imports Optuna: ``suggest`` turns an Optuna trial into ``TrialParams`` and only
that crosses into ``model.spec.ModelSpec`` and ``data_pipeline`` configs.

Units follow the logged names: ``lstm_layer_{i}_units`` is a layer's total output, so a
bidirectional first layer of ``lstm_layer_1_units = 128`` wraps an ``LSTM(64)`` per direction
and is logged as 128, exactly the value ``model.describe`` derives from the built model.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

import optuna

from data_pipeline.config import FeatureConfig
from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from model.spec import ModelSpec
from search._space import FEATURE_KEYS
from search._space import TRAINING_KEYS
from search._space import SearchSpace
from search._space import entry_name


@dataclass(frozen=True)
class TrialParams:
    """The hyperparameters of one trial, in the logged names' meaning (docs/tracking.md).

    Args:
        window_size: frames per window at the reference fps.
        overlap: frames shared by consecutive windows (always < ``window_size``).
        lstm_units: total output units of each LSTM layer.
        bidirectional: wrap the first LSTM layer in ``Bidirectional``.
        batch_norm: BatchNormalization after each LSTM and dense layer.
        dropout: one rate per LSTM layer, then one per dense layer.
        dense_units: units of each dense layer before the softmax.
        learning_rate: initial learning rate.
        batch_size: training batch size.
        epochs: maximum epochs.
        optimizer: optimizer name. Defaults to ``adam``.
        features: FeatureConfig field -> value for the entries the space samples.
        training: ModelSpec training field (``early_stopping_patience``,
            ``reduce_lr_patience``) -> value for the entries the space sets.
        sampled: the Optuna parameters under their search-space names, as logged.
    """

    window_size: int
    overlap: int
    lstm_units: tuple[int, ...]
    bidirectional: bool
    batch_norm: bool
    dropout: tuple[float, ...]
    dense_units: tuple[int, ...]
    learning_rate: float
    batch_size: int
    epochs: int
    optimizer: str = "adam"
    features: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    sampled: dict[str, Any] = field(default_factory=dict)

    def window_config(self, base: WindowConfig | None = None) -> WindowConfig:
        """The data's window settings, other fields taken from ``base``."""
        return replace(base or WindowConfig(), window_size=self.window_size, overlap=self.overlap)

    def feature_config(self, base: FeatureConfig | None = None) -> FeatureConfig:
        """The data's feature settings with the sampled feature entries applied."""
        return replace(base or FeatureConfig(), **self.features)

    def model_spec(self, *, epochs: int | None = None) -> ModelSpec:
        """The model; a bidirectional first layer gets half its total units per direction."""
        first = self.lstm_units[0] // 2 if self.bidirectional else self.lstm_units[0]
        return ModelSpec(
            lstm_units=(first, *self.lstm_units[1:]),
            bidirectional=(self.bidirectional,) + (False,) * (len(self.lstm_units) - 1),
            batch_norm=self.batch_norm,
            dropout=self.dropout,
            dense_units=self.dense_units,
            learning_rate=self.learning_rate,
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            epochs=epochs or self.epochs,
            **self.training,
        )


def suggest(trial: optuna.Trial, space: SearchSpace) -> TrialParams:
    """Sample every entry of ``space`` on ``trial`` (conditional layer entries by layer count)."""
    window_size = int(space["window_size"].suggest(trial))
    if "overlap_fraction" in space:
        fraction = float(space["overlap_fraction"].suggest(trial))
        overlap = min(round(fraction * window_size), window_size - 1)
    else:
        overlap = int(space["overlap"].suggest(trial))
    if "lstm_units" in space:
        lstm_units = _ints(space["lstm_units"].suggest(trial))
    else:
        n_lstm = int(space["num_lstm_layers"].suggest(trial))
        template = space["lstm_layer_units"]
        lstm_units = tuple(
            int(template.suggest(trial, f"lstm_layer_{i}_units")) for i in range(1, n_lstm + 1)
        )
    bidirectional = bool(space["uses_bidirectional"].suggest(trial))
    batch_norm = bool(space["uses_batch_normalization"].suggest(trial))
    n_dense = int(space["num_dense_layers"].suggest(trial))
    dense_units = tuple(
        int(space["dense_layer_units"].suggest(trial, f"dense_layer_{i}_units"))
        for i in range(1, n_dense + 1)
    )
    n_rates = len(lstm_units) + n_dense
    if "dropout_rates" in space:
        dropout = expand_dropout_set(
            space["dropout_rates"].suggest(trial), len(lstm_units), n_dense
        )
    else:
        dropout = tuple(
            float(space["dropout_rate"].suggest(trial, f"dropout_{i}_rate"))
            for i in range(1, n_rates + 1)
        )
    features = {key: space[key].suggest(trial) for key in FEATURE_KEYS if key in space}
    training = {key: int(space[key].suggest(trial)) for key in TRAINING_KEYS if key in space}
    return TrialParams(
        window_size=window_size,
        overlap=overlap,
        lstm_units=lstm_units,
        bidirectional=bidirectional,
        batch_norm=batch_norm,
        dropout=dropout,
        dense_units=dense_units,
        learning_rate=float(space["learning_rate"].suggest(trial)),
        batch_size=int(space["batch_size"].suggest(trial)),
        epochs=int(space["epochs"].suggest(trial)),
        optimizer=str(space["optimizer"].suggest(trial)) if "optimizer" in space else "adam",
        features=features,
        training=training,
        sampled=dict(trial.params),
    )


def expand_dropout_set(rates: str, n_lstm: int, n_dense: int) -> tuple[float, ...]:
    """The old grid's dropout sets ``"a,b,c"``: ``a`` after LSTM 1, ``b`` after the other LSTMs,
    ``c`` after each dense layer; a shorter set repeats its last value.

    Example:
        >>> expand_dropout_set("0.3,0.3,0.2", 3, 1)
        (0.3, 0.3, 0.3, 0.2)
    """
    values = [float(r) for r in rates.split(",")]
    values += values[-1:] * (3 - len(values))
    return (values[0], *[values[1]] * (n_lstm - 1), *[values[2]] * n_dense)


#: V2's representation first, then the closest ones: the same coordinates centred on the
#: body, then also scaled by it.
BASELINE_REPRESENTATIONS = ("raw", "body_centred", "body_scaled")


def baseline_values(space: SearchSpace, window_range: tuple[int, int]) -> dict[str, Any]:
    """The V2 baseline (``ModelSpec.baseline()`` + ``WindowConfig()``) in the space's names.

    The window is clamped into ``window_range`` when the data admits no 45-frame windows. Feature
    entries take V2's values (``FeatureConfig()``); a space without its ``raw``
    coordinates gets the nearest representation it offers (see ``BASELINE_REPRESENTATIONS``), so
    trial 0 is the same in every study instead of drawing its features at random.
    """
    spec, window, features = ModelSpec.baseline(), WindowConfig(), FeatureConfig()
    window_size = min(max(window.window_size, window_range[0]), window_range[1])
    overlap = min(window.overlap, window_size - 1)
    values: dict[str, Any] = {
        "window_size": window_size,
        "uses_bidirectional": spec.bidirectional[0],
        "uses_batch_normalization": spec.batch_norm,
        "num_dense_layers": len(spec.dense_units),
        "learning_rate": spec.learning_rate,
        "batch_size": spec.batch_size,
        **{f"dense_layer_{i}_units": u for i, u in enumerate(spec.dense_units, 1)},
    }
    values |= {key: getattr(features, key) for key in FEATURE_KEYS}
    values["representation"] = next(
        (r for r in BASELINE_REPRESENTATIONS if space.contains("representation", r)),
        features.representation,
    )
    if "overlap_fraction" in space:
        values["overlap_fraction"] = overlap / window_size
    else:
        values["overlap"] = overlap
    if "lstm_units" in space:
        values["lstm_units"] = ",".join(str(u) for u in spec.lstm_units)
    else:
        values["num_lstm_layers"] = len(spec.lstm_units)
        values.update({f"lstm_layer_{i}_units": u for i, u in enumerate(spec.lstm_units, 1)})
    if "dropout_rates" in space:
        values["dropout_rates"] = ",".join(str(r) for r in spec.dropout)
    else:
        values.update({f"dropout_{i}_rate": r for i, r in enumerate(spec.dropout, 1)})
    return {
        k: v
        for k, v in values.items()
        if entry_name(k) in space and space[entry_name(k)].kind != "fixed"
    }


def grid_values(space: SearchSpace) -> dict[str, list[Any]]:
    """The grid sampler's search space: every sampled entry's values, per-layer names expanded.

    Raises:
        ConfigError: a continuous entry, or per-layer entries with a sampled layer count (the grid
            would repeat each point for unused layers); use ``lstm_units`` stacks instead.
    """
    counts = {"lstm_layer_units": "num_lstm_layers", "dense_layer_units": "num_dense_layers"}
    grid: dict[str, list[Any]] = {}
    for name, param in space.params.items():
        if param.kind == "fixed":
            continue
        layered = (
            [counts[name]]
            if name in counts
            else (
                ["num_dense_layers"] + ([] if "lstm_units" in space else ["num_lstm_layers"])
                if name == "dropout_rate"
                else []
            )
        )
        if any(space[c].kind != "fixed" for c in layered):
            raise ConfigError(
                f"{space.source}: [{name}] is per layer but the layer count is sampled; the grid "
                "sampler needs fixed counts (num_lstm_layers = 2) or whole stacks "
                '(lstm_units choices = ["64,32", ...]).'
            )
        if not layered:
            grid[name] = list(param.values())
            continue
        n = sum(int(space[c].choices[0]) for c in layered)
        if name == "dropout_rate" and "lstm_units" in space:
            raise ConfigError(
                f"{space.source}: [dropout_rate] cannot go with [lstm_units] stacks in a grid; "
                'use dropout_rates sets ("0.3,0.3,0.2").'
            )
        prefix, suffix = {
            "lstm_layer_units": ("lstm_layer_", "_units"),
            "dense_layer_units": ("dense_layer_", "_units"),
            "dropout_rate": ("dropout_", "_rate"),
        }[name]
        for i in range(1, n + 1):
            grid[f"{prefix}{i}{suffix}"] = list(param.values())
    return grid


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split(","))
