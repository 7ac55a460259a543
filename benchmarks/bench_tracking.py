"""What the MLflow record of one run costs, next to the training it records; and memory over runs.

Part 1 trains the same model on the same data twice in one process, once without and once with
the full record (``model.tracking.log_training_run`` into a fresh SQLite store), and reports the
record's time as a share of the training time (target: < 3 %) with the time of each part
(params, metrics, curves, files, model). The first record in a process also pays MLflow's
imports and the creation of the SQLite schema ("cold"); a search pays that once, so part 2's
later records show the "warm" cost.

Part 2 repeats short train + evaluate + record runs and prints the process RSS after each, to
check that memory does not grow from run to run (``keras.backend.clear_session`` in
``train_model``).

    python benchmarks/bench_tracking.py               # default data, V2, up to 100 epochs
    python benchmarks/bench_tracking.py --epochs 30 --memory-runs 5 --data DIR
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data_pipeline import atomic_write_text
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.synthetic import ensure_default_dataset
from model.evaluation import evaluate_splits
from model.spec import ModelSpec
from model.training import train_model

RESULTS = Path(__file__).with_name("results") / "bench_tracking.json"


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def train_and_maybe_record(data, spec: ModelSpec, *, seed: int, record: bool) -> dict[str, float]:
    """Train + evaluate, and with ``record`` log everything into a new run; return timings."""
    import mlflow

    from model.tracking import log_training_run
    from model.tracking import warm_up_model_logging

    if record:  # as model.train and search.run do: MLflow's one-time scan overlaps training
        warm_up_model_logging()
    result = train_model(spec, data, seed=seed)
    start = time.perf_counter()
    evaluations = evaluate_splits(
        result.model, {split: data.subset(split) for split in ("val", "test")}, data.class_names
    )
    timings = {
        "training_s": result.training_time_seconds,
        "epochs": result.epochs_trained,
        "evaluate_s": time.perf_counter() - start,
    }
    if record:
        start = time.perf_counter()
        with mlflow.start_run():
            parts = log_training_run(result, evaluations, data, spec, seed=seed)
        timings["record_s"] = time.perf_counter() - start
        timings.update({f"record_{k}_s": v for k, v in parts.items()})
        timings["record_share"] = timings["record_s"] / timings["training_s"]
    timings["rss_mib"] = rss_mib()
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data folder (default: data/synthetic)")
    parser.add_argument("--epochs", type=int, default=100, help="max epochs (default: 100)")
    parser.add_argument("--memory-runs", type=int, default=5, help="part 2 runs (default: 5)")
    parser.add_argument("--memory-epochs", type=int, default=3, help="epochs per part 2 run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    from model.stores import setup_tracking

    data_dir = args.data or ensure_default_dataset()
    data = Dataset.open(data_dir).windows(WindowConfig())
    spec = ModelSpec.baseline().replace(epochs=args.epochs)
    print(f"data {data_dir}: {len(data.split.train)} train / {len(data.split.val)} val / "
          f"{len(data.split.test)} test windows of {data.input_shape}; model V2, "
          f"up to {args.epochs} epochs; cpu count {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        setup_tracking(f"sqlite:///{tmp}/mlflow.db", "bench")
        plain = train_and_maybe_record(data, spec, seed=args.seed, record=False)
        print(f"without record: {plain}", flush=True)
        recorded = train_and_maybe_record(data, spec, seed=args.seed, record=True)
        print(f"with record (cold): {recorded}", flush=True)
        small = spec.replace(epochs=args.memory_epochs)
        memory = []
        for i in range(args.memory_runs):
            memory.append(train_and_maybe_record(data, small, seed=args.seed + i, record=True))
            print(f"memory run {i + 1}: rss {memory[-1]['rss_mib']:.0f} MiB, "
                  f"record {memory[-1]['record_s']:.2f} s", flush=True)
    warm = {
        key: statistics.median(run[key] for run in memory)
        for key in memory[0] if key.startswith("record_") and key != "record_share"
    } if memory else {}
    rss = [run["rss_mib"] for run in memory]
    summary = {
        "cpu_count": os.cpu_count(),
        "data": str(data_dir),
        "windows": {"train": len(data.split.train), "val": len(data.split.val),
                    "test": len(data.split.test), "shape": list(data.input_shape)},
        "without_record": plain,
        "with_record_cold": recorded,
        "training_time_ratio_with_vs_without": recorded["training_s"] / plain["training_s"],
        "warm_record_median_s": warm,
        "warm_record_share_of_full_training": (
            warm.get("record_s", float("nan")) / recorded["training_s"]
        ),
        "memory_runs": memory,
        "rss_growth_mib_first_to_last": rss[-1] - rss[0] if rss else None,
        "rss_growth_mib_second_to_last": rss[-1] - rss[1] if len(rss) > 1 else None,
    }
    atomic_write_text(args.out, json.dumps(summary, indent=2) + "\n")
    print(f"record share of training time: cold {recorded['record_share']:.2%}, warm "
          f"{summary['warm_record_share_of_full_training']:.2%}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
