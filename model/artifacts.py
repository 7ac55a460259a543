"""Model files with their inference settings, and ``load_stroke_model`` for every model address.

A trained model is stored as ``model.keras`` with ``preprocessing.json`` beside it (run artifacts)
and as an MLflow Keras model whose ``MLmodel`` metadata holds the same settings under
``preprocessing``. Detection on new videos needs them to turn poses into windows exactly as in
training: landmark subset and feature config, reference fps, window size, overlap, class order.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from data_pipeline import atomic_write_text
from data_pipeline.config import FeatureConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.errors import DataError
from data_pipeline.windowed import WindowedData

KERAS_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"
MLMODEL_FILE = "MLmodel"
#: Version of the ``preprocessing`` settings layout.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PreprocessingSettings:
    """What inference must repeat of the training data's preparation.

    Args:
        window_size: frames per window at ``reference_fps``.
        overlap: frames shared by consecutive windows.
        reference_fps: clips are resampled to this rate before windowing.
        features: the feature settings (landmark subset, representation, ...).
        class_names: the model's output order.
        feature_names: one name per input column (a check on the input width).
        split: the train/val/test split of the training data (grouping key, seed, named
            groups), so evaluation re-derives the same held-out groups; None for models saved
            before splits were stored.
    """

    window_size: int
    overlap: int
    reference_fps: float
    features: FeatureConfig
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    split: SplitConfig | None = None

    @property
    def landmark_subset(self) -> tuple[int, ...]:
        return self.features.landmark_subset

    @property
    def window(self) -> WindowConfig:
        """A ``WindowConfig`` with this window size, overlap and reference fps."""
        return WindowConfig(
            window_size=self.window_size, overlap=self.overlap, reference_fps=self.reference_fps
        )

    @classmethod
    def from_data(cls, data: WindowedData) -> PreprocessingSettings:
        return cls(
            window_size=data.window.window_size,
            overlap=data.window.overlap,
            reference_fps=data.window.reference_fps,
            features=data.features,
            class_names=tuple(data.class_names),
            feature_names=tuple(data.feature_names),
            split=data.split_config,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also what the MLmodel metadata holds)."""
        values = dataclasses.asdict(self)
        values["features"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in values["features"].items()
        }
        values["class_names"] = list(self.class_names)
        values["feature_names"] = list(self.feature_names)
        if self.split is not None:
            values["split"] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in values["split"].items()
            }
        return {"format_version": FORMAT_VERSION, **values}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessingSettings:
        """Inverse of :meth:`to_dict`.

        Raises:
            DataError: a missing key or a newer, unknown format version.
        """
        version = values.get("format_version")
        if version != FORMAT_VERSION:
            raise DataError(
                f"preprocessing settings have format_version={version!r}, but this version "
                f"of stroke-search reads {FORMAT_VERSION}; upgrade stroke-search or retrain."
            )
        try:
            features = dict(values["features"])
            features["landmark_subset"] = tuple(features["landmark_subset"])
            return cls(
                window_size=int(values["window_size"]),
                overlap=int(values["overlap"]),
                reference_fps=float(values["reference_fps"]),
                features=FeatureConfig(**features),
                class_names=tuple(values["class_names"]),
                feature_names=tuple(values["feature_names"]),
                split=_split(values.get("split")),
            )
        except (KeyError, TypeError) as exc:
            raise DataError(f"preprocessing settings are incomplete or malformed: {exc}") from exc


def _split(values: dict[str, Any] | None) -> SplitConfig | None:
    if values is None:
        return None
    return SplitConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def write_preprocessing(settings: PreprocessingSettings, path: Path) -> None:
    """Write ``settings`` as JSON to ``path`` (atomically)."""
    atomic_write_text(path, json.dumps(settings.to_dict(), indent=2) + "\n")


def load_stroke_model(uri_or_path: str | Path) -> tuple[keras.Model, PreprocessingSettings]:
    """Load a trained model and its preprocessing settings.

    Args:
        uri_or_path: one of
            - a local ``.keras`` file with ``preprocessing.json`` beside it,
            - a local folder holding ``model.keras`` + ``preprocessing.json`` (downloaded run
              artifacts) or an MLflow model (``MLmodel`` file),
            - an MLflow model URI: ``runs:/<run_id>/model``, ``models:/<name>@<alias>``,
              ``models:/<name>/<version>`` or ``models:/<model_id>``, read from the current
              tracking URI (``mlflow.set_tracking_uri`` or ``MLFLOW_TRACKING_URI``).

    Returns:
        ``(model, settings)``.

    Raises:
        DataError: nothing loadable at that address, or the settings are missing.
    """
    text = str(uri_or_path)
    if "://" in text or text.startswith(("runs:/", "models:/")):
        return _load_uri(text)
    return _load_local(Path(text))


def _load_uri(uri: str) -> tuple[keras.Model, PreprocessingSettings]:
    import mlflow
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
    from mlflow.exceptions import MlflowException

    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set(False)
    with tempfile.TemporaryDirectory(prefix="stroke-model-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        except MlflowException as exc:
            raise DataError(
                f"no model at {uri!r} in tracking store {mlflow.get_tracking_uri()!r}: "
                f"{exc.message}; check the run id / registered name and --tracking-uri."
            ) from exc
        return _load_local(Path(local))


def _load_local(path: Path) -> tuple[keras.Model, PreprocessingSettings]:
    if path.is_dir() and (path / MLMODEL_FILE).is_file():
        from mlflow.models import Model

        metadata = Model.load(str(path / MLMODEL_FILE)).metadata or {}
        if "preprocessing" not in metadata:
            raise DataError(
                f"the MLflow model at {path} has no preprocessing settings in its metadata; "
                "it was not logged by stroke-search (model.tracking.log_training_run)."
            )
        keras_files = sorted((path / "data").glob("*.keras"))
        if not keras_files:
            raise DataError(f"the MLflow model at {path} holds no .keras file under data/.")
        return _load_keras(keras_files[0]), PreprocessingSettings.from_dict(
            metadata["preprocessing"]
        )
    keras_file = path / KERAS_FILE if path.is_dir() else path
    settings_file = keras_file.with_name(PREPROCESSING_FILE)
    if not keras_file.is_file() or not settings_file.is_file():
        raise DataError(
            f"no model at {path}: expected a .keras file with {PREPROCESSING_FILE} beside it, a "
            "folder holding both, an MLflow model folder, or a runs:/ or models:/ URI."
        )
    settings = PreprocessingSettings.from_dict(json.loads(settings_file.read_text()))
    return _load_keras(keras_file), settings


def _load_keras(path: Path) -> keras.Model:
    # compile=False: inference needs no optimizer state (and skips its warning).
    return keras.models.load_model(path, compile=False)
