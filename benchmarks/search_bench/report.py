"""From raw runs to the table, the anytime curves and the ratios against the benchmark's targets.

Only what happened inside a run's budget counts: a trial that ended after the budget (or was
stopped by it) finds nothing. Every choice is made on validation macro-F1; the test macro-F1 of
the trial a contender would pick is reported next to it, never used.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

FINISHED = ("COMPLETE", "PRUNED")


def _inside(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Trials that finished inside the run's budget, by end time."""
    done = [t for t in run["trials"] if t["end"] is not None and t["end"] <= run["budget"]]
    return sorted(done, key=lambda t: t["end"])


def curve(run: dict[str, Any]) -> list[tuple[float, float]]:
    """``(time, best validation macro-F1 so far)`` at each improvement."""
    points: list[tuple[float, float]] = []
    for trial in _inside(run):
        if trial["state"] == "COMPLETE" and (not points or trial["val_f1"] > points[-1][1]):
            points.append((trial["end"], trial["val_f1"]))
    return points


def time_to_reach(run: dict[str, Any], value: float) -> float:
    """First time the run's best validation macro-F1 reached ``value`` (inf: never)."""
    return next((t for t, best in curve(run) if best >= value - 1e-12), math.inf)


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """Best validation macro-F1, test macro-F1 of the pick, counts and time split of one run."""
    inside = _inside(run)
    complete = [t for t in inside if t["state"] == "COMPLETE"]
    pick = max(complete, key=lambda t: t["val_f1"], default=None)
    started = sorted(run["trials"], key=lambda t: t["start"])
    trial_s = fit_s = 0.0
    for i, trial in enumerate(started):  # a trial's time runs to the next trial's start
        if (
            trial["state"] in FINISHED
            and trial["end"] is not None
            and trial["end"] <= run["budget"]
        ):
            following = started[i + 1]["start"] if i + 1 < len(started) else trial["end"]
            trial_s += following - trial["start"]
            fit_s += trial["fit_s"]
    return {
        "best_val_f1": pick["val_f1"] if pick else math.nan,
        "test_f1_of_pick": pick["test_f1"] if pick else math.nan,
        "n_complete": len(complete),
        "n_pruned": sum(t["state"] == "PRUNED" for t in inside),
        "epochs": sum(t["epochs"] for t in run["trials"]),
        "fit_share": run["fit_s"] / run["budget"],
        "trial_overhead": 1.0 - fit_s / trial_s if trial_s > 0 else math.nan,
    }


def mean_spread(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± standard deviation`` of the non-NaN ``values`` (``–`` when none)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


def table(runs: list[dict[str, Any]], dataset: str, contenders: Sequence[str]) -> str:
    """Markdown table of one dataset: mean ± standard deviation over seeds."""
    rows = [
        (
            "| contender | best val macro-F1 | test macro-F1 of pick | complete / pruned trials "
            "| epochs | fit share of budget | per-trial overhead |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for name in contenders:
        summaries = [
            run_summary(r) for r in runs if r["dataset"] == dataset and r["contender"] == name
        ]
        if not summaries:
            continue
        col = {key: [s[key] for s in summaries] for key in summaries[0]}
        cells = [
            mean_spread(col["best_val_f1"]),
            mean_spread(col["test_f1_of_pick"]),
            f"{mean_spread(col['n_complete'], 1)} / {mean_spread(col['n_pruned'], 1)}",
            mean_spread(col["epochs"], 0),
            f"{mean_spread([100 * v for v in col['fit_share']], 0)} %",
            f"{mean_spread([100 * v for v in col['trial_overhead']], 1)} %",
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def paired_difference(ours: Sequence[float], rival: Sequence[float]) -> dict[str, float]:
    """Mean of the per-seed differences ``ours - rival`` and its 95 % Student-t interval.

    Seeds are paired (common random numbers: with the same seed the service, random search and
    the plain recipe draw the same start-up configurations), so the interval is that of a paired
    t-test. An interval wholly above zero is a lead beyond seed noise; with 3 seeds it needs a
    difference about 2.5 times the differences' own standard deviation.
    """
    from scipy import stats

    differences = np.subtract(ours, rival)
    result = {
        "mean": float(differences.mean()) if len(differences) else math.nan,
        "low": math.nan, "high": math.nan,
    }  # fmt: skip
    if len(differences) >= 2 and np.ptp(differences) > 0:  # an interval needs spread
        interval = stats.ttest_rel(ours, rival).confidence_interval(0.95)
        result.update(low=float(interval.low), high=float(interval.high))
    return result


def targets(runs: list[dict[str, Any]], dataset: str, ours: str = "service") -> dict[str, Any]:
    """The targets on one dataset: highest best value, time ratios, overhead."""
    by = {}
    for run in runs:
        if run["dataset"] == dataset:
            by.setdefault(run["contender"], {})[run["seed"]] = run
    if ours not in by:
        return {}
    bests = {
        name: [v for r in seeds.values() if not math.isnan(v := run_summary(r)["best_val_f1"])]
        for name, seeds in by.items()
    }  # a run without a complete trial found nothing to compare
    means = {name: statistics.mean(v) if v else math.nan for name, v in bests.items()}
    spread = {name: statistics.stdev(v) if len(v) > 1 else 0.0 for name, v in bests.items()}
    rival = max(
        (n for n in means if n != ours and not math.isnan(means[n])),
        key=lambda n: means[n], default=None,
    )  # fmt: skip
    result: dict[str, Any] = {
        "mean_best_val_f1": means,
        "spread": spread,
        "strongest_rival": rival,
    }
    if rival is not None:
        result["margin_over_rival"] = means[ours] - means[rival]
        result["paired"] = {
            name: paired_difference(*_paired_bests(by[ours], seeds))
            for name, seeds in by.items()
            if name != ours
        }
        result["beyond_noise"] = all(p["low"] > 0 for p in result["paired"].values())
        wins = [
            _found(by[ours][s]) > max(_found(by[n][s]) for n in by if n != ours and s in by[n])
            for s in by[ours]
        ]
        result["seeds_won"] = f"{sum(wins)}/{len(wins)}"
    for name in ("plain", "grid"):
        ratios = []
        for seed, run in by.get(name, {}).items():
            points = curve(run)
            if points and seed in by[ours]:
                ratios.append(time_to_reach(by[ours][seed], points[-1][1]) / points[-1][0])
        result[f"time_ratio_vs_{name}"] = ratios
    result["service_trial_overhead"] = [
        run_summary(r)["trial_overhead"] for r in by[ours].values()
    ]
    return result


def _paired_bests(
    ours: dict[int, dict[str, Any]], rival: dict[int, dict[str, Any]]
) -> tuple[list[float], list[float]]:
    """Best validation macro-F1 of both, over the seeds where both completed a trial."""
    pairs = [(_found(ours[s]), _found(rival[s])) for s in sorted(ours.keys() & rival.keys())]
    kept = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
    return [a for a, _ in kept], [b for _, b in kept]


def _found(run: dict[str, Any]) -> float:
    """Best validation macro-F1 of ``run``; -inf when no trial completed."""
    value = run_summary(run)["best_val_f1"]
    return -math.inf if math.isnan(value) else value


def plot_curves(
    runs: list[dict[str, Any]], datasets: Sequence[str], contenders: Sequence[str], path: Any
) -> None:
    """PNG: best-so-far validation macro-F1 against seconds, each seed thin, the mean bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for name in contenders:
            mine = [r for r in runs if r["dataset"] == dataset and r["contender"] == name]
            if not mine:
                continue
            grid = np.linspace(0, mine[0]["budget"], 300)
            values = np.array([_step(curve(r), grid) for r in mine])
            # the mean starts once every seed has a complete trial, so it never goes down
            (line,) = ax.plot(grid, values.mean(axis=0), label=f"{name} (mean)", lw=2.5)
            for seed_values in values:
                ax.plot(grid, seed_values, color=line.get_color(), lw=0.8, alpha=0.45)
        budget = max((r["budget"] for r in runs if r["dataset"] == dataset), default=1.0)
        ax.set(title=dataset, xlabel="wall time (s)", ylabel="best validation macro-F1 so far")
        ax.set_xlim(0, budget)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _step(points: list[tuple[float, float]], grid: np.ndarray) -> np.ndarray:
    values = np.full(grid.shape, np.nan)
    for time, best in points:
        values[grid >= time] = best
    return values
