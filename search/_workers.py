"""``--workers N``: N worker processes on one study, and the trial loop every worker runs.

The parent process prepares everything that must exist once (database schema, study, MLflow
experiment and parent run; concurrent first-time creation races), then starts N processes with
``spawn`` (Keras and TensorFlow state is process-global and not fork-safe). Each worker limits
TensorFlow to ``max(1, cores // N)`` threads, opens the same study, gets its own sampler seed
(``seed + 7919 * worker``, recorded on its trials) and runs :func:`optimize_until`.

Workers run in their own process group, so a terminal's Ctrl-C reaches the parent only; the
parent forwards SIGINT and SIGTERM to every worker, waits for them to fail and close their
running trials, and exits 130 (SIGINT) or 143 (SIGTERM). Re-running the same command resumes.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import fcntl
import multiprocessing
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from types import FrameType
from typing import Any

import optuna
from optuna.trial import TrialState

from data_pipeline.errors import ProjectError
from search._recovery import fail_stale_trials
from search._recovery import mark_owner
from search._remote import check_tracking
from search._storage import normalize_storage_url
from search._storage import sqlite_path

EXIT_SIGINT, EXIT_SIGTERM = 130, 143
SEED_STRIDE = 7919
_PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (the running trial fails, its run is closed), exit 143.

    Defined here, not in ``search.run``: under ``python -m search.run`` that module is
    ``__main__``, and a second import of it would define a second, different class.
    """


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers``, for ``python -m search.run``."""
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on this machine, sharing the study and the cores; run the same "
        "command on other machines with a PostgreSQL --storage to add more (default: %(default)s)",
    )
    parser.add_argument(
        "--trials-per-process",
        type=int,
        default=None,
        metavar="N",
        help="run the trials in worker processes that are replaced after N trials each: "
        "TensorFlow keeps about 20 MiB per trained model until its process ends (an upstream "
        "leak that clear_session does not free), so a long study grows by ~1 GiB per 50 "
        "trials in one process (default: one process for all trials)",
    )


def threads_per_worker(n_workers: int, cores: int | None = None) -> int:
    """TensorFlow threads for each of ``n_workers`` processes: ``max(1, cores // n_workers)``."""
    return max(1, (cores or os.cpu_count() or 1) // n_workers)


def limit_tf_threads(n_threads: int) -> None:
    """Cap TensorFlow's intra- and inter-op thread pools; call before TensorFlow runs an op."""
    import tensorflow as tf  # noqa: PLC0415 - workers only

    tf.config.threading.set_intra_op_parallelism_threads(n_threads)
    tf.config.threading.set_inter_op_parallelism_threads(n_threads)


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
            finished = sum(state in _FINISHED for state in states)
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


def _worker_main(config: Any, index: int, n_threads: int) -> None:
    """Entry point of one spawned worker: own process group, limited threads, the trial loop."""
    os.setpgid(0, 0)  # Ctrl-C in a terminal reaches the parent, which forwards it once
    _terminate_with_parent()
    limit_tf_threads(n_threads)
    sys.exit(_run_worker(config, index))


def _terminate_with_parent() -> None:
    """Linux: SIGTERM this worker when the parent dies (``kill -9`` of the command leaves no
    orphans: each worker fails its trial cleanly and exits)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _run_worker(config: Any, index: int) -> int:
    from search._progress import StudyFailed  # noqa: PLC0415 - heavy; workers only
    from search._runner import open_session  # noqa: PLC0415
    from search._runner import run_study  # noqa: PLC0415
    from search._study import make_sampler  # noqa: PLC0415
    from search.run import quiet_libraries  # noqa: PLC0415

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    quiet_libraries(config.verbose)
    try:
        session = open_session(config)
        seeded = dataclasses.replace(config, seed=config.seed + SEED_STRIDE * index)
        session.study.sampler = make_sampler(seeded, session.space)
        run_study(config, session=session)
    except KeyboardInterrupt as exc:
        return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT
    except (ProjectError, StudyFailed) as exc:
        print(f"error (worker {index}): {exc}", file=sys.stderr)
        return 1
    return 0


def run_parallel(config: Any, session: Any, n_workers: int) -> Any:
    """Run the prepared study with ``n_workers`` processes; return ``run_study``'s result.

    With ``config.trials_per_process`` each worker ends after that many trials and a new round
    of workers starts while the study is unfinished and time is left (``--timeout`` counts for
    all rounds together). After the workers end, the parent runs ``run_study`` on its own
    session: it fails the trial of a worker that died (e.g. killed by the OOM killer), runs
    what is still missing and returns the study's counts.

    Raises:
        KeyboardInterrupt: a forwarded Ctrl-C (:class:`Terminated` for SIGTERM).
        StudyFailed: a worker stopped on an error (its message is printed above).
    """
    from search._progress import StudyFailed  # noqa: PLC0415 - avoid an import cycle
    from search._runner import run_study  # noqa: PLC0415
    from search._runner import study_result  # noqa: PLC0415

    deadline = None if config.timeout is None else time.monotonic() + config.timeout

    def remaining() -> Any:
        if deadline is None:
            return config
        return dataclasses.replace(config, timeout=max(deadline - time.monotonic(), 0.001))

    while True:
        code = run_workers(remaining(), n_workers)
        if code == EXIT_SIGTERM:
            raise Terminated("SIGTERM forwarded to the workers")
        if code == EXIT_SIGINT:
            raise KeyboardInterrupt
        if code != 0:
            check_tracking(config.tracking_uri)  # a vanished tracking server: say so, exit 2
            raise StudyFailed(
                f"a worker of study {config.study!r} stopped with exit code {code} (its error "
                "is printed above); fix the cause, then run the same command again to resume."
            )
        finished = len(session.study.get_trials(deepcopy=False, states=_FINISHED))
        if deadline is not None and time.monotonic() >= deadline:
            return study_result(session.study, 0)  # out of time: start no trial here
        if config.trials_per_process is None or finished >= config.n_trials:
            break
    return run_study(remaining(), session=session)


def run_workers(config: Any, n_workers: int) -> int:
    """Start ``n_workers`` spawned workers on the prepared study; return the exit code.

    0 when every worker ended normally or was killed by a signal, 130/143 after a forwarded
    SIGINT/SIGTERM, otherwise the first positive worker exit code (a worker's error).
    """
    context = multiprocessing.get_context("spawn")
    n_threads = threads_per_worker(n_workers)
    workers = [
        context.Process(
            target=_worker_main,
            args=(config, index, n_threads),
            name=f"search-worker-{index}",
        )
        for index in range(n_workers)
    ]
    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        return EXIT_SIGTERM if received[0] == signal.SIGTERM else EXIT_SIGINT
    # A worker killed by a signal (e.g. the OOM killer) does not fail the study: the others
    # fail its trial and retry it, and the parent's run_study finishes what is missing.
    return next((code for code in (w.exitcode for w in workers) if code and code > 0), 0)
