"""``python -m model.train``: train one model and record it as one top-level MLflow run."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from data_pipeline import native_logs
from data_pipeline.cli_options import add_data_arguments
from data_pipeline.cli_options import labels_from_args
from data_pipeline.cli_options import split_from_args
from data_pipeline.errors import ProjectError
from data_pipeline.errors import spelled_as
from model.config import DEFAULT_CONFIG
from model.config import WINDOW_SETTING_NAMES
from model.config import TrainConfig
from model.config import load_train_config
from model.stores import DEFAULT_TRACKING_URI
from model.stores import resolve_tracking_uri

logger = logging.getLogger(__name__)
DEFAULT_DATA = Path("data/synthetic")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Train one stroke classifier (defaults: the V2 baseline) and log "
        "parameters, metrics, curves, plots and the model to MLflow.",
    )
    parser.add_argument(
        "--data", type=Path, help=f"data folder (default: {DEFAULT_DATA}, generated on first use)"
    )
    parser.add_argument(
        "--config", type=Path, help=f"TOML file overriding the defaults of {DEFAULT_CONFIG.name}"
    )
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: 100)")
    parser.add_argument("--seed", type=int, help="training seed (default: 0)")
    parser.add_argument(
        "--experiment", help="MLflow experiment (default: tennis_stroke_recognition)"
    )
    parser.add_argument(
        "--tracking-uri",
        help=f"MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else {DEFAULT_TRACKING_URI})",
    )
    add_data_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="per-epoch Keras output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Train and log one run; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    native_logs.set_verbose(args.verbose)
    logging.getLogger("mlflow").setLevel(level)  # e.g. "Creating initial MLflow database tables"
    try:
        config = load_train_config(
            args.config, data=args.data, seed=args.seed, epochs=args.epochs,
            experiment=args.experiment,
        )  # fmt: skip
        config = dataclasses.replace(
            config, split=split_from_args(args, config.split),
            labels=labels_from_args(args, config.labels),
        )  # fmt: skip
        tracking_uri = resolve_tracking_uri(args.tracking_uri)  # fail fast, before any import
        summary = run_training(config, tracking_uri=tracking_uri, verbose=args.verbose)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def run_training(config: TrainConfig, *, tracking_uri: str | None, verbose: bool = False) -> str:
    """Open the data, train, evaluate on validation and test, log one run; return a summary."""
    import mlflow
    from tqdm.keras import TqdmCallback

    from data_pipeline.dataset import Dataset
    from model.evaluation import evaluate_held_out
    from model.stores import setup_tracking
    from model.tracking import log_training_run
    from model.tracking import warm_up_model_logging
    from model.training import train_model

    data_dir = config.data
    if data_dir == DEFAULT_DATA:
        from data_pipeline.synthetic import ensure_default_dataset

        data_dir = ensure_default_dataset(data_dir)
    dataset = Dataset.open(data_dir, labels=config.labels, split=config.split)
    with spelled_as(WINDOW_SETTING_NAMES):
        data = dataset.windows(config.window, config.features)
    uri, experiment_id = setup_tracking(tracking_uri, config.experiment)
    progress = [] if verbose else [TqdmCallback(verbose=0, disable=None, leave=False)]
    warm_up_model_logging()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_dict(config.as_dict(), "train_config.json")
        result = train_model(
            config.model, data, seed=config.seed, callbacks=progress, verbose=2 if verbose else 0
        )
        evaluations = evaluate_held_out(result.model, data)
        log_training_run(
            result, evaluations, data, config.model, seed=config.seed,
            extra_params={"data_path": str(data_dir)},
        )  # fmt: skip
    test, val = evaluations["test"], evaluations["val"]
    return (
        f"run {run.info.run_id} ({run.info.run_name}) in experiment {config.experiment!r}, "
        f"store {uri}\n"
        f"  {result.epochs_trained} epochs (best {result.best_epoch}) in "
        f"{result.training_time_seconds:.1f} s; val macro F1 "
        f"{val.averages['macro']['f1_score']:.3f}, test accuracy {test.accuracy:.3f}, "
        f"test macro F1 {test.averages['macro']['f1_score']:.3f}\n"
        f"  model: runs:/{run.info.run_id}/model\n"
        f"  browse: python -m search.ui --tracking-uri {uri}  "
        f"(or: mlflow ui --backend-store-uri {uri})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
