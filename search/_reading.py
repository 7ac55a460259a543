"""Open an existing study and its MLflow runs for the read-side commands (plots, best, ui)."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import optuna
from mlflow import MlflowClient

from data_pipeline.errors import ConfigError
from search._storage import normalize_storage_url
from search._storage import open_storage
from search._storage import redact_url
from search._storage import sqlite_path
from search._tracking import PARENT_RUN_ATTR


@dataclass(frozen=True)
class StudyHandle:
    """A loaded study, the MLflow client of its store and its parent run id (None if absent)."""

    study: optuna.Study
    client: MlflowClient
    parent_run_id: str | None


def open_existing(study_name: str, *, storage: str, tracking_uri: str) -> StudyHandle:
    """Load ``study_name`` from ``storage``; a missing study is a ConfigError listing the others.

    Raises:
        ConfigError: no such study, or no study store at all (a read never creates one).
    """
    path = sqlite_path(normalize_storage_url(storage))
    if path is not None and not path.is_file():
        raise ConfigError(
            f"no study store at --storage {redact_url(storage)} ({path} does not exist); pass "
            "the --storage the study ran with, or run python -m search.run first."
        )
    backend = open_storage(storage)
    names = optuna.get_all_study_names(backend)
    if study_name not in names:
        raise ConfigError(
            f"no study {study_name!r} in --storage {redact_url(storage)}; studies there: "
            f"{', '.join(names) or 'none'}. Pass --study NAME, or run python -m search.run first."
        )
    study = optuna.load_study(study_name=study_name, storage=backend)
    mlflow.set_tracking_uri(tracking_uri)
    parent_run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if not _tracking_store_exists(tracking_uri):  # reading it would create an empty one
        parent_run_id = None
    return StudyHandle(study, MlflowClient(tracking_uri), parent_run_id)


def _tracking_store_exists(tracking_uri: str) -> bool:
    if not tracking_uri.startswith("sqlite:"):
        return True
    path = sqlite_path(normalize_storage_url(tracking_uri))
    return path is None or path.is_file()
