"""Stale trials: which RUNNING trials have no live worker behind them, and failing them once.

A trial is stale when

- its owner (host, process id and process start time, recorded when the trial starts) ran on
  this machine and that process is gone: found at once, e.g. on a restart after a kill;
- the storage has heartbeats and the trial's last one is older than the grace period: a worker
  on another machine died (Optuna's ``fail_stale_trials`` finds these);
- it has neither an owner nor a heartbeat record (a study from before both existed).

A trial of a live worker on another machine is never touched, so a second machine that joins a
PostgreSQL study does not fail the first machine's running trials. Each stale trial is set FAIL
and handed to the storage's ``heartbeat_stale_trial_callback`` (``search._runner`` installs
``search._study.retry_stale_trial``, which enqueues its parameters once more; Optuna hands the
trials it fails before each trial to the same callback), and ``recover_stale_trials`` fails its
MLflow run.
"""

from __future__ import annotations

import copy
import datetime
import os
import socket
import warnings
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

#: Trial system attribute naming the process that runs the trial.
OWNER_ATTR = "stroke_search:worker"


def process_identity(pid: int | None = None) -> dict[str, object]:
    """Host, pid and kernel start time of a process (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return {"host": socket.gethostname(), "pid": pid, "started": _start_ticks(pid)}


def mark_owner(trial: optuna.Trial, **extra: object) -> None:
    """Record on ``trial`` that this process runs it (plus e.g. the worker's sampler seed)."""
    trial.storage.set_trial_system_attr(
        trial._trial_id, OWNER_ATTR, {**process_identity(), **extra}
    )


def owner_is_dead(trial: FrozenTrial) -> bool:
    """Whether the trial's recorded owner ran on this host and no longer exists."""
    return process_is_dead(trial.system_attrs.get(OWNER_ATTR))


def process_is_dead(owner: object) -> bool:
    """Whether a :func:`process_identity` record names a process of this host that is gone."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = int(owner.get("pid", -1))
    started = _start_ticks(pid)
    return started is None or (owner.get("started") not in (None, started))


def fail_stale_trials(study: optuna.Study, *, min_age: float = 120.0) -> list[int]:
    """Fail the study's stale trials (see the module docstring); return their numbers.

    Args:
        study: the study to clean.
        min_age: seconds a trial without owner record must have run before it counts as
            stale, so a trial a live worker asked for a moment ago is never failed.
            Defaults to `120`.
    """
    storage = study._storage
    heartbeat = _has_heartbeat(storage)
    stale = set(storage._get_stale_trial_ids(study._study_id)) if heartbeat else set()
    old_enough = datetime.datetime.now() - datetime.timedelta(seconds=min_age)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        unowned = OWNER_ATTR not in trial.system_attrs and (
            trial.datetime_start is None or trial.datetime_start < old_enough
        )
        if owner_is_dead(trial) or (unowned and not _has_heartbeat_row(study, trial._trial_id)):
            stale.add(trial._trial_id)
    callback = storage.get_heartbeat_stale_trial_callback() if heartbeat else None
    failed = []
    for trial_id in sorted(stale):
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker failed it first; its callback ran there
        frozen = copy.deepcopy(storage.get_trial(trial_id))
        failed.append(frozen.number)
        if callback is not None:
            callback(study, frozen)
    return failed


def _has_heartbeat_row(study: optuna.Study, trial_id: int) -> bool:
    backend = getattr(study._storage, "_backend", study._storage)
    if not isinstance(backend, optuna.storages.RDBStorage) or backend.heartbeat_interval is None:
        return False
    from optuna.storages._rdb import models  # noqa: PLC0415 - RDB storages only

    with backend.scoped_session() as session:
        row = session.query(models.TrialHeartbeatModel).filter_by(trial_id=trial_id).first()
        return row is not None


def _has_heartbeat(storage: optuna.storages.BaseStorage) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.storages._heartbeat.is_heartbeat_enabled(storage)


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), ``None`` if it is gone.

    On systems without ``/proc`` a live pid yields ``0`` (start time unknown).
    """
    stat = Path(f"/proc/{pid}/stat")
    try:
        if Path("/proc/self/stat").exists():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return int(fields[19])
        os.kill(pid, 0)
        return 0
    except (OSError, IndexError, ValueError):
        return None
