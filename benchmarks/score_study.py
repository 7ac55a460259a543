"""Score a stored study's complete trials on an independent true test: did it crown well?

For a study already run (the README's quick start, say), every complete trial's model is scored
on a synthetic true test of new players and cameras (``bench_selection.TRUE_TEST_SEED``), and the
crowned trial's true-test percentile in its study is printed beside the Spearman correlation
between the selection score and the true-test macro-F1 (``search_bench/selection.py``).

    python benchmarks/score_study.py --study tennis_stroke_recognition \
        --storage sqlite:///studies/optuna.db --tracking-uri sqlite:///mlruns/mlflow.db \
        --out benchmarks/results/score_study_quickstart.json --wall-s SECONDS

``--wall-s`` (the run's measured wall seconds) adds the wall-time ratio of the run to the same
study without its confirmation phase.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_selection import TRUE_TEST_SEED
from bench_selection import service_record
from search_bench import selection

from data_pipeline import atomic_write_text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="tennis_stroke_recognition")
    parser.add_argument("--storage", default="sqlite:///studies/optuna.db")
    parser.add_argument("--tracking-uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--true-clips", type=int, default=120, help="clips of the true test")
    parser.add_argument("--true-dir", type=Path, default=Path("data/true-test"))
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    parser.add_argument("--wall-s", type=float, help="the run's wall seconds, for the wall ratio")
    args = parser.parse_args(argv)
    from data_pipeline.synthetic import generate_dataset

    if not (args.true_dir / "dataset.json").exists():
        generate_dataset(args.true_dir, seed=TRUE_TEST_SEED, n_clips=args.true_clips)
    record = service_record(args.study, args.storage, args.tracking_uri, args.true_dir)
    timing = {"wall_s": args.wall_s, "confirmation_s": record["confirmation_s"]}
    trials = record["trials"]
    truths = [t["true_f1"] for t in trials]
    champion = next(t for t in trials if t["number"] == record["champion"])
    best = selection.best_observed(trials)
    observed = next(t for t in trials if t["number"] == best)
    summary = {
        "study": args.study, "complete_trials": len(trials), "champion": record["champion"],
        "champion_true_f1": champion["true_f1"],
        "champion_percentile": selection.percentile(champion["true_f1"], truths),
        "best_observed": best, "best_observed_true_f1": observed["true_f1"],
        "best_observed_percentile": selection.percentile(observed["true_f1"], truths),
        "spearman_selection_true": selection.spearman(
            [t["selection_score"] for t in trials], truths),
        "median_true_f1": sorted(truths)[len(truths) // 2],
        **timing,
        "wall_ratio": selection.wall_ratio(timing) if args.wall_s else None,
    }  # fmt: skip
    atomic_write_text(args.out, json.dumps({**summary, "trials": trials}, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
