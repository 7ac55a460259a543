"""Generalisation to new players: feature representation, handedness, single split vs ``--cv 5``.

Everything is scored by test macro-F1 on held-out *groups* that no arm ever trains or selects on:
on the embedded synthetic dataset the test groups are whole players (``group_by="player"``, new
players as in real use); on RacketSports (sensor sequences, groups = samples) the grouped split.

Fixed configurations per arm instead of a search (2 shared cores): one small V2-like model
(LSTM 32 -> 16 -> Dense 16, dropout .3/.3/.2, Adam 3e-3, batch 32, at most ``--epochs`` = 15
epochs, early stopping patience 4, LR decay patience 2), V2 windows (45 frames, overlap 15).
Per seed (training seed, and fold seed for CV):

1. single split, all four feature arms (raw / body_scaled, each with and without handedness
   canonicalisation): train on the train groups, early-stop on the val groups, score val and test;
   "selected by val" is the arm each seed's validation macro-F1 picks;
2. RacketSports: the same single split, then ``--cv K`` (``search.cross_validate``: K fold
   models, retrain on all non-test groups for the folds' median best epoch, test once);
3. synthetic ``--cv K`` on the arm with the best mean single-split validation score (CV for all
   four arms would cost 4 x (K + 1) fits per seed, beyond the time budget of a shared machine).

Results are written after each part, so an interrupted run leaves the finished parts.

Usage::

    python benchmarks/bench_generalisation.py --seeds 0 1 2 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data_pipeline import atomic_write_text
from data_pipeline.config import FeatureConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from model.evaluation import evaluate
from model.spec import ModelSpec
from model.training import train_model
from search import cross_validate

#: A smaller, faster-stopping V2 (same layer pattern, bidirectional off and dropout .3/.3/.2).
SPEC = ModelSpec.baseline().replace(
    lstm_units=(32, 16),
    dense_units=(16,),
    learning_rate=3e-3,
    epochs=15,
    early_stopping_patience=4,
    reduce_lr_patience=2,
)
#: feature arm -> settings (the pose datasets' arms).
POSE_ARMS = {
    "raw": FeatureConfig(),
    "raw+canonical": FeatureConfig(canonical_handedness=True),
    "body_scaled": FeatureConfig(representation="body_scaled"),
    "body_scaled+canonical": FeatureConfig(
        representation="body_scaled", canonical_handedness=True
    ),
}


def macro_f1(evaluation: Any) -> float:
    return float(evaluation.averages["macro"]["f1_score"])


def single_split(
    dataset: Dataset,
    window: WindowConfig,
    arms: dict[str, FeatureConfig],
    *,
    seeds: Sequence[int],
    spec: ModelSpec,
) -> list[dict[str, Any]]:
    """Per seed and arm: train on the train groups, early-stop on val, score val and test."""
    rows = []
    for seed in seeds:
        for arm, features in arms.items():
            data = dataset.windows(window, features)
            start = time.perf_counter()
            result = train_model(spec, data, seed=seed)
            val = evaluate(result.model, *data.subset("val"), data.class_names)
            test = evaluate(result.model, *data.subset("test"), data.class_names)
            rows.append(_row(seed, arm, "single", macro_f1(val), macro_f1(test), start,
                             epochs=result.best_epoch))  # fmt: skip
    return rows


def cross_validated(
    dataset: Dataset,
    window: WindowConfig,
    arm: str,
    features: FeatureConfig,
    *,
    seeds: Sequence[int],
    spec: ModelSpec,
    k: int,
) -> list[dict[str, Any]]:
    """Per seed (training and fold seed): ``search.cross_validate`` on one arm."""
    rows = []
    data = dataset.windows(window, features)
    for seed in seeds:
        start = time.perf_counter()
        folds = dataset.group_folds(k, seed, data)
        cv = cross_validate(data, folds, spec, seed=seed, objective="val_macro_avg_f1_score")
        rows.append(_row(seed, arm, f"cv{k}", cv.value, macro_f1(cv.test), start,
                         epochs=cv.final_epochs,
                         fold_std=cv.metrics["cv_std_val_macro_avg_f1_score"]))  # fmt: skip
    return rows


def _row(seed: int, arm: str, protocol: str, val: float, test: float, start: float,
         **extra: float) -> dict[str, Any]:  # fmt: skip
    row = {"seed": seed, "arm": arm, "protocol": protocol, "val": val, "test": test,
           "seconds": time.perf_counter() - start, **extra}  # fmt: skip
    print(f"seed {seed} {arm:24s} {protocol:7s} val {val:.3f} test {test:.3f} "
          f"{row['seconds']:.0f}s", flush=True)  # fmt: skip
    return row


def best_arm(rows: list[dict[str, Any]]) -> str:
    """The arm with the best mean validation macro-F1 over seeds (selection never sees test)."""
    arms = sorted({r["arm"] for r in rows})
    return max(arms, key=lambda a: statistics.mean(r["val"] for r in rows if r["arm"] == a))


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± population std over seeds of test macro-F1 per (arm, protocol), plus the arm that
    single-split validation selects per seed."""
    table: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        table.setdefault((row["arm"], row["protocol"]), []).append(row["test"])
    singles = [r for r in rows if r["protocol"] == "single"]
    if len({r["arm"] for r in singles}) > 1:
        for seed in sorted({r["seed"] for r in singles}):
            pool = [r for r in singles if r["seed"] == seed]
            table.setdefault(("selected by val (per seed)", "single"), []).append(
                max(pool, key=lambda r: r["val"])["test"]
            )
    out = []
    for (arm, protocol), values in table.items():
        val = [r["val"] for r in rows if r["arm"] == arm and r["protocol"] == protocol]
        out.append({"arm": arm, "protocol": protocol, "n": len(values),
                    "test_macro_f1_mean": statistics.mean(values),
                    "test_macro_f1_std": statistics.pstdev(values), "values": values,
                    "val_mean": statistics.mean(val) if val else None})  # fmt: skip
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# bench_generalisation: test macro-F1 on held-out groups (mean ± std over seeds)",
        "",
        f"Machine: {results['machine']}. Seeds {results['seeds']}, model {results['model']}.",
        "",
    ]
    for name, part in results["datasets"].items():
        lines += [f"## {name}: {part['description']}", "",
                  "| arm | protocol | test macro-F1 (mean ± std) | val score (mean) |",
                  "|---|---|---|---|"]  # fmt: skip
        for row in part["summary"]:
            val = "-" if row["val_mean"] is None else f"{row['val_mean']:.3f}"
            lines.append(f"| {row['arm']} | {row['protocol']} | {row['test_macro_f1_mean']:.3f} ± "
                         f"{row['test_macro_f1_std']:.3f} (n={row['n']}) | {val} |")  # fmt: skip
        lines += ["", f"Wall time: {part['seconds']:.0f} s", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=SPEC.epochs)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--synthetic", type=Path, default=None, help="default: generated (seed 0)")
    parser.add_argument("--racketsports", type=Path, default=None,
                        help="imported RacketSports folder (import-keypoints --format ts)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    spec = SPEC.replace(epochs=args.epochs)
    results: dict[str, Any] = {
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs shared by several engineers",
        "seeds": args.seeds, "model": "LSTM 32-16, Dense 16, V2 dropout, Adam 3e-3",
        "spec": {k: str(v) for k, v in vars(spec).items()}, "cv": args.cv, "datasets": {},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)

    def save(name: str, dataset: Dataset, description: str, rows: list, start: float) -> None:
        results["datasets"][name] = {
            "description": description, "fingerprint": dataset.fingerprint, "rows": rows,
            "summary": summarise(rows), "seconds": time.perf_counter() - start,
        }  # fmt: skip
        atomic_write_text(args.out / "bench_generalisation.json", json.dumps(results, indent=2))
        atomic_write_text(args.out / "bench_generalisation.md", markdown(results))

    with tempfile.TemporaryDirectory(prefix="bench_generalisation_") as tmp:
        synthetic = args.synthetic
        if synthetic is None:
            from data_pipeline.synthetic import generate_dataset

            synthetic = generate_dataset(Path(tmp) / "synthetic", seed=0)
        cache = Path(tmp) / "cache"
        start = time.perf_counter()
        dataset = Dataset.open(synthetic, split=SplitConfig(group_by="player"), cache_dir=cache)
        description = ("32 clips / 11 players; test = held-out players, folds = players; "
                       f"cv{args.cv} on the arm single-split validation selects")  # fmt: skip
        rows = single_split(dataset, WindowConfig(), POSE_ARMS, seeds=args.seeds, spec=spec)
        save("synthetic", dataset, description, rows, start)
        arm = best_arm(rows)
        if args.racketsports is not None:
            rs_start = time.perf_counter()
            rs = Dataset.open(args.racketsports, cache_dir=cache)
            rs_window, raw = WindowConfig(window_size=30, overlap=0), FeatureConfig()
            rs_rows = single_split(rs, rs_window, {"raw": raw}, seeds=args.seeds, spec=spec)
            rs_rows += cross_validated(rs, rs_window, "raw", raw, seeds=args.seeds, spec=spec,
                                       k=args.cv)  # fmt: skip
            save("racketsports", rs, "303 sensor sequences, groups = samples; no pose, so "
                 "representation and canonicalisation do not apply", rs_rows, rs_start)  # fmt: skip
        rows += cross_validated(dataset, WindowConfig(), arm, POSE_ARMS[arm], seeds=args.seeds,
                                spec=spec, k=args.cv)  # fmt: skip
        save("synthetic", dataset, description, rows, start)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
