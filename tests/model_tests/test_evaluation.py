"""Evaluation: scikit-learn metrics for every class and the guide's metric names."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from data_pipeline.errors import DataError
from model.evaluation import evaluate
from model.evaluation import evaluate_splits
from model.evaluation import evaluation_from_probabilities

NAMES = ("backhand", "fronthand", "serve")


def test_evaluation_reports_absent_class_with_zero_support():
    y = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7]])
    ev = evaluation_from_probabilities(y, probabilities, NAMES)
    # serve never occurs but is predicted once: support 0, precision 0 (not an error).
    assert ev.support == {"backhand": 2, "fronthand": 2, "serve": 0}
    assert ev.precision["serve"] == 0.0 and ev.recall["fronthand"] == 0.5
    # The confusion matrix covers all classes (rows true, columns predicted).
    assert ev.confusion.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 0]]
    assert ev.accuracy == 0.5 and "serve" in ev.report


def test_evaluation_loss_matches_keras_cross_entropy():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=20)
    y = rng.integers(0, 3, size=20)
    ev = evaluation_from_probabilities(y, probabilities, NAMES)
    expected = keras.losses.SparseCategoricalCrossentropy()(y, probabilities)
    # The loss is the same sparse categorical cross-entropy the model is trained with.
    assert ev.loss == pytest.approx(float(expected), rel=1e-5)


def test_evaluation_as_metrics_uses_guide_names():
    y = np.array([0, 1, 2, 1])
    ev = evaluation_from_probabilities(y, np.eye(3)[[0, 1, 2, 0]], NAMES)
    test = ev.as_metrics()
    val = ev.as_metrics("val_")
    per_class = {f"{c}_{m}" for c in NAMES for m in ("precision", "recall", "f1_score", "support")}
    averages = {
        f"{a}_avg_{m}" for a in ("macro", "weighted") for m in ("precision", "recall", "f1_score")
    }
    # Test split: the guide's names, accuracy and loss as test_accuracy / test_loss.
    assert set(test) == per_class | averages | {"test_accuracy", "test_loss"}
    # Validation split: the same names prefixed val_, accuracy and loss clear of the curves.
    assert set(val) == {f"val_{n}" for n in per_class | averages} | {
        "val_eval_accuracy",
        "val_eval_loss",
    }
    assert test["test_accuracy"] == 0.75 and test["fronthand_recall"] == 0.5
    assert val["val_macro_avg_recall"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_evaluate_splits_matches_one_evaluation_per_split():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.LSTM(4), keras.layers.Dense(3, activation="softmax")]
    )
    rng = np.random.default_rng(0)
    val = (rng.normal(size=(7, 5, 2)).astype("float32"), rng.integers(0, 3, 7))
    test = (rng.normal(size=(4, 5, 2)).astype("float32"), rng.integers(0, 3, 4))
    together = evaluate_splits(model, {"val": val, "test": test}, NAMES)
    # One prediction pass over both splits scores each split as its own evaluation would.
    for name, (X, y) in (("val", val), ("test", test)):
        alone = evaluate(model, X, y, NAMES)
        assert together[name].confusion.tolist() == alone.confusion.tolist()
        assert together[name].loss == pytest.approx(alone.loss, rel=1e-5)
    # An empty split is named in the message.
    with pytest.raises(DataError, match="empty test split"):
        evaluate_splits(model, {"val": val, "test": (test[0][:0], test[1][:0])}, NAMES)
