"""The best trial, the crowned trial and the champion model.

After each complete trial that becomes the study's best (``search._selection.best_trial``: ties
broken by validation loss):
- its child run gets the tag ``best_trial=true`` and the previous best loses it;
- the parent run gets the tags ``best_trial_number``, ``best_run_id``, ``best_value`` and the
  metric ``best_<objective>`` (step = trial number, so its history is the study's progress).

When the study's run ends (after confirmation, ``search._confirm``), :func:`crown` names the
champion (``search._selection.crowned``), records it and its estimate on the parent run, and
registers its model as a version of the registered model named after the experiment
(``models:/tennis_stroke_recognition@champion`` by default). The ``champion`` alias moves to it
only from a comparable version (same data fingerprint, split and objective; version tags) that
it beats by selection score; a study on other data registers its version and leaves the alias
where it is, saying which version holds it and why.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException

from search._selection import CHAMPION_ATTR
from search._selection import Estimate
from search._selection import Selection
from search._selection import best_trial
from search._selection import crowned
from search._selection import estimate
from search._selection import repeat_results
from search._selection import selection_of
from search._tracking import RUN_ID_ATTR

CHAMPION_ALIAS = "champion"
_MAX_TAG = 5000
BEST_TAG = "best_trial"
_log = logging.getLogger(__name__)


def registered_model_name(experiment: str) -> str:
    """Name of the registered model the champion alias lives on: the experiment's name."""
    return experiment


def champion_uri(experiment: str) -> str:
    """``models:/<name>@champion`` for ``model.artifacts.load_stroke_model``."""
    return f"models:/{registered_model_name(experiment)}@{CHAMPION_ALIAS}"


def record_best(
    client: MlflowClient,
    study: optuna.Study,
    trial: optuna.trial.FrozenTrial,
    *,
    parent_run_id: str,
    objective: str,
) -> bool:
    """Update tags and the parent summary when ``trial`` is the study's new best.

    Returns:
        True when ``trial`` is the new best trial.
    """
    best = best_trial(study)
    if trial.state != optuna.trial.TrialState.COMPLETE or best is None or best.number != trial.number:
        return False
    run_id = trial.user_attrs.get(RUN_ID_ATTR)
    if run_id is None:
        return False
    parent = client.get_run(parent_run_id)
    previous = parent.data.tags.get("best_run_id")
    if previous and previous != run_id:
        try:
            client.set_tag(previous, BEST_TAG, "false")
        except MlflowException:  # the old best run was deleted by hand
            pass
    client.set_tag(run_id, BEST_TAG, "true")
    value = float(trial.value)
    summary = {"best_trial_number": trial.number, "best_run_id": run_id, "best_value": value}
    client.log_batch(  # one call: the parent's summary and the best-value history
        parent_run_id,
        metrics=[Metric(f"best_{objective}", value, int(time.time() * 1000), trial.number)],
        tags=[RunTag(key, str(tag)) for key, tag in summary.items()],
    )
    return True


@dataclass(frozen=True)
class Crowning:
    """What :func:`crown` decided.

    Args:
        trial: the crowned trial's number.
        run_id: its run.
        selection: its trainings (one without confirmation).
        estimate: its expected score on new players.
        promotion: what happened to the ``champion`` alias.
    """

    trial: int
    run_id: str
    selection: Selection
    estimate: Estimate
    promotion: Promotion

    def describe(self, objective: str) -> str:
        n = len(self.selection.values)
        score = (f"selection score {self.selection.score:.4f} ± {self.selection.std:.4f} over "
                 f"{n} trainings" if n > 1 else f"{objective} {self.selection.score:.4f}")
        return (f"champion: trial {self.trial} ({score}); {self.estimate.describe()}; "
                f"{self.promotion.reason}")  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """What makes two champions comparable, and the score they are compared on."""

    objective: str
    direction: str
    data_fingerprint: str
    split: str
    selection_score: float

    def tags(self) -> dict[str, str]:
        return {"objective": self.objective, "data_fingerprint": self.data_fingerprint,
                "split": self.split, "selection_score": repr(self.selection_score)}  # fmt: skip


@dataclass(frozen=True)
class Promotion:
    """Where the alias is after :func:`promote_champion`: moved or not, and why."""

    moved: bool
    version: str | None
    holder: str | None
    reason: str


def crown(
    client: MlflowClient,
    study: optuna.Study,
    *,
    parent_run_id: str,
    experiment: str,
    objective: str,
) -> Crowning | None:
    """Name the study's champion, record it on the parent run, register and maybe promote it.

    Returns:
        The decision, or None when the study has no complete trial.
    """
    trial = crowned(study)
    if trial is None or trial.user_attrs.get(RUN_ID_ATTR) is None:
        return None
    run_id = trial.user_attrs[RUN_ID_ATTR]
    selection = selection_of(trial, repeat_results(study, trial.number))
    guess = estimate(study, selection, objective)
    study.set_user_attr(CHAMPION_ATTR, trial.number)
    record = {"champion_selection_score": selection.score,
              "champion_selection_score_std": selection.std,
              "champion_selection_score_n": float(len(selection.values)),
              "champion_expected_test_macro_f1": guess.mean,
              "champion_expected_test_macro_f1_low": guess.low,
              "champion_expected_test_macro_f1_high": guess.high}  # fmt: skip
    if guess.gap is not None:
        record["val_test_gap"] = guess.gap
    now = int(time.time() * 1000)
    client.log_batch(
        parent_run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in record.items() if not math.isnan(v)],
        tags=[RunTag("champion_trial_number", str(trial.number)),
              RunTag("champion_run_id", run_id),
              RunTag("champion_estimate", guess.describe()[:_MAX_TAG])],
    )  # fmt: skip
    candidate = Candidate(
        objective=objective, direction=study.direction.name,
        data_fingerprint=str(study.user_attrs.get("data_fingerprint")),
        split=str(study.user_attrs.get("split")), selection_score=selection.score,
    )  # fmt: skip
    promotion = promote_champion(client, experiment, run_id, candidate=candidate)
    return Crowning(trial.number, run_id, selection, guess, promotion)


def promote_champion(
    client: MlflowClient, experiment: str, run_id: str, *, candidate: Candidate
) -> Promotion:
    """Register the run's model and move the ``champion`` alias to it when the current
    champion is comparable (same objective, data fingerprint and split) and worse by selection
    score, or when there is none (see the module docstring)."""
    name = registered_model_name(experiment)
    try:
        current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        current = None
    if current is not None and current.run_id == run_id:
        return Promotion(False, current.version, current.version,
                         f"it already holds models:/{name}@{CHAMPION_ALIAS} (version "
                         f"{current.version})")  # fmt: skip
    keep = _reason_to_keep(current, candidate) if current is not None else None
    source = model_uri(client, run_id)
    if source is None:
        _log.warning("run %s has no logged model; champion not registered", run_id)
        return Promotion(False, None, current.version if current else None, "no logged model")
    try:
        client.create_registered_model(name)
    except MlflowException:  # already registered
        pass
    version = client.create_model_version(  # a tracking server needs model_id with models:/
        name, source=source, run_id=run_id, model_id=source.removeprefix("models:/"),
        tags=candidate.tags(),
    )  # fmt: skip
    if keep is not None:
        return Promotion(False, version.version, current.version,
                         f"registered as version {version.version}; models:/{name}@"
                         f"{CHAMPION_ALIAS} stays on version {current.version}: {keep}")  # fmt: skip
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
    return Promotion(True, version.version, version.version,
                     f"now models:/{name}@{CHAMPION_ALIAS} (version {version.version})")


def _reason_to_keep(current: Any, candidate: Candidate) -> str | None:
    """Why the current champion keeps the alias, or None when the candidate takes it."""
    tags = current.tags or {}
    for key in ("objective", "data_fingerprint", "split"):
        if tags.get(key) != getattr(candidate, key):
            return (f"not comparable ({key} differs: {str(tags.get(key))[:40]!r}); use another "
                    "--experiment for a champion of this data")  # fmt: skip
    try:
        score = float(tags["selection_score"])
    except (KeyError, ValueError):
        return None
    if not _beats(candidate.selection_score, score, candidate.direction):
        return f"its selection score {score:.4f} is not beaten ({candidate.selection_score:.4f})"
    return None


def model_uri(client: MlflowClient, run_id: str) -> str | None:
    """URI of the model logged by a run (MLflow 3 logged model), or None."""
    run = client.get_run(run_id)
    models = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'", max_results=10
    )
    return models[0].model_uri if models else None


def _beats(value: float, current: float, direction: str) -> bool:
    return value > current if direction.upper() == "MAXIMIZE" else value < current
