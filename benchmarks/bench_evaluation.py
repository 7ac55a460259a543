"""Evaluation of a freshly trained model: eager calls (``model.evaluation``) vs a traced forward pass.

Every complete trial predicts its validation and test windows once. ``evaluate_splits`` calls the
model eagerly; a ``tf.function`` around the forward pass must first be traced for each new model.
This script trains each architecture for one epoch per window size and times both ways on the
trial's validation + test windows (median of 3, in alternation), including the traced pass's
tracing, and records the largest difference between the two passes' probabilities.

    python benchmarks/bench_evaluation.py            # windows 20, 45, 60 x 3 architectures
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).with_name("results") / "bench_evaluation.json"
#: Architectures spanning the default space: V2, a large and a small one.
ARCHITECTURES = {
    "v2": {},
    "bidir_3x": {"lstm_units": (128, 64, 64), "bidirectional": (True, False, False),
                 "dropout": (0.2, 0.2, 0.2, 0.2)},
    "small_1x": {"lstm_units": (32,), "bidirectional": (False,), "dropout": (0.1, 0.1),
                 "dense_units": (16,)},
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[20, 45, 60])
    parser.add_argument("--data", help="data folder (default: data/synthetic)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from data_pipeline import atomic_write_text
    from data_pipeline.config import WindowConfig
    from data_pipeline.dataset import Dataset
    from data_pipeline.synthetic import ensure_default_dataset
    from model.spec import ModelSpec
    from model.training import train_model

    tf.get_logger().setLevel("ERROR")  # the traced pass retraces per model, by design here

    def eager(model: keras.Model, X: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(model(X, training=False))

    def traced(model: keras.Model, X: np.ndarray) -> np.ndarray:
        return tf.function(lambda x: model(x, training=False))(X).numpy()

    dataset = Dataset.open(args.data or ensure_default_dataset())
    rows = []
    for window in args.windows:
        data = dataset.windows(WindowConfig(window_size=window, overlap=window // 3))
        X = np.concatenate([data.subset("val")[0], data.subset("test")[0]])
        for name, changes in ARCHITECTURES.items():
            model = train_model(
                ModelSpec.baseline().replace(epochs=1, **changes), data, seed=0
            ).model
            times: dict[str, list[float]] = {"eager_s": [], "traced_s": []}
            for _ in range(3):
                for key, predict in (("eager_s", eager), ("traced_s", traced)):
                    start = time.perf_counter()
                    probabilities = predict(model, X)
                    times[key].append(time.perf_counter() - start)
                    if key == "eager_s":
                        reference = probabilities
            row = {"window": window, "architecture": name, "windows_predicted": len(X),
                   **{k: statistics.median(v) for k, v in times.items()},
                   "max_abs_difference": float(np.abs(reference - probabilities).max())}  # fmt: skip
            row["ratio_traced_eager"] = row["traced_s"] / row["eager_s"]
            rows.append(row)
            print(
                f"window {window:3d} {name:<9} eager {row['eager_s']:.3f} s  traced "
                f"{row['traced_s']:.3f} s  ratio {row['ratio_traced_eager']:.2f}",
                flush=True,
            )
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cpu_count": os.cpu_count(), "rows": rows}  # fmt: skip
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
