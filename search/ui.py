"""``python -m search.ui``: the MLflow UI on the project's tracking store, bound to 127.0.0.1.

Prints the address of the experiment's runs table (``…/#/experiments/<id>/runs``), because MLflow
3.17's UI otherwise opens on its GenAI overview. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
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
    return parser


def runs_url(host: str, port: int, experiment_id: str | None) -> str:
    """The runs table of an experiment (or the experiment list when it does not exist yet)."""
    base = f"http://{host}:{port}/"
    return f"{base}#/experiments/{experiment_id}/runs" if experiment_id else base


def main(argv: Sequence[str] | None = None) -> int:
    """Start ``mlflow ui`` and wait for it; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    from mlflow import MlflowClient

    try:
        uri = resolve_tracking_uri(args.tracking_uri)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if uri.startswith(("http://", "https://")):
        print(f"the tracking store is a server already; open {uri.rstrip('/')}/#/experiments")
        return 0
    experiment = MlflowClient(uri).get_experiment_by_name(args.experiment)
    url = runs_url(args.host, args.port, experiment.experiment_id if experiment else None)
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
    process = subprocess.Popen(command)
    print(f"MLflow UI: {url}", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=30)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
