"""Summarise a finished study for a report: time, trial states, epochs saved by pruning, scores.

    python -m benchmarks.analysis.study_summary             # the default stores of search.run
    python -m benchmarks.analysis.study_summary --storage sqlite:///studies/optuna.db \
        --tracking-uri sqlite:///mlruns/mlflow.db --study tennis_stroke_recognition --json

Reads the Optuna study and its MLflow child runs and prints: wall time (first trial start to
last trial end), trials complete / pruned / failed, epochs trained, the epochs pruning saved,
the enqueued baseline's (trial 0) and the best trial's validation objective, and the best
trial's test macro-F1 (reported, never used for selection).

Epochs saved by pruning are an estimate, since a pruned trial's natural end is unknown: each
pruned trial is assumed to have run as many epochs as the median complete trial (early stopping
included), or as many as it had already run if that is more. The estimate is printed with its
rule.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState

from search import RUN_ID_ATTR
from search import add_store_arguments
from search import resolve_stores


def summarise(study: optuna.Study, client: MlflowClient) -> dict[str, Any]:
    """The report's numbers for ``study`` (see the module docstring)."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    by_state = {s: [t for t in trials if t.state == s] for s in TrialState}
    complete, pruned = by_state[TrialState.COMPLETE], by_state[TrialState.PRUNED]
    epochs = {t.number: int(t.user_attrs.get("epochs", 0)) for t in trials}
    typical = statistics.median(epochs[t.number] for t in complete) if complete else 0
    saved = sum(max(typical - epochs[t.number], 0) for t in pruned)
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    best = study.best_trial if complete else None
    baseline = next((t for t in complete if t.number == 0), None)

    def test_f1(trial: optuna.trial.FrozenTrial | None) -> float | None:
        run_id = trial.user_attrs.get(RUN_ID_ATTR) if trial else None
        return client.get_run(run_id).data.metrics.get("macro_avg_f1_score") if run_id else None

    trained = sum(epochs.values())
    return {
        "study": study.study_name,
        "wall_seconds": (max(ends) - min(t.datetime_start for t in trials)).total_seconds()
        if ends
        else 0.0,
        "complete": len(complete),
        "pruned": len(pruned),
        "failed": len(by_state[TrialState.FAIL]),
        "epochs_trained": trained,
        "median_epochs_complete": typical,
        "epochs_saved_by_pruning": saved,
        "epochs_without_pruning": trained + saved,
        "saved_share": saved / (trained + saved) if trained + saved else 0.0,
        "baseline_value": baseline.value if baseline else None,
        "best_trial": best.number if best else None,
        "best_value": best.value if best else None,
        "best_test_macro_f1": test_f1(best),
        "baseline_test_macro_f1": test_f1(baseline),
        "saved_rule": "each pruned trial would have run the median complete trial's epochs",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    storage, tracking_uri = resolve_stores(args)
    study = optuna.load_study(study_name=args.study, storage=storage)
    summary = summarise(study, MlflowClient(tracking_uri))
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    for key, value in summary.items():
        print(f"{key:26s} {value:.3f}" if isinstance(value, float) else f"{key:26s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
