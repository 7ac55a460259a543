"""The MLflow record of one run, read back through MlflowClient from a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from model.artifacts import load_stroke_model
from model.evaluation import evaluate
from model.stores import setup_tracking
from model.tracking import log_epoch_curves
from model.tracking import log_training_run
from model.training import CURVES
from model.training import train_model

GUIDE_PARAMS = [
    "window_size", "overlap", "reference_fps", "min_annotation_length", "num_classes",
    "num_features", "num_landmarks", "total_sequences", "train_samples", "test_samples",
    "group_classes", "batch_size", "epochs", "learning_rate", "input_shape", "num_lstm_layers",
    "num_dense_layers", "uses_batch_normalization", "uses_bidirectional", "lstm_layer_1_units",
    "lstm_layer_2_units", "dense_layer_1_units", "dropout_1_rate", "dropout_2_rate",
    "dropout_3_rate", "architecture_summary", "val_samples", "seed", "data_fingerprint",
    "split_rule",
]  # fmt: skip
GUIDE_METRICS = [
    "training_time_seconds", "training_time_minutes", "test_accuracy", "test_loss",
    "final_train_accuracy", "final_val_accuracy", "final_train_loss", "final_val_loss",
    "epochs_trained", "macro_avg_precision", "macro_avg_recall", "macro_avg_f1_score",
    "weighted_avg_precision", "weighted_avg_recall", "weighted_avg_f1_score",
    "val_macro_avg_f1_score", "val_weighted_avg_recall", "val_eval_accuracy", "val_eval_loss",
]  # fmt: skip
GUIDE_ARTIFACTS = {
    "model.keras", "preprocessing.json", "training_history.png", "confusion_matrix.png",
    "confusion_matrix.txt", "classification_report.txt", "label_classes.npy",
}  # fmt: skip


@pytest.fixture(scope="module")
def synthetic_data(small_synthetic_dir):
    """Windows of the small synthetic tennis dataset (real pose clips and annotations)."""
    return Dataset.open(small_synthetic_dir).windows(WindowConfig(window_size=30, overlap=10))


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, synthetic_data, tiny_spec):
    """One tiny model trained for 2 epochs and logged into a temporary SQLite store."""
    root = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    uri, experiment_id = setup_tracking(f"sqlite:///{root}/mlflow.db", "model-tests")
    result = train_model(tiny_spec, synthetic_data, seed=5)
    evaluations = {
        split: evaluate(result.model, *synthetic_data.subset(split), synthetic_data.class_names)
        for split in ("val", "test")
    }
    with mlflow.start_run(experiment_id=experiment_id) as run:
        timings = log_training_run(
            result, evaluations, synthetic_data, tiny_spec, seed=5, extra_params={"trial": 3}
        )
    yield MlflowClient(uri).get_run(run.info.run_id), result, evaluations, timings, root
    mlflow.set_tracking_uri(previous)


def test_log_training_run_params_have_guide_names_and_values(logged_run, synthetic_data):
    run, result, _, _, _ = logged_run
    params = run.data.params
    # Every guide / issue parameter is present ...
    assert [name for name in GUIDE_PARAMS if name not in params] == []
    # ... with the values of this run.
    assert params["window_size"] == "30" and params["overlap"] == "10"
    assert params["input_shape"] == "(30, 60)" and params["num_classes"] == "3"
    assert params["num_landmarks"] == "15" and params["num_features"] == "60"
    assert params["architecture_summary"] == "LSTM[8, 4] → Dense[4]"
    assert params["uses_batch_normalization"] == "False" and params["seed"] == "5"
    assert params["train_samples"] == str(len(synthetic_data.split.train))
    assert params["test_samples"] == str(len(synthetic_data.split.test))
    assert params["total_sequences"] == str(len(synthetic_data.y))
    assert params["data_fingerprint"] == synthetic_data.fingerprint and params["trial"] == "3"
    assert params["split_rule"] == synthetic_data.split_rule
    for name, weight in synthetic_data.class_weights.items():
        assert float(params[f"class_weight_{name}"]) == pytest.approx(weight, abs=1e-4)


def test_log_training_run_metrics_have_guide_names_and_values(logged_run, synthetic_data):
    run, result, evaluations, _, _ = logged_run
    metrics = run.data.metrics
    per_class = [
        f"{prefix}{c}_{m}"
        for prefix in ("", "val_")
        for c in synthetic_data.class_names
        for m in ("precision", "recall", "f1_score", "support")
    ]
    # Every guide / issue metric name is present.
    assert [n for n in GUIDE_METRICS + per_class if n not in metrics] == []
    # Values: counts of the training split, best-epoch "final" values, the test evaluation.
    assert metrics["class_fronthand_count"] == synthetic_data.class_counts("train")["fronthand"]
    assert metrics["epochs_trained"] == 2 and metrics["best_epoch"] == result.best_epoch
    assert metrics["final_val_loss"] == pytest.approx(min(result.history["val_loss"]))
    assert metrics["test_accuracy"] == pytest.approx(evaluations["test"].accuracy)
    assert metrics["training_time_minutes"] == pytest.approx(
        metrics["training_time_seconds"] / 60
    )
    assert 0.0 <= metrics["macro_avg_f1_score"] <= 1.0
    assert metrics["val_backhand_support"] == evaluations["val"].support["backhand"]


def test_log_training_run_curves_have_one_point_per_epoch(logged_run):
    run, result, _, _, root = logged_run
    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    for name in CURVES:
        points = client.get_metric_history(run.info.run_id, name)
        # step = epoch (1-based), one value per epoch, no extra evaluation point.
        assert sorted(p.step for p in points) == [1, 2]
        assert [p.value for p in sorted(points, key=lambda p: p.step)] == pytest.approx(
            result.history[name]
        )


def test_log_training_run_artifacts_download_and_model_predicts(
    logged_run, synthetic_data, tmp_path
):
    run, result, evaluations, timings, _ = logged_run
    run_id = run.info.run_id
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path)))
    # Every guide artifact is downloadable and not empty.
    files = {p.name for p in local.iterdir()}
    assert GUIDE_ARTIFACTS <= files
    assert all((local / name).stat().st_size > 0 for name in GUIDE_ARTIFACTS)
    assert np.load(local / "label_classes.npy").tolist() == list(synthetic_data.class_names)
    assert "fronthand" in (local / "classification_report.txt").read_text()
    X_test, _ = synthetic_data.subset("test")
    expected = result.model.predict(X_test, verbose=0)
    # The run files, the runs:/ MLflow model and a registered alias load and predict the same.
    mv = mlflow.register_model(f"runs:/{run_id}/model", "stroke-test")
    MlflowClient().set_registered_model_alias("stroke-test", "champion", mv.version)
    for address in (local, local / "model.keras", f"runs:/{run_id}/model",
                    "models:/stroke-test@champion"):
        model, settings = load_stroke_model(address)
        assert model.predict(X_test, verbose=0) == pytest.approx(expected, abs=1e-5)
        # The preprocessing settings travel with the model.
        assert settings.window == WindowConfig(window_size=30, overlap=10)
        assert settings.class_names == synthetic_data.class_names
        assert settings.features == synthetic_data.features and settings.reference_fps == 30.0
    # The MLflow model has a tensor signature of the window shape.
    info = mlflow.models.get_model_info(f"runs:/{run_id}/model")
    assert info.signature.inputs.inputs[0].shape == (-1, 30, 60)
    assert set(timings) == {"params", "metrics", "curves", "files", "model"}


def test_log_epoch_curves_partial_history_of_pruned_trial(logged_run):
    _, _, _, _, root = logged_run
    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    history = {"loss": [1.0, 0.8, float("nan")], "val_loss": [1.1, 0.9, 0.95]}
    with mlflow.start_run() as run:
        log_epoch_curves(history)
    # Partial curves are logged with step = epoch; a non-finite value is skipped.
    assert [p.step for p in client.get_metric_history(run.info.run_id, "loss")] == [1, 2]
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3


def test_log_training_run_rejects_contradicting_extra_param(
    logged_run, synthetic_data, tiny_spec
):
    _, result, evaluations, _, _ = logged_run
    with mlflow.start_run(), pytest.raises(ConfigError, match="lstm_layer_1_units"):
        # A search parameter must not silently overwrite a guide parameter with another value.
        log_training_run(
            result, evaluations, synthetic_data, tiny_spec, seed=5,
            extra_params={"lstm_layer_1_units": 99},
        )
