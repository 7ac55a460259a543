"""FeatureScaler: statistics from the training windows only, masked frames ignored and kept 0."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.scaler import FeatureScaler


def windows(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """30 windows ``[30, 8, 3]`` with some masked frames and a train/val/test split."""
    rng = np.random.default_rng(seed)
    X = rng.normal([1.0, -2.0, 5.0], [0.5, 2.0, 0.1], size=(30, 8, 3)).astype(np.float32)
    mask = rng.random((30, 8)) > 0.2
    X[~mask] = 0
    split = {"train": np.arange(0, 20), "val": np.arange(20, 25), "test": np.arange(25, 30)}
    return X, mask, split


def test_feature_scaler_never_sees_validation_or_test_statistics():
    X, mask, split = windows()
    train = split["train"]
    reference = FeatureScaler().fit(X[train], mask[train])
    before = reference.transform(X, mask)
    changed = X.copy()
    held_out = np.concatenate([split["val"], split["test"]])
    changed[held_out] = changed[held_out] * 100 + 50
    refit = FeatureScaler().fit(changed[train], mask[train])
    # Wildly different val/test data leaves the learned statistics and the train features as they were.
    np.testing.assert_array_equal(refit.mean_, reference.mean_)
    np.testing.assert_array_equal(refit.scale_, reference.scale_)
    np.testing.assert_array_equal(refit.transform(changed, mask)[train], before[train])


def test_feature_scaler_standardises_valid_training_frames():
    X, mask, split = windows()
    train = split["train"]
    out = FeatureScaler().fit_transform(X[train], mask[train])
    valid = out[mask[train]]
    # Valid training frames have mean 0 and std 1 per feature; masked frames stay exactly 0.
    np.testing.assert_allclose(valid.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(valid.std(axis=0), 1, atol=1e-4)
    assert (out[~mask[train]] == 0).all()


def test_feature_scaler_ignores_values_in_masked_frames():
    X, mask, _ = windows()
    garbage = X.copy()
    garbage[~mask] = 1e6
    # What sits in masked frames never reaches the statistics.
    np.testing.assert_allclose(
        FeatureScaler().fit(garbage, mask).mean_, FeatureScaler().fit(X, mask).mean_
    )


def test_feature_scaler_constant_feature_and_centring_only():
    X = np.ones((4, 5, 2), np.float32)
    X[..., 1] = np.arange(20, dtype=np.float32).reshape(4, 5)
    scaler = FeatureScaler().fit(X)
    # A constant column is centred but not divided by ~0.
    assert scaler.scale_[0] == 1.0 and np.isfinite(scaler.transform(X)).all()
    centred = FeatureScaler(with_std=False).fit(X)
    assert centred.scale_.tolist() == [1.0, 1.0] and centred.mean_.tolist() == [1.0, 9.5]


def test_feature_scaler_errors():
    X, mask, _ = windows()
    # Using an unfitted scaler, a mismatched mask, an empty training split or a wrong width fails.
    with pytest.raises(ConfigError, match="not fitted yet"):
        FeatureScaler().transform(X, mask)
    with pytest.raises(DataError, match="mask must have the shape of X"):
        FeatureScaler().fit(X, mask[:, :4])
    with pytest.raises(DataError, match="at least one valid frame"):
        FeatureScaler().fit(X, np.zeros_like(mask))
    with pytest.raises(DataError, match="fitted on 3 features"):
        FeatureScaler().fit(X, mask).transform(X[..., :2])
