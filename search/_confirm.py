"""Confirmation before crowning: the top-K configurations trained again R times.

After the trial loop, the ``--confirm-top K`` best complete trials (``search._selection.ranked``)
are each trained ``--repeats R`` more times, without pruning: repeat ``r`` of trial ``n`` trains
with a fresh seed (``seed + n + r * REPEAT_SEED_OFFSET``) and validates on rotation ``r - 1`` of
the training players (``data_pipeline.dataset.validation_rotations``; two by default), so with
the trial's own validation the default ``R = 2`` judges each finalist on every non-test player,
where one validation split's few players rank by luck. Each retraining is an MLflow
run ``trial-<n>-repeat-<r>`` nested under the trial's run (tags ``optuna.trial_number`` and
``repeat``) with the full record of a trial; the trial's run gets ``selection_score``,
``selection_score_std`` and ``selection_score_n``.

Everything lives in the study's user attributes, so a Ctrl-C, a SIGKILL or another machine
loses and repeats nothing:

- ``confirmation``: the plan (the K trials, R, and how many trials were finished when it was
  made; a study that gained trials since is planned again, keeping the results of trials still
  in the top K; a trial that left the top K keeps its ``selection`` entry and still competes in
  ``search._selection.crowned``, so the champion is the best ``selection_score`` in the UI);
- ``confirm_claim:<n>:<r>``: who runs a retraining (host, pid, start) and its run id, taken under
  the study lock. A claim whose process is gone (this host) or older than
  :data:`CLAIM_TIMEOUT_S` (another host) is taken over, and its run marked FAILED;
- ``confirm:<n>:<r>``: the result, written once the run is logged. A retraining with a result
  is never run again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric
from optuna.trial import FixedTrial
from optuna.trial import TrialState

from search._attrs import RESULT_PREFIX
from search._attrs import RUN_ID_ATTR
from search._attrs import SELECTION_ATTR
from search._loop import study_lock
from search._objective import Objective
from search._params import suggest
from search._recovery import process_identity
from search._recovery import process_is_dead
from search._selection import ranked
from search._selection import repeat_results
from search._selection import selection_of
from search._tracking import Tracker

PLAN_ATTR = "confirmation"
#: Seed distance between the repeats of one trial (trial seeds are ``seed + n``).
REPEAT_SEED_OFFSET = 100_000
#: Seconds after which another host's claim counts as abandoned.
CLAIM_TIMEOUT_S = 3 * 3600.0
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Repeat ``repeat`` (1-based) of trial ``trial``."""

    trial: int
    repeat: int

    @property
    def claim_key(self) -> str:
        return f"confirm_claim:{self.trial}:{self.repeat}"

    @property
    def result_key(self) -> str:
        return f"{RESULT_PREFIX}{self.trial}:{self.repeat}"


def plan(study: optuna.Study, *, top: int, repeats: int) -> list[int]:
    """The trials to confirm (call under the study lock); stored so every process agrees."""
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    wanted = {"top": top, "repeats": repeats, "finished": finished}
    stored = study.user_attrs.get(PLAN_ATTR) or {}
    if all(stored.get(k) == v for k, v in wanted.items()):
        return list(stored["trials"])
    trials = [t.number for t in ranked(study)[:top]]
    study.set_user_attr(PLAN_ATTR, {**wanted, "trials": trials})
    return trials


def pending_jobs(study: optuna.Study, trials: list[int], repeats: int) -> list[Job]:
    """Retraining jobs without a result, repeat-major (every trial's first repeat first)."""
    attrs = study.user_attrs
    jobs = [Job(n, r) for r in range(1, repeats + 1) for n in trials]
    return [job for job in jobs if job.result_key not in attrs]


def _claim_is_live(claim: Any) -> bool:
    if not isinstance(claim, dict) or not claim.get("owner"):
        return False
    if process_is_dead(claim["owner"]):
        return False
    return time.time() - float(claim.get("time", 0.0)) < CLAIM_TIMEOUT_S


def confirm(
    study: optuna.Study,
    objective: Objective,
    tracker: Tracker,
    *,
    top: int,
    repeats: int,
    seed: int,
    on_result: Callable[[Job, dict[str, Any], int, int], None] = lambda *args: None,
    poll: float = 2.0,
) -> int:
    """Run the study's pending retrainings (shared with other processes); return how many ran.

    Returns when every planned retraining has a result. ``on_result(job, result, done, total)``
    reports progress.
    """
    if top < 1 or repeats < 1:
        return 0
    ran = 0
    while True:
        with study_lock(study._storage, study.study_name) as release:
            trials = plan(study, top=top, repeats=repeats)
            pending = pending_jobs(study, trials, repeats)
            attrs = study.user_attrs
            free = [job for job in pending if not _claim_is_live(attrs.get(job.claim_key))]
            if not pending:
                return ran
            if free:
                job = free[0]
                _fail_abandoned_run(tracker.client, attrs.get(job.claim_key))
                run_id = _claim(study, tracker, job)
                release()
                result = _retrain(study, objective, tracker, job, run_id, seed=seed)
                with study_lock(study._storage, study.study_name):
                    study.set_user_attr(job.result_key, result)
                    update_selection(study, tracker.client, job.trial)
                ran += 1
                total = len(trials) * repeats
                on_result(job, result, total - len(pending) + 1, total)
                continue
        time.sleep(poll)  # the rest are running in other processes


def _claim(study: optuna.Study, tracker: Tracker, job: Job) -> str:
    trial = study.trials[job.trial]
    run_id = tracker.start_repeat(job.trial, job.repeat, trial.user_attrs[RUN_ID_ATTR])
    study.set_user_attr(
        job.claim_key, {"owner": process_identity(), "time": time.time(), "run_id": run_id}
    )
    return run_id


def _fail_abandoned_run(client: MlflowClient, claim: Any) -> None:
    """End the run of a retraining whose process died (its claim is taken over)."""
    if isinstance(claim, dict) and claim.get("run_id"):
        client.set_terminated(claim["run_id"], status="FAILED")


def _retrain(
    study: optuna.Study, objective: Objective, tracker: Tracker, job: Job, run_id: str, *,
    seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Train the trial's configuration again into ``run_id``; the run ends FAILED on any error."""
    params = suggest(FixedTrial(study.trials[job.trial].params), objective.space)
    status = "FAILED"
    try:
        trained = objective.train_and_log(
            params, seed=seed + job.trial + job.repeat * REPEAT_SEED_OFFSET, run_id=run_id,
            rotation=job.repeat - 1,
        )
        status = "FINISHED"
    finally:
        tracker.client.set_terminated(run_id, status=status)
    return {"value": trained.value, "val_loss": trained.val_loss,
            "test_macro_f1": trained.test_macro_f1, "test_per_group": trained.test_per_group,
            "run_id": run_id}  # fmt: skip


def update_selection(study: optuna.Study, client: MlflowClient, trial_number: int) -> None:
    """Recompute the trial's selection entry (call under the study lock) and log its metrics."""
    trial = study.trials[trial_number]
    selection = selection_of(trial, repeat_results(study, trial_number))
    entries = dict(study.user_attrs.get(SELECTION_ATTR) or {})
    entries[str(trial_number)] = selection.summary()
    study.set_user_attr(SELECTION_ATTR, entries)
    now = int(time.time() * 1000)
    client.log_batch(trial.user_attrs[RUN_ID_ATTR], metrics=[
        Metric("selection_score", selection.score, now, 0),
        Metric("selection_score_std", selection.std, now, 0),
        Metric("selection_score_n", float(len(selection.values)), now, 0),
    ])  # fmt: skip
