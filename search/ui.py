"""``python -m search.ui``: the MLflow UI on the project's tracking store, bound to 127.0.0.1.

Prints the address of the study's complete trials, best first by the selection objective
(``…/#/experiments/<id>/runs?searchFilter=…&orderByKey=…``), and the champion's run page; before
the study has trials, the experiment's runs table (MLflow 3.17's UI otherwise opens on its GenAI
overview). Stop it with Ctrl-C or SIGTERM: the MLflow server stops with it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from data_pipeline.errors import ProjectError
from model.stores import DEFAULT_EXPERIMENT
from model.stores import resolve_tracking_uri


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m search.ui", description=__doc__)
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)",
    )
    parser.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help="experiment to open (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; other hosts reach the UI only if you change it "
        "(default: %(default)s)",
    )
    parser.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    parser.add_argument(
        "--study",
        default=DEFAULT_EXPERIMENT,
        help="study whose best trials the address opens on (default: %(default)s)",
    )
    return parser


def runs_url(host: str, port: int, experiment_id: str | None) -> str:
    """The runs table of an experiment (or the experiment list when it does not exist yet)."""
    base = f"http://{host}:{port}/"
    return f"{base}#/experiments/{experiment_id}/runs" if experiment_id else base


def main(argv: Sequence[str] | None = None) -> int:
    """Start ``mlflow ui`` and wait for it; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    from mlflow import MlflowClient

    from search._console import exit_code
    from search._console import raise_terminated

    try:
        uri = resolve_tracking_uri(args.tracking_uri)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if uri.startswith(("http://", "https://")):
        print(f"the tracking store is a server already; open {uri.rstrip('/')}/#/experiments")
        return 0
    from search._addresses import study_addresses

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(args.experiment)
    url = runs_url(args.host, args.port, experiment.experiment_id if experiment else None)
    found = experiment and study_addresses(
        client, experiment.experiment_id, args.study, f"http://{args.host}:{args.port}/"
    )
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    # its own process group: mlflow ui starts server processes that must stop with it
    process = subprocess.Popen(command, start_new_session=True)
    if found:
        print(f"MLflow UI: {found[0]}", flush=True)
        print(f"champion of study {args.study!r}: {found[1]}", flush=True)
    else:
        print(f"MLflow UI: {url}", flush=True)
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return process.wait()
    except KeyboardInterrupt as exc:
        _stop(process)
        return exit_code(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL what is left after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    raise SystemExit(main())
