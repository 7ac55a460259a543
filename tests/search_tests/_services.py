"""Real services for the reliability tests: a fresh PostgreSQL database and an ``mlflow server``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from search._storage import normalize_storage_url
from search._storage import open_storage

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create database ``stroke_test_<random>`` on the server of ``server_url``; drop it after."""
    name = f"stroke_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(
        normalize_storage_url(server_url), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MlflowServer:
    """A real ``mlflow server`` subprocess on a free loopback port, SQLite backend in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240.0) -> None:
        """Start the server (again, on the same port and store) and wait for ``/health``."""
        executable = shutil.which("mlflow") or sys.executable
        prefix = [executable] if executable != sys.executable else [sys.executable, "-m", "mlflow"]
        log = open(self.folder / "mlflow-server.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [
                *prefix,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.folder / "artifacts"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(self.folder / 'mlflow-server.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"mlflow server did not answer /health within {timeout} s")

    def stop(self) -> None:
        """Stop the server and everything it started (its process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[MlflowServer]:
    """A started :class:`MlflowServer`, stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    server = MlflowServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def search_command(*args: str) -> list[str]:
    """``python -m search.run ARGS`` as a subprocess argument list."""
    return [sys.executable, "-m", "search.run", *args]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a search subprocess: quiet TF, fast MLflow retries, repo importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPTUNA_STORAGE", "MLFLOW_TRACKING_URI")}
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="1",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="1",
        MLFLOW_HTTP_REQUEST_TIMEOUT="10",
        MLFLOW_DISABLE_TELEMETRY="true",  # no network here: do not wait on telemetry at exit
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


def wait_for_training_trial(
    storage_url: str, process: subprocess.Popen, *, study: str = "e2e", timeout: float = 900
) -> optuna.trial.FrozenTrial:
    """Poll until a trial of ``process`` is RUNNING, has its child run and reported an epoch.

    Fails the test when ``process`` exits first (with its output) or after ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            # open_storage, not the bare URL: this poll may create the schema of the new store
            # at the same moment as the search, and only open_storage survives that race
            loaded = optuna.load_study(study_name=study, storage=open_storage(storage_url))
        except KeyError:
            pass  # the search has not created the study yet
        else:
            for trial in loaded.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if "mlflow_run_id" in trial.user_attrs and trial.intermediate_values:
                    return trial
        time.sleep(0.5)
    pytest.fail(f"no trial of study {study!r} started training within {timeout:.0f} s")
