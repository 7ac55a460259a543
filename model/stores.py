"""The project's MLflow store: tracking URI and experiment, resolved the same way everywhere.

Defaults: ``sqlite:///mlruns/mlflow.db`` with artifacts in ``mlruns/artifacts/``,
experiment ``tennis_stroke_recognition``. The tracking URI is ``--tracking-uri`` >
``MLFLOW_TRACKING_URI`` > default. MLflow's deprecated ``./mlruns`` file store is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from data_pipeline.errors import ConfigError

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
DEFAULT_EXPERIMENT = "tennis_stroke_recognition"
#: Artifacts of a SQLite store live in this folder beside the database file.
ARTIFACTS_DIR = "artifacts"
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def resolve_tracking_uri(flag: str | None = None) -> str:
    """``flag`` > ``MLFLOW_TRACKING_URI`` > :data:`DEFAULT_TRACKING_URI`.

    Raises:
        ConfigError: a file store (a plain path or ``file:`` URI).
    """
    uri = flag or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in ("", "file") or len(scheme) == 1:  # len 1: a Windows drive letter
        raise ConfigError(
            f"tracking URI {uri!r} is an MLflow file store, which MLflow deprecated; use a "
            f"database such as {DEFAULT_TRACKING_URI!r} (--tracking-uri or MLFLOW_TRACKING_URI)."
        )
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def default_artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts.

    ``<database folder>/artifacts`` for SQLite (so ``mlruns/artifacts/`` by default; run and
    model folders inside are named by unique ids, so experiments can share it), the tracking
    server's default otherwise (None).
    """
    database = sqlite_path(uri)
    if database is None:
        return None
    return (database.resolve().parent / ARTIFACTS_DIR).as_uri()


def setup_tracking(
    tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT
) -> tuple[str, str]:
    """Point MLflow at the store and make ``experiment`` the active experiment.

    Creates the SQLite folder and the experiment (with :func:`default_artifact_location`) when
    missing; safe when several processes do it at once.

    Args:
        tracking_uri: flag value; None falls back to ``MLFLOW_TRACKING_URI``, then the default.
        experiment: experiment name. Defaults to ``tennis_stroke_recognition``.

    Returns:
        ``(tracking_uri, experiment_id)``.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    database = sqlite_path(uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            experiment_id = client.create_experiment(
                experiment, artifact_location=default_artifact_location(uri)
            )
        except MlflowException:  # created by a concurrent process in the meantime
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
            experiment_id = found.experiment_id
    else:
        if found.lifecycle_stage == "deleted":
            raise ConfigError(
                f"MLflow experiment {experiment!r} is deleted in {uri}; restore it "
                f"(mlflow experiments restore --experiment-id {found.experiment_id}) or choose "
                "another --experiment."
            )
        experiment_id = found.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return uri, experiment_id
