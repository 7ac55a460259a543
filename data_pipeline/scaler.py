"""Per-feature standardisation learned on the training windows only (scikit-learn discipline)."""

from __future__ import annotations

import numpy as np

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError


class FeatureScaler:
    """Standardise each feature column with a mean and scale learned from training data.

    Follows scikit-learn's fit/transform contract: the constructor only stores, :meth:`fit` sees
    the training windows alone and sets ``mean_`` and ``scale_``, :meth:`transform` applies them
    to any split. Only valid frames are counted and transformed; invalid frames stay 0. A column
    with (almost) no spread gets ``scale_ = 1``, as ``sklearn.preprocessing.StandardScaler`` does.

    Args:
        with_std: divide by the standard deviation (else only centre). Defaults to True.

    Example:
        >>> X = np.array([[[1.0], [3.0]], [[5.0], [0.0]]], dtype=np.float32)
        >>> mask = np.array([[True, True], [True, False]])
        >>> scaler = FeatureScaler().fit(X, mask)
        >>> scaler.mean_.tolist(), scaler.transform(X, mask)[1, 1].tolist()
        ([3.0], [0.0])
    """

    def __init__(self, *, with_std: bool = True) -> None:
        self.with_std = with_std

    def fit(self, X: np.ndarray, mask: np.ndarray | None = None) -> FeatureScaler:
        """Learn ``mean_`` and ``scale_`` per feature from the valid frames of ``X``.

        Args:
            X: training windows ``[N, T, F]`` (or frames ``[T, F]``).
            mask: bool ``[N, T]`` (or ``[T]``), True for valid frames; None means all valid.

        Returns:
            ``self``.

        Raises:
            DataError: shapes do not match, or no frame is valid.
        """
        frames = _valid_frames(X, mask)
        if not len(frames):
            raise DataError(
                "FeatureScaler.fit needs at least one valid frame, but the mask marks none; "
                "check that the training split is not empty."
            )
        self.mean_ = frames.mean(axis=0)
        scale = frames.std(axis=0) if self.with_std else np.ones(frames.shape[1])
        self.scale_ = np.where(scale < 1e-8 * np.maximum(np.abs(self.mean_), 1.0), 1.0, scale)
        return self

    def transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Return ``(X - mean_) / scale_`` as float32; invalid frames hold 0.

        Raises:
            ConfigError: the scaler is not fitted yet.
            DataError: ``X`` has a different number of features than the training data.
        """
        if not hasattr(self, "mean_"):
            raise ConfigError("FeatureScaler is not fitted yet; call fit(X_train, mask) first.")
        X = np.asarray(X)
        if X.shape[-1] != self.mean_.shape[0]:
            raise DataError(
                f"FeatureScaler was fitted on {self.mean_.shape[0]} features, but got X with "
                f"{X.shape[-1]} (shape {X.shape}); transform data built with the same features."
            )
        out = ((X - self.mean_) / self.scale_).astype(np.float32)
        if mask is not None:
            out[~np.asarray(mask, dtype=bool)] = 0
        return out

    def fit_transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X, mask).transform(X, mask)


def _valid_frames(X: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The valid frames of ``X`` as a float64 ``[n, F]`` matrix."""
    X = np.asarray(X, dtype=np.float64)
    if mask is None:
        return X.reshape(-1, X.shape[-1])
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != X.shape[:-1]:
        raise DataError(
            f"mask must have the shape of X without its feature axis, {X.shape[:-1]}, but got "
            f"{mask.shape}."
        )
    return X[mask]
