"""Run order and store set-up shared by the benchmarks that run whole searches."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATASETS = ("synthetic", "racketsports")


def benchmark_parser(
    prog: str, description: str | None, *, quick_help: str, datasets_flag: str
) -> argparse.ArgumentParser:
    """The flags every whole-search benchmark has: ``--quick``, the datasets to run (RacketSports
    read from ``--shared``)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(datasets_flag, nargs="+", choices=DATASETS, default=["synthetic"])
    parser.add_argument("--shared", type=Path, default=Path("../shared"), help="for racketsports")
    return parser


def rewrite_report(path: Path, write: Callable[[dict[str, Any], Path], str]) -> int:
    """``--report-only``: rewrite a benchmark's report from its result JSON and print it."""
    print(write(json.loads(path.read_text()), path.with_suffix("")))
    return 0


def mlflow_template(root: Path) -> Path:
    """An empty MLflow SQLite store: every run starts with a store that exists, as a user's does.

    Creating MLflow's schema takes seconds (dozens of migrations); a user pays it once, not per
    search, so the benchmark pays it once too, before any clock starts.
    """
    from mlflow import MlflowClient

    path = root / "template" / "mlflow.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def schedule(
    datasets: Sequence[str], seeds: Sequence[int], contenders: Sequence[str]
) -> list[tuple[str, int, str]]:
    """Dataset by dataset, seed-major, the contender order rotated by one per seed, so that load
    from other jobs on a shared machine hits every contender alike."""
    order = []
    for dataset in datasets:
        for i, seed in enumerate(seeds):
            shift = i % len(contenders)
            order += [(dataset, seed, c) for c in [*contenders[shift:], *contenders[:shift]]]
    return order
