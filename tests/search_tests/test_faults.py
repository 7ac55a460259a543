"""Faults and bad input at the search command: each one a clear outcome, never a broken study."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import mlflow
import optuna
import pytest
import tensorflow as tf
from optuna.trial import TrialState

from search._config import SearchConfig
from search._runner import prepare_study
from search._runner import run_study
from search.run import main
from search.ui import build_parser as ui_parser
from tests.search_tests._services import REPO_ROOT
from tests.search_tests._services import child_env
from tests.search_tests._services import free_port
from tests.search_tests._services import fresh_postgres_database
from tests.search_tests._services import mlflow_server
from tests.search_tests._services import search_command
from tests.search_tests._services import wait_for_training_trial


def _config(tmp_path: Path, data: Path, space: Path, **changes: object) -> SearchConfig:
    settings: dict[str, object] = dict(
        study="faults",
        experiment="faults",
        storage=f"sqlite:///{tmp_path}/studies/optuna.db",
        tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        data=data,
        space=space,
        n_trials=2,
        epochs=1,
        n_startup_trials=5,
        pruner="none",
        max_failures=3,
    )
    settings.update(changes)
    return SearchConfig(**settings)  # type: ignore[arg-type]


def _replace_arg(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def test_faults_tracking_server_unreachable_fails_before_any_work(
    study_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"http://analyst:hunter2@127.0.0.1:{free_port()}"
    code = main([*_replace_arg(study_args, "--tracking-uri", uri), "--n-trials", "1"])
    err = capsys.readouterr().err
    # one clear line naming the server (password hidden) and the fix, exit 2, no traceback
    assert code == 2
    assert "cannot reach the MLflow tracking server http://analyst:***@127.0.0.1" in err
    assert "hunter2" not in err and "Traceback" not in err
    # nothing was started: no study database was even created
    assert not (tmp_path / "studies" / "optuna.db").exists()


def test_faults_storage_url_typo_is_one_line(
    study_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_replace_arg(study_args, "--storage", "postgres://optuna:hunter2@db/optuna"))
    err = capsys.readouterr().err
    # the typo is named with its fix, and the password never shows
    assert code == 2 and "Did you mean postgresql://" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_faults_study_name_with_odd_characters_is_refused(
    study_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_replace_arg(study_args, "--study", "my study/v1"))
    # refused before any work, with a safe name to use instead
    assert code == 2 and "try --study my_study_v1" in capsys.readouterr().err


def test_faults_corrupted_storage_file_is_refused_untouched(
    study_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "studies" / "optuna.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 4096)
    code = main(study_args)
    # a clear refusal with the file and the way out; the file is left as it was
    assert code == 2 and "is not a readable SQLite database" in capsys.readouterr().err
    assert path.read_bytes() == b"\x00garbage" * 4096


@pytest.mark.parametrize(
    ("change", "named"),
    [(("--objective", "val_loss"), "objective"), (("--sampler", "random"), "sampler")],
)
def test_faults_incompatible_resume_is_refused_with_the_way_out(
    study_args: list[str],
    tmp_path: Path,
    small_synthetic_dir: Path,
    tiny_space: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    named: str,
) -> None:
    prepare_study(_config(tmp_path, small_synthetic_dir, tiny_space, study="e2e", experiment="e2e_experiment"))
    code = main([*study_args, *change])
    err = capsys.readouterr().err
    # the refusal names what changed and both ways forward
    assert code == 2 and named in err
    assert "--study NEW_NAME" in err and "--force-resume" in err


def test_faults_changed_space_is_refused(
    study_args: list[str],
    tmp_path: Path,
    small_synthetic_dir: Path,
    tiny_space: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_study(_config(tmp_path, small_synthetic_dir, tiny_space, study="e2e", experiment="e2e_experiment"))
    tiny_space.write_text(tiny_space.read_text().replace("choices = [8, 32]", "choices = [8, 64]"))
    code = main(study_args)
    err = capsys.readouterr().err
    assert code == 2 and "space_fingerprint" in err and "--force-resume" in err


class _SimulatedOutOfMemory(keras.callbacks.Callback):
    """Raises TensorFlow's out-of-memory error in the ``fit`` number ``at`` (SIMULATED OOM)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.fits = 0

    def on_train_begin(self, logs: object = None) -> None:
        self.fits += 1
        if self.fits == self.at:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating (simulated)")


def test_faults_interrupt_while_closing_the_run_still_retries_the_trial(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path
) -> None:
    config = _config(tmp_path, small_synthetic_dir, tiny_space, n_trials=1)
    session = prepare_study(config)
    close_run = session.tracker.finish_child

    def close_then_interrupt(run_id: str, state: str, error: str | None = None) -> None:
        # A Ctrl-C that lands in the trial's closing record, outside its training. A real
        # signal cannot be timed to this spot, so the real tracker is wrapped to raise there.
        close_run(run_id, state, error)
        raise KeyboardInterrupt

    session.tracker.finish_child = close_then_interrupt  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run_study(config, session=session)
    study = session.study
    # the trial is FAIL, and its parameters wait for a retry as after any interruption
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
    assert study.trials[1].user_attrs["retry_of"] == 0
    assert study.trials[1].system_attrs["fixed_params"] == study.trials[0].params


@pytest.mark.slow
def test_faults_nan_loss_and_out_of_memory_trials_fail_alone(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path
) -> None:
    config = _config(tmp_path, small_synthetic_dir, tiny_space, n_trials=2)
    session = prepare_study(config)
    # trial 0 is the enqueued baseline, trial 1 diverges (huge learning rate), trial 2 runs out
    # of memory (simulated by a callback raising TensorFlow's ResourceExhaustedError)
    session.study.enqueue_trial({"learning_rate": 1e38}, skip_if_exists=False)
    result = run_study(config, session=session, callbacks=[_SimulatedOutOfMemory(at=3)])
    trials = session.study.trials
    # each failure stayed with its trial and the study went on to 2 finished trials
    assert trials[1].state == TrialState.FAIL and "diverged" in trials[1].user_attrs["error"]
    assert trials[2].state == TrialState.FAIL and "simulated" in trials[2].user_attrs["error"]
    assert result.n_complete + result.n_pruned == 2
    runs = mlflow.MlflowClient(config.tracking_uri).search_runs(
        [mlflow.MlflowClient(config.tracking_uri).get_experiment_by_name("faults").experiment_id]
    )
    failed = {r.data.tags["optuna.trial_number"]: r.info.status for r in runs if "error" in r.data.tags}
    assert failed == {"1": "FAILED", "2": "FAILED"}


def test_faults_ui_binds_loopback_by_default() -> None:
    # the UI listens on 127.0.0.1 unless --host says otherwise
    assert ui_parser().parse_args([]).host == "127.0.0.1"


@pytest.mark.slow
def test_faults_ui_listens_only_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "search.ui", "--tracking-uri", f"sqlite:///{tmp_path}/m.db",
         "--port", str(port)],
        cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("search.ui did not listen within 300 s")
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        addresses = {line.split()[3] for line in listening.splitlines() if f":{port}" in line}
        # bound to the loopback address only, never 0.0.0.0 or a public interface
        assert addresses == {f"127.0.0.1:{port}"}
    finally:
        import os
        import signal

        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.services
def test_faults_credentials_never_reach_logs_params_or_tags(
    study_args: list[str], tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        secret_url = url.replace("postgres@", "postgres:hunter2@")  # trust auth accepts it
        result = subprocess.run(
            search_command(
                *_replace_arg(study_args, "--storage", secret_url), "--n-trials", "1",
                "--epochs", "1", "-v",
            ),
            cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        # verbose logs of the whole run never print the password
        assert "hunter2" not in result.stdout + result.stderr
        client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
        experiment = client.get_experiment_by_name("e2e_experiment")
        for run in client.search_runs([experiment.experiment_id]):
            # no parameter or tag of any run carries it
            assert "hunter2" not in repr(run.data.params) + repr(run.data.tags)
            for artifact in client.list_artifacts(run.info.run_id, "settings"):
                text = Path(client.download_artifacts(run.info.run_id, artifact.path, str(tmp_path))).read_text()
                # nor the settings file logged with the parent run
                assert "hunter2" not in text and "postgres:***@" in text



@pytest.mark.slow
@pytest.mark.services
def test_faults_tracking_server_going_away_fails_the_trial_and_resume_repairs(
    study_args: list[str], tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    with mlflow_server(tmp_path / "mlflow") as server:
        args = [*_replace_arg(study_args, "--tracking-uri", server.uri), "--n-trials", "2"]
        env = child_env(STROKE_SEARCH_TRACKING_PATIENCE="5")
        first = subprocess.Popen(
            search_command(*args, "--epochs", "30"), cwd=tmp_path, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_for_training_trial(storage, first)
        server.stop()
        _, err = first.communicate(timeout=600)
        # the study stops with one clear line once the server stayed away past the patience
        assert first.returncode == 2, err[-3000:]
        assert "has been unreachable for 5 s" in err and "re-run the same command" in err
        assert "Traceback" not in err
        study = optuna.load_study(study_name="e2e", storage=storage)
        lost = study.get_trials(states=(TrialState.FAIL,))
        # the trial whose logging failed is FAIL, not COMPLETE without a run, and waits for a retry
        assert lost and not study.get_trials(states=(TrialState.RUNNING,))
        assert study.get_trials(states=(TrialState.WAITING,))

        server.start()
        again = subprocess.run(
            search_command(*args, "--epochs", "1"), cwd=tmp_path, env=env, text=True,
            capture_output=True, timeout=900,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr[-3000:]
        study = optuna.load_study(study_name="e2e", storage=storage)
        finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
        # resume repaired it: the lost parameters ran again and the study has its 2 trials
        assert len(finished) == 2
        assert any(t.user_attrs.get("retry_of") == lost[0].number for t in finished)
        client = mlflow.MlflowClient(server.uri)
        runs = client.search_runs([client.get_experiment_by_name("e2e_experiment").experiment_id])
        # no run is left RUNNING; every complete trial has exactly one FINISHED child run
        assert not [r for r in runs if r.info.status == "RUNNING"]
        for trial in study.get_trials(states=(TrialState.COMPLETE,)):
            statuses = [
                r.info.status
                for r in runs
                if r.data.tags.get("optuna.trial_number") == str(trial.number)
            ]
            assert statuses == ["FINISHED"]
