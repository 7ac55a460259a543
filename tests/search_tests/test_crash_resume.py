"""A search killed mid-trial (SIGKILL) or stopped (SIGTERM), then the same command again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from search.run import main
from tests.search_tests._services import wait_for_training_trial

pytestmark = pytest.mark.slow


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "search.run", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


# More trials than can finish while the test polls: the signal always meets a running trial (with
# ``--n-trials 2`` the last trial could end between the poll and the signal; CI saw exit 0).
_NEVER_DONE_BEFORE_THE_SIGNAL = ["--n-trials", "50", "--epochs", "30"]



def _study_and_runs(tmp_path: Path) -> tuple[optuna.Study, MlflowClient, list]:
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("e2e_experiment")
    return study, client, client.search_runs([experiment.experiment_id])


def test_killed_process_leaves_no_running_trial_after_restart(
    study_args: list[str], tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    process = _start([*study_args, *_NEVER_DONE_BEFORE_THE_SIGNAL], tmp_path)
    wait_for_training_trial(storage, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    study, client, _ = _study_and_runs(tmp_path)
    # the kill left exactly one trial RUNNING and its child run RUNNING
    (killed,) = study.get_trials(states=(TrialState.RUNNING,))
    assert client.get_run(killed.user_attrs["mlflow_run_id"]).info.status == "RUNNING"
    finished_before = len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))

    # one more finished trial than before the kill: the retry of the killed trial's parameters
    n_trials = str(finished_before + 1)
    assert main([*study_args, "--n-trials", n_trials, "--epochs", "2"]) == 0
    study, client, runs = _study_and_runs(tmp_path)
    # no RUNNING leftovers in Optuna or MLflow; the killed trial failed, its params retried once
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert [r.info.run_name for r in runs if r.info.status == "RUNNING"] == []
    failed = study.trials[killed.number]
    assert failed.state == TrialState.FAIL
    run = client.get_run(killed.user_attrs["mlflow_run_id"])
    assert run.info.status == "FAILED" and run.data.tags["optuna.trial_state"] == "FAIL"
    assert "killed or crashed" in run.data.tags["error"]
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == killed.number]
    assert len(retries) == 1 and retries[0].params == killed.params
    assert len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == int(n_trials)


def test_sigterm_fails_the_running_trial_closes_its_run_and_exits_143(
    study_args: list[str], tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    process = _start([*study_args, *_NEVER_DONE_BEFORE_THE_SIGNAL], tmp_path)
    wait_for_training_trial(storage, process)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0].decode()
    # a clean stop: exit 143, one line saying how to resume, no traceback
    assert process.returncode == 143, output
    assert "run the same command again to resume" in output and "Traceback" not in output
    study, client, runs = _study_and_runs(tmp_path)
    # the trial running when the signal came (the one polled above may have finished meanwhile)
    (running,) = study.get_trials(states=(TrialState.FAIL,))
    assert not study.get_trials(states=(TrialState.RUNNING,))
    run = client.get_run(running.user_attrs["mlflow_run_id"])
    assert run.info.status == "FAILED" and "Terminated" in run.data.tags["error"]
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"])
    assert parent.info.status == "KILLED"
    # the interrupted trial's parameters wait to be retried by the next run
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs.get("retry_of") for t in waiting] == [running.number]
