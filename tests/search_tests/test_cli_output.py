"""What the commands print before any work: no native start-up lines, fast --help, usage rules."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from search.run import build_parser
from tests.search_tests._services import REPO_ROOT
from tests.search_tests._services import search_command


def _run(command: list[str], *, keep_log_level: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from the repository as a user's shell would (optionally without a level)."""
    env = {k: v for k, v in os.environ.items() if keep_log_level or k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300
    )


def test_run_command_sets_tensorflow_log_level_before_tensorflow_loads() -> None:
    # The user's shell has no TF_CPP_MIN_LOG_LEVEL. search.run's own imports load TensorFlow
    # (through MLflow), which reads the level once, at import: set any later, its INFO lines
    # (here the CPU-feature notice, three lines) showed on every run. Two other INFO lines
    # (oneDNN, CUDA stub) are logged before TensorFlow reads the level and show at any level
    # (tensorflow/tensorflow#100442), so this checks the line the level does govern.
    result = _run(search_command("--help"), keep_log_level=False)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "cpu_feature_guard" not in result.stderr, result.stderr


HELP_WITHOUT_TENSORFLOW = """
import contextlib, importlib, io, sys
for name in ("search.run", "search.best", "search.plots", "search.report", "search.ui",
             "model.train", "data_pipeline.__main__"):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        importlib.import_module(name).main(["--help"])
print(sorted(m for m in ("tensorflow", "keras", "mlflow") if m in sys.modules))
"""


def test_every_help_answers_without_loading_tensorflow() -> None:
    result = _run([sys.executable, "-c", HELP_WITHOUT_TENSORFLOW])
    assert result.returncode == 0, result.stderr
    # no command's --help loads TensorFlow, Keras or MLflow (each costs seconds on 2 cores)
    assert result.stdout.strip() == "[]", result.stdout


def test_tensorflow_loads_without_native_start_up_lines() -> None:
    # the user's shell sets no log level: the absl/oneDNN/CUDA lines came twice on every command
    code = "import search, tensorflow as tf; print(int(tf.constant(1) + 1))"
    result = _run([sys.executable, "-c", code], keep_log_level=False)
    assert result.stdout.strip() == "2", result.stderr
    # nothing native reaches stderr: not the absl notice, nor oneDNN, CUDA stub or cuInit
    for noise in ("absl::InitializeLog", "oneDNN", "cuda drivers", "cuInit"):
        assert noise not in result.stderr, result.stderr


def test_workers_must_be_at_least_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--workers", "0"])
    # a usage error that states the rule and the value received
    assert exit_info.value.code == 2
    assert "--workers: must be at least 1, but got 0" in capsys.readouterr().err
