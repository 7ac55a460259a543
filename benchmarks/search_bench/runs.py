"""Run order and store set-up shared by the benchmarks that run whole searches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


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
