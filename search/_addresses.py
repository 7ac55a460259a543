"""Addresses in the MLflow UI that open on what a user came for.

MLflow 3.17's runs table reads its search filter and sort order from the address
(``#/experiments/<id>/runs?searchFilter=…&orderByKey=…&orderByAsc=…``): :func:`study_runs_url`
opens it on a study's complete trials, best first by the selection objective (the
``selection_score`` of confirmed trials where there are any, else the study's objective).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote
from urllib.parse import urlencode

from search._config import OBJECTIVE_METRICS

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

SELECTION_METRIC = "selection_score"
DEFAULT_OBJECTIVE = "val_macro_avg_f1_score"


def complete_trials_filter(study_name: str) -> str:
    """The MLflow search filter of a study's complete trials."""
    return f"tags.`optuna.study_name` = '{study_name}' and tags.`optuna.trial_state` = 'COMPLETE'"


def study_runs_url(
    base: str, experiment_id: str, study_name: str, *, metric: str, ascending: bool = False
) -> str:
    """The runs table on ``study_name``'s complete trials, sorted by ``metric``.

    Example:
        >>> study_runs_url("http://127.0.0.1:5000/", "1", "s", metric="val_f1")[:60]
        'http://127.0.0.1:5000/#/experiments/1/runs?searchFilter=tags'
    """
    query = urlencode(
        {
            "searchFilter": complete_trials_filter(study_name),
            "orderByKey": f"metrics.`{metric}`",
            "orderByAsc": "true" if ascending else "false",
        },
        quote_via=quote,
    )
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    """A run's page."""
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def parent_run(client: MlflowClient, experiment_id: str, study_name: str) -> Run | None:
    """The study's parent run (named after the study), or None."""
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`optuna.study_name` = '{study_name}' and "
        f"attributes.run_name = '{study_name}'",
        max_results=1,
    )
    return found[0] if found else None


def selection_order(
    client: MlflowClient, experiment_id: str, study_name: str, parent: Run | None
) -> tuple[str, bool]:
    """The metric the study's champion is chosen by, and whether lower is better (``parent``:
    the study's :func:`parent_run`)."""
    confirmed = client.search_runs(
        [experiment_id],
        filter_string=f"{complete_trials_filter(study_name)} and metrics.{SELECTION_METRIC} > -1e308",
        max_results=1,
    )
    params = parent.data.params if parent else {}
    ascending = params.get("direction") == "minimize"
    if confirmed:
        return SELECTION_METRIC, ascending
    objective = params.get("objective", DEFAULT_OBJECTIVE)
    return OBJECTIVE_METRICS.get(objective, objective), ascending


def champion_run(
    client: MlflowClient,
    experiment_id: str,
    study_name: str,
    parent: Run | None,
    order: tuple[str, bool],
) -> str | None:
    """The run id of the study's crowned trial (the parent run's ``champion_run_id``), else of
    its best complete trial by ``order`` (metric, ascending; None before one exists)."""
    if parent and parent.data.tags.get("champion_run_id"):
        return parent.data.tags["champion_run_id"]
    metric, ascending = order
    best = client.search_runs(
        [experiment_id],
        filter_string=complete_trials_filter(study_name),
        order_by=[f"metrics.`{metric}` {'ASC' if ascending else 'DESC'}"],
        max_results=1,
    )
    return best[0].info.run_id if best else None


def study_addresses(
    client: MlflowClient, experiment_id: str, study_name: str, base: str
) -> tuple[str, str | None] | None:
    """The study's best-first runs table and its champion's run page; None without trials."""
    parent = parent_run(client, experiment_id, study_name)
    metric, ascending = selection_order(client, experiment_id, study_name, parent)
    champion = champion_run(client, experiment_id, study_name, parent, (metric, ascending))
    if champion is None:
        return None
    table = study_runs_url(base, experiment_id, study_name, metric=metric, ascending=ascending)
    return table, run_url(base, experiment_id, champion)
