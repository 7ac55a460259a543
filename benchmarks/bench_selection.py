"""Does the service crown the trial that generalises? Its champion on an independent true test.

Per dataset and study seed, two studies run, each as a user runs it (a fresh process):

- ``service``: ``python -m search.run`` with this service's defaults (confirmation of the top
  trials before crowning included; ``--confirm-top`` / ``--repeats`` pass through when given).
  The same study also yields today's rule, the best observed value (``best_observed``: the best
  complete trial by value, ties to the lower ``val_loss``), at no extra cost.
- ``plain``: the Optuna + ``MLflowCallback`` recipe (``search_bench/contenders.py``: default
  TPE, no pruning, same space, builder and training); its pick is ``study.best_trial``.

Every complete trial's model is scored on a true test no study sees: for synthetic data a
separately generated folder (new players and cameras, seed ``TRUE_TEST_SEED``, at least 5x the
windows of the study's test split); for RacketSports its official TEST file, while the study
sees only TRAIN. Per seed: Spearman between the selection score and the true-test macro-F1 over
the complete trials, the pick's true-test percentile in its study, its true-test macro-F1, and
wall time; then the four goals (``search_bench/selection.py``).

    python benchmarks/bench_selection.py --quick                          # smoke check
    python benchmarks/bench_selection.py --datasets synthetic racketsports --shared ../shared
    python benchmarks/bench_selection.py --resume                         # go on after a stop
    python benchmarks/bench_selection.py --report-only benchmarks/results/bench_selection.json

The studies live under ``--workdir`` (default ``studies/bench_selection[_quick]``), so a run
stopped mid-study resumes it with ``--resume``; results go to ``benchmarks/results`` after each
run. A resumed study's wall time spans sessions and is left out of the wall-time goal.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from search_bench import selection
from search_bench.report import mean_spread
from search_bench.report import paired_difference
from search_bench.runs import benchmark_parser
from search_bench.runs import mlflow_template
from search_bench.runs import rewrite_report
from search_bench.runs import schedule

from data_pipeline import atomic_write_text
from data_pipeline.errors import ConfigError
from data_pipeline.errors import ProjectError

RESULTS = Path(__file__).resolve().with_name("results")
CONTENDERS = ("service", "plain")
#: Seed of the synthetic true test; study data is the embedded default dataset (seed 0).
TRUE_TEST_SEED = 1000
#: The issue's study size; fewer trials are noted in the results.
FULL_TRIALS = 50
MIN_TRUE_TEST_RATIO = 5.0
MODES = {  # mode -> (seeds, trials per study, epoch cap: None is the service's default)
    "quick": ((0,), 6, 3),
    "full": ((0, 1, 2, 3, 4), FULL_TRIALS, None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = benchmark_parser(
        "python benchmarks/bench_selection.py",
        __doc__,
        quick_help="1 seed, 6 trials, 3 epochs (smoke)",
        datasets_flag="--datasets",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", help="study seeds (default: 0-4; quick: 0)"
    )
    parser.add_argument("--n-trials", type=int, help="trials per study (default: 50; quick: 6)")
    parser.add_argument("--epochs", type=int, help="epoch cap (default: the service's; quick: 3)")
    parser.add_argument("--confirm-top", type=int, help="passed to search.run (default: its own)")
    parser.add_argument("--repeats", type=int, help="passed to search.run (default: its own)")
    parser.add_argument(
        "--true-clips",
        type=int,
        help="clips of the synthetic true test (default: twice the study data's clips)",
    )
    parser.add_argument("--workdir", type=Path, help="studies (default: studies/bench_selection)")
    parser.add_argument("--out", type=Path, help="result stem (default: by mode)")
    parser.add_argument("--resume", action="store_true", help="skip finished runs, resume studies")
    parser.add_argument("--report-only", type=Path, help="rewrite the table from a result JSON")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # DATA TRUE_DIR FOLDER SEED
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    mode = "quick" if args.quick else "full"
    seeds, n_trials, epochs = MODES[mode]
    args.seeds = args.seeds or list(seeds)
    args.n_trials = args.n_trials or n_trials
    args.epochs = args.epochs or epochs
    suffix = "_quick" if args.quick else ""
    args.workdir = args.workdir or Path("studies") / f"bench_selection{suffix}"
    stem = args.out or RESULTS / f"bench_selection{suffix}"
    try:
        if args.child:
            return _plain_child(args)
        if args.report_only:
            return rewrite_report(args.report_only, write_report)
        return _run(args, mode, stem)
    except (ProjectError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def prepare_data(dataset: str, args: Any) -> tuple[Path, Path]:
    """``(study data, true-test folder)`` of ``dataset``, written under the work folder."""
    root = args.workdir / "data"
    if dataset == "synthetic":
        from data_pipeline.dataset import Dataset
        from data_pipeline.synthetic import ensure_default_dataset
        from data_pipeline.synthetic import generate_dataset

        study = Path(ensure_default_dataset(Path("data/synthetic")))
        n_clips = args.true_clips or 2 * len(Dataset.open(study).clip_ids)
        true = root / "synthetic-true"
        info = true / "dataset.json"
        if not info.exists() or json.loads(info.read_text())["n_clips"] != n_clips:
            generate_dataset(true, seed=TRUE_TEST_SEED, n_clips=n_clips)
        return study, true
    from data_pipeline.import_sequences import import_ts

    source = args.shared / "realdata" / "racketsports"
    files = {part: sorted(source.glob(f"*_{part}.ts")) for part in ("TRAIN", "TEST")}
    if not all(len(found) == 1 for found in files.values()):
        raise ConfigError(
            f"--shared {args.shared}: expected one *_TRAIN.ts and one *_TEST.ts in {source}, "
            f"found {[p.name for found in files.values() for p in found]}; give the shared folder."
        )
    study, true = root / "racketsports-train", root / "racketsports-test"
    import_ts(files["TRAIN"][0], study)  # the study sees TRAIN only
    import_ts(files["TEST"][0], true)
    return study, true


def true_test_size(study: Path, true: Path) -> dict[str, int | float]:
    """Windows of the study's test split and of the true test, at the default window (clipped
    to the data); the ratio must reach ``MIN_TRUE_TEST_RATIO``."""
    from data_pipeline.config import WindowConfig
    from data_pipeline.dataset import Dataset

    dataset = Dataset.open(study)
    size = min(WindowConfig().window_size, dataset.admissible_window_range()[1])
    window = WindowConfig(window_size=size, overlap=min(WindowConfig().overlap, size - 1))
    test = len(dataset.windows(window).split.test)
    whole = Dataset.open(true).unsplit_windows(window)
    true_windows = int((~whole.augmented).sum())
    found = {"test_split_windows": test, "true_test_windows": true_windows}
    ratio = true_windows / test
    if ratio < MIN_TRUE_TEST_RATIO:
        raise ConfigError(
            f"the true test {true} has {true_windows} windows, {ratio:.1f}x the study's test "
            f"split ({test}); it needs {MIN_TRUE_TEST_RATIO:.0f}x: raise --true-clips."
        )
    return {**found, "ratio": round(ratio, 1)}


def stores(folder: Path, template: Path, resume: bool) -> tuple[str, str, bool]:
    """``(optuna storage, tracking URI, resumed)`` of one study's folder; a fresh folder gets
    an empty MLflow store (schema made once, before any clock)."""
    resumed = resume and (folder / "optuna.db").exists()
    if not resumed:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(template, folder / "mlflow.db")
    return f"sqlite:///{folder}/optuna.db", f"sqlite:///{folder}/mlflow.db", resumed


def timed(command: list[str], log: Path) -> float:
    """Run ``command`` with its output in ``log``; its wall seconds.

    Raises:
        ProjectError: it failed (the log's tail is printed).
    """
    started = time.time()
    with log.open("a") as handle:
        code = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, check=False
        ).returncode
    if code != 0:
        print("".join(log.read_text().splitlines(keepends=True)[-30:]), file=sys.stderr)
        raise ProjectError(
            f"`{' '.join(command)}` exited with {code} (log: {log}); the runs before it are "
            "kept: rerun the same command with --resume"
        )
    return time.time() - started


def run_service(dataset: str, seed: int, data: Path, true: Path, args: Any) -> dict[str, Any]:
    """One service study through ``python -m search.run``; its record with true-test scores."""
    folder = args.workdir / dataset / f"service-{seed}"
    storage, tracking, resumed = stores(folder, args.template, args.resume)
    command = [
        sys.executable, "-m", "search.run", "--n-trials", str(args.n_trials), "--seed",
        str(seed), "--study", f"selection-{seed}", "--storage", storage, "--tracking-uri",
        tracking, "--data", str(data),
    ]  # fmt: skip
    for flag, value in (("--epochs", args.epochs), ("--confirm-top", args.confirm_top),
                        ("--repeats", args.repeats)):  # fmt: skip
        command += [flag, str(value)] if value is not None else []
    wall = timed(command, folder / "search.log")
    return {
        "dataset": dataset, "contender": "service", "seed": seed, "wall_s": wall,
        "resumed": resumed, **service_record(f"selection-{seed}", storage, tracking, true),
    }  # fmt: skip


def service_record(name: str, storage: str, tracking: str, true: Path) -> dict[str, Any]:
    """The study's complete trials with selection and true-test scores, its champion, and the
    time its confirmation took (from the last trial's end to the last retraining's end)."""
    import optuna
    from mlflow import MlflowClient
    from search_bench.true_test import TrueTest
    from search_bench.true_test import load_run_model

    from search import RUN_ID_ATTR

    study = optuna.load_study(study_name=name, storage=storage)
    client = MlflowClient(tracking)
    scorer = TrueTest(true)
    confirmed = study.user_attrs.get("selection", {})
    trials = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        model, settings = load_run_model(client, trial.user_attrs[RUN_ID_ATTR])
        entry = confirmed.get(str(trial.number), {})
        trials.append({
            "number": trial.number, "value": trial.value,
            "val_loss": trial.user_attrs.get("val_loss"),
            "selection_score": entry.get("score", trial.value), "selection_n": entry.get("n", 1),
            "true_f1": scorer.macro_f1(model, settings),
            "true_windows": scorer.n_windows(settings), "params": dict(trial.params),
        })  # fmt: skip
    champion = study.user_attrs.get("champion_trial")
    ends = [t.datetime_complete for t in study.get_trials(deepcopy=False) if t.datetime_complete]
    return {
        "trials": trials,
        "champion": champion if champion is not None else selection.best_observed(trials),
        "confirmed": champion is not None,
        "selection": confirmed,
        "n_finished": len(ends),
        "confirmation_s": confirmation_seconds(client, max(ends).timestamp()) if ends else None,
    }


def confirmation_seconds(client: Any, last_trial_end: float) -> float:
    """Seconds from the last trial's end to the end of the last confirmation retraining (runs
    tagged ``repeat``); 0 when nothing was retrained."""
    ids = [e.experiment_id for e in client.search_experiments()]
    ends = [
        run.info.end_time / 1000
        for run in client.search_runs(ids, max_results=5000)
        if "repeat" in run.data.tags and run.info.end_time
    ]
    return max(0.0, max(ends) - last_trial_end) if ends else 0.0


def run_plain(dataset: str, seed: int, data: Path, true: Path, args: Any) -> dict[str, Any]:
    """One plain-recipe study in a fresh process (``--child``); its record."""
    import optuna

    folder = args.workdir / dataset / f"plain-{seed}"
    storage, _, resumed = stores(folder, args.template, args.resume)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", str(data), str(true),
        str(folder), str(seed), "--n-trials", str(args.n_trials),
    ]  # fmt: skip
    command += ["--epochs", str(args.epochs)] if args.epochs is not None else []
    wall = timed(command, folder / "plain.log")
    study = optuna.load_study(study_name="plain", storage=storage)
    trials = [
        {"number": t.number, "value": t.value, "true_f1": t.user_attrs["true_f1"],
         "test_f1": t.user_attrs.get("test_f1"), "params": dict(t.params)}
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    ]  # fmt: skip
    return {
        "dataset": dataset, "contender": "plain", "seed": seed, "wall_s": wall,
        "resumed": resumed, "trials": trials, "champion": study.best_trial.number,
    }  # fmt: skip


def _plain_child(args: Any) -> int:
    """The plain recipe's study up to ``--n-trials`` complete trials, each model scored on the
    true test inside its objective (``true_f1``), so no model file is kept."""
    import optuna
    from search_bench.contenders import RunSpec
    from search_bench.contenders import plain_objective
    from search_bench.contenders import plain_study
    from search_bench.true_test import TrueTest

    from model.artifacts import PreprocessingSettings
    from search import quiet_libraries

    quiet_libraries(False)
    data, true, folder, seed = args.child
    spec = RunSpec("plain", Path(data), Path(folder), int(seed), math.inf, args.epochs)
    study, tracking = plain_study(spec, load_if_exists=True)
    scorer = TrueTest(Path(true))

    def score(trial: optuna.Trial, model: Any, windows: Any) -> None:
        settings = PreprocessingSettings.from_data(windows)
        trial.set_user_attr("true_f1", scorer.macro_f1(model, settings))

    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    study.optimize(
        plain_objective(spec, after_training=score),
        n_trials=max(0, args.n_trials - done),
        callbacks=[tracking],
    )
    return 0


def _run(args: Any, mode: str, stem: Path) -> int:
    from search import quiet_libraries

    quiet_libraries(False)
    meta = {
        "mode": mode, "command": "python " + " ".join(sys.argv), "seeds": args.seeds,
        "n_trials": args.n_trials, "epochs": args.epochs, "datasets": args.datasets,
        "confirm_top": args.confirm_top, "repeats": args.repeats,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs",
    }  # fmt: skip
    results: dict[str, Any] = {"meta": meta, "runs": [], "true_test": {}}
    if args.resume and stem.with_suffix(".json").exists():
        results = earlier(stem.with_suffix(".json"), meta)
    done = {(r["dataset"], r["seed"], r["contender"]) for r in results["runs"]}
    earlier_runs = len(results["runs"])
    args.template = mlflow_template(args.workdir)
    runners = {"service": run_service, "plain": run_plain}
    folders = {dataset: prepare_data(dataset, args) for dataset in args.datasets}  # fail early
    for dataset, (study_data, true) in folders.items():
        results["true_test"][dataset] = true_test_size(study_data, true)
    for dataset, seed, contender in schedule(args.datasets, args.seeds, CONTENDERS):
        if (dataset, seed, contender) in done:
            continue
        study_data, true = folders[dataset]
        if earlier_runs and "resumed" not in results["meta"]:
            results["meta"]["resumed"] = f"{meta['date']}, after {earlier_runs} runs"
        print(f"{time.strftime('%H:%M:%S')} {dataset} seed {seed} {contender} ...", flush=True)
        run = runners[contender](dataset, seed, study_data, true, args)
        print(f"  {run['wall_s']:.0f} s, {len(run['trials'])} complete trials", flush=True)
        results["runs"].append(run)
        atomic_write_text(stem.with_suffix(".json"), json.dumps(results, indent=1))
        write_report(results, stem)
    print(write_report(results, stem))
    return 0


def earlier(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The results of an interrupted run at ``path``, if it measured what ``meta`` asks."""
    found = json.loads(path.read_text())
    keys = ("n_trials", "epochs", "confirm_top", "repeats")
    measured = {key: found["meta"].get(key) for key in keys}
    wanted = {key: meta[key] for key in keys}
    if measured != wanted:
        raise ConfigError(
            f"--resume: {path} was measured with {measured}, not {wanted}; give the same "
            "--n-trials, --epochs, --confirm-top and --repeats, or another --out."
        )
    return found


def write_report(results: dict[str, Any], stem: Path) -> str:
    """``stem.md``: per-seed numbers, the goals, and the raw evidence behind each miss."""
    meta = results["meta"]
    fewer = (
        f" Studies of {meta['n_trials']} trials, not {FULL_TRIALS}: the whole benchmark must "
        "fit about two hours on 2 cores."
        if meta["mode"] == "full" and meta["n_trials"] < FULL_TRIALS
        else ""
    )
    lines = [
        f"# Model selection on an independent true test ({meta['mode']})",
        "",
        (
            f"`{meta['command']}` — {meta['date']}, {meta['machine']}. Seeds {meta['seeds']}; "
            f"{meta['n_trials']} trials per study; epoch cap "
            f"{meta['epochs'] or 'the service default'}; confirmation {_confirmation(meta)}; "
            f"each study in a fresh process.{fewer}"
            + (f" Resumed {meta['resumed']}." if meta.get("resumed") else "")
        ),
    ]
    for dataset, size in results.get("true_test", {}).items():
        rows = selection.seed_rows(results["runs"], dataset)
        lines += ["", f"## {dataset}", "", (
            f"True test: {size['true_test_windows']} windows, {size['ratio']}x the study's test "
            f"split ({size['test_split_windows']} windows at the default window)."
        ), "", *_seed_table(rows)]  # fmt: skip
        if rows:
            lines += ["", *_goal_lines(rows), *_miss_lines(results["runs"], dataset, rows)]
            lines += _grid_lines(results["runs"], dataset)
    text = "\n".join(lines) + "\n"
    atomic_write_text(stem.with_suffix(".md"), text)
    return text


def _confirmation(meta: dict[str, Any]) -> str:
    if meta["confirm_top"] is None and meta["repeats"] is None:
        return "the service's defaults"
    return f"--confirm-top {meta['confirm_top']} --repeats {meta['repeats']}"


def _seed_table(rows: list[dict[str, Any]]) -> list[str]:
    picks = selection.PICKS
    table = [
        "| seed | Spearman " + "/".join(picks) + " | true-test percentile | true-test macro-F1 "
        "| picked trials | wall s service / plain | wall ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            " / ".join(f"{row[p]['spearman']:.2f}" for p in picks),
            " / ".join(f"{row[p]['percentile']:.0f}" for p in picks),
            " / ".join(f"{row[p]['true_f1']:.3f}" for p in picks),
            " / ".join(str(row[p]["trial"]) for p in picks),
            f"{row['wall_s']['service']:.0f} / {row['wall_s']['plain']:.0f}",
            f"{row['wall_ratio']:.2f}" + ("" if row["confirmed"] else " (not confirmed)"),
        ]
        table.append(f"| {row['seed']} | " + " | ".join(cells) + " |")
    table.append(
        "| mean ± sd | – | – | "
        + " / ".join(mean_spread([r[p]["true_f1"] for r in rows]) for p in picks)
        + " | – | – | – |"
    )
    return table


def _goal_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for goal in selection.goals(rows):
        value = goal["measured"]
        verdict = "met" if goal["met"] else "**missed**"
        if isinstance(value, dict):
            if math.isnan(value["low"]):
                verdict = "not measured (an interval needs 2 seeds or more with some spread)"
            value = f"{value['mean']:+.3f} [{value['low']:+.3f}, {value['high']:+.3f}]"
        else:
            if math.isnan(value):
                verdict = "not measured (too few complete trials or seeds)"
            value = f"{value:.0f}" if goal["key"] == "percentile" else f"{value:.2f}"
        lines.append(f"- {goal['name']}: {value} (goal {goal['goal']}): {verdict}")
    other = paired_difference(
        [r["service"]["true_f1"] for r in rows], [r["best_observed"]["true_f1"] for r in rows]
    )
    lines.append(
        f"- For reference, service - best observed value (paired): {other['mean']:+.3f} "
        f"[{other['low']:+.3f}, {other['high']:+.3f}]."
    )
    return lines


def _true_best(run: dict[str, Any]) -> float:
    return max((t["true_f1"] for t in run["trials"]), default=math.nan)


def _grid_lines(runs: list[dict[str, Any]], dataset: str) -> list[str]:
    """Smaller confirmations replayed from the same studies (``--confirm-top`` 1..K,
    ``--repeats`` 0..R of what ran): how the defaults were chosen."""
    entries = [r.get("selection", {}) for r in runs
               if r["dataset"] == dataset and r["contender"] == "service"]  # fmt: skip
    top = max((len(e) for e in entries), default=0)
    repeats = max((x["n"] - 1 for e in entries for x in e.values()), default=0)
    if top < 1 or repeats < 1:
        return []
    grid = selection.confirmation_grid(runs, dataset, range(1, top + 1), range(repeats + 1))
    lines = [
        "", "### Smaller confirmations, replayed from the same studies", "",
        ("Champion by the mean of its first 1 + R trainings among the K best trials by value "
         "(R = 0 is the best observed value); the confirmations that ran bound K and R."), "",
        "| K | R | lowest percentile | mean percentile | mean true-test macro-F1 |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for cell in grid:
        lines.append(
            f"| {cell['top']} | {cell['repeats']} | {cell['min_percentile']:.0f} | "
            f"{cell['mean_percentile']:.0f} | {cell['mean_true_f1']:.3f} |"
        )
    return lines


def _miss_lines(runs: list[dict[str, Any]], dataset: str, rows: list[dict[str, Any]]) -> list[str]:
    """The raw runs behind each missed goal: the trials of a seed whose champion missed the
    percentile goal or whose selection score ranked poorly, the per-seed differences to the
    plain pick, the time a confirmation took."""
    service = {
        r["seed"]: r for r in runs if r["dataset"] == dataset and r["contender"] == "service"
    }
    missed = {g["key"] for g in selection.goals(rows) if not g["met"]}
    lines = []
    for row in rows:
        weak_rank = row["service"]["spearman"] < selection.MIN_SPEARMAN
        if row["service"]["percentile"] < selection.MIN_PERCENTILE or weak_rank:
            lines += selection.misses(service[row["seed"]], row)
    if "paired" in missed:
        lines.append(
            "service - plain per seed (true-test macro-F1 of the picks; in brackets the service "
            "study's true-test best - plain's pick, the most any selection in that study could "
            "gain; the two studies sample different configurations): "
            + ", ".join(
                f"seed {r['seed']} {r['service']['true_f1'] - r['plain']['true_f1']:+.3f} "
                f"({_true_best(service[r['seed']]) - r['plain']['true_f1']:+.3f})"
                for r in rows
            )
        )
    if "wall" in missed:
        lines += [
            selection.wall_detail(service[r["seed"]], FULL_TRIALS)
            for r in rows
            if r["wall_ratio"] > selection.MAX_WALL_RATIO
        ]
    return ["", "### Misses, from the raw runs", "", *[f"- {x}" for x in lines]] if lines else []


if __name__ == "__main__":
    raise SystemExit(main())
