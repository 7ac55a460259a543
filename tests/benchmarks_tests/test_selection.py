"""bench_selection's numbers on fixed trials: Spearman, percentile, picks, goals, wall ratio."""

from __future__ import annotations

import math

import pytest

from benchmarks.search_bench.selection import best_observed
from benchmarks.search_bench.selection import confirmation_grid
from benchmarks.search_bench.selection import confirmed_pick
from benchmarks.search_bench.selection import goals
from benchmarks.search_bench.selection import percentile
from benchmarks.search_bench.selection import pick_numbers
from benchmarks.search_bench.selection import seed_rows
from benchmarks.search_bench.selection import spearman
from benchmarks.search_bench.selection import wall_detail
from benchmarks.search_bench.selection import wall_ratio


def _trial(number: int, value: float, true_f1: float, score: float | None = None,
           val_loss: float | None = None) -> dict:  # fmt: skip
    return {
        "number": number, "value": value, "val_loss": val_loss, "true_f1": true_f1,
        "selection_score": value if score is None else score, "selection_n": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("scores", "truths", "expected"),
    [
        ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
        ([1, 2, 3, 4], [40, 30, 20, 10], -1.0),
        ([0.1, 0.2, 0.3], [0.5, 0.7, 0.6], 0.5),
        ([1, 2, 2, 3], [1, 3, 2, 4], 0.9486832980505138),  # tied scores share their mean rank
    ],
)
def test_spearman_ranks(scores: list, truths: list, expected: float) -> None:
    # rank correlation, not linear correlation; ties take their mean rank
    assert spearman(scores, truths) == pytest.approx(expected)


@pytest.mark.parametrize(("scores", "truths"), [([1, 2], [1, 2]), ([1, 1, 1], [1, 2, 3])])
def test_spearman_is_nan_without_enough_pairs_or_spread(scores: list, truths: list) -> None:
    # two pairs or a constant side say nothing about ranking
    assert math.isnan(spearman(scores, truths))


@pytest.mark.parametrize(
    ("value", "expected"), [(0.9, 100.0), (0.5, 25.0), (0.7, 75.0), (0.65, 50.0)]
)
def test_percentile_counts_trials_at_or_below_the_pick(value: float, expected: float) -> None:
    # the pick counts itself: the true-test best is at 100, the worst of four at 25
    assert percentile(value, [0.5, 0.7, 0.9, 0.6]) == expected


def test_best_observed_breaks_ties_by_lower_val_loss() -> None:
    trials = [_trial(0, 0.8, 0.5, val_loss=0.4), _trial(1, 0.8, 0.6, val_loss=0.3),
              _trial(2, 0.7, 0.9, val_loss=0.1)]  # fmt: skip
    # equal values: the lower validation loss wins; a lower value never does
    assert best_observed(trials) == 1
    # a missing val_loss loses a tie
    assert best_observed([_trial(3, 0.8, 0.5), _trial(4, 0.8, 0.5, val_loss=9.0)]) == 4


def test_pick_numbers_scores_the_pick_against_its_study() -> None:
    trials = [_trial(0, 0.9, 0.60, score=0.70), _trial(1, 0.8, 0.80, score=0.85),
              _trial(2, 0.7, 0.70, score=0.75), _trial(3, 0.6, 0.50, score=0.60)]  # fmt: skip
    found = pick_numbers(trials, 1, "selection_score")
    # the confirmed score ranks the trials as the true test does; the raw value does not
    assert found == {"trial": 1, "true_f1": 0.80, "percentile": 100.0, "spearman": 1.0,
                     "n_complete": 4}  # fmt: skip
    assert pick_numbers(trials, 0, "value")["percentile"] == 50.0


def _runs(seed: int, service_true: float, plain_true: float, confirmation_s: float) -> list:
    service = [_trial(0, 0.9, 0.5, score=0.6), _trial(1, 0.8, service_true, score=0.9),
               _trial(2, 0.7, 0.4, score=0.5)]  # fmt: skip
    plain = [_trial(0, 0.9, plain_true), _trial(1, 0.5, 0.3)]
    return [
        {"dataset": "d", "contender": "service", "seed": seed, "trials": service, "champion": 1,
         "confirmed": True, "wall_s": 130.0, "confirmation_s": confirmation_s},
        {"dataset": "d", "contender": "plain", "seed": seed, "trials": plain, "champion": 0,
         "wall_s": 200.0},
    ]  # fmt: skip


def test_goals_over_seeds() -> None:
    runs = [*_runs(0, 0.80, 0.60, 30.0), *_runs(1, 0.85, 0.62, 20.0), *_runs(2, 0.75, 0.55, 0.0)]
    rows = seed_rows(runs, "d")
    # the service crowns trial 1, best observed value picks trial 0
    assert [r["best_observed"]["trial"] for r in rows] == [0, 0, 0]
    met = {g["key"]: g for g in goals(rows)}
    # selection scores rank the trials as the true test does in every seed
    assert met["spearman"]["measured"] == 1.0 and met["spearman"]["met"]
    # the champion is the true-test best of its study in every seed
    assert met["percentile"]["met"]
    # service beats plain by 0.20-0.23 in every seed: the paired interval is above 0
    diff = met["paired"]["measured"]
    assert diff["mean"] == pytest.approx((0.20 + 0.23 + 0.20) / 3)
    assert diff["low"] > 0 and met["paired"]["met"]
    # 130 s with 30 s of confirmation: 1.3x the study without it, just within the goal
    assert met["wall"]["measured"] == pytest.approx(1.3)


def test_wall_ratio_leaves_resumed_studies_out() -> None:
    # a study resumed across sessions has no single wall time to compare
    assert math.isnan(wall_ratio({"wall_s": 100.0, "confirmation_s": 10.0, "resumed": True}))
    assert wall_ratio({"wall_s": 100.0, "confirmation_s": 0.0}) == 1.0


def test_wall_detail_projects_the_fixed_confirmation_cost_to_a_larger_study() -> None:
    run = {"seed": 3, "wall_s": 130.0, "confirmation_s": 30.0, "n_finished": 10,
           "selection": {"0": {"n": 3}, "4": {"n": 3}}}  # fmt: skip
    text = wall_detail(run, 50)
    # 10 trials of 10 s, 4 retrainings in 30 s; after 50 trials the same 30 s add 6 %
    assert "10 trials in 100 s (10.0 s each" in text
    assert "4 confirmation retrainings in 30 s (7.5 s each" in text
    assert text.endswith("ratio 1.06.")


def test_confirmed_pick_replays_smaller_confirmations_from_the_recorded_one() -> None:
    trials = [_trial(0, 0.90, 0.70, val_loss=0.2), _trial(1, 0.88, 0.95, val_loss=0.3),
              _trial(2, 0.85, 0.80, val_loss=0.1), _trial(3, 0.60, 0.99)]  # fmt: skip
    run = {"dataset": "d", "contender": "service", "trials": trials, "selection": {
        "0": {"n": 3, "values": [0.90, 0.60, 0.70]},
        "1": {"n": 3, "values": [0.88, 0.86, 0.87]},
        "2": {"n": 3, "values": [0.85, 0.95, 0.95]},
    }}  # fmt: skip
    # R = 0 or K = 1 is the best observed value; the finalists are the K best by value.
    assert confirmed_pick(run, 3, 0) == confirmed_pick(run, 1, 2) == 0
    assert confirmed_pick(run, 2, 1) == 1  # mean 0.87 beats trial 0's 0.75
    assert confirmed_pick(run, 3, 2) == 2  # only the third finalist's mean reaches 0.917
    grid = confirmation_grid([run], "d", tops=(1, 3), repeats=(0, 2))
    cells = {(c["top"], c["repeats"]): c for c in grid}
    # percentiles of the replayed picks' true test among the four trials: 25, 75
    assert cells[(1, 2)]["min_percentile"] == 25.0
    assert cells[(3, 2)]["mean_true_f1"] == pytest.approx(0.80)
    assert cells[(3, 2)]["mean_percentile"] == 50.0
