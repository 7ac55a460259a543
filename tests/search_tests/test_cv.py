"""Grouped K-fold objective: folds, objective value, final retrain, --cv wiring and its record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow import MlflowClient

from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from model.evaluation import Evaluation
from model.spec import ModelSpec
from search._config import OBJECTIVE_METRICS
from search._config import SearchConfig
from search._cv import FOLD_METRICS
from search._cv import cross_validate
from search._cv import fold_metrics
from search.best import main as best_main
from search.run import main

TINY = ModelSpec(
    lstm_units=(8,),
    bidirectional=(False,),
    batch_norm=False,
    dropout=(0.0, 0.0),
    dense_units=(8,),
    learning_rate=1e-2,
    batch_size=32,
    epochs=1,
)
FIXED_FEATURES = "canonical_handedness = true\n"
FEATURE_ENTRIES = """
[representation]
type = "categorical"
choices = ["body_scaled", "view_robust"]

[velocities]
type = "bool"
"""


def _evaluation(loss: float) -> Evaluation:
    """A perfect two-class evaluation with the given loss."""
    per_class = {"a": 1.0, "b": 1.0}
    average = {"precision": 1.0, "recall": 1.0, "f1_score": 1.0}
    return Evaluation(
        class_names=("a", "b"),
        accuracy=1.0,
        loss=loss,
        precision=per_class,
        recall=per_class,
        f1_score=per_class,
        support={"a": 1, "b": 1},
        averages={"macro": average, "weighted": average},
        confusion=np.eye(2, dtype=np.int64),
        report="",
    )


@pytest.fixture(scope="module")
def dataset(small_synthetic_dir: Path) -> Dataset:
    return Dataset.open(small_synthetic_dir)


@pytest.fixture(scope="module")
def data(dataset: Dataset):
    return dataset.windows(WindowConfig(window_size=30, overlap=10))


def test_group_folds_never_share_a_group_nor_touch_test(dataset: Dataset, data) -> None:
    folds = dataset.group_folds(3, seed=0, data=data)
    test_groups = set(data.groups[data.split.test])
    pool = np.sort(np.concatenate([data.split.train, data.split.val]))
    for train, val in folds:
        # a group is either trained on or validated on within a fold, never both
        assert not set(data.groups[train]) & set(data.groups[val])
        # the held-out test groups are in no fold
        assert not (set(data.groups[train]) | set(data.groups[val])) & test_groups
    # every non-test window is validated exactly once across the folds
    assert np.array_equal(np.sort(np.concatenate([val for _, val in folds])), pool)


@pytest.mark.slow
def test_cross_validate_objective_is_mean_of_fold_scores(dataset: Dataset, data) -> None:
    folds = dataset.group_folds(3, seed=0, data=data)
    cv = cross_validate(data, folds, TINY, seed=1, objective="val_macro_avg_f1_score")
    scores = [f.evaluation.averages["macro"]["f1_score"] for f in cv.folds]
    # the trial's value is the mean of the three fold scores, logged under the guide's val_ name
    assert cv.value == pytest.approx(np.mean(scores))
    assert cv.metrics["val_macro_avg_f1_score"] == pytest.approx(cv.value)
    assert cv.metrics["cv_std_val_macro_avg_f1_score"] == pytest.approx(np.std(scores))
    # per-fold values of every FOLD_METRICS entry are logged, fold 1..K
    for name in FOLD_METRICS:
        assert [cv.metrics[f"fold_{i}_val_{name}"] for i in (1, 2, 3)]
    # the final model trained on all non-test windows, none of the test windows
    pool = np.sort(np.concatenate([data.split.train, data.split.val]))
    assert np.array_equal(np.sort(cv.final.train_index), pool)
    assert not set(cv.final.train_index) & set(data.split.test)
    # ... for the median of the folds' best epochs, without early stopping, tested once
    assert cv.final.epochs_trained == cv.final_epochs
    assert sum(cv.test.support.values()) == len(data.split.test)


def test_fold_metrics_val_loss_objective_is_mean_eval_loss() -> None:
    losses = (0.1, 0.3, 0.8)
    evaluations = [_evaluation(loss) for loss in losses]
    metrics = fold_metrics(evaluations)
    # --objective val_loss reads val_eval_loss, the mean of the folds' evaluation losses
    assert metrics[OBJECTIVE_METRICS["val_loss"]] == pytest.approx(np.mean(losses))
    assert metrics["fold_3_val_eval_loss"] == pytest.approx(0.8)


def test_search_config_cv_below_two_is_refused() -> None:
    # one fold is no cross-validation: the message names the flag and the fix
    with pytest.raises(ConfigError, match=r"--cv must be at least 2 folds, but got cv=1"):
        SearchConfig(cv=1)


@pytest.mark.slow
def test_run_cv_logs_folds_features_and_spread(
    study_args: list[str],
    tiny_space: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    space = FIXED_FEATURES + tiny_space.read_text() + FEATURE_ENTRIES
    tiny_space.write_text(space, encoding="utf-8")
    args = [*study_args, "--n-trials", "2", "--cv", "3", "--epochs", "1", "--pruner", "none"]
    assert main(args) == 0
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    for trial in study.trials:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        metrics, params = run.data.metrics, run.data.params
        folds = [metrics[f"fold_{i}_val_macro_avg_f1_score"] for i in (1, 2, 3)]
        # the trial's objective is the mean of its three logged fold scores
        assert trial.value == pytest.approx(np.mean(folds))
        assert metrics["val_macro_avg_f1_score"] == pytest.approx(trial.value)
        # the final model's test metrics and the CV settings are in the same child run
        assert "macro_avg_f1_score" in metrics and params["cv_folds"] == "3"
        # feature choices are logged under their space names with the sampled values
        assert params["representation"] == trial.params["representation"]
        assert params["velocities"] == str(trial.params["velocities"])
        assert params["canonical_handedness"] == "True"
    capsys.readouterr()
    assert best_main([*study_args[:8]]) == 0
    # search.best shows the fold spread beside the objective
    assert " ± " in capsys.readouterr().out
    # resuming the study without --cv is refused: its trials are not comparable
    assert main([*study_args, "--n-trials", "3"]) == 2
    assert "cv: stored '3', now None" in capsys.readouterr().err
