"""Three machines on one study: real PostgreSQL, a real ``mlflow server``, one machine SIGKILLed.

The "machines" are three ``python -m search.run`` processes with their own working folders. The
one that gets killed runs under another host name (a private UTS namespace, when the kernel
allows one), so the survivors cannot see that its process is gone and must rely on heartbeats,
as they would for a machine that died.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pytest
from optuna.trial import TrialState

from search._recovery import OWNER_ATTR
from search._storage import open_storage
from tests.search_tests._services import child_env
from tests.search_tests._services import fresh_postgres_database
from tests.search_tests._services import mlflow_server
from tests.search_tests._services import search_command

N_TRIALS = 5
VICTIM_HOST = "machine-b"


def _as_other_host(command: list[str]) -> list[str]:
    """``command`` under host name ``machine-b`` when user+UTS namespaces work, else as is."""
    if shutil.which("unshare") is None:
        return command
    probe = ["unshare", "--user", "--map-root-user", "--uts", "hostname", VICTIM_HOST]
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        return command
    shell = f"hostname {VICTIM_HOST} && exec {shlex.join(command)}"
    return ["unshare", "--user", "--map-root-user", "--uts", "sh", "-c", shell]


def _victim_trial(storage: str, process: subprocess.Popen[str]) -> int:
    """Wait until the victim process runs a trial that has its child run; return its number."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            study = optuna.load_study(study_name="dist", storage=open_storage(storage))
        except KeyError:
            time.sleep(1.0)
            continue
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = trial.system_attrs.get(OWNER_ATTR, {})
            if owner.get("pid") == process.pid and "mlflow_run_id" in trial.user_attrs:
                return trial.number
        time.sleep(1.0)
    pytest.fail("the victim never started a trial")


@pytest.mark.slow
@pytest.mark.services
def test_distributed_three_workers_one_killed_finish_the_study(
    postgres_url: str, tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path
) -> None:
    with fresh_postgres_database(postgres_url) as storage, mlflow_server(
        tmp_path / "mlflow"
    ) as server:
        args = [
            "--study", "dist", "--experiment", "dist", "--storage", storage,
            "--tracking-uri", server.uri, "--data", str(small_synthetic_dir),
            "--space", str(tiny_space), "--n-trials", str(N_TRIALS), "--epochs", "3",
            "--pruner", "none",
        ]  # fmt: skip
        # No pruning: which trials a median pruner stops depends on the order the machines finish
        # them, and the confirmation below needs three complete trials to be asserted exactly.
        env = child_env(STROKE_SEARCH_HEARTBEAT_INTERVAL="1", STROKE_SEARCH_GRACE_PERIOD="5")
        machines = []
        for index in range(3):
            folder = tmp_path / f"machine-{index}"
            folder.mkdir()
            command = search_command(*args)
            machines.append(
                subprocess.Popen(
                    _as_other_host(command) if index == 0 else command,
                    cwd=folder, env=env, text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
            )
        victim, survivors = machines[0], machines[1:]
        killed = _victim_trial(storage, victim)
        time.sleep(1.0)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate()
        for survivor in survivors:
            _, err = survivor.communicate(timeout=1200)
            assert survivor.returncode == 0, err[-3000:]

        study = optuna.load_study(study_name="dist", storage=open_storage(storage))
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        # the study ends with exactly the requested trials, nothing left running or waiting
        assert len(finished) == N_TRIALS
        assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) for t in trials)
        # the killed trial was failed by the others and its parameters ran again
        assert trials[killed].state == TrialState.FAIL
        retries = [t for t in finished if t.user_attrs.get("retry_of") == killed]
        assert len(retries) == 1 and retries[0].params == trials[killed].params

        client = mlflow.MlflowClient(server.uri)
        experiment = client.get_experiment_by_name("dist")
        runs = client.search_runs([experiment.experiment_id], max_results=1000)
        parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
        children = [r for r in runs if "optuna.trial_state" in r.data.tags]
        repeats = [r for r in runs if "repeat" in r.data.tags]
        # one parent run; every trial's run under it; nothing RUNNING
        assert len(parents) == 1 and len(parents) + len(children) + len(repeats) == len(runs)
        assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
        assert not [r for r in runs if r.info.status == "RUNNING"]
        # The survivors shared the confirmation: each retraining once, nested under its trial's
        # run, and every confirmed trial scored over its three trainings.
        selection = study.user_attrs["selection"]
        assert len(selection) == 3 and all(e["n"] == 3 for e in selection.values())
        done = [r for r in repeats if r.info.status == "FINISHED"]
        keys = sorted((r.data.tags["optuna.trial_number"], r.data.tags["repeat"]) for r in done)
        assert keys == sorted((n, str(r)) for n in selection for r in (1, 2))
        trial_runs = {t.number: t.user_attrs.get("mlflow_run_id") for t in trials}
        assert all(r.data.tags["mlflow.parentRunId"] == trial_runs[int(r.data.tags["optuna.trial_number"])]
                   for r in repeats)  # fmt: skip
        by_trial: dict[int, list[str]] = {}
        for run in children:
            by_trial.setdefault(int(run.data.tags["optuna.trial_number"]), []).append(run.info.status)
        # each completed trial has exactly one FINISHED child run; the killed one's is FAILED
        for trial in trials:
            if trial.state == TrialState.COMPLETE:
                assert by_trial[trial.number] == ["FINISHED"]
        assert by_trial[killed] == ["FAILED"]


def test_distributed_unshare_fallback_keeps_the_command() -> None:
    # the victim's command is the plain command or that command wrapped in a namespace
    command = [sys.executable, "-m", "search.run", "--n-trials", "1"]
    wrapped = _as_other_host(command)
    assert wrapped == command or wrapped[-1].endswith(shlex.join(command))
