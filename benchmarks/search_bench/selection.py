"""From raw study records to ``bench_selection``'s numbers and its four goals.

A study record holds every complete trial of one study with its validation value, its
selection score (the mean over its confirmation trainings where it was confirmed, else its
value) and its macro-F1 on the independent true test, plus the trial the study picked. Three
picks per seed are compared on the true test:

- ``service``: the service's champion (study attribute ``champion_trial``);
- ``best_observed``: the same study's best trial by value, ties to the lower ``val_loss``
  (today's rule, read from the same study at no cost);
- ``plain``: the plain Optuna + MLflowCallback recipe's ``study.best_trial``.

Nothing here trains or loads a model; the functions take plain dicts so tests can feed fixed
numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from .report import paired_difference

#: Goal thresholds of the benchmark.
MIN_SPEARMAN = 0.6
MIN_PERCENTILE = 80.0
MAX_WALL_RATIO = 1.3
PICKS = ("service", "best_observed", "plain")


def spearman(scores: Sequence[float], truths: Sequence[float]) -> float:
    """Spearman rank correlation (ties share their mean rank); NaN below 3 pairs or without
    spread on either side.

    Example:
        >>> spearman([0.1, 0.2, 0.3], [0.5, 0.7, 0.6])
        0.5
    """
    from scipy import stats

    if len(scores) < 3 or len(set(scores)) < 2 or len(set(truths)) < 2:
        return math.nan
    return float(stats.spearmanr(scores, truths).statistic)


def percentile(value: float, values: Sequence[float]) -> float:
    """Share in % of ``values`` at or below ``value`` (the pick counts itself: the study's best
    trial on the true test is at the 100th percentile, the worst of 50 at the 2nd).

    Example:
        >>> percentile(0.7, [0.5, 0.7, 0.9, 0.6])
        75.0
    """
    return 100.0 * sum(v <= value for v in values) / len(values) if values else math.nan


def best_observed(trials: Sequence[dict[str, Any]]) -> int | None:
    """Number of the best trial by value, ties broken by the lower ``val_loss`` (a missing one
    loses), then by the lower number."""
    order = by_value(trials)
    return order[0]["number"] if order else None


def by_value(trials: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``trials`` best first by value, ties to the lower ``val_loss``, then the lower number
    (the service's ranking)."""
    return sorted(trials, key=lambda t: (-t["value"], _finite(t.get("val_loss")), t["number"]))


def confirmed_pick(run: dict[str, Any], top: int, repeats: int) -> int | None:
    """The champion a study would have crowned with ``--confirm-top top --repeats repeats``,
    replayed from its recorded confirmation (at most what it ran): the best of the ``top``
    first trials by the mean of their first ``1 + repeats`` trainings."""
    finalists = by_value(run["trials"])[: max(1, top)]
    if not finalists:
        return None
    entries = run.get("selection", {})

    def score(trial: dict[str, Any]) -> float:
        values = entries.get(str(trial["number"]), {}).get("values") or [trial["value"]]
        return statistics.fmean(values[: 1 + repeats])

    return max(finalists, key=score)["number"]  # ties: the better-ranked finalist


def confirmation_grid(
    runs: Sequence[dict[str, Any]], dataset: str, tops: Sequence[int], repeats: Sequence[int]
) -> list[dict[str, Any]]:
    """Per ``(top, repeats)``: the replayed champions' lowest and mean true-test percentile
    and mean true-test macro-F1 over the dataset's service studies (how K and R were chosen)."""
    studies = [r for r in runs if r["dataset"] == dataset and r["contender"] == "service"]
    grid = []
    for top in tops:
        for r in repeats:
            picks = [pick_numbers(run["trials"], confirmed_pick(run, top, r), "value")
                     for run in studies if run["trials"]]  # fmt: skip
            grid.append({
                "top": top, "repeats": r,
                "min_percentile": min((p["percentile"] for p in picks), default=math.nan),
                "mean_percentile": statistics.fmean([p["percentile"] for p in picks])
                if picks else math.nan,
                "mean_true_f1": statistics.fmean([p["true_f1"] for p in picks])
                if picks else math.nan,
            })  # fmt: skip
    return grid


def _finite(value: float | None) -> float:
    return math.inf if value is None or math.isnan(value) else value


def pick_numbers(trials: Sequence[dict[str, Any]], pick: int | None, score: str) -> dict[str, Any]:
    """The pick's true-test macro-F1 and percentile, and the Spearman between ``score`` and the
    true test over the study's complete trials."""
    truths = [t["true_f1"] for t in trials]
    chosen = next((t for t in trials if t["number"] == pick), None)
    true_f1 = chosen["true_f1"] if chosen else math.nan
    return {
        "trial": pick,
        "true_f1": true_f1,
        "percentile": percentile(true_f1, truths) if chosen else math.nan,
        "spearman": spearman([t[score] for t in trials], truths),
        "n_complete": len(trials),
    }


def seed_rows(runs: Sequence[dict[str, Any]], dataset: str) -> list[dict[str, Any]]:
    """One row per seed that has both studies: the three picks and the service's wall ratio."""
    by = {(r["contender"], r["seed"]): r for r in runs if r["dataset"] == dataset}
    rows = []
    for seed in sorted({s for c, s in by if c == "service"} & {s for c, s in by if c == "plain"}):
        service, plain = by[("service", seed)], by[("plain", seed)]
        trials = service["trials"]
        rows.append({
            "seed": seed,
            "service": pick_numbers(trials, service["champion"], "selection_score"),
            "best_observed": pick_numbers(trials, best_observed(trials), "value"),
            "plain": pick_numbers(plain["trials"], plain["champion"], "value"),
            "confirmed": service.get("confirmed", False),
            "wall_ratio": wall_ratio(service),
            "wall_s": {"service": service["wall_s"], "plain": plain["wall_s"]},
        })  # fmt: skip
    return rows


def wall_ratio(run: dict[str, Any]) -> float:
    """Wall time of the study with confirmation over the same study without it (its wall time
    less the confirmation phase); NaN for a study resumed across sessions."""
    if run.get("resumed") or run.get("confirmation_s") is None:
        return math.nan
    return run["wall_s"] / (run["wall_s"] - run["confirmation_s"])


def goals(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The four goals (``key``: spearman, percentile, paired, wall): what was measured, the
    goal, and whether it was met."""
    rhos = [r["service"]["spearman"] for r in rows if not math.isnan(r["service"]["spearman"])]
    percentiles = [r["service"]["percentile"] for r in rows]
    diff = paired_difference(
        [r["service"]["true_f1"] for r in rows], [r["plain"]["true_f1"] for r in rows]
    )
    ratios = [r["wall_ratio"] for r in rows if not math.isnan(r["wall_ratio"])]
    median_rho = statistics.median(rhos) if rhos else math.nan
    return [
        {
            "key": "spearman",
            "name": "Spearman(selection score, true-test macro-F1), median over seeds",
            "goal": f">= {MIN_SPEARMAN}",
            "measured": median_rho,
            "met": median_rho >= MIN_SPEARMAN,
        },
        {
            "key": "percentile",
            "name": "champion's true-test percentile in its study, every seed",
            "goal": f">= {MIN_PERCENTILE:.0f}",
            "measured": min(percentiles, default=math.nan),
            "met": bool(percentiles) and min(percentiles) >= MIN_PERCENTILE,
        },
        {
            "key": "paired",
            "name": "champion true-test macro-F1, service - plain (paired, 95 % t interval)",
            "goal": "interval above 0",
            "measured": diff,
            "met": diff["low"] > 0,
        },
        {
            "key": "wall",
            "name": "wall time with / without confirmation, every seed",
            "goal": f"<= {MAX_WALL_RATIO}",
            "measured": max(ratios, default=math.nan),
            "met": bool(ratios) and max(ratios) <= MAX_WALL_RATIO,
        },
    ]


def misses(run: dict[str, Any], row: dict[str, Any], top: int = 5) -> list[str]:
    """Why the service's pick fell short in one seed, from the study's raw trials: the
    champion against the trial the true test prefers, and the top trials by selection score."""
    trials = run["trials"]
    if not trials:
        return [f"seed {row['seed']}: no complete trial."]
    champion = next((t for t in trials if t["number"] == run["champion"]), None)
    truth_best = max(trials, key=lambda t: t["true_f1"])
    lines = []
    if champion is not None:
        lines.append(
            f"seed {row['seed']}: champion trial {champion['number']} (value "
            f"{champion['value']:.3f}, selection score {champion['selection_score']:.3f} over "
            f"{champion['selection_n']} training(s)) scores {champion['true_f1']:.3f} on the "
            f"true test ({row['service']['percentile']:.0f}th percentile); the true test's best "
            f"is trial {truth_best['number']} (value {truth_best['value']:.3f}, selection score "
            f"{truth_best['selection_score']:.3f} over {truth_best['selection_n']}, true test "
            f"{truth_best['true_f1']:.3f})."
        )
    ranked = sorted(trials, key=lambda t: -t["selection_score"])[:top]
    lines.append(
        f"seed {row['seed']}: top {len(ranked)} by selection score (trial: score / value -> "
        "true test): "
        + ", ".join(
            f"{t['number']}: {t['selection_score']:.3f} / {t['value']:.3f} -> {t['true_f1']:.3f}"
            for t in ranked
        )
    )
    return lines


def wall_detail(run: dict[str, Any], n_trials: int) -> str:
    """Where a study's confirmation time went, and the wall ratio the same confirmation would
    give a study of ``n_trials`` trials of this study's mean length (the confirmation cost is
    ``--confirm-top`` x ``--repeats`` trainings whatever the study's size)."""
    retrainings = sum(entry["n"] - 1 for entry in run.get("selection", {}).values())
    trial_phase = run["wall_s"] - run["confirmation_s"]
    per_trial = trial_phase / max(1, run["n_finished"])
    projected = (per_trial * n_trials + run["confirmation_s"]) / (per_trial * n_trials)
    return (
        f"seed {run['seed']}: {run['n_finished']} trials in {trial_phase:.0f} s "
        f"({per_trial:.1f} s each, start-up included), then {retrainings} confirmation "
        f"retrainings in {run['confirmation_s']:.0f} s "
        f"({run['confirmation_s'] / max(1, retrainings):.1f} s each, unpruned); the same "
        f"confirmation after {n_trials} such trials: ratio {projected:.2f}."
    )
