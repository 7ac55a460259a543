"""What the main command prints before any work: TensorFlow's start-up lines at the quiet level."""

from __future__ import annotations

import os
import subprocess

from tests.search_tests._services import REPO_ROOT
from tests.search_tests._services import search_command


def test_run_command_sets_tensorflow_log_level_before_tensorflow_loads() -> None:
    # The user's shell has no TF_CPP_MIN_LOG_LEVEL. search.run's own imports load TensorFlow
    # (through MLflow), which reads the level once, at import: set any later, its INFO lines
    # (here the CPU-feature notice, three lines) showed on every run. Two other INFO lines
    # (oneDNN, CUDA stub) are logged before TensorFlow reads the level and show at any level
    # (tensorflow/tensorflow#100442), so this checks the line the level does govern.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        search_command("--help"),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "cpu_feature_guard" not in result.stderr, result.stderr
