"""How good were the trials the pruner stopped? Each pruned trial of a study, trained to the end.

Every pruned trial is trained again with its own parameters and its own training seed (``seed +
number``: the same weights, batches and epochs as in the search up to the point where it was
pruned), without a pruner, to the study's epoch cap with the usual early stopping. Its validation
macro-F1 is then ranked against the study's complete trials: a pruned trial that would have beaten
the median complete trial was probably pruned wrongly (a slow starter), one that would have beaten
the best cost the search its best. The search's data, space, seed and epoch cap are read from the
study (the settings ``search.run`` records on it).

    python -m search.run --n-trials 1000 --timeout 900 --study prune-check   # a search to look at
    python -m benchmarks.analysis.pruned_trials --study prune-check --last 12
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

from search import DEFAULT_STORAGE  # noqa: E402  (after the TensorFlow log level)

RESULTS = Path(__file__).with_name("results") / "pruned_trials.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="Optuna storage URL")
    parser.add_argument("--last", type=int, default=None, help="only the last N pruned trials")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    import optuna
    from benchmarks.search_bench.contenders import macro_f1

    from data_pipeline import atomic_write_text
    from model.training import train_model
    from search import SearchConfig
    from search import load_space
    from search import open_dataset
    from search import suggest

    try:
        study = optuna.load_study(study_name=args.study, storage=args.storage)
    except KeyError:
        parser.error(f"no study {args.study!r} in {args.storage}; pass --study and --storage")
    if study.user_attrs.get("objective") != "val_macro_avg_f1_score":
        parser.error(f"study {args.study!r} does not maximise val_macro_avg_f1_score")
    if "last_settings" not in study.user_attrs:
        parser.error(f"study {args.study!r} was not run by search.run (no recorded settings)")
    settings = study.user_attrs["last_settings"]
    config = SearchConfig(
        data=Path(settings["data"]),
        space=Path(settings["space"]) if settings["space"] else None,
        sampler=settings["sampler"],
        seed=int(settings["seed"]),
        epochs=int(settings["epochs"]) if settings["epochs"] else None,
    )
    dataset = open_dataset(config.data)
    space = load_space(config).clip_window(*dataset.admissible_window_range())
    trials = study.get_trials(deepcopy=False)
    complete = sorted(
        t.value for t in trials if t.state == optuna.trial.TrialState.COMPLETE
    )  # val macro-F1 (the default objective, maximised)
    all_pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    pruned = all_pruned[-args.last :] if args.last else all_pruned
    median, best = statistics.median(complete), complete[-1]
    rows = []
    for trial in pruned:
        params = suggest(optuna.trial.FixedTrial(trial.params), space)
        data = dataset.windows(params.window_config(), params.feature_config())
        start = time.perf_counter()
        result = train_model(
            params.model_spec(epochs=config.epochs), data, seed=config.seed + trial.number
        )
        value = macro_f1(result.model, data, "val")
        rows.append({
            "number": trial.number,
            "pruned_at_epoch": max(trial.intermediate_values),  # steps are 1-based epochs
            "epochs_to_end": result.epochs_trained,
            "fit_s": time.perf_counter() - start,
            "val_f1_trained_to_end": value,
            "complete_trials_beaten": sum(v < value for v in complete),
            "params": dict(trial.params),
        })  # fmt: skip
        print(
            f"trial {trial.number:3d} pruned at epoch {rows[-1]['pruned_at_epoch']:2d}: "
            f"to the end {value:.3f} "
            f"({rows[-1]['complete_trials_beaten']}/{len(complete)} complete beaten)",
            flush=True,
        )
    values = [r["val_f1_trained_to_end"] for r in rows]
    summary = {
        "study": args.study,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_count": os.cpu_count(),
        "n_complete": len(complete),
        "n_pruned": len(all_pruned),
        "n_retrained": len(rows),
        "complete_median": median,
        "complete_best": best,
        "retrained_above_median": sum(v > median for v in values),
        "retrained_above_best": sum(v > best for v in values),
        "rows": rows,
    }
    print(
        f"{len(rows)} pruned trials trained to the end: {summary['retrained_above_median']} above "
        f"the complete trials' median ({median:.3f}), {summary['retrained_above_best']} above "
        f"their best ({best:.3f})"
    )
    atomic_write_text(args.out, json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
