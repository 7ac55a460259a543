"""Which trial a study crowns, and how sure that choice is.

- **Ranking.** Complete trials by the objective; equal values are told apart by the lower
  validation loss (trial user attribute ``val_loss``), never by trial order.
- **Selection score.** A confirmed trial (``search._confirm``) was trained again with fresh seeds,
  each time validated on another part of the training players;
  its selection score is the mean objective over all its trainings, with their standard deviation
  and count (study user attribute ``selection``; MLflow metrics ``selection_score``,
  ``selection_score_std``, ``selection_score_n`` on the trial's run). An unconfirmed trial's
  selection score is its objective.
- **Champion.** The best confirmed trial by selection score (the best trial where none was
  confirmed), recorded in the study user attribute ``champion_trial``.
- **Estimate.** The champion's expected macro F1 on new players: the mean over its trainings of
  its scores on the held-out test groups, with a 95 % t-interval over those groups (over its
  trainings where the test split has one group), and the validation -> test gap seen over the
  study's complete trials.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from search._attrs import PER_GROUP_ATTR
from search._attrs import RESULT_PREFIX
from search._attrs import SELECTION_ATTR
from search._attrs import TEST_ATTR
from search._attrs import VAL_LOSS_ATTR


def rank_key(trial: FrozenTrial, maximize: bool) -> tuple[float, float, int]:
    """Sort key, best first: objective, then lower validation loss, then (never in practice
    reached) the trial number so the order is total."""
    value = float(trial.value) if trial.value is not None else math.nan
    loss = trial.user_attrs.get(VAL_LOSS_ATTR)
    loss = math.inf if loss is None or math.isnan(float(loss)) else float(loss)
    return (-value if maximize else value, loss, trial.number)


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """The study's complete trials, best first (see the module docstring)."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(complete, key=lambda t: rank_key(t, maximize))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, ties broken by validation loss; None without one."""
    trials = ranked(study)
    return trials[0] if trials else None


@dataclass(frozen=True)
class Selection:
    """A trial's trainings: objective values (the trial's first), validation losses and test
    scores (overall and per group), one entry per training."""

    values: tuple[float, ...]
    val_losses: tuple[float, ...]
    test_values: tuple[float, ...]
    test_per_group: tuple[dict[str, dict[str, float]], ...]

    @property
    def score(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def describe(self, objective: str) -> str:
        """``selection score 0.9412 ± 0.0100 over 3 trainings``, or the objective alone."""
        n = len(self.values)
        if n > 1:
            return f"selection score {self.score:.4f} ± {self.std:.4f} over {n} trainings"
        return f"{objective} {self.score:.4f}, not confirmed"

    def summary(self) -> dict[str, Any]:
        """The study attribute's entry: score, std, n and the values."""
        return {"score": self.score, "std": self.std, "n": len(self.values),
                "values": list(self.values), "val_loss": statistics.fmean(self.val_losses)}


def selection_of(trial: FrozenTrial, repeats: list[dict[str, Any]]) -> Selection:
    """The trial's own training plus its confirmation ``repeats`` (result dicts)."""
    runs = [{"value": trial.value, "val_loss": trial.user_attrs.get(VAL_LOSS_ATTR, math.nan),
             "test_macro_f1": trial.user_attrs.get(TEST_ATTR, math.nan),
             "test_per_group": trial.user_attrs.get(PER_GROUP_ATTR, {})}, *repeats]  # fmt: skip
    return Selection(
        values=tuple(float(r["value"]) for r in runs),
        val_losses=tuple(float(r["val_loss"]) for r in runs),
        test_values=tuple(float(r["test_macro_f1"]) for r in runs),
        test_per_group=tuple(r["test_per_group"] for r in runs),
    )


def repeat_results(study: optuna.Study, trial: int) -> list[dict[str, Any]]:
    """The recorded confirmation results of ``trial``, repeat 1 first."""
    attrs = study.user_attrs
    prefix = f"{RESULT_PREFIX}{trial}:"
    keys = sorted((k for k in attrs if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))
    return [attrs[k] for k in keys]


def selection_scores(study: optuna.Study) -> dict[int, dict[str, Any]]:
    """Trial number -> selection entry, for the confirmed trials."""
    return {int(n): entry for n, entry in (study.user_attrs.get(SELECTION_ATTR) or {}).items()}


def selection_intervals(study: optuna.Study) -> list[tuple[int, float, float]]:
    """``(trial, selection score, half-width of its 95 % t-interval)`` of each confirmed trial
    (what the optimisation history draws as error bars)."""
    from scipy import stats

    rows = []
    for number, entry in sorted(selection_scores(study).items()):
        n = int(entry["n"])
        half = float(stats.t.ppf(0.975, n - 1)) * entry["std"] / n**0.5 if n > 1 else 0.0
        rows.append((number, float(entry["score"]), half))
    return rows


def crowned(study: optuna.Study) -> FrozenTrial | None:
    """The champion: best by selection score among confirmed trials, those of earlier plans of a
    resumed study included (lower mean validation loss on a tie), else the best trial."""
    scores = selection_scores(study)
    trials = {t.number: t for t in ranked(study) if t.number in scores}
    if not trials:
        return best_trial(study)
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    best = min(trials, key=lambda n: (sign * scores[n]["score"], scores[n]["val_loss"], n))
    return trials[best]


@dataclass(frozen=True)
class Estimate:
    """The champion's expected test macro F1 on new players, and the study's val -> test gap.

    Args:
        mean: expected macro F1 on a new player (mean over held-out groups and trainings).
        low, high: 95 % interval of ``mean``.
        basis: what the interval spans, e.g. ``4 held-out groups`` or ``3 trainings``.
        gap: mean (validation objective - test macro F1) over the study's complete trials;
            None when the objective is not macro F1 or no trial has a test score.
    """

    mean: float
    low: float
    high: float
    basis: str
    gap: float | None

    def describe(self) -> str:
        if math.isnan(self.low):
            text = (f"expected macro F1 on new players {self.mean:.3f} (no interval from "
                    f"{self.basis}: confirm with --repeats or hold out more groups)")  # fmt: skip
        else:
            text = (f"expected macro F1 on new players {self.mean:.3f} "
                    f"[{self.low:.3f}, {self.high:.3f}] (95 %, over {self.basis})")  # fmt: skip
        if self.gap is not None:
            text += f"; validation -> test gap in this study {self.gap:+.3f}"
        return text


def estimate(study: optuna.Study, selection: Selection, objective: str) -> Estimate:
    """The :class:`Estimate` of a crowned trial with these trainings."""
    from scipy import stats  # only when estimating: keeps the read-only commands' start quick

    groups = sorted({g for per in selection.test_per_group for g in per})
    if len(groups) >= 2:
        samples = [statistics.fmean(per[g]["macro_f1"] for per in selection.test_per_group
                                    if g in per) for g in groups]  # fmt: skip
        basis = f"{len(groups)} held-out groups"
    else:
        samples = [v for v in selection.test_values if not math.isnan(v)]
        basis = f"{len(samples)} trainings"
    mean = statistics.fmean(samples) if samples else math.nan
    half = (
        float(stats.t.ppf(0.975, len(samples) - 1)) * statistics.stdev(samples) / len(samples) ** 0.5
        if len(samples) > 1 else math.nan
    )
    return Estimate(mean, max(mean - half, 0.0), min(mean + half, 1.0), basis, _gap(study, objective))


def _gap(study: optuna.Study, objective: str) -> float | None:
    if objective != "val_macro_avg_f1_score":
        return None
    gaps = [
        float(t.value) - float(t.user_attrs[TEST_ATTR]) for t in ranked(study)
        if t.user_attrs.get(TEST_ATTR) is not None
    ]
    return statistics.fmean(gaps) if gaps else None
