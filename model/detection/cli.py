"""The command lines of ``python -m model.detect`` and ``python -m model.evaluate_detection``.

``--model`` takes ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/RUN_ID/PATH`` or a
saved model path (:func:`model.detection.loading.load_model`); both commands share it and the
event rule's flags. User errors print one line to stderr and return 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import mlflow

from data_pipeline.cli_options import add_data_arguments
from data_pipeline.cli_options import labels_from_args
from data_pipeline.cli_options import split_from_args
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from data_pipeline.errors import ProjectError
from model.detection.detect import detect_clip
from model.detection.detect import load_poses
from model.detection.evaluate import DEFAULT_IOU
from model.detection.evaluate import evaluate_clips
from model.detection.evaluate import held_out_clips
from model.detection.evaluate import log_report
from model.detection.events import NEUTRAL
from model.detection.events import EventConfig
from model.detection.loading import DEFAULT_MODEL
from model.detection.loading import load_model
from model.detection.outputs import write_annotated_video
from model.detection.outputs import write_outputs
from model.stores import DEFAULT_EXPERIMENT
from model.stores import DEFAULT_TRACKING_URI
from model.stores import setup_tracking

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``model.detect`` and ``model.evaluate_detection``: model and event rule."""
    defaults = EventConfig()
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/ID/PATH or a saved model path",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help=f"MLflow store (env MLFLOW_TRACKING_URI, else {DEFAULT_TRACKING_URI})",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="minimum stroke score of a stroke frame (None: 0.7 with a neutral class, else 0.8)",
    )
    for flag, default, text in (
        (
            "--merge-gap",
            defaults.merge_gap_s,
            "merge same-class events at most this many seconds apart",
        ),
        ("--min-duration", defaults.min_duration_s, "drop events shorter than this many seconds"),
        ("--max-duration", defaults.max_duration_s, "split events longer than this many seconds"),
    ):
        parser.add_argument(flag, type=float, default=default, help=text)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")


def configure_logging(verbose: bool) -> None:
    """Quiet by default (MLflow's store messages included); ``-v`` logs details."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    logging.getLogger("mlflow").setLevel(level)


def event_config(args: argparse.Namespace) -> EventConfig:
    """The :class:`EventConfig` the event flags describe."""
    return EventConfig(
        confidence=args.confidence,
        merge_gap_s=args.merge_gap,
        min_duration_s=args.min_duration,
        max_duration_s=args.max_duration,
    )


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def detect_parser() -> argparse.ArgumentParser:
    parser = _parser(
        "python -m model.detect",
        "Find the strokes in a new video with a trained model; write strokes.json, "
        "strokes.csv, timeline.png (and annotated.mp4).",
    )
    parser.add_argument("video", type=Path, metavar="VIDEO", help="video file or pose cache .npz")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (None: detections/<video stem>)"
    )
    parser.add_argument(
        "--annotated-video",
        action="store_true",
        help="also write annotated.mp4: the video with its poses and strokes drawn",
    )
    parser.add_argument(
        "--pose-model",
        type=Path,
        default=None,
        help="PoseLandmarker .task file (env POSE_LANDMARKER_MODEL, else downloaded once)",
    )
    parser.add_argument(
        "--handedness",
        choices=("auto", "left", "right"),
        default="auto",
        help="player's racquet hand, used when the model mirrors left-handers",
    )
    add_arguments(parser)
    return parser


def detect_main(argv: Sequence[str] | None = None) -> int:
    """Detect the strokes of one video; user errors print one line to stderr and return 2."""
    args = detect_parser().parse_args(argv)
    configure_logging(args.verbose)
    out = args.out or Path("detections") / args.video.stem
    try:
        config = event_config(args)
        _check_video(args.video, annotated=args.annotated_video)
        loaded = load_model(args.model, tracking_uri=args.tracking_uri)
        clip = load_poses(args.video, out_dir=out, pose_model=args.pose_model)
        detection = detect_clip(
            loaded.model, loaded.preprocessing, clip, events=config, handedness=args.handedness
        )
        write_outputs(out, detection, video=args.video, loaded=loaded)
        if args.annotated_video:
            write_annotated_video(args.video, out / "annotated.mp4", clip, detection)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if detection.note:
        print(f"note: {args.video.name}: {detection.note}", file=sys.stderr)
    counts = ", ".join(f"{name} {n}" for name, n in detection.counts().items())
    print(f"{args.video.name}: {len(detection.events)} strokes ({counts}) -> {out}")
    return 0


def _check_video(video: Path, *, annotated: bool) -> None:
    """Fail before any slow work when VIDEO cannot be used as asked."""
    if not video.is_file():
        raise ConfigError(f"VIDEO {video} does not exist; pass a video file or a pose cache .npz.")
    if annotated and video.suffix.lower() == ".npz":
        raise ConfigError(
            "--annotated-video draws on the video itself, but VIDEO is a pose cache "
            f"({video}); pass the video file instead."
        )


def evaluate_parser() -> argparse.ArgumentParser:
    parser = _parser(
        "python -m model.evaluate_detection",
        "Event-level precision, recall and F1 of stroke detection on held-out clips, "
        "against their annotations; logged to MLflow as its own run.",
    )
    parser.add_argument("--data", type=Path, required=True, help="clip data folder")
    parser.add_argument(
        "--clips", nargs="+", default=None, help="clip stems to evaluate (None: the test split)"
    )
    parser.add_argument(
        "--iou", type=float, default=DEFAULT_IOU, help="minimum temporal IoU of a match"
    )
    parser.add_argument(
        "--experiment", default=DEFAULT_EXPERIMENT, help="MLflow experiment of the evaluation run"
    )
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_arguments(parser)
    return parser


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """Evaluate detection on held-out clips; user errors print one line to stderr, return 2."""
    args = evaluate_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        events = event_config(args)
        loaded = load_model(args.model, tracking_uri=args.tracking_uri)
        class_names = tuple(loaded.preprocessing.class_names)
        labels = LabelConfig(
            neutral_class=NEUTRAL in class_names, drop_serve="serve" not in class_names
        )
        split = split_from_args(args, loaded.preprocessing.split or SplitConfig())
        dataset = Dataset.open(args.data, labels=labels_from_args(args, labels), split=split)
        clips = args.clips or held_out_clips(dataset, loaded.preprocessing)
        report = evaluate_clips(
            loaded.model, loaded.preprocessing, dataset, clips, iou=args.iou, events=events
        )
        setup_tracking(args.tracking_uri, args.experiment)
        run_id = log_report(
            report, model_uri=loaded.uri, model_run_id=loaded.run_id, data_dir=args.data
        )
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    logger.info("evaluation run %s in %s", run_id, mlflow.get_tracking_uri())
    return 0
