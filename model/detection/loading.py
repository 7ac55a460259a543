"""Loading the model that ``model.detect`` and ``model.evaluate_detection`` use.

``--model`` takes ``models:/NAME@ALIAS`` (the search registers its best model with the alias
``champion``), ``models:/NAME/VERSION``, ``runs:/RUN_ID/PATH`` or a saved model (a ``.keras`` file
with ``preprocessing.json`` beside it, or an MLflow model folder); URIs are resolved in the
project's MLflow store (``model.stores``). The run that trained the model is remembered so
outputs and evaluation runs can link to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from data_pipeline.errors import ConfigError
from model.artifacts import MLMODEL_FILE
from model.artifacts import PreprocessingSettings
from model.artifacts import load_stroke_model
from model.stores import DEFAULT_EXPERIMENT
from model.stores import resolve_tracking_uri

#: The search registers its best model under the experiment's name with the alias ``champion``.
DEFAULT_MODEL = f"models:/{DEFAULT_EXPERIMENT}@champion"


@dataclass(frozen=True)
class LoadedModel:
    """A trained classifier with its preprocessing settings and where it came from.

    Args:
        model: the Keras model.
        preprocessing: its stored ``PreprocessingSettings``.
        uri: what ``--model`` named.
        run_id: the MLflow run that trained it, when known.
    """

    model: keras.Model
    preprocessing: PreprocessingSettings
    uri: str
    run_id: str | None


def load_model(reference: str, *, tracking_uri: str | None = None) -> LoadedModel:
    """Load the model ``reference`` names (see the module docstring) and find its run.

    Args:
        reference: ``--model``.
        tracking_uri: ``--tracking-uri``; None falls back to ``MLFLOW_TRACKING_URI``, then
            the project's default store.

    Raises:
        DataError: nothing loadable at ``reference``.
        ConfigError: a file-store tracking URI, or a registry entry without its run.
    """
    if Path(reference).exists():
        # A saved model needs no tracking store (and importing MLflow costs a second).
        model, preprocessing = load_stroke_model(reference)
        run_id = _mlmodel_run_id(Path(reference) / MLMODEL_FILE)
    else:
        import mlflow

        mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
        model, preprocessing = load_stroke_model(reference)
        try:
            run_id = _registry_run_id(reference)
        except mlflow.exceptions.MlflowException as exc:
            raise ConfigError(
                f"--model {reference!r} loaded, but its registry entry in "
                f"{mlflow.get_tracking_uri()} names no run: {exc.message}"
            ) from exc
    return LoadedModel(model=model, preprocessing=preprocessing, uri=reference, run_id=run_id)


def _mlmodel_run_id(mlmodel: Path) -> str | None:
    """The run an MLflow model folder was logged from (its ``MLmodel`` file), if it is one."""
    if not mlmodel.is_file():
        return None
    from mlflow.models import Model

    return Model.load(str(mlmodel)).run_id


def _registry_run_id(reference: str) -> str | None:
    """The run that trained the model a ``runs:/`` or ``models:/`` URI names, when it tells."""
    from mlflow import MlflowClient

    if reference.startswith("runs:/"):
        return reference[len("runs:/") :].split("/", 1)[0]
    if not reference.startswith("models:/"):
        return None
    name, _, version = reference[len("models:/") :].partition("/")
    name, _, alias = name.partition("@")
    client = MlflowClient()
    if alias:
        return client.get_model_version_by_alias(name, alias).run_id
    return client.get_model_version(name, version).run_id if version.isdigit() else None
