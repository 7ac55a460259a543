"""``TrainConfig``: the settings of ``python -m model.train``, from TOML (defaults = V2)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import spelled_as
from model.spec import ModelSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_CONFIG = Path(__file__).with_name("default_train.toml")
_SECTIONS: dict[str, type] = {
    "window": WindowConfig,
    "features": FeatureConfig,
    "labels": LabelConfig,
    "split": SplitConfig,
}
#: How ``model.train``'s errors name the window settings: keys of the config's ``[window]`` table.
WINDOW_SETTING_NAMES = {f.name: f"[window] {f.name}" for f in dataclasses.fields(WindowConfig)}
_TOP_LEVEL = ("data", "seed", "experiment")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs.

    Args:
        data: data folder (``data/synthetic`` is generated on first use).
        seed: training seed.
        experiment: MLflow experiment name.
        window: windowing settings.
        features: per-frame feature settings.
        labels: label mapping settings.
        split: grouped split settings.
        model: architecture and training settings.
    """

    data: Path
    seed: int
    experiment: str
    window: WindowConfig
    features: FeatureConfig
    labels: LabelConfig
    split: SplitConfig
    model: ModelSpec

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, saved with the run (``train_config.json``)."""
        values = dataclasses.asdict(self)
        values["data"] = str(self.data)
        return values


def load_train_config(path: Path | None = None, **overrides: Any) -> TrainConfig:
    """Packaged defaults, then the TOML file ``path`` (any subset of keys), then ``overrides``.

    Args:
        path: user TOML file; None uses the defaults only.
        **overrides: ``data``, ``seed``, ``experiment`` or ``epochs`` (None values are ignored).

    Raises:
        ConfigError: unreadable TOML, an unknown section or key, or an invalid value.
    """
    values = _read_toml(DEFAULT_CONFIG)
    if path is not None:
        values = _merge(values, _read_toml(path), source=str(path))
    given = {k: v for k, v in overrides.items() if v is not None}
    if "epochs" in given:
        values["model"]["epochs"] = given.pop("epochs")
    values.update(given)
    try:
        with spelled_as(WINDOW_SETTING_NAMES):
            return TrainConfig(
                data=Path(values["data"]),
                seed=int(values["seed"]),
                experiment=str(values["experiment"]),
                model=ModelSpec.from_dict(values["model"]),
                **{name: _section(cls, name, values[name]) for name, cls in _SECTIONS.items()},
            )
    except TypeError as exc:  # a wrongly typed value the dataclasses could not take
        raise ConfigError(f"invalid training configuration: {exc}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read --config {path}: {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path} is not valid TOML: {exc}.") from exc


def _merge(base: dict[str, Any], user: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """``base`` with ``user``'s keys applied; unknown sections and keys are errors."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in user.items():
        if key in _TOP_LEVEL:
            merged[key] = value
        elif key in merged and isinstance(value, Mapping):
            allowed = {f.name for f in dataclasses.fields(_SECTIONS.get(key, ModelSpec))}
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise ConfigError(
                    f"{source}: unknown key(s) {unknown} in [{key}]; allowed: {sorted(allowed)}."
                )
            merged[key].update(value)
        else:
            raise ConfigError(
                f"{source}: unknown setting {key!r}; allowed: {list(_TOP_LEVEL)} and sections "
                f"{[*_SECTIONS, 'model']} (see {DEFAULT_CONFIG.name})."
            )
    return merged


def _section(cls: type, name: str, values: Mapping[str, Any]) -> Any:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in [{name}]; allowed: {sorted(allowed)}.")
    return cls(**values)
