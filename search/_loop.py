"""The trial loop every process of a study runs, and the lock its processes share.

:func:`optimize_until` asks for a trial only while the study's finished and running trials fall
short of ``n_trials``, under :func:`study_lock`; one process or many (``--workers``, other
machines on PostgreSQL) end with exactly ``n_trials`` finished trials.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
import zlib
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence

import optuna
from optuna.trial import TrialState

from search._recovery import fail_stale_trials
from search._recovery import mark_owner
from search._storage import normalize_storage_url
from search._storage import sqlite_path

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@contextlib.contextmanager
def study_lock(
    storage: optuna.storages.BaseStorage, study_name: str
) -> Iterator[Callable[[], None]]:
    """Hold a lock shared by every worker of a study (also on other machines for PostgreSQL).

    Yields a ``release`` function that ends the lock early (idempotent). SQLite studies lock a
    ``<file>.lock`` beside the database, PostgreSQL ones take an advisory lock. Used around
    first-time creation (study, baseline, parent run) and around asking for a trial.
    """
    backend = getattr(storage, "_backend", storage)
    url = getattr(backend, "url", "")
    parsed = normalize_storage_url(url) if url else None
    path = sqlite_path(parsed) if parsed else None
    released = False
    if path is not None:
        handle = open(f"{path}.lock", "a")  # noqa: SIM115 - closed by release()
        fcntl.flock(handle, fcntl.LOCK_EX)

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()

    elif parsed is not None and parsed.get_backend_name() == "postgresql":
        connection = backend.engine.connect()
        key = zlib.crc32(study_name.encode())
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({key})")

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                connection.close()

    else:

        def release() -> None:
            pass

    try:
        yield release
    finally:
        release()


def optimize_until(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    n_trials: int,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    should_stop: Callable[[], bool] = lambda: False,
    recover: Callable[[optuna.Study], object] = fail_stale_trials,
    before_trial: Callable[[], object] = lambda: None,
    poll: float = 2.0,
    max_trials: int | None = None,
) -> int:
    """Run trials until the study holds exactly ``n_trials`` finished (complete + pruned) ones.

    Under :func:`study_lock`, a worker counts finished and running trials and asks for a new
    one only while they fall short of ``n_trials``; the lock is released as soon as the trial
    exists. A worker that finds the rest running waits, calling ``recover`` (which fails stale
    trials, a dead worker's, so that their retries run). ``before_trial`` runs before each
    trial outside the lock (e.g. waiting for the tracking server). With ``max_trials`` the
    loop also ends after running that many. Returns how many trials this process ran.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    ran = 0
    while not should_stop() and (deadline is None or time.monotonic() < deadline):
        if max_trials is not None and ran >= max_trials:
            break
        before_trial()
        with study_lock(study._storage, study.study_name) as release:
            recover(study)
            # one snapshot: counted in two reads, a trial finishing in between counts in neither
            states = [trial.state for trial in study.get_trials(deepcopy=False)]
            finished = sum(state in FINISHED for state in states)
            running = states.count(TrialState.RUNNING)
            if finished >= n_trials:
                break
            if finished + running < n_trials:

                def owned(trial: optuna.Trial) -> float:
                    mark_owner(trial)
                    release()
                    return objective(trial)

                study.optimize(owned, n_trials=1, callbacks=list(callbacks), catch=(Exception,))
                ran += 1
                continue
        time.sleep(poll)
    return ran
