"""The best trial and the champion model.

After each complete trial that becomes the study's best:
- its child run gets the tag ``best_trial=true`` and the previous best loses it;
- the parent run gets the tags ``best_trial_number``, ``best_run_id``, ``best_value`` and the
  metric ``best_<objective>`` (step = trial number, so its history is the study's progress);
- its logged model becomes a version of the registered model named after the experiment
  (``models:/tennis_stroke_recognition@champion`` by default) and takes the alias ``champion``
  when it beats the current champion on the study's objective, both read from the runs'
  validation metrics.
"""

from __future__ import annotations

import logging
import time

import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException

from search._tracking import RUN_ID_ATTR

CHAMPION_ALIAS = "champion"
BEST_TAG = "best_trial"
#: objective -> the MLflow metric holding it in a child run (the validation evaluation).
OBJECTIVE_METRICS = {
    "val_macro_avg_f1_score": "val_macro_avg_f1_score",
    "val_loss": "val_eval_loss",
}
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
    experiment: str,
) -> bool:
    """Update tags, parent summary and champion when ``trial`` is the study's new best.

    Returns:
        True when ``trial`` is the new best trial.
    """
    if trial.state != optuna.trial.TrialState.COMPLETE or study.best_trial.number != trial.number:
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
    promote_champion(
        client, experiment, run_id, objective=objective, direction=study.direction.name
    )
    return True


def promote_champion(
    client: MlflowClient, experiment: str, run_id: str, *, objective: str, direction: str
) -> bool:
    """Register the run's model and move the ``champion`` alias to it if it beats the champion.

    Both runs are compared on the same objective metric, read from their logged validation
    metrics. Returns True when the alias moved.
    """
    name = registered_model_name(experiment)
    metric = OBJECTIVE_METRICS[objective]
    value = client.get_run(run_id).data.metrics.get(metric)
    if value is None:
        _log.warning("run %s has no metric %s; champion not updated", run_id, metric)
        return False
    try:
        current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        current = None
    if current is not None:
        if current.run_id == run_id:
            return False
        try:
            current_value = client.get_run(current.run_id).data.metrics.get(metric)
        except MlflowException:
            current_value = None
        if current_value is not None and not _beats(value, current_value, direction):
            return False
    source = model_uri(client, run_id)
    if source is None:
        _log.warning("run %s has no logged model; champion not updated", run_id)
        return False
    try:
        client.create_registered_model(name)
    except MlflowException:  # already registered
        pass
    version = client.create_model_version(  # a tracking server needs model_id with models:/
        name,
        source=source,
        run_id=run_id,
        model_id=source.removeprefix("models:/"),
        tags={"objective": objective, metric: str(value)},
    )
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
    return True


def model_uri(client: MlflowClient, run_id: str) -> str | None:
    """URI of the model logged by a run (MLflow 3 logged model), or None."""
    run = client.get_run(run_id)
    models = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'", max_results=10
    )
    return models[0].model_uri if models else None


def _beats(value: float, current: float, direction: str) -> bool:
    return value > current if direction.upper() == "MAXIMIZE" else value < current
