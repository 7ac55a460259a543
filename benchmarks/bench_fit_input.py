"""Epoch time of ``fit`` fed by Keras' array adapter against ``model.training.fit_batches``.

``train_model`` used to pass NumPy arrays and ``class_weight`` to ``fit`` (Keras' adapter
builds an index-shuffling pipeline and a new iterator per epoch); it now passes the
``tf.data`` pipelines of ``fit_batches``. For each model below, on the default synthetic
windows (45 frames, overlap 15), both inputs train the same model with the same seed for
``--epochs`` epochs in a fresh process each (TensorFlow imported and a warm-up fit done
first), alternating the order per repeat. Reported per model: the median epoch time after
the first (which holds the tracing), the first epoch, and the ratio new / old.

    python benchmarks/bench_fit_input.py                      # 3 models x 6 repeats, ~9 min
    python benchmarks/bench_fit_input.py --repeats 5 --epochs 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).with_name("results") / "bench_fit_input.json"
INPUTS = ("keras_arrays", "fit_batches")
#: Model name -> ModelSpec changes from the V2 baseline (small, baseline, large).
MODELS = {
    "small (1x32, batch 16)": {"lstm_units": (32,), "bidirectional": (False,),
                               "dropout": (0.2, 0.2), "batch_size": 16},
    "V2 baseline (64, 32)": {},
    "large (3 bidirectional, BatchNorm)": {"lstm_units": (128, 64, 32),
                                           "bidirectional": (True, True, True),
                                           "dropout": (0.3, 0.3, 0.3, 0.2), "batch_norm": True},
}  # fmt: skip


def _child(model_name: str, fit_input: str, epochs: int, seed: int) -> None:
    """Train one model with one input path; print its epoch times as one JSON line."""
    import keras
    import numpy as np

    from data_pipeline.config import WindowConfig
    from data_pipeline.dataset import Dataset
    from data_pipeline.synthetic import ensure_default_dataset
    from model.build import build_model
    from model.spec import ModelSpec
    from model.training import fit_batches
    from model.training import reset_keras_state

    warm_up = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    warm_up.compile(loss="mse")
    warm_up.fit(np.zeros((8, 4)), np.zeros((8, 2)), verbose=0)  # TF's first fit: not measured
    data = Dataset.open(ensure_default_dataset()).windows(WindowConfig())
    spec = ModelSpec.baseline().replace(epochs=epochs, **MODELS[model_name])
    train, val = data.split.train, data.split.val
    reset_keras_state()
    keras.utils.set_random_seed(seed)
    model = build_model(spec, data.input_shape, data.n_classes)
    times: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.begin = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            times.append(time.perf_counter() - self.begin)

    common = {"epochs": epochs, "callbacks": [EpochClock()], "verbose": 0}
    if fit_input == "keras_arrays":
        model.fit(data.X[train], data.y[train], validation_data=(data.X[val], data.y[val]),
                  batch_size=spec.batch_size, class_weight=data.class_weight_by_index(),
                  **common)  # fmt: skip
    else:
        batches, val_batches = fit_batches(
            data, train, val, batch_size=spec.batch_size, class_weights=data.class_weights,
            seed=seed,
        )  # fmt: skip
        model.fit(batches, validation_data=val_batches, shuffle=False, **common)
    print(json.dumps({"epoch_s": times}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12, help="epochs per fit (default: 12)")
    parser.add_argument("--repeats", type=int, default=6, help="fits per model and input")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # MODEL INPUT EPOCHS SEED
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]), int(args.child[3]))
        return 0

    from data_pipeline import atomic_write_text

    runs: dict[str, dict[str, list[list[float]]]] = {m: {i: [] for i in INPUTS} for m in MODELS}
    for repeat in range(args.repeats):
        for model_name in MODELS:
            order = INPUTS if repeat % 2 == 0 else INPUTS[::-1]
            for fit_input in order:
                command = [sys.executable, __file__, "--child", model_name, fit_input,
                           str(args.epochs), str(repeat)]  # fmt: skip
                environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
                output = subprocess.run(
                    command, check=True, capture_output=True, text=True, env=environment
                )
                line = [x for x in output.stdout.splitlines() if x.startswith("{")][-1]
                runs[model_name][fit_input].append(json.loads(line)["epoch_s"])
    summary = {}
    print(f"{'model':36} {'input':13} {'epoch s (median, after 1st)':>28} {'1st epoch s':>12}")
    for model_name, by_input in runs.items():
        row = {}
        for fit_input, fits in by_input.items():
            later = statistics.median(t for fit in fits for t in fit[1:])
            first = statistics.median(fit[0] for fit in fits)
            row[fit_input] = {"epoch_s": later, "first_epoch_s": first}
            print(f"{model_name:36} {fit_input:13} {later:28.3f} {first:12.2f}")
        row["epoch_ratio"] = row["fit_batches"]["epoch_s"] / row["keras_arrays"]["epoch_s"]
        # fits of one repeat ran back to back: their ratio is free of the machine's drift
        row["paired_epoch_ratios"] = [
            statistics.median(new[1:]) / statistics.median(old[1:])
            for old, new in zip(by_input["keras_arrays"], by_input["fit_batches"])
        ]
        row["first_epoch_ratio"] = (
            row["fit_batches"]["first_epoch_s"] / row["keras_arrays"]["first_epoch_s"]
        )
        paired = ", ".join(f"{r:.2f}" for r in row["paired_epoch_ratios"])
        print(f"{model_name:36} ratio fit_batches / keras_arrays: epoch {row['epoch_ratio']:.2f} "
              f"(per repeat {paired}), first epoch {row['first_epoch_ratio']:.2f}")  # fmt: skip
        summary[model_name] = row
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu_count": os.cpu_count(),
        "epochs": args.epochs, "repeats": args.repeats, "summary": summary, "runs": runs,
    }  # fmt: skip
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
