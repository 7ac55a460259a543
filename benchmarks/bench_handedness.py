"""Handedness on held-out players: inference per clip vs per player vs given vs mirror augmentation.

The embedded synthetic data (generator with left/right swaps on back views, every fourth player
left-handed) is generated for each ``--data-seeds`` seed. Two things are measured per dataset:

1. **Inference** with the handedness removed from ``groups.toml``: clips whose inferred hand is
   right, wrong or unknown, per clip (``handedness_inference="clip"``) and per player
   (``"player"``, abstaining below ``PLAYER_MIN_CONFIDENCE``).
2. **Test macro-F1 on held-out players**, left-handers included (test: players p01 (left) and
   p02, validation: p05 (left) and p06, training: the other seven, one of them left-handed), for
   one fixed small V2-like model on body_scaled features and each arm:

   - ``none``: no mirroring, no augmentation;
   - ``clip`` / ``player``: left-handed clips mirrored into right-handed form, handedness
     inferred per clip / per player (unknown: not mirrored);
   - ``given``: mirrored with the true handedness from ``groups.toml``;
   - ``augment``: no handedness at all; every training window also trains mirrored;
   - ``player+augment`` / ``given+augment``: both.

Usage::

    python benchmarks/bench_handedness.py --data-seeds 0 1 2 --train-seeds 0 1 --clips 32 \
        --out benchmarks/results/bench_handedness.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data_pipeline.config import FeatureConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.groups import load_groups
from data_pipeline.synthetic.generate import generate_dataset
from model.evaluation import evaluate
from model.spec import ModelSpec
from model.training import train_model

#: A small, quick V2 (same layer pattern): ranks the arms, not a tuned model.
SPEC = ModelSpec.baseline().replace(
    lstm_units=(32, 16), dense_units=(16,), learning_rate=3e-3, epochs=20,
    early_stopping_patience=5, reduce_lr_patience=3,
)  # fmt: skip
WINDOW = WindowConfig(window_size=45, overlap=15)
SPLIT = SplitConfig(group_by="player", test_groups=("p01", "p02"), val_groups=("p05", "p06"))
BASE = FeatureConfig(representation="body_scaled")
#: arm -> (features, whether groups.toml keeps the true handedness)
ARMS: dict[str, tuple[FeatureConfig, bool]] = {
    "none": (BASE, False),
    "clip": (FeatureConfig(representation="body_scaled", canonical_handedness=True,
                           handedness_inference="clip"), False),
    "player": (FeatureConfig(representation="body_scaled", canonical_handedness=True,
                             handedness_inference="player"), False),
    "given": (FeatureConfig(representation="body_scaled", canonical_handedness=True), True),
    "augment": (FeatureConfig(representation="body_scaled", mirror_augmentation=True), False),
    "player+augment": (FeatureConfig(representation="body_scaled", canonical_handedness=True,
                                     mirror_augmentation=True), False),
    "given+augment": (FeatureConfig(representation="body_scaled", canonical_handedness=True,
                                    mirror_augmentation=True), True),
}  # fmt: skip


def datasets(root: Path, seed: int, n_clips: int) -> tuple[Path, Path]:
    """``(with true handedness, without)`` copies of the synthetic dataset of ``seed``."""
    given = generate_dataset(root / f"synth{seed}", seed=seed, n_clips=n_clips)
    stripped = root / f"synth{seed}_nohand"
    shutil.copytree(given, stripped, dirs_exist_ok=True)
    text = (given / "groups.toml").read_text()
    (stripped / "groups.toml").write_text(re.sub(r'handedness = "\w+"\n', "", text))
    return given, stripped


def inference_counts(given: Path, stripped: Path) -> dict[str, dict[str, int]]:
    """Per scope: clips inferred right, wrong and unknown against the true handedness."""
    truth = load_groups(given / "groups.toml")
    counts: dict[str, dict[str, int]] = {}
    for scope in ("clip", "player"):
        dataset = Dataset.open(stripped)
        tally = {"right": 0, "wrong": 0, "unknown": 0}
        for clip_id in dataset.clip_ids:
            hand = dataset.handedness(clip_id, scope)
            true = truth.get(clip_id, "handedness")
            tally["unknown" if hand == "unknown" else "right" if hand == true else "wrong"] += 1
        counts[scope] = tally
    return counts


def arm_scores(given: Path, stripped: Path, train_seeds: Sequence[int]) -> list[dict[str, Any]]:
    """Val and test macro-F1 of every arm and training seed."""
    rows = []
    for arm, (features, keeps_hand) in ARMS.items():
        data = Dataset.open(given if keeps_hand else stripped, split=SPLIT).windows(
            WINDOW, features
        )
        for seed in train_seeds:
            start = time.perf_counter()
            result = train_model(SPEC, data, seed=seed)
            scores = {
                name: float(
                    evaluate(result.model, *data.subset(name), data.class_names)
                    .averages["macro"]["f1_score"]
                )
                for name in ("val", "test")
            }
            rows.append({"arm": arm, "train_seed": seed, **scores,
                         "train_windows": len(data.split.train),
                         "seconds": round(time.perf_counter() - start, 1)})  # fmt: skip
            print(f"  {arm:<8} seed {seed}: val {scores['val']:.3f} test {scores['test']:.3f}",
                  flush=True)  # fmt: skip
    return rows


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of test macro-F1 per arm, and the mean paired difference
    against ``none`` (same dataset and training seed)."""
    table: dict[str, dict[str, float]] = {}
    by_key = {(r["data_seed"], r["train_seed"], r["arm"]): r["test"] for r in runs}
    for arm in ARMS:
        tests = [r["test"] for r in runs if r["arm"] == arm]
        deltas = [v - by_key[(d, t, "none")] for (d, t, a), v in by_key.items() if a == arm]
        table[arm] = {
            "test_mean": round(statistics.mean(tests), 3),
            "test_std": round(statistics.stdev(tests), 3) if len(tests) > 1 else 0.0,
            "minus_none_mean": round(statistics.mean(deltas), 3),
            "n": len(tests),
        }
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--clips", type=int, default=32,
                        help="clips per dataset (the committed result: 32, i.e. 16 players)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_handedness.json"))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    inference, runs = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.data_seeds:
            given, stripped = datasets(Path(tmp), seed, args.clips)
            inference[str(seed)] = inference_counts(given, stripped)
            print(f"data seed {seed}: inference {inference[str(seed)]}", flush=True)
            runs += [{"data_seed": seed, **row} for row in
                     arm_scores(given, stripped, args.train_seeds)]  # fmt: skip
    result = {
        "benchmark": "bench_handedness", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"), "seconds": round(time.perf_counter() - began),
        "split": SPLIT.rule, "clips": args.clips, "spec": "LSTM[32,16] Dense[16], body_scaled, window 45/15",
        "inference": inference, "summary": summary(runs), "runs": runs,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
