"""``python -m search.best``: the study's top trials with their MLflow run ids and UI filters.

Trials are ranked by the study's objective (a validation metric); the test split's macro-F1 is
shown beside it for information only, never used for ranking. Paste the printed filter into the
MLflow UI search box (python -m search.ui) to see the study's runs, or a run id to open one.
A ``--cv K`` study shows the objective's spread across folds as ``value ± std`` (std of the K
fold scores).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import TrialState

from data_pipeline.errors import ProjectError
from search._config import OBJECTIVE_METRICS
from search._config import add_store_arguments
from search._config import resolve_stores
from search._tracking import PER_GROUP_ATTR
from search._tracking import RUN_ID_ATTR

#: Columns of the table besides rank, trial, value and run id.
PARAM_COLUMNS = ("window_size", "overlap", "architecture_summary", "learning_rate", "batch_size")
TEST_METRIC = "macro_avg_f1_score"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m search.best", description=__doc__)
    add_store_arguments(parser)
    parser.add_argument(
        "--top", type=int, default=10, help="trials to show (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def ui_filter(study_name: str) -> str:
    """The MLflow UI search-box string that lists a study's child runs."""
    return f"tags.`optuna.study_name` = '{study_name}' and tags.`optuna.trial_state` = 'COMPLETE'"


def top_trials(study: optuna.Study, runs: dict[int, Any], top: int) -> list[dict[str, Any]]:
    """Rows for the ``top`` complete trials, best first, with run ids, params and test macro-F1."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    metric = OBJECTIVE_METRICS.get(str(study.user_attrs.get("objective")), "")
    ranked = sorted(complete, key=lambda t: t.value, reverse=reverse)[:top]
    rows = []
    for rank, trial in enumerate(ranked, 1):
        run = runs.get(trial.number)
        params = run.data.params if run else {}
        metrics = run.data.metrics if run else {}
        rows.append(
            {
                "rank": rank,
                "trial": trial.number,
                "value": trial.value,
                "cv_std": metrics.get(f"cv_std_{metric}"),
                "test_macro_avg_f1_score": metrics.get(TEST_METRIC),
                "run_id": trial.user_attrs.get(RUN_ID_ATTR),
                "epochs": trial.user_attrs.get("epochs"),
                "baseline": trial.user_attrs.get("baseline") == "V2",
                "test_per_group": trial.user_attrs.get(PER_GROUP_ATTR, {}),
                **{name: params.get(name, trial.params.get(name)) for name in PARAM_COLUMNS},
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]], objective: str) -> str:
    """Plain-text table of ``rows``."""
    header = ["rank", "trial", objective, "test_macro_f1", "epochs", *PARAM_COLUMNS, "run_id"]
    lines = [header]
    for row in rows:
        test = row["test_macro_avg_f1_score"]
        lines.append(
            [
                str(row["rank"]),
                f"{row['trial']}{' (V2)' if row['baseline'] else ''}",
                f"{row['value']:.4f}"
                + ("" if row["cv_std"] is None else f" ± {row['cv_std']:.4f}"),
                "-" if test is None else f"{test:.4f}",
                str(row["epochs"]),
                *[str(row[name]) for name in PARAM_COLUMNS],
                str(row["run_id"]),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines
    )


def format_groups(row: dict[str, Any]) -> str:
    """The best trial's test scores per held-out group (player, video ...): what a coach asks."""
    groups = row["test_per_group"]
    lines = [f"trial {row['trial']} on each held-out test group:",
             f"  {'group':<20}{'windows':>8}{'macro_f1':>10}{'accuracy':>10}"]
    lines += [f"  {name:<20}{g['windows']:>8}{g['macro_f1']:>10.3f}{g['accuracy']:>10.3f}"
              for name, g in groups.items()]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the top trials; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    from search._reading import open_existing

    try:
        storage, tracking_uri = resolve_stores(args)
        handle = open_existing(args.study, storage=storage, tracking_uri=tracking_uri)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    study = handle.study
    objective = str(study.user_attrs.get("objective", "objective"))
    runs = {}
    if handle.parent_run_id is not None:
        parent = handle.client.get_run(handle.parent_run_id)
        found = handle.client.search_runs(
            [parent.info.experiment_id],
            filter_string=ui_filter(study.study_name),
            max_results=5000,
        )
        runs = {int(r.data.tags["optuna.trial_number"]): r for r in found}
    rows = top_trials(study, runs, args.top)
    if args.json:
        print(
            json.dumps(
                {"study": study.study_name, "objective": objective, "trials": rows}, indent=2
            )
        )
        return 0
    if not rows:
        print(f"study {study.study_name!r} has no complete trial yet")
        return 0
    print(format_table(rows, objective))
    if rows[0]["test_per_group"]:
        print("\n" + format_groups(rows[0]))
    metric = OBJECTIVE_METRICS.get(objective, objective)
    order = "DESC" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "ASC"
    print(f"\nMLflow UI filter: {ui_filter(study.study_name)}")
    print(
        f"sort by: metrics.{metric} {order}; "
        f"the best run: attributes.run_id = '{rows[0]['run_id']}'"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
