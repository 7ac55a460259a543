"""How much of the difference between two trials' scores is training noise?

A search ranks configurations by one training each. This script trains a few configurations of the
default search space several times, each time with another training seed (weight initialisation,
dropout, shuffling), and reports per configuration the mean and standard deviation of validation
and test macro-F1. The within-configuration spread is the noise floor below which no searcher can
tell two configurations apart from one training each ("beyond seed noise").

Configurations: the V2 baseline (trial 0 of every study) and the first draws of a seeded
``RandomSampler`` over ``search/default_space.toml`` (random configurations, as a study's
start-up trials are).

    python -m benchmarks.analysis.seed_noise                    # V2 + 3 draws x 4 training seeds
    python -m benchmarks.analysis.seed_noise --draws 5 --training-seeds 6 --data DIR
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
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).with_name("results") / "seed_noise"


def _configurations(dataset: Any, draws: int, seed: int) -> list[tuple[str, Any]]:
    """(name, ``TrialParams``): the V2 baseline, then ``draws`` random draws of the space."""
    import optuna

    from search import DEFAULT_SPACE
    from search import SearchSpace
    from search import baseline_values
    from search import suggest

    window_range = dataset.admissible_window_range()
    space = SearchSpace.from_toml(DEFAULT_SPACE).clip_window(*window_range)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial(baseline_values(space, window_range))
    configurations = []
    for i in range(draws + 1):
        trial = study.ask()
        configurations.append(("V2 baseline" if i == 0 else f"draw {i}", suggest(trial, space)))
    return configurations


def _scores(dataset: Any, params: Any, training_seed: int) -> dict[str, float]:
    """Train the configuration ``params`` (``TrialParams``) once; validation and test macro-F1."""
    from model.evaluation import evaluate_splits
    from model.training import train_model

    data = dataset.windows(params.window_config(), params.feature_config())
    result = train_model(params.model_spec(), data, seed=training_seed)
    evaluations = evaluate_splits(
        result.model, {split: data.subset(split) for split in ("val", "test")}, data.class_names
    )
    return {split: e.averages["macro"]["f1_score"] for split, e in evaluations.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=3, help="random configurations (default 3)")
    parser.add_argument("--training-seeds", type=int, default=4, help="trainings each (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    parser.add_argument("--data", type=Path, help="data folder (default: data/synthetic)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results stem (.json, .md)")
    args = parser.parse_args(argv)

    from benchmarks.search_bench.report import mean_spread

    from data_pipeline import atomic_write_text
    from data_pipeline.dataset import Dataset
    from data_pipeline.synthetic import ensure_default_dataset
    from search import quiet_libraries

    quiet_libraries(verbose=False)
    dataset = Dataset.open(args.data or ensure_default_dataset())
    rows = []
    for name, params in _configurations(dataset, args.draws, args.seed):
        runs = [_scores(dataset, params, s) for s in range(args.training_seeds)]
        val, test = [r["val"] for r in runs], [r["test"] for r in runs]
        rows.append({"configuration": name, "params": params.sampled, "val": val, "test": test})
        print(f"{name:<12} val {mean_spread(val)}  test {mean_spread(test)}", flush=True)
    pooled_val_sd = statistics.mean(statistics.stdev(r["val"]) for r in rows)
    command = "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])])
    header = (
        f"# Training-seed noise of validation macro-F1\n\n`{command}` — "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; "
        f"{args.training_seeds} trainings (seeds 0–{args.training_seeds - 1}) per configuration, "
        "the space's training budget (early stopping on val_loss).\n"
    )
    table = ["| configuration | val macro-F1 (mean ± sd) | test macro-F1 (mean ± sd) |",
             "|---|---|---|"] + [
        f"| {r['configuration']} | {mean_spread(r['val'])} | {mean_spread(r['test'])} |" for r in rows
    ]  # fmt: skip
    footer = f"\nMean within-configuration sd of val macro-F1: {pooled_val_sd:.3f}.\n"
    atomic_write_text(
        args.out.with_suffix(".md"), header + "\n" + "\n".join(table) + "\n" + footer
    )
    atomic_write_text(
        args.out.with_suffix(".json"),
        json.dumps(
            {"command": command, "rows": rows, "mean_within_sd_val": pooled_val_sd}, indent=2
        )
        + "\n",
    )
    print(footer.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
