"""The Optuna study's life: create or resume, refuse an incompatible resume, enqueue the baseline,
recover trials a killed process left RUNNING, and retry an interrupted trial's parameters once.

A study records what makes its trials comparable in its user attributes on creation (objective,
search-space fingerprint, data fingerprint, sampler, split rule, label mapping); a resume that
changes one of them is refused unless forced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import TrialState

from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from search._attrs import RUN_ID_ATTR
from search._config import SearchConfig
from search._params import baseline_values
from search._pruning import intermediate_label
from search._recovery import fail_stale_trials
from search._space import SearchSpace
from search._tracking import Tracker

RETRY_OF_ATTR = "retry_of"
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
_log = logging.getLogger(__name__)


def make_sampler(config: SearchConfig, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """TPE (seeded, multivariate, grouped for the conditional layer entries), random or grid."""
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    if config.sampler == "grid":
        from search._params import grid_values

        return optuna.samplers.GridSampler(grid_values(space), seed=config.seed)
    with warnings.catch_warnings():  # multivariate and group are "experimental" since 2.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=config.seed,
            multivariate=True,
            group=True,
            n_startup_trials=config.n_startup_trials,
        )


def data_identity(dataset: Dataset) -> dict[str, str]:
    """The split rule (resolved grouping key, fractions, seed, named groups) and a digest of
    the label mapping a study's data is read with."""
    labels = dataclasses.asdict(dataset.labels)
    labels.pop("file")  # the mapping counts, not where it was read from
    digest = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return {"split": dataset.split_config.rule, "labels": digest}


def identity(
    config: SearchConfig,
    space: SearchSpace,
    data_fingerprint: str,
    data_keys: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """What must stay the same for a study's trials to be comparable (stored on creation)."""
    return {
        "objective": config.objective,
        "direction": config.direction,
        "space_fingerprint": space.fingerprint(),
        "data_fingerprint": data_fingerprint,
        "sampler": config.sampler,
        "cv": None if config.cv is None else str(config.cv),  # None matches older studies
        **(data_keys or {}),
    }


def open_study(
    config: SearchConfig,
    space: SearchSpace,
    storage: optuna.storages.BaseStorage,
    *,
    data_fingerprint: str,
    data_keys: dict[str, str] | None = None,
    window_range: tuple[int, int],
    pruner: optuna.pruners.BasePruner,
    force: bool = False,
) -> optuna.Study:
    """Create the study (baseline enqueued as trial 0) or load it and check it is compatible.

    Raises:
        ConfigError: the stored study was made with another objective, space, data or sampler,
            and ``force`` is False.
    """
    study = optuna.create_study(
        storage=storage,
        study_name=config.study,
        direction=config.direction,
        sampler=make_sampler(config, space),
        pruner=pruner,
        load_if_exists=True,
    )
    wanted = identity(config, space, data_fingerprint, data_keys)
    stored = {key: study.user_attrs.get(key) for key in wanted}
    if not any(stored.values()) and not study.trials:
        for key, value in wanted.items():
            study.set_user_attr(key, value)
        study.set_user_attr("space", space.as_dict())
        study.set_user_attr("intermediate_value", intermediate_label(config.direction))
        enqueue_baseline(study, space, window_range)
        return study
    changed = {k: (stored[k], v) for k, v in wanted.items() if stored[k] != v}
    if study.direction.name.lower() != config.direction:
        changed["direction"] = (study.direction.name.lower(), config.direction)
    if changed and not force:
        details = "; ".join(
            f"{k}: stored {old!r}, now {new!r}" for k, (old, new) in changed.items()
        )
        raise ConfigError(
            f"study {config.study!r} in {_shown(storage)} was created with other settings "
            f"({details}), so its trials are not comparable with new ones; start a new study "
            f"with --study NEW_NAME, or pass --force-resume to continue it anyway."
        )
    if changed:
        _log.warning("resuming study %s despite changed %s", config.study, sorted(changed))
        for key, (_, value) in changed.items():
            study.set_user_attr(key, value)
    return study


def enqueue_baseline(
    study: optuna.Study, space: SearchSpace, window_range: tuple[int, int]
) -> None:
    """Enqueue the V2 baseline as the next trial; values outside the space are sampled."""
    values = baseline_values(space, window_range)
    outside = {}
    for name, value in list(values.items()):
        if not space.contains(name, value):
            outside[name] = values.pop(name)
    if outside:
        _log.warning("baseline values outside the search space are sampled instead: %s", outside)
    study.enqueue_trial(values, user_attrs={"baseline": "V2"})


def retry_once(
    study: optuna.Study, number: int, params: Mapping[str, Any], user_attrs: Mapping[str, Any]
) -> bool:
    """Enqueue a failed trial's parameters again, unless it already was a retry."""
    if RETRY_OF_ATTR in user_attrs or not params:
        return False
    attrs = {k: v for k, v in user_attrs.items() if k == "baseline"}
    study.enqueue_trial(dict(params), user_attrs={**attrs, RETRY_OF_ATTR: number})
    return True


def retry_stale_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """The storage's stale-trial callback: enqueue the parameters of a dead worker's trial once.

    Installed on the storage (``open_storage(on_stale_trial=...)``) because Optuna fails stale
    trials itself before every trial, without our recovery: a trial it failed got no retry.
    """
    retry_once(study, trial.number, trial.params, trial.user_attrs)


def recover_stale_trials(study: optuna.Study, tracker: Tracker) -> list[int]:
    """Fail the trials a dead process left RUNNING, fail their child runs, retry each once.

    Staleness is decided by ``search._recovery.fail_stale_trials`` (dead owner process on this
    host, or a missed heartbeat), so live workers' trials are never touched; the storage's
    stale-trial callback (:func:`retry_stale_trial`) enqueues each one's retry. Child runs still
    RUNNING whose trial is no longer running (a kill between the two writes, or a trial Optuna
    failed) are failed too; confirmation retrainings are not (``search._confirm`` takes over
    the abandoned ones through their claims, and another machine may be training them).

    Returns:
        Numbers of the trials that were failed.
    """
    reason = "the process running this trial stopped (killed or crashed); failed on restart"
    failed = fail_stale_trials(study)
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    runs = tracker.client.search_runs(
        [tracker.experiment_id],
        filter_string=(
            f"tags.`optuna.study_name` = '{study.study_name}' and attributes.status = 'RUNNING'"
        ),
    )
    for run in runs:
        number = run.data.tags.get("optuna.trial_number")
        if "repeat" in run.data.tags:  # a confirmation retraining: its claim decides (_confirm)
            continue
        if run.info.run_id != tracker.parent_run_id and (
            number is None or int(number) not in running
        ):
            tracker.finish_child(run.info.run_id, "FAIL", error=reason)
    if failed:
        _log.warning(
            "failed %d stale trial(s) of study %s: %s", len(failed), study.study_name, failed
        )
    return failed


def n_finished(study: optuna.Study) -> int:
    """Trials that count toward ``--n-trials``: complete and pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))


def run_id_of(trial: optuna.trial.FrozenTrial) -> str | None:
    """The child run id recorded on ``trial``."""
    return trial.user_attrs.get(RUN_ID_ATTR)


def _shown(storage: optuna.storages.BaseStorage) -> str:
    url = getattr(storage, "url", None)
    if url is None:
        return "the storage"
    from search._storage import redact_url

    return redact_url(url)
