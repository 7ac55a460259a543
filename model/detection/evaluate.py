"""Event-level quality of stroke detection (``python -m model.evaluate_detection --data DIR``).

Detection (:mod:`model.detection.detect`) runs on every held-out clip of a data folder (its test
split by default, or ``--clips``) and its events are matched with the clips' Label Studio
annotations in the video's own frames (rule and scores: :mod:`model.detection.matching`). An
event matches a stroke of the same class when their temporal IoU is at least ``--iou``, default
0.3: a detected event spans about a model window (typically 1.5 s) while a stroke lasts about
0.7 s, so even a well-placed event has an IoU of only about 0.4-0.6 with its stroke.

The test split is recomputed from the data folder with the model's window and feature settings,
its label settings (``neutral`` class, serve kept or dropped) read from its class list, and the
split stored with the model (grouping key, seed, named groups; the split flags override it, and
models saved without one use the defaults); ``--clips`` names the clips instead. Scores are
reported overall and per group (player, video ...).

The result is logged to MLflow as its own run (``detection-eval``) with param ``model_run_id``
and tag ``stroke_search.model_run_id`` naming the model's run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import keras
import mlflow
from tqdm import tqdm

from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from data_pipeline.pose_cache import load_pose_clip
from model.artifacts import PreprocessingSettings
from model.detection.detect import detect_clip
from model.detection.events import NEUTRAL
from model.detection.events import EventConfig
from model.detection.matching import ClassCounts
from model.detection.matching import DetectionReport
from model.detection.matching import score_clip
from model.detection.outputs import event_records

logger = logging.getLogger(__name__)

DEFAULT_IOU = 0.3


def evaluate_clips(
    model: keras.Model,
    preprocessing: PreprocessingSettings,
    dataset: Dataset,
    clip_ids: Sequence[str],
    *,
    iou: float = DEFAULT_IOU,
    events: EventConfig = EventConfig(),
) -> DetectionReport:
    """Detect strokes on ``clip_ids`` of ``dataset`` and score them against their annotations.

    Args:
        model: the trained classifier.
        preprocessing: its stored preprocessing settings.
        dataset: the opened data folder holding the clips' poses and annotations.
        clip_ids: clips to evaluate (e.g. :func:`held_out_clips`).
        iou: minimum temporal IoU of a match. Defaults to 0.3.
        events: event rule settings. Defaults to ``EventConfig()``.
    """
    if not 0.0 < iou <= 1.0:
        raise ConfigError(f"--iou must be in (0, 1], but got iou={iou}.")
    unknown = sorted(set(clip_ids) - set(dataset.clip_ids))
    if unknown:
        raise ConfigError(
            f"--clips names clips that {dataset.path} does not hold: {unknown}; it holds "
            f"{list(dataset.clip_ids)[:10]}{' ...' if len(dataset.clip_ids) > 10 else ''}."
        )
    stroke_classes = [name for name in preprocessing.class_names if name != NEUTRAL]
    per_class = {name: ClassCounts() for name in stroke_classes}
    settings = events.resolved(tuple(preprocessing.class_names))
    report = DetectionReport(iou_threshold=iou, per_class=per_class, settings=settings)
    for clip_id in tqdm(clip_ids, desc="detection", unit="clip", disable=None):
        info = dataset.clips[clip_id]
        if info.annotation is None:
            logger.warning("clip %s has no annotation; left out of the evaluation", clip_id)
            continue
        # The data folder knows each clip's handedness; only a mirroring model needs it.
        features = preprocessing.features
        hand = (
            dataset.handedness(clip_id, features.handedness_inference)
            if features.canonical_handedness else "unknown"
        )
        clip = load_pose_clip(info.path)
        detection = detect_clip(model, preprocessing, clip, events=events, handedness=hand)
        records = event_records(detection)
        detected = [(e["class"], e["start_frame"], e["end_frame"]) for e in records]
        annotated = [(s.cls, s.start, s.end) for s in info.annotation.segments]
        for target in (report, report.group(dataset.group_of(clip_id))):
            score_clip(target, detected, annotated)
            target.clips.append(clip_id)
    return report


def held_out_clips(dataset: Dataset, preprocessing: PreprocessingSettings) -> list[str]:
    """The clips of ``dataset``'s test split, windowed with the model's own settings.

    The split is recomputed (it is grouped and stratified on the windows' labels), so it is the
    training run's test split when the dataset was opened with the run's label and split settings.
    """
    data = dataset.windows(preprocessing.window, preprocessing.features)
    test_groups = set(data.groups[data.split.test].tolist())
    return [c for c in dataset.clip_ids if dataset.group_of(c) in test_groups]


def log_report(
    report: DetectionReport, *, model_uri: str, model_run_id: str | None, data_dir: Path
) -> str:
    """Log ``report`` to the active MLflow experiment as its own run; return the run id.

    The run is named ``detection-eval``; param ``model_run_id`` and tag
    ``stroke_search.model_run_id`` link it to the model's training run.
    """
    tags = {"stroke_search.kind": "detection_evaluation"}
    if model_run_id:
        tags["stroke_search.model_run_id"] = model_run_id
    with mlflow.start_run(run_name="detection-eval", tags=tags) as run:
        mlflow.log_params(
            {
                "model_uri": model_uri,
                "model_run_id": model_run_id or "",
                "iou_threshold": report.iou_threshold,
                "data": str(data_dir),
                "num_clips": len(report.clips),
                "clips": ",".join(report.clips)[:6000],
                **{f"event_{name}": value for name, value in report.settings.items()},
            }
        )
        mlflow.log_metrics(report.as_metrics())
        mlflow.log_dict(report.to_dict(), "detection_report.json")
    return run.info.run_id
