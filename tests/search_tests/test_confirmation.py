"""Confirmation before crowning: retraining runs, selection scores, the champion and its alias."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.distributions import FloatDistribution

from search._champion import Candidate
from search._champion import promote_champion
from search._confirm import Job
from search._confirm import pending_jobs
from search._confirm import plan
from search._selection import crowned
from search._selection import rank_key
from search.run import main


def _stores(tmp_path: Path) -> tuple[optuna.Study, MlflowClient, list]:
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("e2e_experiment")
    return study, client, client.search_runs([experiment.experiment_id], max_results=1000)


def test_confirmation_runs_scores_and_crowns_by_selection_score(
    study_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*study_args, "--n-trials", "3", "--epochs", "1", "--confirm-top", "2", "--repeats", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    study, client, runs = _stores(tmp_path)
    selection = {int(n): e for n, e in study.user_attrs["selection"].items()}
    by_name = {r.info.run_name: r for r in runs}
    # The two best trials were trained once more, each as a run nested under the trial's run.
    assert len(selection) == 2 and all(e["n"] == 2 for e in selection.values())
    for n in selection:
        trial_run = study.trials[n].user_attrs["mlflow_run_id"]
        repeat = by_name[f"trial-{n}-repeat-1"]
        assert repeat.data.tags["mlflow.parentRunId"] == trial_run
        assert (repeat.data.tags["optuna.trial_number"], repeat.data.tags["repeat"]) == (str(n), "1")
        assert repeat.info.status == "FINISHED" and "val_macro_avg_f1_score" in repeat.data.metrics
        # It validated on another part of the training players, not the trial's validation.
        assert repeat.data.params["validation_rotation"] == "1/2"
        trial_params = client.get_run(trial_run).data.params
        assert "validation_rotation" not in trial_params
        assert repeat.data.params["val_samples"] != trial_params["val_samples"]
        # The trial's run carries the robust estimate the UI sorts by.
        metrics = client.get_run(trial_run).data.metrics
        assert metrics["selection_score_n"] == 2.0
        assert metrics["selection_score"] == pytest.approx(selection[n]["score"])
    # The champion is the best by selection score, and the registered alias points at it.
    champion = max(selection, key=lambda n: selection[n]["score"])
    assert study.user_attrs["champion_trial"] == champion
    version = client.get_model_version_by_alias("e2e_experiment", "champion")
    assert version.run_id == study.trials[champion].user_attrs["mlflow_run_id"]
    assert f"champion: trial {champion} (selection score" in out
    assert "expected macro F1 on new players" in out

    # The alias moves only between comparable versions, by selection score.
    other = next(n for n in selection if n != champion)
    run_id = study.trials[other].user_attrs["mlflow_run_id"]
    same = dict(objective="val_macro_avg_f1_score", direction="MAXIMIZE",
                data_fingerprint=study.user_attrs["data_fingerprint"],
                split=study.user_attrs["split"])  # fmt: skip
    foreign = promote_champion(client, "e2e_experiment", run_id,
                               candidate=Candidate(**{**same, "data_fingerprint": "x"},
                                                   selection_score=2.0))  # fmt: skip
    assert not foreign.moved and "not comparable (data_fingerprint differs" in foreign.reason
    worse = promote_champion(client, "e2e_experiment", run_id,
                             candidate=Candidate(**same, selection_score=-1.0))
    assert not worse.moved and "is not beaten" in worse.reason
    better = promote_champion(client, "e2e_experiment", run_id,
                              candidate=Candidate(**same, selection_score=2.0))
    assert better.moved
    assert client.get_model_version_by_alias("e2e_experiment", "champion").run_id == run_id


def test_equal_objective_values_rank_by_validation_loss_not_trial_order() -> None:
    def trial(number: int, value: float, loss: float) -> optuna.trial.FrozenTrial:
        made = optuna.trial.create_trial(
            params={"x": 0.1}, distributions={"x": FloatDistribution(0, 1)}, value=value,
            user_attrs={"val_loss": loss},
        )  # fmt: skip
        made.number = number
        return made

    trials = [trial(0, 1.0, 0.30), trial(1, 1.0, 0.10), trial(2, 0.9, 0.01)]
    # Maximised: the tie at 1.0 goes to the lower loss (trial 1), whatever the order.
    assert [t.number for t in sorted(trials, key=lambda t: rank_key(t, True))] == [1, 0, 2]
    # Minimised (val_loss objective): the lowest value first.
    assert sorted(trials, key=lambda t: rank_key(t, False))[0].number == 2


def test_a_study_extended_after_confirmation_retrains_only_its_new_finalists() -> None:
    study = optuna.create_study(direction="maximize")
    for value in (0.5, 0.7, 0.6):
        study.add_trial(optuna.trial.create_trial(
            params={"x": value}, distributions={"x": FloatDistribution(0, 1)}, value=value,
            user_attrs={"val_loss": 1.0 - value},
        ))  # fmt: skip
    assert plan(study, top=2, repeats=1) == [1, 2]
    for number, score in ((1, 0.65), (2, 0.66)):
        study.set_user_attr(Job(number, 1).result_key, {"value": score})
    study.set_user_attr("selection", {"1": {"score": 0.65, "val_loss": 0.3, "n": 2},
                                      "2": {"score": 0.66, "val_loss": 0.4, "n": 2}})
    assert plan(study, top=2, repeats=1) == [1, 2] and pending_jobs(study, [1, 2], 1) == []
    # The study is resumed with more trials and a new one enters the top two: only it is
    # retrained, trial 1 keeps its recorded retraining.
    study.add_trial(optuna.trial.create_trial(
        params={"x": 0.9}, distributions={"x": FloatDistribution(0, 1)}, value=0.9,
        user_attrs={"val_loss": 0.1},
    ))  # fmt: skip
    finalists = plan(study, top=2, repeats=1)
    assert finalists == [3, 1] and pending_jobs(study, finalists, 1) == [Job(3, 1)]
    # Trial 2 fell out of the top two but keeps its confirmed score, which the MLflow column
    # shows, so it still competes: the champion is the best selection score of all confirmed.
    selection = {**study.user_attrs["selection"], "3": {"score": 0.64, "val_loss": 0.2, "n": 2}}
    study.set_user_attr("selection", selection)
    assert crowned(study).number == 2


@pytest.mark.slow
def test_killed_during_confirmation_resumes_without_repeating_or_losing_a_retraining(
    study_args: list[str], tmp_path: Path
) -> None:
    args = [*study_args, "--n-trials", "3", "--epochs", "2", "--confirm-top", "2", "--repeats", "2"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "search.run", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:  # kill right after the first retraining is recorded
        if line.startswith("confirm 1/4"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    study, _, _ = _stores(tmp_path)
    first = {k: v for k, v in study.user_attrs.items() if k.startswith("confirm:")}
    assert len(first) == 1
    # The same command again finishes the confirmation: every retraining once, none twice.
    assert main(args) == 0
    study, client, runs = _stores(tmp_path)
    results = {k: v for k, v in study.user_attrs.items() if k.startswith("confirm:")}
    assert len(results) == 4
    (key, kept), = first.items()
    assert results[key]["run_id"] == kept["run_id"]  # the recorded one was not run again
    repeats = [r for r in runs if "repeat" in r.data.tags]
    finished = [r for r in repeats if r.info.status == "FINISHED"]
    assert sorted(r.info.run_id for r in finished) == sorted(v["run_id"] for v in results.values())
    # At most the one retraining the kill interrupted is left, ended FAILED, not RUNNING.
    assert all(r.info.status in ("FINISHED", "FAILED") for r in repeats)
    assert len(repeats) - len(finished) <= 1
