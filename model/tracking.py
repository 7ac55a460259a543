"""The MLflow record of one training run, under the names listed in docs/tracking.md.

Everything goes into the *active* run (``mlflow.start_run``): parameters and metrics in batches,
per-epoch curves with ``step`` = epoch (1-based), files as artifacts at the run's root
(``model.keras`` + ``preprocessing.json``, ``training_history.png``, the test split's
``confusion_matrix.png|txt`` and ``classification_report.txt``, the validation split's
``val_confusion_matrix.txt`` and ``val_classification_report.txt``, ``label_classes.npy``,
``per_group_metrics.json`` (macro F1, accuracy and windows per held-out group of each split),
and, from ``python -m model.train``, ``train_config.json``) and an MLflow
Keras model named ``model`` (``runs:/<run_id>/model``) carrying the preprocessing settings.

Metric naming rules:
- ``final_train_*`` / ``final_val_*`` are the curves' values at the restored best epoch
  (``best_epoch``), i.e. they describe the logged model; ``epochs_trained`` counts epochs run.
  ``final_train_loss`` is Keras' running training loss (class-weighted, dropout active).
- The test split's evaluation uses the plain names (``test_accuracy``, ``macro_avg_f1_score``,
  ...); the validation split's the same names prefixed ``val_``, except accuracy and loss, which
  are ``val_eval_accuracy`` / ``val_eval_loss`` because ``val_accuracy`` / ``val_loss`` are the
  per-epoch curves.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric
from mlflow.entities import Param

from data_pipeline import atomic_write
from data_pipeline import atomic_write_text
from data_pipeline.errors import ConfigError
from data_pipeline.features import feature_names_for
from data_pipeline.windowed import WindowedData
from model import plots
from model.artifacts import KERAS_FILE
from model.artifacts import PREPROCESSING_FILE
from model.artifacts import PreprocessingSettings
from model.artifacts import write_preprocessing
from model.describe import describe
from model.evaluation import Evaluation
from model.spec import ModelSpec
from model.training import CURVES
from model.training import TrainResult

MODEL_NAME = "model"
PER_GROUP_FILE = "per_group_metrics.json"
_SPEC_PARAMS = (
    "optimizer",
    "early_stopping_patience",
    "reduce_lr_patience",
    "reduce_lr_factor",
    "mask_missing",
    "unroll",
)
_FEATURE_PARAMS = (
    "representation",
    "velocities",
    "keep_visibility",
    "canonical_handedness",
    "max_gap_frames",
    "handedness_inference",
    "mirror_augmentation",
)


def log_training_run(
    result: TrainResult,
    evaluations: Mapping[str, Evaluation],
    data: WindowedData,
    spec: ModelSpec,
    *,
    seed: int,
    extra_params: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Log everything of one trained model into the active MLflow run.

    Args:
        result: the training outcome.
        evaluations: split name -> evaluation; ``test`` is logged under the plain names,
            ``val`` prefixed ``val_`` (any other split prefixed ``<name>_``).
        data: the data the model was trained on.
        spec: the model's spec.
        seed: the training seed.
        extra_params: more parameters (e.g. the search's sampled values). A name that clashes
            with a derived parameter must carry the same value.

    Returns:
        Seconds spent per part: ``model``, ``params``, ``metrics``, ``curves``, ``files``.

    Raises:
        ConfigError: no active run, or an ``extra_params`` value contradicting a derived one.
    """
    run = mlflow.active_run()
    if run is None:
        raise ConfigError(
            "log_training_run needs an active MLflow run; call it inside mlflow.start_run()."
        )
    run_id = run.info.run_id
    client = mlflow.MlflowClient()
    timings: dict[str, float] = {}
    settings = PreprocessingSettings.from_data(data)
    # The model goes first: MLflow 3 links every metric already in the run to a newly logged
    # model, one history query per metric (about 1 s for a full record).
    start = time.perf_counter()
    log_keras_model(result.model, settings)
    timings["model"] = _lap(start)
    start = time.perf_counter()
    params = training_params(result, data, spec, seed=seed, extra_params=extra_params)
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
    timings["params"] = _lap(start)
    start = time.perf_counter()
    metrics = training_metrics(result, evaluations, data)
    now = _now_ms()
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
    timings["metrics"] = _lap(start)
    start = time.perf_counter()
    log_epoch_curves(result.history, run_id=run_id)
    timings["curves"] = _lap(start)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stroke-run-") as tmp:
        _write_files(Path(tmp), result, evaluations, settings)
        mlflow.log_artifacts(tmp)
    timings["files"] = _lap(start)
    return timings


def training_params(
    result: TrainResult,
    data: WindowedData,
    spec: ModelSpec,
    *,
    seed: int,
    extra_params: Mapping[str, Any] | None = None,
) -> dict[str, object]:
    """The run's parameters: dataset and training configuration, architecture, class weights."""
    window = data.window
    params: dict[str, object] = {
        "window_size": window.window_size,
        "overlap": window.overlap,
        "reference_fps": window.reference_fps,
        "min_annotation_length": window.min_annotation_length,
        "min_coverage": window.min_coverage,
        "num_classes": data.n_classes,
        "num_features": data.input_shape[1],
        "num_landmarks": _num_landmarks(data),
        "total_sequences": len(data.y),
        "train_samples": len(result.train_index),
        "val_samples": len(result.val_index),
        "test_samples": len(data.split.test),
        "group_classes": data.labels.group_classes,
        "class_names": ",".join(data.class_names),
        "landmark_subset": ",".join(map(str, data.features.landmark_subset)),
        "batch_size": spec.batch_size,
        "epochs": spec.epochs,
        "learning_rate": spec.learning_rate,
        "input_shape": str(data.input_shape),
        "seed": seed,
        "data_fingerprint": data.fingerprint,
        "split_rule": data.split_rule,
    }
    params.update({name: getattr(spec, name) for name in _SPEC_PARAMS})
    params.update({name: getattr(data.features, name) for name in _FEATURE_PARAMS})
    params.update(describe(result.model))
    params.update({f"class_weight_{c}": round(w, 4) for c, w in result.class_weights.items()})
    for name, value in (extra_params or {}).items():
        if name in params and str(params[name]) != str(value):
            raise ConfigError(
                f"extra parameter {name}={value!r} contradicts the derived {name}="
                f"{params[name]!r}; log it under another name (e.g. search_{name})."
            )
        params[name] = value
    return params


def training_metrics(
    result: TrainResult, evaluations: Mapping[str, Evaluation], data: WindowedData
) -> dict[str, float]:
    """The run's final metrics (no curves): time, best-epoch values, counts, evaluations."""
    metrics = {
        "training_time_seconds": result.training_time_seconds,
        "training_time_minutes": result.training_time_seconds / 60.0,
        "final_train_accuracy": result.final("accuracy"),
        "final_val_accuracy": result.final("val_accuracy"),
        "final_train_loss": result.final("loss"),
        "final_val_loss": result.final("val_loss"),
        "epochs_trained": result.epochs_trained,
        "best_epoch": result.best_epoch,
    }
    counts = np.bincount(data.y[result.train_index], minlength=data.n_classes)
    metrics.update({f"class_{c}_count": int(n) for c, n in zip(data.class_names, counts)})
    for split, evaluation in evaluations.items():
        metrics.update(evaluation.as_metrics("" if split == "test" else f"{split}_"))
    return metrics


def log_epoch_curves(history: Mapping[str, list[float]], *, run_id: str | None = None) -> None:
    """Log ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate`` per epoch.

    One batch, ``step`` = epoch (1-based). Works for partial histories (a pruned trial's
    ``HistoryRecorder.history``). Non-finite values (a diverged loss) are skipped.

    Args:
        history: curve name -> per-epoch values.
        run_id: target run. Defaults to the active run.
    """
    run_id = run_id or _active_run_id()
    now = _now_ms()
    metrics = [
        Metric(name, float(value), now, epoch)
        for name in CURVES
        for epoch, value in enumerate(history.get(name, ()), start=1)
        if np.isfinite(value)
    ]
    if metrics:
        mlflow.MlflowClient().log_batch(run_id, metrics=metrics)


def log_keras_model(model: Any, settings: PreprocessingSettings) -> None:
    """Log ``model`` as the MLflow Keras model ``model`` of the active run, with a tensor
    signature and ``settings`` in its metadata (key ``preprocessing``)."""
    import mlflow.keras
    from mlflow.models import ModelSignature
    from mlflow.types import Schema
    from mlflow.types import TensorSpec

    shape = (-1, settings.window_size, len(settings.feature_names))
    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), shape)]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, len(settings.class_names)))]),
    )
    mlflow.keras.log_model(
        model,
        name=MODEL_NAME,
        signature=signature,
        metadata={"preprocessing": settings.to_dict()},
        # Explicit requirements: inferring them loads the model in a subprocess (seconds).
        pip_requirements=mlflow.keras.get_default_pip_requirements(),
    )


def warm_up_model_logging() -> threading.Thread:
    """Do MLflow's once-per-process work for the first logged model in a background thread.

    The first ``mlflow.keras.log_model`` of a process checks the model's pinned requirements
    against the installed packages, and to map modules to distributions MLflow reads the file
    list of every installed distribution once: 0.7 s of the first record's 1.3 s on 2 cores
    (a later record costs 0.5 s; ``benchmarks/bench_tracking.py``). Started before training,
    that scan overlaps ``fit`` instead of adding to the record. Failures are ignored (the
    record repeats the check). Returns the started daemon thread.
    """

    def check_requirements() -> None:
        with contextlib.suppress(Exception):
            import mlflow.keras
            from mlflow.utils.requirements_utils import warn_dependency_requirement_mismatches

            warn_dependency_requirement_mismatches(mlflow.keras.get_default_pip_requirements())

    thread = threading.Thread(target=check_requirements, name="mlflow-warm-up", daemon=True)
    thread.start()
    return thread


def _write_files(
    folder: Path,
    result: TrainResult,
    evaluations: Mapping[str, Evaluation],
    settings: PreprocessingSettings,
) -> None:
    """The run's files: model + settings, plots, confusion matrices, reports, class order.

    ``folder`` is a private temporary folder, uploaded as a whole afterwards.
    """
    result.model.save(folder / KERAS_FILE)
    write_preprocessing(settings, folder / PREPROCESSING_FILE)
    plots.plot_training_history(result.history, result.best_epoch, folder / "training_history.png")
    with atomic_write(folder / "label_classes.npy") as handle:
        np.save(handle, np.array(settings.class_names))
    per_group = {split: e.per_group for split, e in evaluations.items() if e.per_group}
    if per_group:
        atomic_write_text(folder / PER_GROUP_FILE, json.dumps(per_group, indent=2) + "\n")
    for split, evaluation in evaluations.items():
        stem = "" if split == "test" else f"{split}_"
        header = (
            f"# {split} split; rows: actual, columns: predicted; "
            f"classes: {', '.join(evaluation.class_names)}\n"
        )
        matrix = "\n".join(" ".join(str(int(v)) for v in row) for row in evaluation.confusion)
        atomic_write_text(folder / f"{stem}confusion_matrix.txt", header + matrix + "\n")
        atomic_write_text(folder / f"{stem}classification_report.txt", evaluation.report)
        if split == "test":  # one heatmap for test; other splits get the text matrix
            plots.plot_confusion_matrix(
                evaluation.confusion,
                evaluation.class_names,
                folder / "confusion_matrix.png",
                title="Confusion matrix (test split)",
            )


def _num_landmarks(data: WindowedData) -> int:
    """Pose landmarks behind the features; 0 for generic sequences (e.g. sensor data)."""
    if tuple(data.feature_names) == feature_names_for(data.features):
        return len(data.features.landmark_subset)
    return 0


def _active_run_id() -> str:
    run = mlflow.active_run()
    if run is None:
        raise ConfigError("no active MLflow run; pass run_id or call inside mlflow.start_run().")
    return run.info.run_id


def _now_ms() -> int:
    return int(time.time() * 1000)


def _lap(start: float) -> float:
    return time.perf_counter() - start
