"""Scoring trained models on an independent true-test folder with each model's own preprocessing.

The true test is a whole data folder that no study sees: every window of it counts (no split),
built with the window size, overlap and features the model was trained with, its labels mapped
to the model's class order. Mirrored copies (``mirror_augmentation``) are left out, as the
service leaves them out of validation and test.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from data_pipeline.dataset import Dataset
from data_pipeline.errors import DataError
from model.artifacts import KERAS_FILE
from model.artifacts import PREPROCESSING_FILE
from model.artifacts import PreprocessingSettings
from model.artifacts import load_stroke_model
from model.evaluation import evaluate


class TrueTest:
    """The windows of one true-test folder, built once per preprocessing.

    Args:
        path: the true-test data folder (clip or sequence folder).
        cache_dir: where ``Dataset`` may keep caches. Defaults to ``path/.cache``.
    """

    def __init__(self, path: Path, *, cache_dir: Path | None = None) -> None:
        self.dataset = Dataset.open(path, cache_dir=cache_dir)
        self._windows: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def windows(self, settings: PreprocessingSettings) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of every real window, ``y`` in ``settings.class_names`` order.

        Raises:
            DataError: a true-test label the model does not know.
        """
        features = dataclasses.replace(settings.features, mirror_augmentation=False)
        key = json.dumps([dataclasses.asdict(settings.window), dataclasses.asdict(features)])
        if key not in self._windows:
            raw = self.dataset.unsplit_windows(settings.window, features)
            index = {name: i for i, name in enumerate(settings.class_names)}
            unknown = sorted(set(raw.labels) - set(index))
            if unknown:
                raise DataError(
                    f"the true test {self.dataset.path} has labels {unknown} the model does "
                    f"not know (it knows {list(settings.class_names)}); generate both folders "
                    "with the same generator or import them with the same labels."
                )
            real = ~raw.augmented
            y = np.array([index[label] for label in raw.labels[real]], dtype=np.int64)
            self._windows[key] = (raw.X[real], y)
        return self._windows[key]

    def macro_f1(self, model: keras.Model, settings: PreprocessingSettings) -> float:
        """Macro-F1 of ``model`` on every window of the true test."""
        X, y = self.windows(settings)
        evaluation = evaluate(model, X, y, settings.class_names)
        return float(evaluation.averages["macro"]["f1_score"])

    def n_windows(self, settings: PreprocessingSettings) -> int:
        return len(self.windows(settings)[1])


def load_run_model(client: Any, run_id: str) -> tuple[keras.Model, PreprocessingSettings]:
    """Download a trial run's ``model.keras`` and ``preprocessing.json`` and load them."""
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set(False)
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        for name in (KERAS_FILE, PREPROCESSING_FILE):
            client.download_artifacts(run_id, name, tmp)
        return load_stroke_model(Path(tmp))
