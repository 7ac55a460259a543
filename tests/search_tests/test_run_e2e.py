"""End to end: a 4-trial study, then the same command with --n-trials 6 finishes with exactly 6."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
from mlflow import MlflowClient

from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from model.artifacts import load_stroke_model
from search._champion import champion_uri
from search._tracking import RUN_STATUS
from search.best import main as best_main
from search.best import ui_filter
from search.plots import main as plots_main
from search.run import main

# ~100 s of CPU (6 trials of real TensorFlow fits + MLflow model logging): over the ~60 s budget
pytestmark = pytest.mark.slow

GUIDE_PARAMS = (
    "window_size",
    "overlap",
    "reference_fps",
    "num_classes",
    "num_features",
    "batch_size",
    "learning_rate",
    "num_lstm_layers",
    "num_dense_layers",
    "uses_batch_normalization",
    "uses_bidirectional",
    "lstm_layer_1_units",
    "dense_layer_1_units",
    "dropout_1_rate",
    "architecture_summary",
    "input_shape",
)
GUIDE_METRICS = (
    "training_time_seconds",
    "test_accuracy",
    "test_loss",
    "final_val_loss",
    "epochs_trained",
    "macro_avg_f1_score",
    "weighted_avg_f1_score",
    "val_macro_avg_f1_score",
)


def _runs(client: MlflowClient, experiment: str) -> list[mlflow.entities.Run]:
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_run_e2e_resume_to_six_trials(
    study_args: list[str],
    small_synthetic_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*study_args, "--n-trials", "4"]) == 0
    assert main([*study_args, "--n-trials", "6"]) == 0
    capsys.readouterr()

    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    states = [t.state.name for t in study.trials]
    # exactly six finished trials: the second command finished the job instead of adding six
    assert len(study.trials) == 6 and set(states) <= {"COMPLETE", "PRUNED"}, states
    # trial 0 is the users' V2 baseline
    assert study.trials[0].user_attrs["baseline"] == "V2"
    assert study.trials[0].params["lstm_layer_1_units"] == 64

    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = _runs(client, "e2e_experiment")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    # one parent (reopened on resume), named after the study, and one child per trial
    assert len(parents) == 1 and parents[0].info.run_name == "e2e"
    parent = parents[0]
    assert parent.data.tags["optuna.study_name"] == "e2e"
    assert parent.info.status == "FINISHED"
    assert study.user_attrs["mlflow_parent_run_id"] == parent.info.run_id
    assert len(children) == 6
    by_number = {int(r.data.tags["optuna.trial_number"]): r for r in children}
    for trial in study.trials:
        run = by_number[trial.number]
        # names, parent link and states follow the run contract
        assert run.info.run_name == f"trial-{trial.number}"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["optuna.study_name"] == "e2e"
        assert run.data.tags["optuna.trial_state"] == trial.state.name
        assert run.info.status == RUN_STATUS[trial.state.name]
        assert trial.user_attrs["mlflow_run_id"] == run.info.run_id
        # sampled values under their search-space names
        for name, value in trial.params.items():
            assert run.data.params[name] == str(value)
        if trial.state.name == "PRUNED":
            # a pruned run keeps the epoch it stopped at and its curves so far
            stopped = trial.user_attrs["epochs"]
            assert run.data.metrics["epochs_trained"] == stopped == max(trial.intermediate_values)
            curve = client.get_metric_history(run.info.run_id, "val_loss")
            assert [m.step for m in curve] == list(range(1, stopped + 1))
        if trial.state.name == "COMPLETE":
            missing = [p for p in GUIDE_PARAMS if p not in run.data.params]
            missing += [m for m in GUIDE_METRICS if m not in run.data.metrics]
            assert not missing, f"trial {trial.number} lacks {missing}"
            assert run.data.metrics["val_macro_avg_f1_score"] == trial.value
            curve = client.get_metric_history(run.info.run_id, "val_loss")
            assert [m.step for m in curve] == [1, 2]

    best = study.best_trial
    best_run = by_number[best.number]
    # the best trial is tagged and summarised on the parent
    assert best_run.data.tags["best_trial"] == "true"
    assert [r for r in children if r.data.tags.get("best_trial") == "true"] == [best_run]
    assert parent.data.tags["best_trial_number"] == str(best.number)
    assert parent.data.tags["best_run_id"] == best_run.info.run_id
    assert float(parent.data.tags["best_value"]) == best.value

    plots = tmp_path / "studies" / "e2e" / "plots"
    # plots on disk and in the parent run
    assert (plots / "plots.html").stat().st_size > 100_000
    assert (plots / "optimization_history.png").is_file()
    assert (plots / "intermediate_values.png").is_file()
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/plots.html" in logged and "plots/timeline.png" in logged

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    version = client.get_model_version_by_alias("e2e_experiment", "champion")
    # the champion is the best trial's model, and it loads and predicts
    assert version.run_id == best_run.info.run_id
    model, settings = load_stroke_model(champion_uri("e2e_experiment"))
    data = Dataset.open(small_synthetic_dir).windows(
        WindowConfig(window_size=settings.window_size, overlap=settings.overlap)
    )
    probabilities = model.predict(data.X[:4], verbose=0)
    assert probabilities.shape == (4, len(settings.class_names))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    # search.best: the top trials with run ids and the UI filter, as a table and as JSON
    stores = [
        "--study",
        "e2e",
        *study_args[study_args.index("--storage") : study_args.index("--data")],
    ]
    assert best_main(stores) == 0
    table = capsys.readouterr().out
    assert best_run.info.run_id in table and "tags.`optuna.study_name` = 'e2e'" in table
    assert best_main([*stores, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["trials"][0]["trial"] == best.number
    assert listed["trials"][0]["run_id"] == best_run.info.run_id
    # the filter string really finds the study's complete child runs in MLflow
    found = client.search_runs([parent.info.experiment_id], filter_string=ui_filter("e2e"))
    assert len(found) == sum(t.state.name == "COMPLETE" for t in study.trials)

    # search.plots redraws the plots on demand
    (plots / "slice.png").unlink()
    assert plots_main(stores) == 0
    assert (plots / "slice.png").is_file()
