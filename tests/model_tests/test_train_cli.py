"""python -m model.train: TOML config over the V2 defaults, one run in a temporary SQLite store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from model.artifacts import load_stroke_model
from model.config import load_train_config
from model.spec import ModelSpec
from model.train import main

TINY_TOML = """
[window]
window_size = 30
overlap = 10
[model]
lstm_units = [8, 4]
dense_units = [4]
batch_size = 64
"""


def test_load_train_config_defaults_are_v2_and_files_override(tmp_path):
    # Without a file the configuration is the users' V2 baseline and default windows.
    config = load_train_config()
    assert config.model == ModelSpec.baseline()
    assert config.window == WindowConfig() and config.data == Path("data/synthetic")
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    config = load_train_config(path, epochs=3, seed=9)
    # A file overrides only the keys it names; flags override the file.
    assert config.model.lstm_units == (8, 4) and config.model.dropout == (0.3, 0.3, 0.2)
    assert config.window.window_size == 30 and config.window.reference_fps == 30.0
    assert (config.model.epochs, config.seed) == (3, 9)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[model]\nunits = 3\n", r"unknown key\(s\) \['units'\] in \[model\]"),
        ("[windows]\nwindow_size = 3\n", "unknown setting 'windows'"),
        (
            "[window]\noverlap = 50\n",
            r"\[window\] overlap must be smaller than \[window\] window_size",
        ),
        ("[model]\ndropout = [0.1]\n", "dropout needs 3 rates"),
        ("[model\n", "not valid TOML"),
    ],
)
def test_load_train_config_rejects_bad_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    # Each mistake is a ConfigError that names the key or rule.
    with pytest.raises(ConfigError, match=match):
        load_train_config(path)


def test_train_cli_logs_one_run_on_synthetic_data(small_synthetic_dir, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = main([
        "--data", str(small_synthetic_dir), "--config", str(config), "--epochs", "2",
        "--seed", "4", "--experiment", "cli-test", "--tracking-uri", uri,
    ])  # fmt: skip
    out = capsys.readouterr().out
    # Success, and the summary says where the run and the model are.
    assert code == 0 and "runs:/" in out and uri in out
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("cli-test")
    (run,) = client.search_runs([experiment.experiment_id])
    # The run is a finished top-level run with the guide's names and this configuration.
    assert run.info.status == "FINISHED" and "mlflow.parentRunId" not in run.data.tags
    assert run.data.params["window_size"] == "30" and run.data.params["seed"] == "4"
    assert run.data.params["architecture_summary"] == "LSTM[8, 4] → Dense[4]"
    assert run.data.metrics["epochs_trained"] == 2
    assert {"val_macro_avg_f1_score", "macro_avg_f1_score", "test_accuracy"} <= set(
        run.data.metrics
    )
    # Artifacts live beside the SQLite file (mlruns/artifacts/ for the default store).
    assert experiment.artifact_location == (tmp_path / "artifacts").as_uri()
    # The logged model predicts windows of the real dataset with its stored settings.
    model, settings = load_stroke_model(f"runs:/{run.info.run_id}/model")
    data = Dataset.open(small_synthetic_dir).windows(settings.window, settings.features)
    probabilities = model.predict(data.X[:5], verbose=0)
    assert probabilities.shape == (5, len(settings.class_names))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_train_cli_user_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nunits = 3\n")
    cases = [
        (["--config", str(bad)], "unknown key(s) ['units'] in [model]"),
        (["--tracking-uri", "./mlruns"], "MLflow file store"),
    ]
    for args, message in cases:
        done = subprocess.run(
            [sys.executable, "-m", "model.train", *args, "--data", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        # A non-zero exit and one "error:" line on stderr naming the problem, no traceback.
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last
