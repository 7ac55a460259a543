"""Study lifecycle in one process: baseline, incompatible resume, failed trials, failure stop."""

from __future__ import annotations

from pathlib import Path

import keras
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from data_pipeline.errors import ConfigError
from search._config import SearchConfig
from search._params import baseline_values
from search._progress import StudyFailed
from search._runner import prepare_study
from search._runner import run_study


class FailingFit(keras.callbacks.Callback):
    """Raises at the first epoch end of the fits whose (0-based) call index is in ``fail``;
    ``fail=None`` raises before every fit's first epoch."""

    def __init__(self, fail: set[int] | None = None) -> None:
        super().__init__()
        self.fail = fail
        self.calls = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.calls += 1
        if self.fail is None:
            raise RuntimeError(f"boom in fit {self.calls - 1}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.fail is not None and self.calls - 1 in self.fail:
            raise RuntimeError(f"boom in fit {self.calls - 1}")


def _config(tmp_path: Path, data: Path, space: Path, **changes: object) -> SearchConfig:
    values: dict[str, object] = {
        "study": "life",
        "experiment": "life_experiment",
        "storage": f"sqlite:///{tmp_path}/studies/optuna.db",
        "tracking_uri": f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        "data": data,
        "space": space,
        "n_trials": 2,
        "n_startup_trials": 2,
        "n_warmup_steps": 0,
    }
    values.update(changes)
    return SearchConfig(**values)  # type: ignore[arg-type]


def test_new_study_enqueues_the_baseline_as_trial_zero(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    session = prepare_study(_config(tmp_path, small_synthetic_dir, tiny_space))
    waiting = session.study.get_trials(states=(TrialState.WAITING,))
    expected = baseline_values(session.space, session.dataset.admissible_window_range())
    # the users' V2 model is the first trial the study will run, in the space's names
    assert len(waiting) == 1 and waiting[0].number == 0
    assert waiting[0].user_attrs == {"baseline": "V2"}
    assert session.study.trials[0].system_attrs["fixed_params"] == expected
    assert expected["lstm_layer_1_units"] == 64 and expected["lstm_layer_2_units"] == 32
    # a second start does not enqueue it again
    again = prepare_study(_config(tmp_path, small_synthetic_dir, tiny_space))
    assert len(again.study.trials) == 1


def test_resume_with_another_objective_is_refused(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    prepare_study(_config(tmp_path, small_synthetic_dir, tiny_space))
    changed = _config(tmp_path, small_synthetic_dir, tiny_space, objective="val_loss")
    # trials of two objectives are not comparable: say how to start anew or force it
    with pytest.raises(
        ConfigError,
        match=r"objective: stored 'val_macro_avg_f1_score'.*--study NEW_NAME.*--force-resume",
    ):
        prepare_study(changed)
    other_space = tmp_path / "other.toml"
    other_space.write_text(
        tiny_space.read_text().replace("choices = [8, 32]", "choices = [8, 16]")
    )
    with pytest.raises(ConfigError, match=r"space_fingerprint"):
        prepare_study(_config(tmp_path, small_synthetic_dir, other_space))


@pytest.mark.slow  # three real trials
def test_failed_trial_ends_failed_and_the_study_goes_on(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, small_synthetic_dir, tiny_space)
    session = prepare_study(config)
    result = run_study(config, session=session, callbacks=[FailingFit({1})])
    states = [t.state for t in session.study.trials]
    # trial 1 failed, did not count, and the study still ended with 2 finished trials
    assert states[1] == TrialState.FAIL and len(states) == 3
    assert result.n_failed == 1 and result.n_complete + result.n_pruned == 2
    client = MlflowClient(config.tracking_uri)
    run = client.get_run(session.study.trials[1].user_attrs["mlflow_run_id"])
    # its child run is FAILED with the error, tagged FAIL, with the curve of the epoch it ran
    assert run.info.status == "FAILED"
    assert run.data.tags["optuna.trial_state"] == "FAIL"
    assert "RuntimeError: boom in fit 1" in run.data.tags["error"]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1]


def test_every_trial_failing_stops_with_a_clear_message(
    tmp_path: Path, small_synthetic_dir: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, small_synthetic_dir, tiny_space, n_trials=10, max_failures=2)
    session = prepare_study(config)
    # the budget is not burnt: two failures in a row stop the loop with the last error
    with pytest.raises(
        StudyFailed, match=r"the last 2 trials all failed \(last error: RuntimeError: boom"
    ):
        run_study(config, session=session, callbacks=[FailingFit()])
    assert [t.state for t in session.study.trials] == [TrialState.FAIL, TrialState.FAIL]


@pytest.mark.slow  # one real trial
def test_timeout_stops_cleanly_before_the_next_trial(
    study_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from search.run import main

    # the first trial outlasts the 1 s timeout, so no second one starts; the run ends cleanly
    assert main([*study_args, "--n-trials", "3", "--timeout", "1"]) == 0
    assert "1 complete, 0 pruned, 0 failed" in capsys.readouterr().out
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    assert client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.status == "FINISHED"
