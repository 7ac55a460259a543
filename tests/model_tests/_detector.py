"""One tiny stroke detector per test session, shared by the detection test modules.

:func:`trained_detector` trains it (window 30, overlap 15, a ``neutral`` class, body-scaled
features with left-handers mirrored) on the session's small synthetic dataset and saves it as
``model.keras`` + ``preprocessing.json``; :func:`registered_detector` logs it as a run of a
temporary SQLite MLflow store and registers it there as
``models:/tennis_stroke_recognition@champion``. Both run once per session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import mlflow

from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from model.artifacts import KERAS_FILE
from model.artifacts import PREPROCESSING_FILE
from model.artifacts import PreprocessingSettings
from model.artifacts import load_stroke_model
from model.artifacts import write_preprocessing
from model.spec import ModelSpec
from model.stores import setup_tracking
from model.tracking import MODEL_NAME
from model.tracking import log_keras_model
from model.training import train_model

REGISTERED_NAME = "tennis_stroke_recognition"
CHAMPION = f"models:/{REGISTERED_NAME}@champion"
WINDOW = WindowConfig(window_size=30, overlap=15)
#: Mirroring left-handers matters: a quarter of the synthetic players are left-handed.
FEATURES = FeatureConfig(representation="body_scaled", canonical_handedness=True)
LABELS = LabelConfig(neutral_class=True)
SPEC = ModelSpec(
    lstm_units=(16,),
    bidirectional=(False,),
    batch_norm=False,
    dropout=(0.1, 0.1),
    dense_units=(16,),
    learning_rate=5e-3,
    batch_size=32,
    epochs=12,
)


@dataclass(frozen=True)
class Detector:
    """A saved detector and the data it was trained on.

    Args:
        path: folder holding ``model.keras`` and ``preprocessing.json``.
        data_dir: the synthetic data folder.
        test_clips: clips of that folder's test split (never seen in training).
    """

    path: Path
    data_dir: Path
    test_clips: tuple[str, ...]


@functools.lru_cache(maxsize=None)
def trained_detector(data_dir: Path, root: Path) -> Detector:
    """Train the detector on ``data_dir`` and save it under ``root`` (once per arguments)."""
    dataset = Dataset.open(data_dir, labels=LABELS)
    data = dataset.windows(WINDOW, FEATURES)
    result = train_model(SPEC, data, seed=0)
    path = root / "detector"
    path.mkdir(parents=True, exist_ok=True)
    result.model.save(path / KERAS_FILE)
    write_preprocessing(PreprocessingSettings.from_data(data), path / PREPROCESSING_FILE)
    test_groups = set(data.groups[data.split.test].tolist())  # players: the default grouping
    test_clips = tuple(c for c in dataset.clip_ids if dataset.group_of(c) in test_groups)
    return Detector(path=path, data_dir=data_dir, test_clips=test_clips)


@functools.lru_cache(maxsize=None)
def registered_detector(detector: Detector, root: Path) -> tuple[str, str]:
    """Log ``detector`` as a run in a SQLite store under ``root`` and make it the champion.

    Returns:
        ``(tracking_uri, run_id)``.
    """
    tracking_uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    setup_tracking(tracking_uri, "detection-tests")
    model, settings = load_stroke_model(detector.path)
    with mlflow.start_run(run_name="detector") as run:
        log_keras_model(model, settings)
    version = mlflow.register_model(f"runs:/{run.info.run_id}/{MODEL_NAME}", REGISTERED_NAME)
    mlflow.MlflowClient().set_registered_model_alias(REGISTERED_NAME, "champion", version.version)
    return tracking_uri, run.info.run_id
