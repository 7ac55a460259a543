"""Trials per hour: one process on all cores vs one 1-thread process vs N 1-thread workers.

Every set-up runs the real ``python -m search.run`` on the same data with a search space whose
only free parameter is the learning rate, so every trial trains the same model for the same
number of epochs (no pruning): differences come from how the cores are used, not from what was
sampled. Throughput is measured from the trials' own start and end times in the study, so
process start-up (TensorFlow import, data loading) is left out. Usage::

    python benchmarks/bench_parallel.py --trials 6 --epochs 3 --out benchmarks/results

Set-ups (``cores`` = ``os.cpu_count()``):
  one_process_all_cores   --workers 1, TensorFlow's default thread pools (all cores)
  one_process_one_thread  --workers 1 with TensorFlow limited to 1 thread
  workers_N               --workers N, each worker limited to max(1, cores // N) threads
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import optuna

from data_pipeline import atomic_write_text
from data_pipeline.synthetic import generate_dataset

SPACE = """
epochs = {epochs}
optimizer = "adam"
window_size = 45
overlap_fraction = 0.3333
num_lstm_layers = 2
lstm_layer_units = 64
uses_bidirectional = false
uses_batch_normalization = false
dropout_rate = 0.3
num_dense_layers = 1
dense_layer_units = 32
batch_size = 32

[learning_rate]
type = "float"
low = 1e-4
high = 1e-2
log = true
"""
ONE_THREAD = (
    "import sys; from search import limit_tf_threads; limit_tf_threads(1); "
    "from search.run import main; raise SystemExit(main(sys.argv[1:]))"
)


def run_setup(name: str, folder: Path, data: Path, n_trials: int, epochs: int) -> dict[str, object]:
    """Run one set-up in ``folder``; return trials per hour and what it ran."""
    folder.mkdir()
    (folder / "space.toml").write_text(SPACE.format(epochs=epochs))
    args = [
        "--study", name, "--data", str(data), "--space", "space.toml", "--n-trials",
        str(n_trials), "--sampler", "random", "--pruner", "none",
        "--storage", "sqlite:///studies/optuna.db", "--tracking-uri", "sqlite:///mlruns/mlflow.db",
    ]  # fmt: skip
    if name == "one_process_one_thread":
        command = [sys.executable, "-c", ONE_THREAD, *args]
    else:
        workers = name.removeprefix("workers_") if name.startswith("workers_") else "1"
        command = [sys.executable, "-m", "search.run", *args, "--workers", workers]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/studies/optuna.db")
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    seconds = (end - start).total_seconds()
    mean_trial = sum(t.duration.total_seconds() for t in trials) / len(trials)
    return {
        "setup": name,
        "trials": len(trials),
        "trial_phase_seconds": round(seconds, 1),
        "mean_trial_seconds": round(mean_trial, 1),
        "trials_per_hour": round(3600 * len(trials) / seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="trials per set-up (default 6)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial (default 3)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="default: 2")
    parser.add_argument("--out", type=Path, default=None, help="write results JSON here")
    args = parser.parse_args(argv)
    setups = ["one_process_all_cores", "one_process_one_thread"]
    setups += [f"workers_{n}" for n in args.workers]
    with tempfile.TemporaryDirectory() as tmp:
        data = generate_dataset(Path(tmp) / "data", seed=7, n_clips=12)
        rows = []
        for name in setups:
            row = run_setup(name, Path(tmp) / name, data, args.trials, args.epochs)
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = float(rows[0]["trials_per_hour"])  # type: ignore[arg-type]
    for row in rows:
        row["ratio_to_one_process_all_cores"] = round(float(row["trials_per_hour"]) / base, 2)  # type: ignore[arg-type]
    print(json.dumps({r["setup"]: r["ratio_to_one_process_all_cores"] for r in rows}))
    if args.out:
        text = json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=2) + "\n"
        atomic_write_text(args.out / "parallel.json", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
