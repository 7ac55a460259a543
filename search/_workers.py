"""``--workers N``: N worker processes on one study.

The parent process prepares everything that must exist once (database schema, study, MLflow
experiment and parent run; concurrent first-time creation races), then starts N processes with
``spawn`` (Keras and TensorFlow state is process-global and not fork-safe). Each worker limits
TensorFlow to ``max(1, cores // N)`` threads, opens the same study, gets its own sampler seed
(``seed + 7919 * worker``, recorded on its trials) and runs ``run_study``.

Workers run in their own process group, so a terminal's Ctrl-C reaches the parent only; the
parent forwards SIGINT and SIGTERM to every worker, waits for them to fail and close their
running trials, and exits 130 (SIGINT) or 143 (SIGTERM). Re-running the same command resumes.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from types import FrameType

from data_pipeline.errors import ProjectError
from data_pipeline.errors import spelled_as
from search._config import SPACE_SETTING_NAMES
from search._config import SearchConfig
from search._console import EXIT_SIGINT
from search._console import EXIT_SIGTERM
from search._console import Terminated
from search._console import exit_code
from search._console import quiet_libraries
from search._console import raise_terminated
from search._loop import FINISHED
from search._progress import StudyFailed
from search._remote import check_tracking
from search._runner import RunResult
from search._runner import Session
from search._runner import open_session
from search._runner import run_study
from search._runner import study_result
from search._study import make_sampler

SEED_STRIDE = 7919
_PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>


def threads_per_worker(n_workers: int, cores: int | None = None) -> int:
    """TensorFlow threads for each of ``n_workers`` processes: ``max(1, cores // n_workers)``."""
    return max(1, (cores or os.cpu_count() or 1) // n_workers)


def limit_tf_threads(n_threads: int) -> None:
    """Cap TensorFlow's intra- and inter-op thread pools; call before TensorFlow runs an op."""
    import tensorflow as tf  # workers only

    tf.config.threading.set_intra_op_parallelism_threads(n_threads)
    tf.config.threading.set_inter_op_parallelism_threads(n_threads)


def _worker_main(config: SearchConfig, index: int, n_threads: int) -> None:
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


def _run_worker(config: SearchConfig, index: int) -> int:
    signal.signal(signal.SIGTERM, raise_terminated)
    quiet_libraries(config.verbose)
    try:
        with spelled_as(SPACE_SETTING_NAMES):
            session = open_session(config)
            seeded = dataclasses.replace(config, seed=config.seed + SEED_STRIDE * index)
            session.study.sampler = make_sampler(seeded, session.space)
            run_study(config, session=session)
    except KeyboardInterrupt as exc:
        return exit_code(exc)
    except (ProjectError, StudyFailed) as exc:
        print(f"error (worker {index}): {exc}", file=sys.stderr)
        return 1
    return 0


def run_parallel(config: SearchConfig, session: Session, n_workers: int) -> RunResult:
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
    deadline = None if config.timeout is None else time.monotonic() + config.timeout

    def remaining() -> SearchConfig:
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
        finished = len(session.study.get_trials(deepcopy=False, states=FINISHED))
        if deadline is not None and time.monotonic() >= deadline:
            return study_result(session.study, 0)  # out of time: start no trial here
        if config.trials_per_process is None or finished >= config.n_trials:
            break
    return run_study(remaining(), session=session)


def run_workers(config: SearchConfig, n_workers: int) -> int:
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
