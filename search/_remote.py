"""The MLflow tracking store: reachable before any training, and what happens when it goes away.

Policy when a tracking server disappears mid-study (documented in ``docs/production.md``):

1. Each MLflow call is retried by the MLflow client itself with exponential backoff
   (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, default 7 retries, about 4 minutes).
2. A trial whose logging still fails is recorded FAIL in Optuna and its parameters are
   enqueued once more (the objective checks :func:`is_tracking_outage`), so no trial is
   COMPLETE without its FINISHED child run and the work is redone when tracking is back.
3. Before the next trial the worker waits for the server (:func:`wait_for_tracking`,
   ``STROKE_SEARCH_TRACKING_PATIENCE`` seconds, default 300); if it is still gone, the
   study stops with a one-line error (exit code 2, or 1 from ``--workers``); the child run
   it could not close is failed by the next start's recovery.
   The study and its parent run stay consistent: re-running the same command resumes.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from data_pipeline.errors import ConfigError
from data_pipeline.errors import ProjectError
from search._storage import redact_text

#: Seconds a worker waits for a vanished tracking server before it stops the study.
PATIENCE_ENV = "STROKE_SEARCH_TRACKING_PATIENCE"


class TrackingUnavailable(ProjectError):
    """The MLflow tracking store cannot be reached or written."""


def is_remote(uri: str) -> bool:
    """Whether ``uri`` names a tracking server (``http``/``https``) rather than a local store."""
    return urllib.parse.urlsplit(uri).scheme in ("http", "https")


def check_tracking(uri: str, *, timeout: float = 5.0) -> None:
    """Fail fast, before any training, when the tracking store cannot take our runs.

    A server must answer ``/health`` and accept an authenticated API call; a local SQLite store
    needs a writable folder and must not be Optuna's study file.

    Raises:
        TrackingUnavailable: with the URI (credentials hidden), what failed and the fix.
    """
    if is_remote(uri):
        _check_server(uri.rstrip("/"), timeout)
        return
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        _check_writable(path.parent, uri)
        _refuse_optuna_file(path, uri)


def wait_for_tracking(uri: str, *, patience: float | None = None, poll: float = 2.0) -> None:
    """Block until a tracking server answers again, at most ``patience`` seconds.

    Args:
        uri: the tracking URI; local stores return at once.
        patience: seconds to wait; ``None`` reads ``STROKE_SEARCH_TRACKING_PATIENCE``,
            default 300.
        poll: seconds between two checks. Defaults to `2`.

    Raises:
        TrackingUnavailable: still unreachable after ``patience`` seconds.
    """
    if not is_remote(uri):
        return
    if patience is None:
        patience = float(os.environ.get(PATIENCE_ENV, "300"))
    deadline = time.monotonic() + patience
    while True:
        try:
            _check_server(uri.rstrip("/"), min(poll, 5.0))
            return
        except TrackingUnavailable:
            if time.monotonic() >= deadline:
                raise TrackingUnavailable(
                    f"the MLflow tracking server {redact_text(uri)} has been unreachable for "
                    f"{patience:.0f} s; the study and its runs are consistent. Start the server "
                    "again and re-run the same command to resume."
                ) from None
            time.sleep(poll)


def is_tracking_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a lost connection to the tracking server."""
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        text = str(seen)
        if name in ("ConnectionError", "MaxRetryError", "NewConnectionError", "ConnectTimeout"):
            return True
        if isinstance(seen, TrackingUnavailable) or "Max retries exceeded" in text:
            return True
        if isinstance(seen, (ConnectionRefusedError, urllib.error.URLError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_server(base: str, timeout: float) -> None:
    shown = redact_text(base)
    fix = (
        "start it (mlflow server --host 127.0.0.1 --port 5000 ...), check --tracking-uri / "
        "MLFLOW_TRACKING_URI, or omit it to track into the local sqlite:///mlruns/mlflow.db"
    )
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=timeout) as response:
            response.read()
        query = urllib.parse.urlencode({"max_results": 1})
        request = urllib.request.Request(f"{base}/api/2.0/mlflow/experiments/search?{query}")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise TrackingUnavailable(
                f"the MLflow tracking server {shown} refused our credentials (HTTP {exc.code}); "
                "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
                "MLFLOW_TRACKING_TOKEN)."
            ) from None
        raise TrackingUnavailable(
            f"the MLflow tracking server {shown} answered HTTP {exc.code} ({exc.reason}); {fix}."
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailable(
            f"cannot reach the MLflow tracking server {shown} ({reason}); {fix}. "
            "No trial was started."
        ) from None


def _check_writable(folder: Path, uri: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".tracking-probe"
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        raise TrackingUnavailable(
            f"cannot write the MLflow store folder {folder}/ for --tracking-uri "
            f"{redact_text(uri)} ({exc.strerror}); make it writable or free space, or pass "
            "another --tracking-uri. No trial was started."
        ) from None


def _refuse_optuna_file(path: Path, uri: str) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        return
    import sqlite3  # noqa: PLC0415 - only needed for this check

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        db.close()
    except sqlite3.DatabaseError:
        return  # MLflow reports damaged files itself
    if "studies" in tables and "experiments" not in tables:
        raise ConfigError(
            f"--tracking-uri {uri} is Optuna's study store, not an MLflow database; the two "
            "must never share a file. Use the default sqlite:///mlruns/mlflow.db."
        )
