"""``python -m search.ui`` serves the store on 127.0.0.1 and prints the runs-table address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from model.stores import setup_tracking
from search.ui import runs_url

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ui_serves_the_store_on_loopback_and_prints_the_runs_table(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    _, experiment_id = setup_tracking(uri, "ui_experiment")
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "search.ui",
            "--tracking-uri",
            uri,
            "--experiment",
            "ui_experiment",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # mlflow ui starts its own server processes: stop them together
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        # the printed address opens the experiment's runs table, not the GenAI overview
        assert line.strip() == f"MLflow UI: {runs_url('127.0.0.1', port, experiment_id)}"
        assert f"#/experiments/{experiment_id}/runs" in line
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(1)
        # bound to loopback only
        address = socket.gethostbyname(socket.gethostname())
        if address != "127.0.0.1":
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
