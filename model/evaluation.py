"""``evaluate``: scikit-learn metrics of a model on one split, under the logged names."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

import keras
import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.metrics import classification_report
from sklearn.metrics import confusion_matrix
from sklearn.metrics import precision_recall_fscore_support

from data_pipeline.errors import DataError
from data_pipeline.windowed import WindowedData

#: Keras clips probabilities to [eps, 1 - eps] in its cross-entropy; the same here.
_EPSILON = 1e-7
_AVERAGES = ("macro", "weighted")
#: Windows per eager prediction call.
_CHUNK = 1024


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one split.

    Args:
        class_names: class order of the model's outputs.
        accuracy: share of correct argmax predictions.
        loss: mean sparse categorical cross-entropy (unweighted).
        precision, recall, f1_score: class name -> value (0 where undefined).
        support: class name -> number of true samples.
        averages: ``macro`` / ``weighted`` -> {``precision``, ``recall``, ``f1_score``}.
        confusion: ``[k, k]`` counts, rows true class, columns predicted class.
        report: scikit-learn's classification report text.
        per_group: group (player, video ...) -> ``macro_f1``, ``accuracy`` and ``windows`` of
            the split's windows of that group; empty unless groups were given. Macro F1 of
            a group averages over the classes that group has windows of.
    """

    class_names: tuple[str, ...]
    accuracy: float
    loss: float
    precision: dict[str, float]
    recall: dict[str, float]
    f1_score: dict[str, float]
    support: dict[str, int]
    averages: dict[str, dict[str, float]]
    confusion: np.ndarray
    report: str
    per_group: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_metrics(self, prefix: str = "") -> dict[str, float]:
        """The logged metric names (docs/tracking.md), each prefixed with ``prefix``.

        ``{class}_precision|recall|f1_score|support``, ``macro_avg_*`` and ``weighted_avg_*``.
        Accuracy and loss are ``test_accuracy`` / ``test_loss`` when ``prefix`` is empty (the
        test split) and ``{prefix}eval_accuracy`` / ``{prefix}eval_loss``
        otherwise: for ``prefix="val_"`` the names ``val_accuracy`` / ``val_loss`` belong to
        the per-epoch curves, and a final evaluation point would corrupt them.

        Example:
            >>> ev = evaluation_from_probabilities(
            ...     np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), ("back", "fore"))
            >>> ev.as_metrics("val_")["val_macro_avg_f1_score"], ev.as_metrics()["test_accuracy"]
            (1.0, 1.0)
        """
        metrics: dict[str, float] = {}
        for c in self.class_names:
            metrics[f"{prefix}{c}_precision"] = self.precision[c]
            metrics[f"{prefix}{c}_recall"] = self.recall[c]
            metrics[f"{prefix}{c}_f1_score"] = self.f1_score[c]
            metrics[f"{prefix}{c}_support"] = float(self.support[c])
        for average, values in self.averages.items():
            for name, value in values.items():
                metrics[f"{prefix}{average}_avg_{name}"] = value
        head = f"{prefix}eval_" if prefix else "test_"
        metrics[f"{head}accuracy"] = self.accuracy
        metrics[f"{head}loss"] = self.loss
        return metrics


def evaluate(
    model: keras.Model, X: np.ndarray, y: np.ndarray, class_names: Sequence[str]
) -> Evaluation:
    """Predict ``X`` with ``model`` and score the predictions against ``y``.

    Raises:
        DataError: ``X`` is empty.
    """
    return evaluate_splits(model, {"split": (X, y)}, class_names)["split"]


def evaluate_splits(
    model: keras.Model,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    *,
    groups: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Evaluation]:
    """Evaluate ``model`` on several splits (name -> ``(X, y)``) with one prediction pass.

    ``groups`` (split name -> group of each window) adds per-group scores to those splits.

    Predicts with direct (eager) model calls in chunks rather than ``model.predict``: for the
    few hundred windows of a split this is faster than tracing a predict function for every
    new model, and a search evaluating many models gets no tf.function retracing warnings.
    The splits are predicted together because an eager LSTM call costs about the same for
    100 or 1000 windows (its time goes to per-step dispatch): validation and test in one call
    take half the time of two calls.

    Raises:
        DataError: a split is empty.
    """
    for name, (X, _) in splits.items():
        if len(X) == 0:
            raise DataError(
                f"cannot evaluate on the empty {name} split; add clips or change the split."
            )
    X_all = np.concatenate([X for X, _ in splits.values()])
    probabilities = np.concatenate([
        keras.ops.convert_to_numpy(model(X_all[start : start + _CHUNK], training=False))
        for start in range(0, len(X_all), _CHUNK)
    ])  # fmt: skip
    evaluations, start = {}, 0
    for name, (X, y) in splits.items():
        stop = start + len(X)
        evaluations[name] = evaluation_from_probabilities(
            y, probabilities[start:stop], class_names
        )
        if groups is not None and name in groups:
            scores = group_scores(y, probabilities[start:stop].argmax(axis=1), groups[name])
            evaluations[name] = replace(evaluations[name], per_group=scores)
        start = stop
    return evaluations


def evaluate_held_out(model: keras.Model, data: WindowedData) -> dict[str, Evaluation]:
    """``val`` and ``test`` evaluations of ``model`` on ``data``, each with per-group scores."""
    splits = ("val", "test")
    return evaluate_splits(
        model, {name: data.subset(name) for name in splits}, data.class_names,
        groups={name: data.groups[getattr(data.split, name)] for name in splits},
    )  # fmt: skip


def group_scores(
    y: np.ndarray, predicted: np.ndarray, groups: np.ndarray
) -> dict[str, dict[str, float]]:
    """Macro F1 (over the classes the group has), accuracy and window count per group.

    Example:
        >>> scores = group_scores(np.array([0, 1, 0, 0]), np.array([0, 1, 1, 0]), np.array(list("aabb")))
        >>> scores["a"], scores["b"]["accuracy"], scores["b"]["windows"]
        ({'macro_f1': 1.0, 'accuracy': 1.0, 'windows': 2}, 0.5, 2)
    """
    scores = {}
    for group in sorted(set(np.asarray(groups).tolist())):
        member = np.asarray(groups) == group
        truth, guess = np.asarray(y)[member], np.asarray(predicted)[member]
        f1 = precision_recall_fscore_support(
            truth, guess, labels=sorted(set(truth.tolist())), average="macro", zero_division=0
        )[2]
        scores[str(group)] = {"macro_f1": float(f1), "accuracy": float((truth == guess).mean()),
                              "windows": int(member.sum())}  # fmt: skip
    return scores


def evaluation_from_probabilities(
    y: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]
) -> Evaluation:
    """Score class ``probabilities`` ``[n, k]`` against true class indices ``y`` ``[n]``.

    Every class is reported, also one absent from ``y`` (support 0, undefined scores 0).
    """
    names = tuple(class_names)
    labels = list(range(len(names)))
    y = np.asarray(y, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    p_true = np.clip(probabilities[np.arange(len(y)), y], _EPSILON, 1.0 - _EPSILON)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    averages = {}
    for average in _AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(
            y, predicted, labels=labels, average=average, zero_division=0
        )
        averages[average] = {"precision": float(p), "recall": float(r), "f1_score": float(f)}
    return Evaluation(
        class_names=names,
        accuracy=float(accuracy_score(y, predicted)),
        loss=float(-np.log(p_true).mean()),
        precision=dict(zip(names, map(float, precision))),
        recall=dict(zip(names, map(float, recall))),
        f1_score=dict(zip(names, map(float, f1))),
        support=dict(zip(names, map(int, support))),
        averages=averages,
        confusion=confusion_matrix(y, predicted, labels=labels),
        report=classification_report(
            y, predicted, labels=labels, target_names=list(names), zero_division=0, digits=4
        ),
    )
