"""The split a search runs on: flags, held-out groups, per-group results, part of the study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from search.best import main as best_main
from search.run import main


def test_search_holds_out_named_players_and_refuses_a_resume_on_another_split(
    study_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*study_args, "--group-by", "player", "--test-groups", "p01", "--val-groups", "p02"]
    assert main([*args, "--n-trials", "2", "--epochs", "1"]) == 0
    capsys.readouterr()
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    # The split is part of the study's identity, with the named groups.
    assert study.user_attrs["split"].endswith(":val=p02:test=p01")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    # Every complete trial was tested on the held-out player alone, scored per group.
    assert complete and all(set(t.user_attrs["test_per_group"]) == {"p01"} for t in complete)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.search_runs(
        [client.get_experiment_by_name("e2e_experiment").experiment_id],
        filter_string="tags.`optuna.study_name` = 'e2e' and params.split != ''",
    )
    # The parent run logs the split rule; each child run logs it as split_rule.
    assert parent and "test=p01" in parent[0].data.params["split"]
    # search.best shows the best trial's score on each held-out group.
    assert best_main(["--study", "e2e", "--storage", f"sqlite:///{tmp_path}/studies/optuna.db",
                      "--tracking-uri", f"sqlite:///{tmp_path}/mlruns/mlflow.db"]) == 0
    assert "on each held-out test group" in capsys.readouterr().out
    # Resuming on another split is refused like another space: one line naming the split.
    other = [*study_args, "--group-by", "player", "--test-groups", "p03"]
    assert main([*other, "--n-trials", "3", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "split: stored" in err and "--study NEW_NAME" in err


def test_per_shot_csv_folders_import_and_search_with_their_own_classes(
    tmp_path: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from data_pipeline.__main__ import main as data_main
    from tests.data_pipeline_tests.test_import_keypoints import _coco_rows
    from tests.data_pipeline_tests.test_import_keypoints import _write_csv

    monkeypatch.chdir(tmp_path)
    # One CSV per one-second shot, a folder per video, a `shot` column with the data's own class
    # names, a background class among them.
    for video in ("v1", "v2", "v3", "v4"):
        for k, shot in enumerate(["forehand", "backhand", "neutral", "serve"] * 2):
            rows = [{**row, "shot": shot} for row in _coco_rows(40, seed=k)]
            _write_csv(tmp_path / "shots" / video / f"{shot}_{k}.csv", rows)
    assert data_main(["import-keypoints", "--src", "shots", "--out", "real", "--format", "csv",
                      "--fps", "30"]) == 0
    code = main(["--data", "real", "--study", "real", "--storage", "sqlite:///o.db",
                 "--tracking-uri", "sqlite:///m.db", "--space", str(tiny_space), "--n-trials", "2",
                 "--epochs", "1", "--group-by", "group", "--test-groups", "v4"])
    assert code == 0, capsys.readouterr().err
    study = optuna.load_study(study_name="real", storage="sqlite:///o.db")
    trial = next(t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    # The data's class names, without any mapping in the code; the named video is the test set.
    client = MlflowClient("sqlite:///m.db")
    params = client.get_run(trial.user_attrs["mlflow_run_id"]).data.params
    assert params["class_names"] == "backhand,forehand,neutral,serve"
    assert set(trial.user_attrs["test_per_group"]) == {"v4"}
