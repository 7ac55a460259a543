"""The resolved settings of one search: flag > environment variable > default, frozen early."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from data_pipeline.config import SplitConfig
from data_pipeline.errors import ConfigError
from model.stores import DEFAULT_TRACKING_URI
from model.stores import resolve_tracking_uri
from search._storage import redact_url
from search._storage import validate_study_name

DEFAULT_NAME = "tennis_stroke_recognition"
DEFAULT_STORAGE = "sqlite:///studies/optuna.db"
DEFAULT_DATA = Path("data/synthetic")
#: How ``search.run``'s errors name the window settings: tables of the ``--space`` file.
SPACE_SETTING_NAMES = {
    "window_size": "the space's [window_size]",
    "overlap": "the space's [overlap]",
}
#: objective name -> Optuna direction. The objective is read from the validation evaluation.
OBJECTIVES: dict[str, str] = {"val_macro_avg_f1_score": "maximize", "val_loss": "minimize"}
#: objective -> the MLflow metric holding it in a child run (the validation evaluation).
OBJECTIVE_METRICS = {
    "val_macro_avg_f1_score": "val_macro_avg_f1_score",
    "val_loss": "val_eval_loss",
}
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "percentile", "successive-halving", "hyperband", "none")


@dataclass(frozen=True)
class SearchConfig:
    """Everything one ``python -m search.run`` needs, resolved and validated.

    Args:
        study: Optuna study name; also the parent MLflow run's name. Defaults to
            ``tennis_stroke_recognition``.
        experiment: MLflow experiment name. Defaults to ``tennis_stroke_recognition``.
        storage: Optuna storage URL. Defaults to ``sqlite:///studies/optuna.db``.
        tracking_uri: MLflow tracking URI. Defaults to ``sqlite:///mlruns/mlflow.db``.
        data: data folder; the default one is generated on first use.
            Defaults to ``data/synthetic``.
        space: search-space TOML; None means the packaged ``search/default_space.toml``.
        n_trials: the study ends with this many finished (complete + pruned) trials in total,
            counting those of earlier runs. Defaults to 50.
        timeout: seconds after which no new trial starts; None means no limit.
        epochs: maximum epochs per trial; None means the space's ``epochs`` entry.
        seed: seed of the sampler; trial ``n`` trains with seed ``seed + n``. Defaults to 0.
        sampler: ``tpe``, ``random`` or ``grid``. Defaults to ``tpe``.
        pruner: ``median``, ``percentile``, ``successive-halving``, ``hyperband`` or ``none``.
            Defaults to ``median``.
        n_startup_trials: finished trials before the median or percentile pruner prunes.
            Defaults to 5.
        n_warmup_steps: epochs of a trial that are never pruned (median and percentile pruner;
            the first rung of successive halving). Defaults to 5.
        percentile: the percentile pruner's percentile, 0-100: a trial goes on while it is
            within the best ``percentile`` % of the complete trials at the same epoch.
            Defaults to 75 (prune only the worst quarter).
        patience: wrap the pruner in ``PatientPruner`` with this patience (epochs); None: no
            wrapper.
        objective: ``val_macro_avg_f1_score`` (maximised) or ``val_loss`` (minimised).
        max_failures: stop after this many trials failed in a row. Defaults to 3.
        cv: grouped K-fold objective with this many folds (see ``search._cv``); None: the
            single train/val split.
        verbose: print per-epoch detail and library logs. Defaults to False.
        split: the grouped train/val/test split (``--group-by``, ``--split-seed``,
            ``--test-groups``, ``--val-groups``); part of the study's identity.
            Defaults to ``SplitConfig()`` (whole players held out where the data names them).
        confirm_top: after the trials, retrain the best ``confirm_top`` complete trials
            ``repeats`` more times each, with fresh seeds and validated on other training
            players, before crowning the champion by the mean (``search._confirm``).
            Defaults to 3.
        repeats: retrainings per confirmed trial; 0 turns confirmation off. Defaults to 2.
        labels_file: label mapping TOML (``--labels``); None reads the data folder's
            ``labels.toml`` if it has one.
        trials_per_process: run trials in worker processes that each end after this many
            trials and are replaced while the study is unfinished (bounds the memory that
            TensorFlow keeps per trained model); None runs every trial in one process.
    """

    study: str = DEFAULT_NAME
    experiment: str = DEFAULT_NAME
    storage: str = DEFAULT_STORAGE
    tracking_uri: str = DEFAULT_TRACKING_URI
    data: Path = DEFAULT_DATA
    space: Path | None = None
    n_trials: int = 50
    timeout: float | None = None
    epochs: int | None = None
    seed: int = 0
    sampler: str = "tpe"
    pruner: str = "median"
    n_startup_trials: int = 5
    n_warmup_steps: int = 5
    percentile: float = 75.0
    patience: int | None = None
    objective: str = "val_macro_avg_f1_score"
    max_failures: int = 3
    cv: int | None = None
    verbose: bool = False
    trials_per_process: int | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    confirm_top: int = 3
    repeats: int = 2
    labels_file: Path | None = None

    def __post_init__(self) -> None:
        _check_choice("--objective", self.objective, tuple(OBJECTIVES))
        _check_choice("--sampler", self.sampler, SAMPLERS)
        _check_choice("--pruner", self.pruner, PRUNERS)
        for name in ("n_trials", "max_failures"):
            if getattr(self, name) < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(
                    f"{flag} must be at least 1, but got {name}={getattr(self, name)}."
                )
        for name in ("n_startup_trials", "n_warmup_steps", "confirm_top", "repeats"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, but got {name}={getattr(self, name)}.")
        if not 0 <= self.percentile <= 100:
            raise ConfigError(
                f"--percentile must be between 0 and 100, but got percentile={self.percentile}."
            )
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, but got epochs={self.epochs}.")
        if self.cv is not None and self.cv < 2:
            raise ConfigError(
                f"--cv must be at least 2 folds, but got cv={self.cv}; or leave --cv out."
            )
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"--patience must be at least 1, but got patience={self.patience}.")
        if self.trials_per_process is not None and self.trials_per_process < 1:
            raise ConfigError(
                "--trials-per-process must be at least 1, but got "
                f"trials_per_process={self.trials_per_process}; or leave it out."
            )
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigError(
                f"--timeout must be positive seconds, but got timeout={self.timeout}."
            )
        validate_study_name(self.study)

    @property
    def direction(self) -> str:
        """``maximize`` or ``minimize``, from the objective."""
        return OBJECTIVES[self.objective]

    def as_params(self) -> dict[str, str]:
        """The settings as strings, for the parent run's record (store passwords hidden)."""
        params = {k: "" if v is None else str(v) for k, v in asdict(self).items()}
        params["split"] = self.split.rule
        params["storage"] = redact_url(self.storage)
        params["tracking_uri"] = redact_url(self.tracking_uri)
        return params


def _check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{flag} must be one of {', '.join(choices)}, but got {value!r}.")


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every search command shares: study, experiment and the two stores."""
    parser.add_argument(
        "--study", default=DEFAULT_NAME, help="Optuna study name (default: %(default)s)"
    )
    parser.add_argument(
        "--experiment", default=DEFAULT_NAME, help="MLflow experiment name (default: %(default)s)"
    )
    parser.add_argument(
        "--storage",
        default=None,
        help=f"Optuna storage URL (default: $OPTUNA_STORAGE, else {DEFAULT_STORAGE})",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help=f"MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else {DEFAULT_TRACKING_URI})",
    )


def resolve_stores(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """``(storage, tracking_uri)`` from flag, else environment variable, else default."""
    env = os.environ if env is None else env
    storage = args.storage or env.get("OPTUNA_STORAGE") or DEFAULT_STORAGE
    tracking_uri = args.tracking_uri or env.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    resolve_tracking_uri(tracking_uri)  # refuses MLflow's deprecated file store
    return storage, tracking_uri
