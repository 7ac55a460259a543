"""The search in three composable steps.

- :func:`prepare_study` runs once before any trial (and before worker processes start): it opens
  the data and stores, creates or resumes the study (baseline enqueued on creation), the
  experiment and the one parent run, and fails the trials a killed process left RUNNING.
- :func:`run_study` runs the trial loop in the current process on the existing study until it holds
  ``n_trials`` finished trials, the timeout passes, trials keep failing or a signal arrives.
- :func:`finish_study` writes the plots, logs them to the parent run and ends it.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TextIO

import keras
import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState

from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.dataset import Dataset
from model.stores import setup_tracking
from model.tracking import warm_up_model_logging
from search._champion import Crowning
from search._champion import crown
from search._champion import record_best
from search._config import DEFAULT_DATA
from search._config import SearchConfig
from search._confirm import Job
from search._confirm import confirm
from search._loop import optimize_until
from search._loop import study_lock
from search._objective import Objective
from search._plots import PlotSet
from search._plots import publish_plots
from search._progress import StudyFailed
from search._progress import TrialCallbacks
from search._pruning import make_pruner
from search._remote import wait_for_tracking
from search._report_render import publish_report
from search._selection import best_trial
from search._space import DEFAULT_SPACE
from search._space import GRID_SPACE
from search._space import SearchSpace
from search._storage import open_storage
from search._study import data_identity
from search._study import open_study
from search._study import recover_stale_trials
from search._study import retry_stale_trial
from search._tracking import Tracker
from search._tracking import ensure_parent_run

_log = logging.getLogger(__name__)


@dataclass
class Session:
    """An open study with its data, space, stores and tracker (one per process)."""

    config: SearchConfig
    dataset: Dataset
    space: SearchSpace
    storage: optuna.storages.BaseStorage
    study: optuna.Study
    tracker: Tracker


@dataclass(frozen=True)
class RunResult:
    """What one ``run_study`` call did and where the study stands."""

    trials_run: int
    n_complete: int
    n_pruned: int
    n_failed: int
    best_value: float | None
    best_number: int | None


def open_dataset(
    path: Path, *, split: SplitConfig = SplitConfig(), labels_file: Path | None = None
) -> Dataset:
    """Open ``--data`` with the search's split and label file; the default folder is generated
    on first use (and when it is stale)."""
    if path == DEFAULT_DATA:
        from data_pipeline.synthetic import ensure_default_dataset

        ensure_default_dataset(path)
    labels = LabelConfig(file=None if labels_file is None else str(labels_file))
    return Dataset.open(path, labels=labels, split=split)


def load_space(config: SearchConfig) -> SearchSpace:
    """``--space``, else the packaged grid file for ``--sampler grid``, else the default space."""
    if config.space is not None:
        return SearchSpace.from_toml(config.space)
    return SearchSpace.from_toml(GRID_SPACE if config.sampler == "grid" else DEFAULT_SPACE)


def open_session(config: SearchConfig, *, force: bool = False) -> Session:
    """Open data, space, Optuna study and MLflow parent run (created on first use)."""
    dataset = open_dataset(config.data, split=config.split, labels_file=config.labels_file)
    space = load_space(config).clip_window(*dataset.admissible_window_range())
    storage = open_storage(config.storage, on_stale_trial=retry_stale_trial)
    tracking_uri, experiment_id = setup_tracking(config.tracking_uri, config.experiment)
    client = MlflowClient(tracking_uri)
    max_epochs = config.epochs or int(space["epochs"].bounds()[1])
    pruner = make_pruner(
        config.pruner,
        n_startup_trials=config.n_startup_trials,
        n_warmup_steps=config.n_warmup_steps,
        max_epochs=max_epochs,
        patience=config.patience,
        percentile=config.percentile,
    )
    with study_lock(storage, config.study):  # machines starting together create it once
        study = open_study(
            config,
            space,
            storage,
            data_fingerprint=dataset.fingerprint,
            data_keys=data_identity(dataset),
            window_range=dataset.admissible_window_range(),
            pruner=pruner,
            force=force,
        )
        parent = ensure_parent_run(client, study, experiment_id, _identity_params(study, config))
    tracker = Tracker(client, experiment_id, parent, config.study)
    return Session(config, dataset, space, storage, study, tracker)


def prepare_study(config: SearchConfig, *, force: bool = False) -> Session:
    """Open the session, record this run's settings and fail trials left RUNNING (run once)."""
    session = open_session(config, force=force)
    recover_stale_trials(session.study, session.tracker)
    _record_settings(session)
    return session


def run_study(
    config: SearchConfig,
    *,
    session: Session | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    out: TextIO | None = None,
) -> RunResult:
    """Run trials in this process until the study has ``config.n_trials`` finished trials.

    Args:
        config: the resolved settings.
        session: an open session (``prepare_study``'s); None opens one (worker processes).
        callbacks: extra Keras callbacks for every fit.
        out: where the per-trial progress lines go. Defaults to stdout.

    Raises:
        StudyFailed: ``config.max_failures`` trials failed in a row.
        KeyboardInterrupt: Ctrl-C or SIGTERM; the running trial is FAIL, its run FAILED and its
            parameters enqueued for a retry.
    """
    session = session or open_session(config)
    study = session.study
    warm_up_model_logging()
    objective = make_objective(config, session, callbacks)
    loop = TrialCallbacks(
        objective=config.objective,
        max_failures=config.max_failures,
        on_complete=lambda s, t: record_best(
            session.tracker.client,
            s,
            t,
            parent_run_id=session.tracker.parent_run_id,
            objective=config.objective,
        ),
        out=out,
        n_trials=config.n_trials,
    )
    optimize_until(
        study,
        objective,
        n_trials=config.n_trials,
        timeout=config.timeout,
        callbacks=[loop],
        should_stop=lambda: loop.failure is not None,
        recover=lambda s: recover_stale_trials(s, session.tracker),
        before_trial=lambda: wait_for_tracking(config.tracking_uri),
        max_trials=config.trials_per_process,
    )
    if loop.failure:
        raise StudyFailed(loop.failure)
    return study_result(study, len(loop.trial_numbers))


def make_objective(
    config: SearchConfig, session: Session, callbacks: Sequence[keras.callbacks.Callback] = ()
) -> Objective:
    """The trial objective of a session (also what confirmation retrains with)."""
    return Objective(
        dataset=session.dataset,
        space=session.space,
        tracker=session.tracker,
        objective=config.objective,
        direction=config.direction,
        seed=config.seed,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=2 if config.verbose else 0,
        cv=config.cv,
    )


def confirm_and_crown(
    config: SearchConfig, session: Session, *, out: TextIO | None = None
) -> Crowning | None:
    """Retrain the top trials (``--confirm-top``, ``--repeats``), then crown the champion."""
    out = out or sys.stdout

    def report(job: Job, result: dict[str, Any], done: int, total: int) -> None:
        trial = session.study.trials[job.trial]
        print(f"confirm {done}/{total}: trial {job.trial} repeat {job.repeat}: "
              f"{config.objective}={result['value']:.4f} (trial: {trial.value:.4f})",
              file=out, flush=True)  # fmt: skip

    confirm(
        session.study, make_objective(config, session), session.tracker,
        top=config.confirm_top, repeats=config.repeats, seed=config.seed, on_result=report,
    )  # fmt: skip
    return crown(
        session.tracker.client, session.study, parent_run_id=session.tracker.parent_run_id,
        experiment=config.experiment, objective=config.objective,
    )  # fmt: skip


def finish_study(session: Session, *, status: str = "FINISHED") -> PlotSet:
    """Write the plots and the report, log them to the parent run, end it with ``status``."""
    tracker = session.tracker
    plots = publish_plots(session.study, tracker.client, tracker.parent_run_id)
    publish_report(session.study, tracker.client, tracker.parent_run_id)
    tracker.client.set_terminated(tracker.parent_run_id, status=status)
    return plots


def study_result(study: optuna.Study, trials_run: int) -> RunResult:
    """The study's counts and best value, with ``trials_run`` trials run by this call."""
    counts = collections.Counter(trial.state for trial in study.get_trials(deepcopy=False))
    best = best_trial(study)
    best_value, best_number = (best.value, best.number) if best else (None, None)
    return RunResult(
        trials_run=trials_run,
        n_complete=counts[TrialState.COMPLETE],
        n_pruned=counts[TrialState.PRUNED],
        n_failed=counts[TrialState.FAIL],
        best_value=best_value,
        best_number=best_number,
    )


def _identity_params(study: optuna.Study, config: SearchConfig) -> dict[str, str]:
    """Parent-run params that never change over the study's life."""
    keys = ("objective", "direction", "space_fingerprint", "data_fingerprint", "sampler",
            "split", "labels")  # fmt: skip
    params = {key: str(study.user_attrs.get(key)) for key in keys}
    params["intermediate_value"] = str(study.user_attrs.get("intermediate_value"))
    params["experiment"] = config.experiment
    return params


def _record_settings(session: Session) -> None:
    """Log this run's settings to the parent run and say what changed since the last run."""
    settings = session.config.as_params()
    settings["split"] = session.dataset.split_config.rule  # the grouping key resolved
    previous: dict[str, Any] = session.study.user_attrs.get("last_settings") or {}
    changed = {
        k: (previous.get(k), v) for k, v in settings.items() if previous and previous.get(k) != v
    }
    if changed:
        text = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in sorted(changed.items()))
        print(f"resuming study {session.study.study_name!r}; changed since last run: {text}")
    session.study.set_user_attr("last_settings", settings)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    session.tracker.client.log_text(
        session.tracker.parent_run_id,
        json.dumps(settings, indent=2, sort_keys=True),
        f"settings/search_config_{stamp}.json",
    )
