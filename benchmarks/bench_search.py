"""How good a model each search tool finds for the same wall-clock budget.

Five contenders (``search_bench/contenders.py``) search the same data and the same space (as far as
each tool can express it) with the same epoch cap and the same wall-clock budget per run: this
service's defaults, the plain Optuna + MLflow docs recipe, random search and the old grid
(``search/grid_space.toml``) on our machinery, and KerasTuner Hyperband. Each run gets its own copy
of the data (cold window cache) and its own stores in a temporary folder, and its own fresh Python
process (after a warm-up fit, before the clock starts), as a user's search runs: TensorFlow leaks
~33k graph objects and ~25 MiB per model, which slow every later full garbage collection
(``train_model`` freezes them since; KerasTuner does not) and grow memory, so a process that has
already run other searches would charge the next one (docs/search.md, "Memory of long studies").
``--in-process`` shares one process instead (faster to start, biased against late runs). Runs go
seed-major with the contender order rotated per seed, so that load from other jobs on a shared
machine hits every contender alike.

Per run it records every trial (start, end, state, validation and test macro-F1, epochs, seconds
in ``fit``) and writes ``benchmarks/results/bench_search[_quick].{json,md,png}``: a table with
mean ± standard deviation over seeds, the anytime curves and the ratios against the targets.

    python benchmarks/bench_search.py --quick                    # smoke check, minutes
    python benchmarks/bench_search.py --dataset synthetic racketsports --shared ../shared
    python benchmarks/bench_search.py --report-only benchmarks/results/bench_search.json

A run whose process dies before writing its record is retried once; if it dies again the benchmark
stops with the runs so far in its JSON, and the same command with ``--resume`` runs the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from search_bench import report
from search_bench.runs import benchmark_parser
from search_bench.runs import mlflow_template
from search_bench.runs import rewrite_report
from search_bench.runs import schedule

from data_pipeline import atomic_write_text
from data_pipeline.errors import ConfigError
from data_pipeline.errors import ProjectError

RESULTS = Path(__file__).resolve().with_name("results")
SEEDS = {"quick": (0,), "full": (0, 1, 2)}
#: (mode, dataset) -> (budget seconds per run, epoch cap). Every contender gets the same cap and
#: the default space's early stopping (patience 10). Synthetic runs use the service's default cap
#: (60 epochs): on the default dataset (generator version 3) a 50-trial study averages about 10 s
#: per trial, so 240 s hold 20-30 of the service's trials and the pruner and TPE act. RacketSports
#: keeps a 20-epoch cap (90 s budgets; the earlier full runs used it for both datasets).
BUDGETS = {
    ("quick", "synthetic"): (60.0, 3), ("quick", "racketsports"): (45.0, 3),
    ("full", "synthetic"): (240.0, 60), ("full", "racketsports"): (90.0, 20),
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = benchmark_parser(
        "python benchmarks/bench_search.py",
        __doc__,
        quick_help="tiny budget, one seed (smoke check)",
        datasets_flag="--dataset",
    )
    parser.add_argument("--budget", type=float, help="seconds per run (default: by mode, data)")
    parser.add_argument(
        "--epochs", type=int, help="epoch cap of every trial (default: by mode, data)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default: by mode)")
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=None,
        help="subset of the five, in this order, optionally with variants of the service "
        "(search_bench/contenders.py VARIANTS)",
    )
    parser.add_argument("--out", type=Path, default=None, help="result stem (default: by mode)")
    parser.add_argument("--report-only", type=Path, help="rewrite table and plot from a JSON")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in <out>.json (same datasets and budgets) and run the rest",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every run in this one process instead of a fresh process per run",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # DATASET SEED CONTENDER ROOT
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the runs with pyinstrument into <out>_profile.txt "
        "(e.g. with --contenders service --seeds 0)",
    )
    return parser


def prepare_data(names: Sequence[str], shared: Path, root: Path) -> dict[str, Path]:
    """The embedded dataset (generated on first use) and RacketSports imported into ``root``."""
    folders = {}
    if "synthetic" in names:
        from data_pipeline.synthetic import ensure_default_dataset

        folders["synthetic"] = Path(ensure_default_dataset(Path("data/synthetic")))
    if "racketsports" in names:
        from data_pipeline.import_sequences import import_ts

        source = shared / "realdata" / "racketsports"
        import_ts(source, root / "racketsports")
        folders["racketsports"] = root / "racketsports"
    return folders


def warm_up() -> None:
    """One tiny fit, so the first timed run does not pay TensorFlow's start-up alone."""
    import numpy as np

    from model.build import build_model
    from model.spec import ModelSpec

    model = build_model(ModelSpec.baseline(), (30, 6), 3)
    x = np.random.default_rng(0).normal(size=(64, 30, 6)).astype("float32")
    model.fit(x, np.arange(64) % 3, epochs=1, verbose=0)


def run_one(dataset: str, data: Path, seed: int, contender: str, args: Any, root: Path) -> dict:
    """One contender run in its own folder (copied data, own stores); its raw record."""
    from search_bench.clock import as_dicts
    from search_bench.contenders import RunSpec
    from search_bench.contenders import run_contender

    workdir = root / f"{dataset}-{contender}-{seed}"
    shutil.copytree(data, workdir / "data", ignore=shutil.ignore_patterns(".cache"))
    for store in ("mlruns/mlflow.db", "mlflow.db"):  # the service's and the plain recipe's
        (workdir / store).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "template" / "mlflow.db", workdir / store)
    budget, epochs = budget_of(args, dataset)
    spec = RunSpec(contender, workdir / "data", workdir, seed, budget, epochs)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    here = Path.cwd()
    os.chdir(workdir)  # anything a tool writes relative to the cwd stays in the run's folder
    try:
        trials, fit_s = run_contender(spec)
    finally:
        os.chdir(here)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "dataset": dataset, "contender": contender, "seed": seed, "budget": budget,
        "epochs_cap": epochs, "started_at": started, "load_avg": os.getloadavg()[0],
        "fit_s": fit_s, "trials": as_dicts(trials),
    }  # fmt: skip


def run_in_fresh_process(dataset: str, seed: int, contender: str, args: Any, root: Path) -> dict:
    """:func:`run_one` in a new Python process (``--child``); its raw record."""
    budget, epochs = budget_of(args, dataset)
    record = root / "record.json"
    record.unlink(missing_ok=True)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--budget", str(budget), "--epochs",
        str(epochs), "--shared", str(args.shared), "--child", dataset, str(seed), contender,
        str(root),
    ]  # fmt: skip
    for attempt in (1, 2):
        exit_code = subprocess.run(command).returncode
        if record.exists():  # written: a crash on the way out (TensorFlow's teardown) is harmless
            run = json.loads(record.read_text())
            return {**run, "attempts": attempt, "child_exit": exit_code}
        print(
            f"warning: run {dataset} seed {seed} {contender} ended with exit code {exit_code} "
            f"and no record (attempt {attempt} of 2)",
            file=sys.stderr,
        )
    raise ProjectError(
        f"run {dataset} seed {seed} {contender} failed twice (output above); the runs before it "
        "are kept: rerun the same command with --resume"
    )


def _child(args: Any) -> int:
    """One run of the parent's plan in this fresh process; the record goes to ROOT/record.json."""
    dataset, seed, contender, root = args.child
    root = Path(root)
    _quiet()
    data = root / dataset  # RacketSports, imported by the parent
    if dataset == "synthetic":  # already generated by the parent: only checked here
        data = prepare_data(["synthetic"], args.shared, root)["synthetic"]
    warm_up()
    run = run_one(dataset, data, int(seed), contender, args, root)
    atomic_write_text(root / "record.json", json.dumps(run))
    return 0


def _quiet() -> None:
    from search import quiet_libraries

    quiet_libraries(False)
    # a run stopped by its budget while TensorFlow traces a graph leaves unused tensors behind
    logging.getLogger("tensorflow").setLevel(logging.CRITICAL)


def budget_of(args: Any, dataset: str) -> tuple[float, int]:
    """``(budget seconds, epoch cap)`` of ``dataset``'s runs: flags, else the mode's defaults."""
    budget, epochs = BUDGETS[(args.mode, dataset)]
    return args.budget or budget, args.epochs or epochs


#: How ``_run`` orders the runs; a merged result file (runs of several commands) says its own.
INTERLEAVED = (
    "Runs interleaved seed-major with the contender order rotated per seed, so load from other "
    "jobs hits every contender alike"
)


def write_report(results: dict[str, Any], stem: Path) -> str:
    """``stem.md`` (tables, targets) and ``stem.png`` (anytime curves); returns the Markdown."""
    meta, runs = results["meta"], results["runs"]
    datasets = [d for d in meta["datasets"] if any(r["dataset"] == d for r in runs)]
    png = stem.with_suffix(".png")
    budgets = ", ".join(f"{d} {b:.0f} s / {e} epochs" for d, (b, e) in meta["budgets"].items())
    report.plot_curves(runs, datasets, meta["contenders"], png)
    lines = [
        f"# Search efficiency side by side ({meta['mode']})",
        "",
        (
            f"`{meta['command']}` — {meta['date']}, {meta['machine']}. Wall-clock budget per "
            f"run and epoch cap of every trial: {budgets}; seeds {meta['seeds']}; "
            f"{meta.get('process', 'one process for all runs')}. "
            f"{meta.get('order', INTERLEAVED)}; load average during the runs "
            f"{meta.get('load', '?')}. Mean ± standard deviation over seeds; only trials that "
            "ended inside the budget count; picks use validation macro-F1 only."
        ),
        "",
        f"![anytime curves]({png.name})",
    ]
    for dataset in datasets:
        lines += ["", f"## {dataset}", "", report.table(runs, dataset, meta["contenders"]), ""]
        lines += _target_lines(report.targets(runs, dataset))
    text = "\n".join(lines) + "\n"
    atomic_write_text(stem.with_suffix(".md"), text)
    return text


def _target_lines(found: dict[str, Any]) -> list[str]:
    if not found or found.get("strongest_rival") is None:
        return []
    means, spread, rival = found["mean_best_val_f1"], found["spread"], found["strongest_rival"]

    def ratios(name: str) -> str:
        values = found.get(f"time_ratio_vs_{name}") or []
        return ", ".join("not reached" if v == float("inf") else f"{v:.2f}" for v in values) or "–"

    def paired(name: str) -> str:
        p = found["paired"][name]
        interval = "–" if math.isnan(p["low"]) else f"[{p['low']:+.3f}, {p['high']:+.3f}]"
        return f"{name} {p['mean']:+.3f} {interval}"

    overhead = ", ".join(f"{100 * v:.1f} %" for v in found["service_trial_overhead"])
    return [
        (
            f"- Highest best val macro-F1: service {means['service']:.3f} ± "
            f"{spread['service']:.3f}, strongest rival {rival} {means[rival]:.3f} ± "
            f"{spread[rival]:.3f}; margin {found['margin_over_rival']:+.3f}; seeds won "
            f"{found['seeds_won']}."
        ),
        (
            "- Service minus each rival, paired by seed (mean, 95 % t interval): "
            + "; ".join(paired(name) for name in found["paired"])
            + f". Beyond seed noise (every interval above 0): "
            f"{'yes' if found['beyond_noise'] else 'no'}."
        ),
        (
            f"- Time for the service to reach plain's final best / plain's time (per seed, target "
            f"≤ 0.33): {ratios('plain')}; same against grid: {ratios('grid')}."
        ),
        f"- Service per-trial overhead (everything but fit, per seed; target < 5 %): {overhead}.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    mode = args.mode = "quick" if args.quick else "full"
    args.in_process = args.in_process or args.profile  # a profile sees this process only
    stem = args.out or RESULTS / ("bench_search_quick" if args.quick else "bench_search")
    try:
        if args.child:
            return _child(args)
        if args.report_only:
            return rewrite_report(args.report_only, write_report)
        return _run(args, mode, args.seeds or list(SEEDS[mode]), stem)
    except (ProjectError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def profiled(enabled: bool, path: Path) -> Iterator[None]:
    """Profile the block with pyinstrument (wall time) into ``path`` when ``enabled``."""
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.01)
    profiler.start()
    try:
        yield
    finally:
        session = profiler.stop()
        atomic_write_text(path, profiler.output_text(unicode=False, color=False))
        session.save(str(path.with_suffix(".pyisession")))  # for `pyinstrument --load`


def earlier_runs(path: Path, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of an interrupted benchmark at ``path``, if it measured what ``meta`` asks."""
    if not path.exists():
        return []
    earlier = json.loads(path.read_text())
    asked = json.loads(json.dumps(meta))  # tuples as the file stores them
    measured = {key: earlier["meta"][key] for key in ("budgets", "process")}
    wanted = {key: asked[key] for key in measured}
    if measured != wanted:
        raise ConfigError(
            f"--resume: {path} was measured with {measured}, not {wanted}; give the same "
            "--budget, --epochs and --in-process, or another --out."
        )
    return earlier["runs"]


def _run(args: Any, mode: str, seeds: list[int], stem: Path) -> int:
    from search_bench.contenders import CONTENDERS
    from search_bench.contenders import VARIANTS
    from tqdm import tqdm

    _quiet()
    contenders = args.contenders or list(CONTENDERS)
    unknown = sorted(set(contenders) - set(CONTENDERS) - set(VARIANTS))
    if unknown:
        print(
            f"error: unknown contenders {unknown}; choose from {CONTENDERS + tuple(VARIANTS)}.",
            file=sys.stderr,
        )
        return 2
    loads = [os.getloadavg()[0]]
    results: dict[str, Any] = {"meta": {
        "mode": mode, "command": "python " + " ".join(sys.argv), "seeds": seeds,
        "budgets": {d: budget_of(args, d) for d in args.dataset}, "datasets": args.dataset,
        "contenders": contenders,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs",
        "process": "one process for all runs" if args.in_process else "a fresh process per run",
    }, "runs": []}  # fmt: skip
    if args.resume:
        results["runs"] = earlier_runs(stem.with_suffix(".json"), results["meta"])
        results["meta"]["resumed"] = f"after {len(results['runs'])} runs"
    done = {(r["dataset"], r["seed"], r["contender"]) for r in results["runs"]}
    loads += [r["load_avg"] for r in results["runs"]]
    with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
        folders = prepare_data(args.dataset, args.shared, Path(tmp))
        mlflow_template(Path(tmp))
        if args.in_process:
            warm_up()
        plan = [run for run in schedule(args.dataset, seeds, contenders) if run not in done]
        with profiled(args.profile, stem.with_name(stem.name + "_profile.txt")):
            for dataset, seed, contender in tqdm(plan, desc="runs", unit="run"):
                if args.in_process:
                    run = run_one(dataset, folders[dataset], seed, contender, args, Path(tmp))
                else:
                    run = run_in_fresh_process(dataset, seed, contender, args, Path(tmp))
                results["runs"].append(run)
                loads.append(run["load_avg"])
                results["meta"]["load"] = f"{min(loads):.1f}–{max(loads):.1f}"
                atomic_write_text(stem.with_suffix(".json"), json.dumps(results, indent=1))
    print(write_report(results, stem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
