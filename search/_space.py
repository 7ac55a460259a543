"""The search space: one TOML table per hyperparameter, validated on load, named as logged.

Entry shapes (see ``search/default_space.toml``)::

    epochs = 100                                            # a plain value fixes the parameter
    [learning_rate]  type = "float", low = 1e-4, high = 1e-2, log = true
    [window_size]    type = "int", low = 20, high = 60, step = 5
    [batch_size]     type = "categorical", choices = [16, 32, 64]
    [uses_bidirectional]  type = "bool"

Invalid combinations are impossible by construction: ``overlap`` values must all stay below every
``window_size`` (or ``overlap_fraction`` < 1 is sampled instead), and ``clip_window`` narrows
``window_size`` to what the data admits before the study starts.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from data_pipeline.config import FeatureConfig
from data_pipeline.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SPACE = Path(__file__).with_name("default_space.toml")
GRID_SPACE = Path(__file__).with_name("grid_space.toml")
KINDS = ("int", "float", "categorical", "bool")
#: alternatives: exactly one of each tuple must be present.
ONE_OF = (
    ("overlap", "overlap_fraction"),
    ("lstm_layer_units", "lstm_units"),
    ("dropout_rate", "dropout_rates"),
)
REQUIRED = (
    "window_size",
    "uses_bidirectional",
    "uses_batch_normalization",
    "num_dense_layers",
    "dense_layer_units",
    "learning_rate",
    "batch_size",
    "epochs",
)
FEATURE_KEYS = (
    "representation", "velocities", "keep_visibility", "canonical_handedness",
    "mirror_augmentation",
)  # fmt: skip
#: optional training settings (``ModelSpec`` fields); absent ones keep ModelSpec's defaults.
TRAINING_KEYS = ("early_stopping_patience", "reduce_lr_patience")
#: per-layer Optuna parameter names: prefix, suffix, template entry.
TEMPLATES = (
    ("lstm_layer_", "_units", "lstm_layer_units"),
    ("dense_layer_", "_units", "dense_layer_units"),
    ("dropout_", "_rate", "dropout_rate"),
)
KNOWN = (
    *REQUIRED,
    *(k for pair in ONE_OF for k in pair),
    "num_lstm_layers",
    "optimizer",
    *FEATURE_KEYS,
    *TRAINING_KEYS,
)


@dataclass(frozen=True)
class Param:
    """One entry of the space: a fixed value, an int or float range, or categorical choices."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial, name: str | None = None) -> Any:
        """Sample this entry under ``name`` (defaults to the entry's own name)."""
        name = name or self.name
        if self.kind == "fixed":
            return self.choices[0]
        if self.kind == "int":
            return trial.suggest_int(
                name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        if self.kind == "float":
            return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)
        return trial.suggest_categorical(name, list(self.choices))

    def values(self) -> tuple[Any, ...]:
        """Every value the entry can take (for the grid sampler and for validation)."""
        if self.kind in ("fixed", "categorical"):
            return self.choices
        if self.kind == "float" and self.step is None:
            raise ConfigError(
                f"the grid sampler needs finite choices, but {self.name} is a continuous float "
                f"range; give it a step or categorical choices."
            )
        step = self.step or 1
        n = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        values = [self.low + i * step for i in range(n)]
        return (
            tuple(int(v) for v in values)
            if self.kind == "int"
            else tuple(round(v, 12) for v in values)
        )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this entry can take (used for the enqueued baseline)."""
        if self.kind in ("fixed", "categorical"):
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not self.low <= value <= self.high:
            return False
        steps = (value - self.low) / (self.step or (1 if self.kind == "int" else math.inf))
        return abs(steps - round(steps)) < 1e-9

    def bounds(self) -> tuple[Any, Any]:
        """Smallest and largest value (ranges without enumerating them)."""
        if self.kind in ("int", "float"):
            return self.low, self.high
        return min(self.choices), max(self.choices)

    def clipped(self, low: int, high: int) -> Param:
        """The entry restricted to ``[low, high]``; raises ConfigError when nothing is left."""
        kept = tuple(v for v in self.values() if low <= v <= high)
        if not kept:
            raise ConfigError(
                f"no {self.name} of the search space fits the data: the data admits windows of "
                f"{low}..{high} frames, but the space asks for {self.bounds()}; widen "
                f"[{self.name}] in the space file or use longer clips."
            )
        if self.kind == "int":
            return replace(self, low=kept[0], high=kept[-1])
        return replace(self, choices=kept)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space.

    Args:
        params: entry name -> :class:`Param`.
        source: the file it came from, for messages.

    Example:
        >>> space = SearchSpace.from_toml(DEFAULT_SPACE)
        >>> space.params["window_size"].kind
        'int'
    """

    params: dict[str, Param]
    source: str = "<memory>"

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchSpace:
        """Load and validate a space file; each problem is a ConfigError naming file, key, fix."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"search space file {path} not found; pass an existing --space FILE."
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"search space file {path} is not valid TOML: {exc}.") from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "<memory>") -> SearchSpace:
        params = {name: _parse_entry(source, name, value) for name, value in raw.items()}
        space = cls(params=params, source=source)
        _validate(space)
        return space

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def contains(self, name: str, value: Any) -> bool:
        """Whether Optuna parameter ``name`` (``lstm_layer_2_units`` etc.) can take ``value``."""
        entry = entry_name(name)
        return entry in self.params and self.params[entry].contains(value)

    def clip_window(self, low: int, high: int) -> SearchSpace:
        """The space with ``window_size`` limited to what the data admits.

        Args:
            low: smallest admissible window (``Dataset.admissible_window_range()[0]``).
            high: longest admissible window.
        """
        params = dict(self.params)
        params["window_size"] = self.params["window_size"].clipped(low, high)
        space = replace(self, params=params)
        _validate(space)
        return space

    def as_dict(self) -> dict[str, Any]:
        return {name: p.as_dict() for name, p in sorted(self.params.items())}

    def fingerprint(self) -> str:
        """Stable hash of the space; a resumed study must have the same one."""
        text = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def entry_name(name: str) -> str:
    """The space entry behind an Optuna parameter name (``lstm_layer_2_units`` -> template).

    Example:
        >>> entry_name("dropout_3_rate"), entry_name("window_size")
        ('dropout_rate', 'window_size')
    """
    for prefix, suffix, template in TEMPLATES:
        middle = name[len(prefix) : len(name) - len(suffix)]
        if name.startswith(prefix) and name.endswith(suffix) and middle.isdigit():
            return template
    return name


def _parse_entry(source: str, name: str, value: Any) -> Param:
    where = f"{source}: [{name}]"
    if name not in KNOWN:
        raise ConfigError(
            f"{where} is not a known search-space entry; use one of {', '.join(KNOWN)}."
        )
    if not isinstance(value, dict):
        return Param(name, "fixed", choices=(value,))
    kind = value.get("type")
    if kind not in KINDS:
        raise ConfigError(
            f"{where} type must be one of {', '.join(KINDS)}, but got type={kind!r}."
        )
    allowed = {
        "int": {"low", "high", "step", "log"},
        "float": {"low", "high", "step", "log"},
        "categorical": {"choices"},
        "bool": set(),
    }[kind] | {"type"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(
            f"{where} does not take {unknown} for type={kind!r}; allowed keys: {sorted(allowed)}."
        )
    if kind == "bool":
        return Param(name, "categorical", choices=(False, True))
    if kind == "categorical":
        choices = value.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(
                f"{where} needs a non-empty list choices = [...], but got choices={choices!r}."
            )
        return Param(name, "categorical", choices=tuple(choices))
    low, high, step, log = (
        value.get("low"),
        value.get("high"),
        value.get("step"),
        bool(value.get("log", False)),
    )
    number = int if kind == "int" else (int, float)
    for key, bound in (("low", low), ("high", high)):
        if not isinstance(bound, number) or isinstance(bound, bool):
            raise ConfigError(
                f"{where} {key} must be a{'n int' if kind == 'int' else ' number'}, but got "
                f"{key}={bound!r}."
            )
    if low > high:
        raise ConfigError(
            f"{where} low must be <= high, but got low={low}, high={high}; swap them."
        )
    if step is not None and (not isinstance(step, number) or step <= 0):
        raise ConfigError(f"{where} step must be a positive number, but got step={step!r}.")
    if log and (low <= 0 or (step is not None and not (kind == "int" and step == 1))):
        raise ConfigError(
            f"{where} log = true needs low > 0 and no step, but got low={low}, step={step}."
        )
    return Param(
        name,
        kind,
        float(low) if kind == "float" else low,
        float(high) if kind == "float" else high,
        step,
        log,
    )


def _fail(space: SearchSpace, name: str, rule: str) -> None:
    raise ConfigError(f"{space.source}: [{name}] {rule}")


def _validate(space: SearchSpace) -> None:
    """Check presence and meaning of each entry; messages name the entry, the rule and the fix."""
    missing = [name for name in REQUIRED if name not in space]
    missing += ["/".join(pair) for pair in ONE_OF if sum(k in space for k in pair) != 1]
    if "lstm_layer_units" in space and "num_lstm_layers" not in space:
        missing.append("num_lstm_layers")
    if missing:
        raise ConfigError(
            f"{space.source}: the search space needs exactly one of each of {missing}; "
            f"copy the entries from {DEFAULT_SPACE}."
        )
    _check_values(
        space, "window_size", lambda v: isinstance(v, int) and v >= 2, "must be whole frames >= 2"
    )
    _check_values(
        space, "learning_rate", lambda v: isinstance(v, (int, float)) and v > 0, "must be > 0"
    )
    _check_values(
        space, "batch_size", lambda v: isinstance(v, int) and v >= 1, "must be an int >= 1"
    )
    for name in ("epochs", *TRAINING_KEYS):
        if name in space:
            _check_values(
                space, name, lambda v: isinstance(v, int) and v >= 1, "must be an int >= 1"
            )
    for name in ("num_lstm_layers", "num_dense_layers", "lstm_layer_units", "dense_layer_units"):
        if name in space:
            _check_values(
                space, name, lambda v: isinstance(v, int) and v >= 1, "must be ints >= 1"
            )
    for name in (
        "uses_bidirectional",
        "uses_batch_normalization",
        "velocities",
        "keep_visibility",
        "canonical_handedness",
        "mirror_augmentation",
    ):
        if name in space:
            _check_values(
                space,
                name,
                lambda v: isinstance(v, bool),
                'must be true/false (use type = "bool")',
            )
    if "representation" in space:
        _check_values(
            space,
            "representation",
            lambda v: v in FeatureConfig.REPRESENTATIONS,
            f"must be one of {FeatureConfig.REPRESENTATIONS}",
        )
    if "dropout_rate" in space:
        _check_values(
            space,
            "dropout_rate",
            lambda v: isinstance(v, (int, float)) and 0 <= v < 1,
            "must be in [0, 1)",
        )
    if "dropout_rates" in space:
        _check_values(
            space,
            "dropout_rates",
            lambda v: _rates_ok(v),
            'must be strings of rates in [0, 1) like "0.3,0.3,0.2"',
        )
    if "lstm_units" in space:
        _check_values(
            space,
            "lstm_units",
            lambda v: _units_ok(v),
            'must be strings of LSTM units like "64,32"',
        )
    if "overlap_fraction" in space:
        _check_values(
            space,
            "overlap_fraction",
            lambda v: isinstance(v, (int, float)) and 0 <= v < 1,
            "must be in [0, 1) (overlap = round(fraction * window_size) < window_size)",
        )
    else:
        _check_values(
            space, "overlap", lambda v: isinstance(v, int) and v >= 0, "must be ints >= 0"
        )
        max_overlap, min_window = space["overlap"].bounds()[1], space["window_size"].bounds()[0]
        if max_overlap >= min_window:
            _fail(
                space,
                "overlap",
                f"can reach {max_overlap} frames, which is not below the smallest "
                f"window_size {min_window} (the stride would be <= 0); lower [overlap], raise "
                "[window_size] low, or sample overlap_fraction instead.",
            )
    _check_bidirectional_units(space)


def _check_values(space: SearchSpace, name: str, ok: Any, rule: str) -> None:
    param = space[name]
    values = param.bounds() if param.kind in ("int", "float") else param.values()
    bad = [v for v in values if not ok(v)]
    if bad:
        _fail(space, name, f"{rule}, but got {bad[0]!r}; fix the entry.")


def _rates_ok(value: Any) -> bool:
    try:
        return isinstance(value, str) and all(0 <= float(r) < 1 for r in value.split(","))
    except ValueError:
        return False


def _units_ok(value: Any) -> bool:
    return isinstance(value, str) and all(
        part.strip().isdigit() and int(part) > 0 for part in value.split(",")
    )


def _check_bidirectional_units(space: SearchSpace) -> None:
    """A bidirectional first layer's units are its total output (guide), so they must be even."""
    if True not in space["uses_bidirectional"].values():
        return
    name = "lstm_units" if "lstm_units" in space else "lstm_layer_units"
    values = space[name].values()
    firsts = [int(v.split(",")[0]) for v in values] if name == "lstm_units" else list(values)
    odd = [v for v in firsts if v % 2]
    if odd:
        _fail(
            space,
            name,
            "first-layer units must be even when uses_bidirectional can be true (they are the "
            f"total output of both directions, as they are logged), but got {odd[0]}.",
        )
