"""The arrays one training run needs: windows, labels, masks, splits and class weights."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import numpy as np

from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig


@dataclass(frozen=True)
class SplitIndices:
    """Window indices of each split; no group (clip) appears in two of them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class WindowedData:
    """Windowed, labelled, split dataset as returned by ``Dataset.windows``.

    Args:
        X: float32 ``[N, window_size, n_features]``; masked frames hold 0.
        y: int64 ``[N]`` class indices into ``class_names``.
        mask: bool ``[N, window_size]``, True where the frame has a (possibly interpolated) pose.
        groups: str ``[N]`` group (clip) of each window.
        class_names: sorted class names; their order is the model's output order.
        feature_names: one name per feature column.
        split: train / val / test indices.
        class_weights: ``n / (k * n_c)`` computed on the training split.
        window: the window settings used.
        features: the feature settings used.
        labels: the label settings used.
        fingerprint: hash of the source data (the dataset's fingerprint).
        split_rule: human-readable split rule.
        split_config: the split settings (grouping key resolved) that made ``split``; None
            for data built without a ``Dataset``.
        augmented: bool ``[N]``, True for the mirrored copies of ``mirror_augmentation``
            (they are in the train split only); all False without augmentation.
    """

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    groups: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    split: SplitIndices
    class_weights: dict[str, float]
    window: WindowConfig
    features: FeatureConfig
    labels: LabelConfig
    fingerprint: str
    split_rule: str
    augmented: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    split_config: SplitConfig | None = None

    def __post_init__(self) -> None:
        if len(self.augmented) != len(self.y):
            object.__setattr__(self, "augmented", np.zeros(len(self.y), dtype=bool))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int]:
        return (int(self.X.shape[1]), int(self.X.shape[2]))

    def subset(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of split ``name`` (``train``, ``val`` or ``test``)."""
        index = getattr(self.split, name)
        return self.X[index], self.y[index]

    def class_weight_by_index(self) -> dict[int, float]:
        """Class weights keyed by class index, as Keras' ``fit(class_weight=...)`` wants them."""
        return {i: self.class_weights[name] for i, name in enumerate(self.class_names)}

    def class_counts(self, name: str = "train") -> dict[str, int]:
        """Number of windows per class in split ``name``."""
        counts = np.bincount(self.y[getattr(self.split, name)], minlength=self.n_classes)
        return {c: int(n) for c, n in zip(self.class_names, counts)}
