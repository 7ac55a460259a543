"""The Keras session reset before every model: full collection each time vs. collect + freeze.

``train_model`` resets Keras state before it builds a model (``model.training.reset_keras_state``).
The former reset was ``keras.backend.clear_session()``, whose full ``gc.collect()`` walks every
object the process still tracks, including what earlier models left behind for good, so it got
slower with every model. The current reset collects once and freezes the survivors. This script
trains the same short V2 models N times in two fresh processes, one per reset, and prints the
reset's time and the process RSS after each model, side by side, with the ratio of the resets'
mean times over the last half of the models.

    python benchmarks/bench_session_reset.py            # 16 models of 2 epochs, default data
    python benchmarks/bench_session_reset.py --models 30 --data DIR
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).with_name("results") / "bench_session_reset.json"
RESETS = ("full_collect", "collect_and_freeze")


def _full_collect_reset() -> None:
    """The former reset: module objects frozen once, then a full collection per model."""
    import keras

    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
    keras.backend.clear_session()


def _child(reset: str, models: int, data_dir: str | None) -> None:
    """Train ``models`` models with ``reset``; print one JSON line per model."""
    from bench_tracking import rss_mib

    import model.training as training
    from data_pipeline.config import WindowConfig
    from data_pipeline.dataset import Dataset
    from data_pipeline.synthetic import ensure_default_dataset
    from model.spec import ModelSpec

    chosen = training.reset_keras_state if reset == "collect_and_freeze" else _full_collect_reset
    times: list[float] = []

    def timed_reset() -> None:
        start = time.perf_counter()
        chosen()
        times.append(time.perf_counter() - start)

    training.reset_keras_state = timed_reset
    data = Dataset.open(data_dir or ensure_default_dataset()).windows(WindowConfig())
    spec = ModelSpec.baseline().replace(epochs=2)
    for i in range(models):
        training.train_model(spec, data, seed=i)
        print(json.dumps({"model": i + 1, "reset_s": times[-1], "rss_mib": rss_mib()}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16, help="models per reset (default: 16)")
    parser.add_argument("--data", help="data folder (default: data/synthetic)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--child", choices=RESETS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.models, args.data)
        return 0

    from data_pipeline import atomic_write_text

    runs = {}
    for reset in RESETS:
        command = [sys.executable, __file__, "--child", reset, "--models", str(args.models)]
        output = subprocess.run(
            command + (["--data", args.data] if args.data else []),
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        runs[reset] = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    print(f"{'model':>5} " + " ".join(f"{r + ' reset s':>26} {'RSS MiB':>8}" for r in RESETS))
    for rows in zip(*runs.values()):
        cells = " ".join(f"{row['reset_s']:26.3f} {row['rss_mib']:8.0f}" for row in rows)
        print(f"{rows[0]['model']:5d} {cells}")
    late = {
        r: statistics.mean(row["reset_s"] for row in runs[r][args.models // 2 :]) for r in RESETS
    }
    ratio = late["collect_and_freeze"] / late["full_collect"]
    growth = {r: runs[r][-1]["rss_mib"] - runs[r][0]["rss_mib"] for r in RESETS}
    print(f"mean reset time over models {args.models // 2 + 1}-{args.models}: "
          f"{late['full_collect']:.3f} s full collect, {late['collect_and_freeze']:.3f} s collect "
          f"+ freeze (ratio {ratio:.2f}); RSS growth first to last model: "
          + ", ".join(f"{r} {g:+.0f} MiB" for r, g in growth.items()))  # fmt: skip
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu_count": os.cpu_count(),
        "models": args.models, "late_mean_reset_s": late, "ratio": ratio,
        "rss_growth_mib": growth, "runs": runs,
    }  # fmt: skip
    atomic_write_text(args.out, json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
