"""Worker processes: exact trial count under the study lock, dead workers, threads, signals."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import optuna
import pytest
from optuna.trial import TrialState

from data_pipeline.errors import ConfigError
from search._config import SearchConfig
from search._loop import optimize_until
from search._recovery import OWNER_ATTR
from search._recovery import fail_stale_trials
from search._storage import HeartbeatConfig
from search._storage import open_storage
from search._study import RETRY_OF_ATTR
from search._study import retry_stale_trial
from search._workers import threads_per_worker
from tests.search_tests._services import child_env
from tests.search_tests._services import search_command
from tests.search_tests._services import wait_for_training_trial


def _quick_worker(url: str, n_trials: int, seed: int) -> None:
    study = optuna.load_study(
        study_name="w",
        storage=open_storage(url, create_schema=False),
        sampler=optuna.samplers.RandomSampler(seed),
    )

    def objective(trial: optuna.Trial) -> float:
        time.sleep(0.3)
        return trial.suggest_float("x", 0.0, 1.0)

    optimize_until(study, objective, n_trials=n_trials, poll=0.2)


def _hanging_worker(url: str, started: str) -> None:
    study = optuna.load_study(study_name="w", storage=open_storage(url, create_schema=False))

    def objective(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        Path(started).touch()
        time.sleep(600)
        return 0.0

    optimize_until(study, objective, n_trials=5)


def _states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("n_workers", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8)]
)
def test_workers_threads_per_worker(n_workers: int, cores: int, threads: int) -> None:
    # N workers share the cores: max(1, cores // N) TensorFlow threads each
    assert threads_per_worker(n_workers, cores) == threads


def test_workers_three_processes_finish_exactly_n_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    optuna.create_study(storage=open_storage(url), study_name="w")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_quick_worker, args=(url, 9, seed)) for seed in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    study = optuna.load_study(study_name="w", storage=open_storage(url))
    # exactly the requested number of finished trials, none left running, no worker crashed
    assert _states(study) == {"COMPLETE": 9}
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    # the work was shared: trials were run by more than one process
    assert len({t.system_attrs[OWNER_ATTR]["pid"] for t in study.trials}) >= 2


def test_workers_trial_finishing_while_counted_starts_no_extra_trial(tmp_path: Path) -> None:
    # The race CI once hit with three workers, made deterministic: another worker's trial
    # completes right after this worker read the study. Counting finished and running trials
    # from two reads missed it in both and ran a 10th trial of 9; one snapshot must not.
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/optuna.db"))
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
    other_workers_trial = study.ask()
    read_trials = study.get_trials

    def read_then_other_trial_completes(*args: object, **kwargs: object) -> object:
        trials = read_trials(*args, **kwargs)
        if not read_trials(deepcopy=False)[-1].state.is_finished():
            study.tell(other_workers_trial, 0.1)
        return trials

    study.get_trials = read_then_other_trial_completes  # type: ignore[method-assign]
    ran = optimize_until(
        study,
        lambda t: t.suggest_float("x", 0.0, 1.0),
        n_trials=2,
        recover=lambda s: None,
        poll=0.01,
    )
    assert ran == 0
    assert _states(study) == {"COMPLETE": 2}


def test_workers_killed_worker_trial_is_failed_and_study_finishes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    optuna.create_study(storage=open_storage(url), study_name="w")
    started = tmp_path / "started"
    worker = multiprocessing.get_context("spawn").Process(
        target=_hanging_worker, args=(url, str(started))
    )
    worker.start()
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    study = optuna.load_study(study_name="w", storage=open_storage(url))
    # this machine sees at once that the owner process is gone, no grace period needed
    optimize_until(study, lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3, poll=0.2)
    assert _states(study) == {"FAIL": 1, "COMPLETE": 3}


def test_workers_other_machine_trial_fails_only_after_its_grace_period(tmp_path: Path) -> None:
    storage = open_storage(
        f"sqlite:///{tmp_path}/optuna.db", heartbeat=HeartbeatConfig(interval=1, grace_period=2)
    )
    study = optuna.create_study(storage=storage, study_name="w")
    remote = study.ask()
    storage.set_trial_system_attr(
        remote._trial_id, OWNER_ATTR, {"host": "another-machine", "pid": 1, "started": 1}
    )
    storage.record_heartbeat(remote._trial_id)
    # a trial of a live worker on another machine (fresh heartbeat) is left alone
    assert fail_stale_trials(study) == []
    time.sleep(3.5)
    # once its heartbeat is older than the grace period, any worker fails it
    assert fail_stale_trials(study) == [remote.number]
    assert study.trials[remote.number].state == TrialState.FAIL


def test_workers_trial_optuna_fails_as_stale_is_retried_once(tmp_path: Path) -> None:
    storage = open_storage(
        f"sqlite:///{tmp_path}/optuna.db",
        heartbeat=HeartbeatConfig(interval=1, grace_period=2),
        on_stale_trial=retry_stale_trial,
    )
    study = optuna.create_study(storage=storage, study_name="w")
    remote = study.ask()
    remote.suggest_float("x", 0.0, 1.0)
    storage.set_trial_system_attr(
        remote._trial_id, OWNER_ATTR, {"host": "another-machine", "pid": 1, "started": 1}
    )
    storage.record_heartbeat(remote._trial_id)
    time.sleep(3.5)
    # Optuna's own check (it runs before every trial, outside our recovery; CI once saw it
    # win the race) fails the dead worker's trial: its parameters must still run again
    optuna.storages.fail_stale_trials(study)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert study.trials[remote.number].state == TrialState.FAIL
    # an enqueued trial holds its parameters as fixed parameters until it runs
    assert [(t.user_attrs[RETRY_OF_ATTR], t.system_attrs["fixed_params"]) for t in waiting] == [
        (remote.number, remote.params)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "n_workers"), [(signal.SIGTERM, 143, "2"), (signal.SIGINT, 130, "1")]
)
def test_workers_signal_exits_cleanly_and_rerun_resumes(
    study_args: list[str], tmp_path: Path, sig: int, code: int, n_workers: str
) -> None:
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    first = subprocess.Popen(
        # more trials than can finish before the signal: it always meets a running trial
        search_command(*study_args, "--n-trials", "50", "--epochs", "400", "--workers", n_workers),
        env=child_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job starts with SIGINT ignored, and Python then keeps ignoring
        # it: give the command the default disposition a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for_training_trial(storage, first)
    first.send_signal(sig)
    _, err = first.communicate(timeout=900)
    # 143 for SIGTERM, 130 for Ctrl-C, one line that says how to resume, no traceback
    assert first.returncode == code, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    study = optuna.load_study(study_name="e2e", storage=storage)
    # the interrupted trial is FAIL (not RUNNING) and its parameters wait for a retry
    assert not study.get_trials(states=(TrialState.RUNNING,))
    assert study.get_trials(states=(TrialState.FAIL,))
    assert study.get_trials(states=(TrialState.WAITING,))
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("e2e_experiment")
    runs = client.search_runs([experiment.experiment_id])
    assert not [r for r in runs if r.info.status == "RUNNING"]
    n_trials = len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) + 1

    again = subprocess.run(
        search_command(
            *study_args, "--n-trials", str(n_trials), "--epochs", "1", "--workers", n_workers
        ),
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert again.returncode == 0, again.stderr
    study = optuna.load_study(study_name="e2e", storage=storage)
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    # the re-run finished the job: one more finished trial, the interrupted parameters retried
    assert len(finished) == n_trials
    assert any("retry_of" in t.user_attrs for t in study.trials)
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    # one parent run; one child run per trial that got as far as creating one (a worker
    # interrupted before that has none) and per finished trial; none left RUNNING
    assert len(parents) == 1
    assert sorted(int(r.data.tags["optuna.trial_number"]) for r in children) == sorted(
        t.number for t in study.trials if "mlflow_run_id" in t.user_attrs
    )
    assert all("mlflow_run_id" in t.user_attrs for t in finished)
    assert not [r for r in runs if r.info.status == "RUNNING"]


def test_workers_trials_per_process_replaces_each_worker(
    study_args: list[str], tmp_path: Path
) -> None:
    done = subprocess.run(
        search_command(
            *study_args, "--n-trials", "3", "--epochs", "1", "--trials-per-process", "1"
        ),
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    study = optuna.load_study(study_name="e2e", storage=storage)
    trials = study.get_trials(deepcopy=False)
    # exactly the 3 trials, each in a fresh worker process (memory freed between them), none
    # in the parent
    assert _states(study) in ({"COMPLETE": 3}, {"COMPLETE": 2, "PRUNED": 1})
    owners = {t.system_attrs[OWNER_ATTR]["pid"] for t in trials}
    assert len(owners) == 3 and os.getpid() not in owners
    assert "3 complete" in done.stdout or "2 complete, 1 pruned" in done.stdout


def test_workers_trials_per_process_below_one_is_refused() -> None:
    # the message names the flag, the value and the way out
    with pytest.raises(
        ConfigError, match=r"--trials-per-process must be at least 1.*leave it out"
    ):
        SearchConfig(trials_per_process=0)
