"""Search-test fixtures: a tiny search space and the CLI arguments of a study in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SPACE = """
epochs = 2
num_dense_layers = 1
batch_size = 32

[window_size]
type = "int"
low = 20
high = 45
step = 5

[overlap_fraction]
type = "float"
low = 0.0
high = 0.5

[num_lstm_layers]
type = "int"
low = 1
high = 2

[lstm_layer_units]
type = "categorical"
choices = [8, 16, 32, 64]

[uses_bidirectional]
type = "bool"

[uses_batch_normalization]
type = "bool"

[dropout_rate]
type = "float"
low = 0.0
high = 0.5
step = 0.1

[dense_layer_units]
type = "categorical"
choices = [8, 32]

[learning_rate]
type = "float"
low = 1e-4
high = 1e-2
log = true
"""


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    """A search space of small models trained for 2 epochs."""
    path = tmp_path / "tiny_space.toml"
    path.write_text(TINY_SPACE, encoding="utf-8")
    return path


@pytest.fixture
def study_args(
    tmp_path: Path, tiny_space: Path, small_synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """``search.run`` arguments for a study whose stores and plots all live in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTUNA_STORAGE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return [
        "--study",
        "e2e",
        "--experiment",
        "e2e_experiment",
        "--storage",
        f"sqlite:///{tmp_path}/studies/optuna.db",
        "--tracking-uri",
        f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        "--data",
        str(small_synthetic_dir),
        "--space",
        str(tiny_space),
        "--n-startup-trials",
        "2",
        "--n-warmup-steps",
        "0",
        # Crowning without confirmation keeps these studies quick; test_confirmation.py
        # passes its own --confirm-top/--repeats (the later flag wins).
        "--repeats",
        "0",
    ]
