"""What a study found, in one place: ``studies/<study>/report.md`` and ``report.html``.

Written after every run of ``python -m search.run`` and by ``python -m search.report``, and logged
to the study's parent run under ``report/``. It gathers from the Optuna study and the trials'
MLflow runs: the data and split, baseline against champion (validation and test, with the
selection score and its interval where trials were confirmed), the top trials with their run
ids, parameter importances, what pruning saved, wall time, failures, and advice drawn from the
study itself. :func:`study_facts` computes; :mod:`search._report_render` renders and writes.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

import optuna
from optuna.trial import TrialState

from search._attrs import RUN_ID_ATTR
from search._config import OBJECTIVE_METRICS
from search._selection import crowned
from search._selection import estimate
from search._selection import ranked as ranked_trials
from search._selection import repeat_results
from search._selection import selection_of

if TYPE_CHECKING:
    from mlflow import MlflowClient

TEST_METRIC = "macro_avg_f1_score"
SELECTION = "selection_score"
#: Settings shown under "Data and split" (those present in the study's last settings).
DATA_SETTINGS = ("data", "labels", "group_by", "split_seed", "test_groups", "val_groups", "cv")
TOP = 10
#: Validation minus test above this reads as a selection that does not carry to new players.
LARGE_GAP = 0.10


@dataclass(frozen=True)
class TrialFacts:
    """One complete trial as the report shows it."""

    number: int
    value: float
    run_id: str | None
    test: float | None = None
    selection: float | None = None
    selection_std: float | None = None
    selection_n: int | None = None
    cv_std: float | None = None
    epochs: int | None = None
    baseline: bool = False

    @property
    def score(self) -> float:
        """The selection score where the trial was confirmed, else the objective."""
        return self.value if self.selection is None else self.selection

    def interval(self) -> tuple[float, float] | None:
        """The 95 % interval of the selection score's mean (Student t), where confirmed."""
        if self.selection is None or not self.selection_std or not self.selection_n:
            return None
        if self.selection_n < 2:
            return None
        from scipy.stats import t as student_t

        half = student_t.ppf(0.975, self.selection_n - 1) * self.selection_std
        half /= math.sqrt(self.selection_n)
        return self.selection - half, self.selection + half


@dataclass(frozen=True)
class StudyFacts:
    """Everything the report says, computed once for both renderings."""

    study: str
    objective: str
    direction: str
    settings: dict[str, str]
    ranked: list[TrialFacts]  # complete trials: the crowned one, then the study's ranking
    n_finished_order: list[int]  # finished trial numbers in completion order
    counts: dict[str, int]
    importances: dict[str, float]
    epochs_budget: int | None
    epochs_trained_pruned: int
    wall_seconds: float
    trial_seconds: float
    errors: dict[str, int]
    estimate: str = ""
    advice: list[str] = field(default_factory=list)

    @property
    def champion(self) -> TrialFacts | None:
        return self.ranked[0] if self.ranked else None

    @property
    def baseline(self) -> TrialFacts | None:
        return next((t for t in self.ranked if t.baseline), None)

    @property
    def epochs_saved(self) -> int | None:
        if self.epochs_budget is None:
            return None
        return self.epochs_budget * self.counts.get("PRUNED", 0) - self.epochs_trained_pruned


def study_facts(
    study: optuna.Study, client: MlflowClient | None, parent_run_id: str | None
) -> StudyFacts:
    """Gather the report's facts from ``study`` and (where there is one) its MLflow runs."""
    objective = str(study.user_attrs.get("objective", "objective"))
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    runs = _child_runs(study, client, parent_run_id)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    facts = [_trial_facts(t, runs.get(t.number), objective) for t in complete]
    # The study's own order (ties by validation loss), the crowned trial first.
    by_number = {f.number: f for f in facts}
    champion = crowned(study)
    order = [t.number for t in ranked_trials(study)]
    if champion is not None:
        order.remove(champion.number)
        order.insert(0, champion.number)
    ranked = [by_number[n] for n in order]
    guess = (
        estimate(study, selection_of(champion, repeat_results(study, champion.number)), objective)
        if champion is not None else None
    )
    finished = sorted(
        (t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)),
        key=lambda t: t.datetime_complete or t.datetime_start,
    )
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    settings = _settings(study)
    result = StudyFacts(
        study=study.study_name,
        objective=objective,
        direction="maximize" if maximize else "minimize",
        settings=settings,
        ranked=ranked,
        n_finished_order=[t.number for t in finished],
        counts=dict(Counter(t.state.name for t in trials)),
        importances=_importances(study),
        epochs_budget=_epochs_budget(study, settings, trials),
        epochs_trained_pruned=sum(_epochs_of(t) for t in pruned),
        wall_seconds=(max(ends) - min(starts)).total_seconds() if starts and ends else 0.0,
        trial_seconds=sum(t.duration.total_seconds() for t in trials if t.duration),
        errors=dict(
            Counter(
                str(t.user_attrs.get("error", "unknown"))
                for t in trials
                if t.state == TrialState.FAIL
            )
        ),
        estimate=guess.describe() if guess is not None else "",
    )
    result.advice.extend(advise(result))
    return result


def advise(facts: StudyFacts) -> list[str]:
    """Plain advice drawn from the study's own numbers."""
    advice = []
    champion, order = facts.champion, facts.n_finished_order
    if champion is None:
        return ["No trial completed: read the FAILED child runs' `error` tag, or rerun with -v."]
    if len(order) >= 5 and champion.number in order[-max(1, len(order) // 5) :]:
        advice.append(
            f"The best trial (#{champion.number}) was found in the last fifth of the study: the "
            "search had not settled; raise `--n-trials` and run the same command to resume."
        )
    if champion.test is not None and champion.value - champion.test > LARGE_GAP:
        advice.append(
            f"Validation {champion.value:.3f} against test {champion.test:.3f}: the gap is large, "
            "so the validation split picks models that do not carry to new players; use `--cv K` "
            "or more validation players (`--val-groups`)."
        )
    at_top = sum(1 for t in facts.ranked if abs(t.value - champion.value) < 1e-9)
    if len(facts.ranked) >= 3 and at_top >= 2 and champion.value in (0.0, 1.0):
        advice.append(
            f"{at_top} trials reach {facts.objective}={champion.value:.3f}: the validation score "
            "saturates and cannot tell them apart; use `--cv K` or a larger validation split."
        )
    runner_up = facts.ranked[1] if len(facts.ranked) > 1 else None
    if champion.interval() is None and runner_up is not None:
        advice.append(
            f"The champion leads the runner-up (#{runner_up.number}) by "
            f"{abs(champion.score - runner_up.score):.4f} on one training each: confirm the top "
            "trials with `--confirm-top 3 --repeats 3` before relying on the order."
        )
    elif runner_up is not None and (low := champion.interval()) and runner_up.score >= low[0]:
        advice.append(
            f"The runner-up (#{runner_up.number}) lies inside the champion's interval: the two "
            "are not told apart; prefer the simpler or faster one, or raise `--repeats`."
        )
    base = facts.baseline
    if base is not None and base is not champion and abs(champion.score - base.score) < 0.01:
        advice.append(
            "The champion is within 0.01 of the V2 baseline: the search bought little; the "
            "baseline is a fair choice."
        )
    finished = facts.counts.get("COMPLETE", 0) + facts.counts.get("PRUNED", 0)
    if finished >= 10 and facts.counts.get("PRUNED", 0) > 0.7 * finished:
        advice.append(
            "More than 70 % of the trials were pruned: raise `--n-warmup-steps` or use "
            "`--patience` if good models start slowly."
        )
    if facts.errors:
        advice.append(
            f"{sum(facts.errors.values())} trials failed: see the FAILED child runs' `error` tag."
        )
    if facts.importances:
        name, share = next(iter(facts.importances.items()))
        if share > 0.5:
            advice.append(
                f"`{name}` explains {share:.0%} of the variation: narrow the others and search "
                "it more finely (`--space`)."
            )
    return advice or ["Nothing stands out: take the champion."]


def _trial_facts(trial: optuna.trial.FrozenTrial, run: Any, objective: str) -> TrialFacts:
    metrics = run.data.metrics if run is not None else {}
    metric = OBJECTIVE_METRICS.get(objective, objective)
    n = metrics.get(f"{SELECTION}_n")
    return TrialFacts(
        number=trial.number,
        value=float(trial.value),
        run_id=trial.user_attrs.get(RUN_ID_ATTR),
        test=metrics.get(TEST_METRIC),
        selection=metrics.get(SELECTION),
        selection_std=metrics.get(f"{SELECTION}_std"),
        selection_n=None if n is None else int(n),
        cv_std=metrics.get(f"cv_std_{metric}"),
        epochs=trial.user_attrs.get("epochs"),
        baseline=trial.user_attrs.get("baseline") == "V2",
    )


def _child_runs(study: optuna.Study, client: MlflowClient | None, parent: str | None) -> dict:
    if client is None or parent is None:
        return {}
    experiment = client.get_run(parent).info.experiment_id
    found = client.search_runs(
        [experiment],
        filter_string=f"tags.`optuna.study_name` = '{study.study_name}'",
        max_results=5000,
    )
    return {
        int(r.data.tags["optuna.trial_number"]): r
        for r in found
        if "optuna.trial_number" in r.data.tags and "repeat" not in r.data.tags
    }


def _settings(study: optuna.Study) -> dict[str, str]:
    raw = study.user_attrs.get("last_settings") or {}
    if isinstance(raw, str):
        raw = ast.literal_eval(raw)
    return {str(k): str(v) for k, v in raw.items()}


def _importances(study: optuna.Study) -> dict[str, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def _epochs_of(trial: optuna.trial.FrozenTrial) -> int:
    epochs = trial.user_attrs.get("epochs")
    if epochs is not None:
        return int(epochs)
    return max(trial.intermediate_values, default=-1) + 1


def _epochs_budget(study: optuna.Study, settings: dict[str, str], trials: list) -> int | None:
    """Maximum epochs per trial: ``--epochs``, else the space's, else the most any trial ran."""
    if settings.get("epochs", "").isdigit():
        return int(settings["epochs"])
    space = study.user_attrs.get("space")
    if isinstance(space, str):
        space = ast.literal_eval(space)
    epochs = (space or {}).get("epochs") or {}
    if epochs.get("kind") == "fixed" and epochs.get("choices"):
        return int(epochs["choices"][0])
    ran = [_epochs_of(t) for t in trials if t.state == TrialState.COMPLETE]
    return max(ran) if ran else None
