"""Fixtures of the model tests: a tiny learnable WindowedData, a tiny ModelSpec, and the
session's trained stroke detector with its dataset (detection tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.windowed import SplitIndices
from data_pipeline.windowed import WindowedData
from model.spec import ModelSpec
from model.training import balanced_class_weights
from tests.model_tests._detector import LABELS
from tests.model_tests._detector import Detector
from tests.model_tests._detector import trained_detector

CLASS_NAMES = ("backhand", "fronthand", "serve")


def make_windowed(n: int = 96, window_size: int = 12, n_features: int = 8, seed: int = 0):
    """Random windows whose class shifts the mean, so a tiny LSTM learns something in 2 epochs."""
    rng = np.random.default_rng(seed)
    y = np.resize(np.array([0, 0, 1, 1, 1, 2]), n)
    rng.shuffle(y)
    X = rng.normal(size=(n, window_size, n_features)).astype(np.float32)
    X += (y[:, None, None] - 1).astype(np.float32)
    index = np.arange(n)
    split = SplitIndices(
        train=index[: n * 2 // 3], val=index[n * 2 // 3 : n * 5 // 6], test=index[n * 5 // 6 :]
    )
    return WindowedData(
        X=X,
        y=y.astype(np.int64),
        mask=np.ones((n, window_size), dtype=bool),
        groups=np.array([f"clip{i // 8}" for i in range(n)]),
        class_names=CLASS_NAMES,
        feature_names=tuple(f"f{i}" for i in range(n_features)),
        split=split,
        class_weights=balanced_class_weights(y[split.train], CLASS_NAMES),
        window=WindowConfig(window_size=window_size, overlap=4),
        features=FeatureConfig(landmark_subset=(0, 11)),
        labels=LabelConfig(),
        fingerprint="test-fingerprint",
        split_rule=SplitConfig().rule,
    )


@pytest.fixture(scope="session")
def tiny_data() -> WindowedData:
    return make_windowed()


@pytest.fixture(scope="session")
def tiny_spec() -> ModelSpec:
    return ModelSpec.baseline().replace(
        lstm_units=(8, 4), dense_units=(4,), epochs=2, batch_size=16
    )


@pytest.fixture(scope="session")
def detector(small_synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Detector:
    return trained_detector(small_synthetic_dir, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def dataset(detector: Detector) -> Dataset:
    return Dataset.open(detector.data_dir, labels=LABELS)
