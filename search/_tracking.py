"""MLflow side of a study: the experiment, one parent run per study and one child run per trial.

Everything goes through an explicit ``MlflowClient`` (no active-run globals), so a pruned trial's
run ends KILLED and not FAILED as ``with mlflow.start_run()`` would mark it. The one exception is
``model.tracking.log_training_run``, which logs into the active run: ``child_logging`` activates
the child run for that call only, and ``finish_child`` sets its final status.

Names (docs/tracking.md): parent run named after the study, tag ``optuna.study_name``, its id
in the study's user attribute ``mlflow_parent_run_id``; child runs ``trial-<n>`` with
``mlflow.parentRunId`` and tags ``optuna.study_name``, ``optuna.trial_number``,
``optuna.trial_state``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import mlflow
import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities import Param as MlflowParam
from mlflow.entities import RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from search._attrs import RUN_ID_ATTR

PARENT_RUN_ATTR = "mlflow_parent_run_id"
#: Optuna trial state -> MLflow run status.
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
_MAX_TAG = 5000


def ensure_parent_run(
    client: MlflowClient, study: optuna.Study, experiment_id: str, params: Mapping[str, str]
) -> str:
    """Reopen the study's parent run (same id) or create it once and remember its id in the study.

    ``params`` are logged on creation only: they must not change over a study's life (the
    compatibility check in ``_study`` refuses a resume that changes them).
    """
    run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if run_id is not None:
        try:
            run = client.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            run = None
        if run is not None and run.info.lifecycle_stage == "active":
            client.update_run(run_id, status="RUNNING")
            return run_id
    run = client.create_run(
        experiment_id,
        run_name=study.study_name,
        tags={"optuna.study_name": study.study_name, "optuna.direction": study.direction.name},
    )
    client.log_batch(run.info.run_id, params=[MlflowParam(k, v) for k, v in params.items()])
    study.set_user_attr(PARENT_RUN_ATTR, run.info.run_id)
    return run.info.run_id


class Tracker:
    """Child runs of one study under its parent run.

    Args:
        client: the MLflow client of the project's tracking store.
        experiment_id: the experiment holding parent and children.
        parent_run_id: the study's parent run.
        study_name: the Optuna study name, tagged on every child.
    """

    def __init__(
        self, client: MlflowClient, experiment_id: str, parent_run_id: str, study_name: str
    ) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.study_name = study_name

    def start_child(self, trial: optuna.Trial, sampled: Mapping[str, Any]) -> str:
        """Create run ``trial-<n>`` with the contract tags and the sampled parameters."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{trial.number}",
            tags={
                MLFLOW_PARENT_RUN_ID: self.parent_run_id,
                "optuna.study_name": self.study_name,
                "optuna.trial_number": str(trial.number),
                "optuna.trial_state": "RUNNING",
            },
        )
        run_id = run.info.run_id
        trial.set_user_attr(RUN_ID_ATTR, run_id)
        self.client.log_batch(run_id, params=[MlflowParam(k, str(v)) for k, v in sampled.items()])
        return run_id

    def start_repeat(self, trial_number: int, repeat: int, trial_run_id: str) -> str:
        """Create run ``trial-<n>-repeat-<r>`` nested under the trial's run (confirmation)."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{trial_number}-repeat-{repeat}",
            tags={
                MLFLOW_PARENT_RUN_ID: trial_run_id,
                "optuna.study_name": self.study_name,
                "optuna.trial_number": str(trial_number),
                "repeat": str(repeat),
            },
        )
        return run.info.run_id

    def log_partial(self, run_id: str, history: Mapping[str, list[float]], epoch: int) -> None:
        """Curves of the epochs a pruned or failed trial ran (step = epoch, 1-based)."""
        now = int(time.time() * 1000)
        metrics = [
            Metric(name, float(value), now, step)
            for name, values in history.items()
            for step, value in enumerate(values, 1)
            if value == value  # NaN: the curve was not in that epoch's logs
        ]
        metrics.append(Metric("epochs_trained", float(epoch), now, 0))
        for start in range(0, len(metrics), 1000):
            self.client.log_batch(run_id, metrics=metrics[start : start + 1000])

    def finish_child(self, run_id: str, state: str, error: str | None = None) -> None:
        """Tag the Optuna state (and the error) and end the run with the mapped status."""
        tags = [RunTag("optuna.trial_state", state)]
        if error:
            tags.append(RunTag("error", error[:_MAX_TAG]))
        self.client.log_batch(run_id, tags=tags)
        self.client.set_terminated(run_id, status=RUN_STATUS[state])

    @contextlib.contextmanager
    def child_logging(self, run_id: str) -> Iterator[None]:
        """Make ``run_id`` the active run for fluent logging calls (``log_training_run``).

        The run is ended FINISHED (or FAILED on an exception) on exit; ``finish_child`` then
        sets the status that the trial's final state maps to.
        """
        mlflow.start_run(run_id=run_id)
        status = "FAILED"
        try:
            yield
            status = "FINISHED"
        finally:
            mlflow.end_run(status=status)
