"""Study store: URL typos, credentials, SQLite locking set-up, bad files, read-only and full disks."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import mlflow
import optuna
import pytest

from data_pipeline.errors import ConfigError
from search._storage import HeartbeatConfig
from search._storage import StorageError
from search._storage import install_log_redaction
from search._storage import normalize_storage_url
from search._storage import open_storage
from search._storage import redact_text
from search._storage import redact_url
from search._storage import validate_study_name
from tests.search_tests._services import REPO_ROOT
from tests.search_tests._services import fresh_postgres_database


def _study_with_trials(url: str, n: int = 3) -> optuna.Study:
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=n)
    return study


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("postgres://u@db/optuna", "Did you mean postgresql://"),
        ("sqllite:///studies/optuna.db", "Did you mean sqlite://"),
        ("sqlite://studies/optuna.db", "sqlite:///studies/optuna.db"),
        ("studies/optuna.db", "did you mean sqlite:///studies/optuna.db"),
        ("sqlite:///:memory:", "give a file"),
        ("redis://localhost", "use one of sqlite, postgresql, mysql"),
    ],
)
def test_storage_url_typo_names_the_fix(url: str, fix: str) -> None:
    # every malformed --storage is refused before anything is opened, with the fix spelled out
    with pytest.raises(ConfigError, match=fix.replace("?", r"\?").replace("+", r"\+")):
        normalize_storage_url(url)


def test_storage_postgresql_url_gets_the_installed_driver() -> None:
    # a plain postgresql:// URL would make SQLAlchemy 2.1 import psycopg (3), which we do not ship
    assert normalize_storage_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg2"
    assert normalize_storage_url("sqlite:///a.db").drivername == "sqlite+pysqlite"


def test_storage_redaction_hides_every_password() -> None:
    url = "postgresql://optuna:hunter2@db.example:5432/optuna?password=hunter2"
    # the URL form and free text lose the secret
    assert "hunter2" not in redact_url(url)
    assert redact_text(f"could not connect to {url}") == (
        "could not connect to postgresql://optuna:***@db.example:5432/optuna?password=***"
    )
    # every root handler redacts records whose arguments carry a URL
    install_log_redaction()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (url,), None)
    for handler in logging.getLogger().handlers:
        assert handler.filter(record)
    assert "hunter2" not in record.getMessage()


@pytest.mark.parametrize("name", ["my study", "a/b", "../etc", "", "é-study", "x" * 200, "-lead"])
def test_storage_study_name_with_odd_characters_is_refused(name: str) -> None:
    # names that break MLflow filters, folders or shells are refused with a safe suggestion
    with pytest.raises(ConfigError, match="try --study"):
        validate_study_name(name)


@pytest.mark.parametrize("name", ["tennis_stroke_recognition", "run-2.v3", "A1"])
def test_storage_study_name_plain_is_accepted(name: str) -> None:
    assert validate_study_name(name) == name


def test_storage_sqlite_runs_wal_with_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/studies/optuna.db"
    _study_with_trials(url)
    # WAL is a property of the file, so every later process inherits it
    with sqlite3.connect(tmp_path / "studies" / "optuna.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    storage = open_storage(url)
    with storage.engine.connect() as connection:
        # the busy timeout (ms) from engine_kwargs reaches the connection
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000


def test_storage_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "optuna.db"
    path.write_bytes(b"these are not the bytes of an sqlite file\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StorageError, match=r"not a readable SQLite database.*mv .*optuna\.db\.bad"):
        open_storage(f"sqlite:///{path}")
    # the file is left exactly as it was
    assert path.read_bytes() == before


def test_storage_mlflow_database_is_refused_as_foreign(tmp_path: Path) -> None:
    path = tmp_path / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").create_experiment("e")
    tables_before = _tables(path)
    with pytest.raises(StorageError, match="not an Optuna study store.*MLflow's tracking database"):
        open_storage(f"sqlite:///{path}")
    # no Optuna table was created inside MLflow's database
    assert _tables(path) == tables_before


def test_storage_damaged_optuna_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "optuna.db"
    _study_with_trials(f"sqlite:///{path}", n=30)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page : 5 * page] = b"\xff" * (2 * page)  # overwrite two b-tree pages
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="damaged|not a readable SQLite"):
        open_storage(f"sqlite:///{path}")


def test_storage_heartbeat_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="--grace-period longer than it"):
        HeartbeatConfig(interval=10, grace_period=5)


def test_storage_postgresql_fresh_database_with_heartbeats(postgres_url: str) -> None:
    with fresh_postgres_database(postgres_url) as url:
        storage = open_storage(url, heartbeat=HeartbeatConfig(interval=1, grace_period=3))
        study = optuna.create_study(storage=storage, study_name="pg")
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
        # heartbeats are on for RDB storages and the trials landed in PostgreSQL
        assert storage.get_heartbeat_interval() == 1
        assert len(optuna.load_study(study_name="pg", storage=open_storage(url)).trials) == 2
        storage.engine.dispose()


def _open_together(url: str, n: int = 4) -> list[str]:
    """Open a new store from ``n`` threads released at once; the errors they raised."""
    barrier, errors = threading.Barrier(n), []

    def open_one() -> None:
        barrier.wait()
        try:
            open_storage(url).engine.dispose()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_storage_new_sqlite_store_opened_together_by_many(tmp_path: Path) -> None:
    # Workers or a test poll starting with the first process all create the schema; before the
    # fix at least one opener failed ("UNIQUE constraint failed: alembic_version", "table
    # studies already exists", or a probe file removed by a neighbour) in 10 of 10 rounds.
    for round_ in range(5):
        url = f"sqlite:///{tmp_path}/round{round_}/optuna.db"
        assert _open_together(url) == []
        assert len(_study_with_trials(url, n=1).trials) == 1


def test_storage_new_postgresql_store_opened_together_by_many(postgres_url: str) -> None:
    for _ in range(3):
        with fresh_postgres_database(postgres_url) as url:
            assert _open_together(url) == []
            assert len(_study_with_trials(url, n=1).trials) == 1


def test_storage_unreachable_postgresql_is_one_clear_line() -> None:
    with pytest.raises(StorageError, match=r"postgresql://optuna:\*\*\*@127\.0\.0\.1:1/x.*server runs") as info:
        open_storage("postgresql://optuna:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in str(info.value)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _in_small_filesystem(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a user+mount namespace where ``tmp_path/fs`` is a 1 MiB tmpfs."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare for a private tmpfs")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], check=False)
    if probe.returncode != 0:
        pytest.skip("user namespaces are disabled here; cannot mount a private tmpfs")
    (tmp_path / "fs").mkdir()
    (tmp_path / "script.py").write_text(textwrap.dedent(script))
    shell = (
        f"mount -t tmpfs -o size=1m tmpfs {tmp_path}/fs && "
        f"{sys.executable} {tmp_path}/script.py {tmp_path}/fs"
    )
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        check=False,
    )


def test_storage_disk_full_is_clear_and_keeps_the_database(tmp_path: Path) -> None:
    result = _in_small_filesystem(
        tmp_path,
        """
        import os, sqlite3, sys, optuna
        from search._storage import open_storage, storage_errors, StorageError
        fs = sys.argv[1]
        url = f"sqlite:///{fs}/studies/optuna.db"
        study = optuna.create_study(storage=open_storage(url), study_name="s")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        filler = os.open(f"{fs}/filler", os.O_WRONLY | os.O_CREAT)  # take the rest of the 1 MiB
        try:
            while True:
                os.write(filler, b"0" * 4096)
        except OSError:
            os.close(filler)
        try:
            with storage_errors(url):
                for _ in range(200):
                    t = study.ask(); t.suggest_float("x", 0, 1)
                    for step in range(50):
                        t.report(0.5, step)
                    t.set_user_attr("blob", "y" * 2000)
                    study.tell(t, 0.5)
            print("NO ERROR")
        except StorageError as exc:
            print("ERROR:", exc)
        os.remove(f"{fs}/filler")
        print("CHECK:", sqlite3.connect(f"{fs}/studies/optuna.db").execute("PRAGMA integrity_check").fetchone()[0])
        loaded = optuna.load_study(study_name="s", storage=open_storage(url))
        print("COMPLETE:", len([t for t in loaded.trials if t.state.name == "COMPLETE"]))
        """,
    )
    out = result.stdout
    # one clear line naming the store and the fix, not a traceback
    assert "ERROR: study store --storage sqlite:///" in out, out + result.stderr
    assert "disk is full" in out and "free disk space" in out
    # the database survived intact with the trials finished before the disk filled
    assert "CHECK: ok" in out
    assert int(out.split("COMPLETE:")[1].split()[0]) >= 3


def test_storage_read_only_studies_and_mlruns_are_refused_before_writing(tmp_path: Path) -> None:
    result = _in_small_filesystem(
        tmp_path,
        """
        import subprocess, sys, optuna, hashlib
        from search._storage import open_storage, StorageError
        fs = sys.argv[1]
        url = f"sqlite:///{fs}/studies/optuna.db"
        storage = open_storage(url)
        study = optuna.create_study(storage=storage, study_name="s")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        storage.engine.dispose()  # a remount needs every file closed
        before = hashlib.sha256(open(f"{fs}/studies/optuna.db", "rb").read()).hexdigest()
        subprocess.run(["mount", "-o", "remount,ro", fs], check=True)
        try:
            open_storage(url)
            print("NO ERROR")
        except StorageError as exc:
            print("ERROR:", exc)
        after = hashlib.sha256(open(f"{fs}/studies/optuna.db", "rb").read()).hexdigest()
        print("SAME:", before == after)
        from search._remote import check_tracking, TrackingUnavailable
        try:
            check_tracking(f"sqlite:///{fs}/mlruns/mlflow.db")
            print("NO TRACKING ERROR")
        except TrackingUnavailable as exc:
            print("TRACKING:", exc)
        """,
    )
    out = result.stdout
    # refused up front with the folder, the reason and the fix; the database is byte-identical
    assert "ERROR: cannot write the study folder" in out, out + result.stderr
    assert "Read-only file system" in out and "make it writable" in out
    assert "SAME: True" in out
    # a read-only mlruns/ is refused the same way, before any trial
    assert "TRACKING: cannot write the MLflow store folder" in out
