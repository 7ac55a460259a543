"""``ModelSpec``: the typed description of one LSTM classifier and how to train it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import fields
from typing import Any

from data_pipeline.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Architecture and training settings of one model.

    Layers are built in this order: ``LSTM_1 [BatchNorm] Dropout_1 ... LSTM_n [BatchNorm]
    Dropout_n Dense_1 [BatchNorm] Dropout_n+1 ... softmax``.

    Args:
        lstm_units: units of each LSTM layer (the wrapped LSTM's units when bidirectional).
        bidirectional: one flag per LSTM layer; True wraps the layer in ``Bidirectional``.
        batch_norm: BatchNormalization after every LSTM and dense layer.
        dropout: one rate per LSTM layer, then one per dense layer (the logged
            ``dropout_{i}_rate`` order).
        dense_units: units of each relu dense layer before the softmax output.
        learning_rate: initial learning rate.
        optimizer: one of ``adam``, ``adamw``, ``rmsprop``, ``sgd``. Defaults to ``adam``.
        batch_size: training batch size.
        epochs: maximum number of epochs (early stopping may end training sooner).
        early_stopping_patience: epochs without a ``val_loss`` improvement before stopping.
            Defaults to 20.
        reduce_lr_patience: epochs without improvement before the learning rate is reduced.
            Defaults to 10.
        reduce_lr_factor: factor applied to the learning rate on plateau. Defaults to 0.5.
        unroll: unroll the LSTMs (faster on CPU for short windows, more memory). Defaults to False.
        mask_missing: add a ``Masking`` layer so all-zero (missing) frames are skipped. The
            cuDNN kernel only accepts right-padded masks, so with masks that have holes TensorFlow
            falls back to the slower generic kernel on GPU. Defaults to False.

    Example:
        >>> ModelSpec.baseline().lstm_units
        (64, 32)
    """

    lstm_units: tuple[int, ...]
    bidirectional: tuple[bool, ...]
    batch_norm: bool
    dropout: tuple[float, ...]
    dense_units: tuple[int, ...]
    learning_rate: float
    optimizer: str = "adam"
    batch_size: int
    epochs: int
    early_stopping_patience: int = 20
    reduce_lr_patience: int = 10
    reduce_lr_factor: float = 0.5
    unroll: bool = False
    mask_missing: bool = False

    def __post_init__(self) -> None:
        for name in ("lstm_units", "bidirectional", "dropout", "dense_units"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.lstm_units or min(self.lstm_units) < 1:
            raise ConfigError(
                "lstm_units must list at least one layer of >= 1 units, but got "
                f"{self.lstm_units=}."
            )
        if self.dense_units and min(self.dense_units) < 1:
            raise ConfigError(f"dense_units must all be >= 1, but got {self.dense_units=}.")
        if len(self.bidirectional) != len(self.lstm_units):
            raise ConfigError(
                "bidirectional needs one flag per LSTM layer, but got "
                f"{self.bidirectional=} for {self.lstm_units=}."
            )
        n_dropout = len(self.lstm_units) + len(self.dense_units)
        if len(self.dropout) != n_dropout:
            raise ConfigError(
                f"dropout needs {n_dropout} rates (one per LSTM layer, then one per dense layer), "
                f"but got {self.dropout=}."
            )
        if any(not 0.0 <= rate < 1.0 for rate in self.dropout):
            raise ConfigError(f"dropout rates must be in [0, 1), but got {self.dropout=}.")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be positive, but got {self.learning_rate=}.")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, but got {self.optimizer=}.")
        for name in ("batch_size", "epochs", "early_stopping_patience", "reduce_lr_patience"):
            if getattr(self, name) < 1:
                value = getattr(self, name)
                raise ConfigError(f"{name} must be at least 1, but got {name}={value}.")
        if not 0.0 < self.reduce_lr_factor < 1.0:
            raise ConfigError(
                f"reduce_lr_factor must be in (0, 1), but got {self.reduce_lr_factor=}."
            )

    @classmethod
    def baseline(cls) -> ModelSpec:
        """The "V2" model: LSTM(64) → LSTM(32) → Dense(32), dropout .3/.3/.2, Adam 1e-3."""
        return cls(
            lstm_units=(64, 32),
            bidirectional=(False, False),
            batch_norm=False,
            dropout=(0.3, 0.3, 0.2),
            dense_units=(32,),
            learning_rate=1e-3,
            batch_size=32,
            epochs=100,
        )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelSpec:
        """Build a spec from a mapping (e.g. a TOML table); unknown keys are a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown model setting(s) {unknown}; allowed keys are {sorted(known)}."
            )
        required = {f.name for f in fields(cls) if f.default is MISSING}
        absent = sorted(required - set(values))
        if absent:
            raise ConfigError(f"model settings {absent} are missing; give a value for each.")
        return cls(**values)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with ``changes`` applied (validated like a new spec)."""
        return ModelSpec.from_dict({**asdict(self), **changes})
