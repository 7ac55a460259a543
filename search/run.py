"""``python -m search.run``: hyperparameter search with every trial tracked in MLflow.

--n-trials N means the study ends with N finished (complete + pruned) trials in total: running the
same command again after a crash, Ctrl-C or --timeout resumes the study and finishes the job
instead of starting N new trials. Failed trials do not count; trials a killed process left
RUNNING are failed on the next start and their parameters tried once more.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from data_pipeline.cli_options import add_data_arguments
from data_pipeline.cli_options import split_from_args
from data_pipeline.errors import ProjectError
from data_pipeline.errors import spelled_as
from search._config import DEFAULT_DATA
from search._config import OBJECTIVES
from search._config import PRUNERS
from search._config import SAMPLERS
from search._config import SPACE_SETTING_NAMES
from search._config import SearchConfig
from search._config import add_store_arguments
from search._config import resolve_stores
from search._worker_flags import add_arguments as add_worker_arguments


def build_parser() -> argparse.ArgumentParser:
    defaults = SearchConfig()
    parser = argparse.ArgumentParser(
        prog="python -m search.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--n-trials",
        type=int,
        default=defaults.n_trials,
        help="finished trials the study ends with, counting earlier runs (default: %(default)s)",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="data folder (default: %(default)s, generated on first use)",
    )
    parser.add_argument(
        "--space",
        type=Path,
        default=None,
        help="search space TOML (default: search/default_space.toml; with --sampler grid: "
        "search/grid_space.toml)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs per trial (default: the space's epochs, 60 in the default space)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds after which no new trial starts (default: none)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="sampler seed; trial n trains with seed+n (default: %(default)s)",
    )
    parser.add_argument(
        "--objective",
        choices=tuple(OBJECTIVES),
        default=defaults.objective,
        help="validation metric to optimise (default: %(default)s)",
    )
    parser.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default=defaults.sampler,
        help="tpe (seeded, multivariate), random, or grid (the hand-written tennis grid, "
        "search/grid_space.toml) (default: %(default)s)",
    )
    parser.add_argument(
        "--pruner",
        choices=PRUNERS,
        default=defaults.pruner,
        help="pruning on per-epoch val_loss (default: %(default)s)",
    )
    parser.add_argument(
        "--n-startup-trials",
        type=int,
        default=defaults.n_startup_trials,
        help="finished trials before TPE and the median or percentile pruner act "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--n-warmup-steps",
        type=int,
        default=defaults.n_warmup_steps,
        help="epochs never pruned (median, percentile pruner; first rung of successive halving) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--percentile",
        type=float,
        default=defaults.percentile,
        help="--pruner percentile: a trial goes on while it is within the best PERCENTILE %% "
        "of the complete trials at the same epoch (default: %(default)s: the worst quarter "
        "is pruned)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=None,
        help="prune only after this many epochs without val_loss improvement (PatientPruner) "
        "(default: off)",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=defaults.max_failures,
        help="stop after this many failed trials in a row (default: %(default)s)",
    )
    parser.add_argument(
        "--cv",
        type=int,
        default=None,
        help="grouped K-fold objective: mean validation score over K folds of the non-test "
        "groups, then a retrain on all of them (default: single train/val split)",
    )
    parser.add_argument(
        "--confirm-top",
        type=int,
        default=defaults.confirm_top,
        help="after the trials, train the best K trials again before crowning the champion "
        "by their mean (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=defaults.repeats,
        help="extra trainings per confirmed trial, each with a fresh seed and validated on "
        "another part of the training players; 0 crowns the best trial as it is "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--force-resume",
        action="store_true",
        help="resume a study although its objective, space, data or sampler changed",
    )
    add_data_arguments(parser)
    add_worker_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="per-epoch detail and library logs"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """Flags > environment variables > defaults, validated."""
    storage, tracking_uri = resolve_stores(args)
    return SearchConfig(
        study=args.study,
        experiment=args.experiment,
        storage=storage,
        tracking_uri=tracking_uri,
        data=args.data,
        space=args.space,
        n_trials=args.n_trials,
        timeout=args.timeout,
        epochs=args.epochs,
        seed=args.seed,
        sampler=args.sampler,
        pruner=args.pruner,
        n_startup_trials=args.n_startup_trials,
        n_warmup_steps=args.n_warmup_steps,
        percentile=args.percentile,
        patience=args.patience,
        objective=args.objective,
        max_failures=args.max_failures,
        cv=args.cv,
        verbose=args.verbose,
        trials_per_process=args.trials_per_process,
        split=split_from_args(args),
        confirm_top=args.confirm_top,
        repeats=args.repeats,
        labels_file=args.labels,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    # imported after parsing: --help and usage errors answer without loading TensorFlow
    from search._champion import champion_uri
    from search._console import exit_code
    from search._console import quiet_libraries
    from search._console import raise_terminated
    from search._progress import StudyFailed
    from search._remote import check_tracking
    from search._runner import confirm_and_crown
    from search._runner import finish_study
    from search._runner import prepare_study
    from search._runner import run_study
    from search._workers import run_parallel

    quiet_libraries(args.verbose)
    session = None
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        with spelled_as(SPACE_SETTING_NAMES):
            config = config_from_args(args)
            check_tracking(config.tracking_uri)  # before any data, study or training work
            session = prepare_study(config, force=args.force_resume)
            if args.workers > 1 or config.trials_per_process is not None:
                result = run_parallel(config, session, args.workers)
            else:
                result = run_study(config, session=session)
            crowning = confirm_and_crown(config, session)
            plots = finish_study(session)
    except StudyFailed as exc:
        if session is not None:
            finish_study(session, status="FAILED")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        if session is not None:
            session.tracker.client.set_terminated(session.tracker.parent_run_id, status="KILLED")
        print(
            "interrupted: the running trial was marked FAIL and will be retried; run the same "
            "command again to resume.",
            file=sys.stderr,
        )
        return exit_code(exc)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    best = (
        f"best {config.objective}={result.best_value:.4f} (trial {result.best_number})"
        if result.best_value is not None
        else "no complete trial yet"
    )
    print(
        f"study {config.study!r}: {result.n_complete} complete, {result.n_pruned} pruned, "
        f"{result.n_failed} failed; {best}; plots {plots.html}; report "
        f"{plots.html.parent.parent / 'report.md'}; browse with python -m search.ui"
    )
    if crowning is not None:
        uri = champion_uri(config.experiment)
        print(f"{crowning.describe(config.objective)}; load it as {uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
