"""Optuna storage: URL checks, credential redaction, SQLite set-up and clear storage errors.

Local runs keep the default ``sqlite:///studies/optuna.db``. Several worker processes
write it at once, so every SQLite connection runs in WAL mode with a 60 s busy timeout:
``benchmarks/bench_sqlite_stress.py`` measured Optuna's default set-up losing writes to
"database is locked" with 8 processes and WAL + timeout losing none (numbers in
``docs/production.md``). Transactions also start with ``BEGIN IMMEDIATE``, so Optuna's
read-check-write steps (e.g. "still RUNNING? then FAIL") are atomic between processes.
Optuna's journal file storage was faster but has no heartbeats, so SQLite stays.

Example:
    >>> redact_url("postgresql://optuna:s3cret@db.example:5432/optuna")
    'postgresql://optuna:***@db.example:5432/optuna'
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.trial import FrozenTrial
from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url

from data_pipeline.errors import ConfigError
from data_pipeline.errors import ProjectError

#: SQLAlchemy back-ends Optuna's RDB storage supports, with the driver we install for each.
BACKENDS: dict[str, str] = {"sqlite": "pysqlite", "postgresql": "psycopg2", "mysql": "pymysql"}
#: Tables every Optuna RDB storage has; a database with tables but none of these is foreign.
OPTUNA_TABLES = frozenset({"studies", "trials", "version_info"})
#: Study names: what the MLflow UI search box and file systems take without quoting.
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^\s:/@]+:)(?P<secret>[^\s@/]+)(?=@)")
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)(?P<secret>[^&\s]+)", re.I)


class StorageError(ProjectError):
    """The study store cannot be used: unreachable, read-only, full, corrupted or foreign."""


@dataclass(frozen=True)
class HeartbeatConfig:
    """Heartbeats of RDB storages: a trial whose worker stops beating is failed (and retried).

    Args:
        interval: Seconds between two heartbeats of a running trial. Defaults to `30`.
        grace_period: Seconds without a heartbeat after which any worker fails the trial.
            Defaults to `120`.
    """

    interval: int = 30
    grace_period: int = 120

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HeartbeatConfig:
        """Defaults, overridden by ``STROKE_SEARCH_HEARTBEAT_INTERVAL`` / ``..._GRACE_PERIOD``."""
        env = os.environ if env is None else env
        try:
            return cls(
                interval=int(env.get("STROKE_SEARCH_HEARTBEAT_INTERVAL", cls.interval)),
                grace_period=int(env.get("STROKE_SEARCH_GRACE_PERIOD", cls.grace_period)),
            )
        except ValueError as exc:
            raise ConfigError(
                f"STROKE_SEARCH_HEARTBEAT_INTERVAL and STROKE_SEARCH_GRACE_PERIOD must be whole "
                f"seconds ({exc}); unset them for the defaults 30 and 120."
            ) from None

    def __post_init__(self) -> None:
        if self.interval < 1 or self.grace_period <= self.interval:
            raise ConfigError(
                "--heartbeat-interval must be at least 1 s and --grace-period longer than it, "
                f"but got interval={self.interval}, grace_period={self.grace_period}; "
                "use e.g. --heartbeat-interval 30 --grace-period 120."
            )


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: the only form logs, params and tags see."""
    try:
        return redact_text(make_url(url).render_as_string(hide_password=True))
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return redact_text(url)


def redact_text(text: str) -> str:
    """Replace every ``scheme://user:password@`` and ``?password=`` secret in ``text``."""
    text = _CREDENTIALS.sub(r"\g<head>***", text)
    return _QUERY_SECRET.sub(r"\g<head>***", text)


class RedactingFilter(logging.Filter):
    """Logging filter that removes credentials from every record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


def install_log_redaction() -> None:
    """Redact credentials in everything the root logger's handlers print (idempotent)."""
    logging.basicConfig()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def normalize_storage_url(url: str) -> URL:
    """Parse ``--storage`` and pin the installed driver; typos get a message with the fix.

    Raises:
        ConfigError: unparsable URL, unknown back-end, or an SQLite URL without a file.
    """
    hint = "e.g. sqlite:///studies/optuna.db or postgresql://USER:PASSWORD@HOST:5432/DATABASE"
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        guess = f" (did you mean sqlite:///{url}?)" if "://" not in url else ""
        raise ConfigError(
            f"--storage {redact_text(url)!r} is not a database URL{guess}; "
            f"give SCHEME://..., {hint}."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, list(BACKENDS) + ["postgres"], n=1, cutoff=0.5)
        suggestion = "postgresql" if close == ["postgres"] else (close[0] if close else None)
        did_you_mean = f" Did you mean {suggestion}://...?" if suggestion else ""
        raise ConfigError(
            f"--storage scheme {backend!r} is not supported; use one of "
            f"{', '.join(BACKENDS)} ({hint}).{did_you_mean}"
        )
    if backend == "sqlite":
        if parsed.host:
            raise ConfigError(
                f"--storage {url!r} names host {parsed.host!r}: an SQLite URL has three slashes "
                f"before a relative path (sqlite:///{parsed.host}/{parsed.database}) "
                "and four before an absolute one."
            )
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                f"--storage {url!r} is an in-memory database that no worker or resume can "
                "see; give a file, e.g. sqlite:///studies/optuna.db."
            )
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{backend}+{BACKENDS[backend]}")
    return parsed


def validate_study_name(name: str) -> str:
    """Return ``name`` if it is a safe study name, else raise a ConfigError that shows one."""
    if not STUDY_NAME.fullmatch(name):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")[:128] or "my_study"
        raise ConfigError(
            f"--study {name!r} must be 1-128 letters, digits, '_', '.' or '-' starting with a "
            f"letter or digit (it names MLflow runs, UI filters and folders); try --study {safe}."
        )
    return name


def sqlite_path(url: URL) -> Path | None:
    """The database file of an SQLite URL, ``None`` for other back-ends."""
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def engine_kwargs(url: URL, *, busy_timeout: float = 60.0) -> dict[str, Any]:
    """SQLAlchemy engine arguments: SQLite waits ``busy_timeout`` s for a lock; others ping."""
    if url.get_backend_name() == "sqlite":
        # isolation_level=None: pysqlite must not open transactions itself; _begin_immediate does.
        return {"connect_args": {"timeout": busy_timeout, "isolation_level": None}}
    return {"pool_pre_ping": True}


def install_sqlite_locking(engine: sqlalchemy.Engine) -> None:
    """WAL journal and ``BEGIN IMMEDIATE`` on every connection of an SQLite ``engine``.

    pysqlite on its own runs SELECTs outside any transaction and opens one only at the first
    write, so a check and the write that depends on it can interleave with another process.
    ``BEGIN IMMEDIATE`` takes the write lock (waiting up to the busy timeout) when a
    transaction starts, which makes the pair atomic.
    """
    sqlalchemy.event.listen(engine, "connect", _sqlite_pragmas)
    sqlalchemy.event.listen(engine, "begin", _begin_immediate)
    engine.dispose()  # connections opened before the listeners existed are not reused


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: sqlalchemy.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_sqlite_file(path: Path, shown_url: str) -> None:
    """Refuse a study file that cannot work: folder not writable, not SQLite, foreign, damaged.

    Raises:
        StorageError: with what was found and how to fix it.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # a name of its own: processes starting together must not remove each other's probe
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.probe") as probe:
            probe.write(b"probe")
    except OSError as exc:
        raise StorageError(
            f"cannot write the study folder {folder}/ for --storage {shown_url} "
            f"({exc.strerror}); make it writable, free space, or pass --storage with "
            "another path or a PostgreSQL URL. The database was not touched."
        ) from None
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            check = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"{path} (--storage {shown_url}) is not a readable SQLite database ({exc}): it is "
            f"corrupted or another kind of file. Move it aside (mv {path} {path}.bad) to start "
            "a new study store, restore a backup, or pass another --storage."
        ) from None
    _refuse_foreign(tables, f"{path} (--storage {shown_url}) is an SQLite database but")
    if check != "ok":
        raise StorageError(
            f"{path} (--storage {shown_url}) is damaged (PRAGMA quick_check: {check}). "
            f"Restore a backup, or move it aside (mv {path} {path}.bad) and start again."
        )


def _refuse_foreign(tables: set[str], where: str) -> None:
    if tables and not OPTUNA_TABLES & tables:
        kind = " (it looks like MLflow's tracking database)" if "experiments" in tables else ""
        raise StorageError(
            f"{where} not an Optuna study store{kind}: it holds tables "
            f"{', '.join(sorted(tables)[:6])}. Optuna and MLflow must never share a database; "
            "pass --storage sqlite:///studies/optuna.db or another new file or database."
        )


def open_storage(
    url: str,
    *,
    heartbeat: HeartbeatConfig | None = None,
    create_schema: bool = True,
    on_stale_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.storages.RDBStorage:
    """Open (and on first use create) the study store behind ``--storage``.

    Args:
        url: The storage URL; credentials are kept out of every message.
        heartbeat: Heartbeat settings; ``None`` reads :meth:`HeartbeatConfig.from_env`
            (30 s interval, 120 s grace period unless the environment says otherwise).
        create_schema: Create missing tables; workers pass ``False`` because the parent
            created them once. Processes or machines creating the same new schema at the
            same moment (the losers fail on a duplicate table or version row) open it again
            once the first is done. Defaults to `True`.
        on_stale_trial: Called with each trial failed for a missed heartbeat, by whichever
            path fails it: ours (``search._recovery``) or the one Optuna runs before every
            trial. None: nothing more is done.

    Raises:
        ConfigError: a malformed URL. StorageError: a store that cannot be used.
    """
    parsed = normalize_storage_url(url)
    shown = redact_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        check_sqlite_file(path, shown)
    heartbeat = heartbeat or HeartbeatConfig.from_env()
    with storage_errors(shown), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if path is None and create_schema:
            engine = sqlalchemy.create_engine(parsed, **engine_kwargs(parsed))
            try:
                tables = set(sqlalchemy.inspect(engine).get_table_names())
            finally:
                engine.dispose()
            _refuse_foreign(tables, f"--storage {shown} is a database but")
        for attempt in range(1, _SCHEMA_ATTEMPTS + 1):
            try:
                storage = optuna.storages.RDBStorage(
                    parsed.render_as_string(hide_password=False),
                    engine_kwargs=engine_kwargs(parsed),
                    heartbeat_interval=heartbeat.interval,
                    grace_period=heartbeat.grace_period,
                    heartbeat_stale_trial_callback=on_stale_trial,
                    skip_table_creation=not create_schema,
                )
                break
            except sqlalchemy.exc.DatabaseError as exc:
                retry = create_schema and _lost_schema_race(exc)
                if not retry or attempt == _SCHEMA_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)  # meanwhile the other process completes the schema
        if path is not None:
            install_sqlite_locking(storage.engine)
    return storage


_SCHEMA_ATTEMPTS = 3


def _lost_schema_race(exc: sqlalchemy.exc.DatabaseError) -> bool:
    """Whether ``exc`` comes from another process creating the same new schema at the same time.

    Processes or machines that start together on a new store all create the tables and stamp
    the schema version; all but one then fail with a duplicate table or version row, and the
    schema is complete once the first is done, so opening again succeeds.
    """
    if isinstance(exc, sqlalchemy.exc.IntegrityError):
        return True
    return "already exists" in str(exc.orig or exc)


@contextlib.contextmanager
def storage_errors(shown_url: str) -> Iterator[None]:
    """Turn database failures into one-line StorageErrors naming the store and the fix."""
    try:
        yield
    except optuna.exceptions.StorageInternalError as exc:
        cause = exc.__cause__
        orig = getattr(cause, "orig", None) or cause or exc
        raise StorageError(_explain(str(orig), shown_url)) from None
    except sqlalchemy.exc.OperationalError as exc:
        raise StorageError(_explain(str(exc.orig or exc), shown_url)) from None
    except sqlalchemy.exc.DatabaseError as exc:
        raise StorageError(
            f"study store --storage {shown_url} failed: {redact_text(str(exc.orig or exc))}"
        ) from None
    except RuntimeError as exc:
        if "schema" not in str(exc) and "optuna storage upgrade" not in str(exc):
            raise
        raise StorageError(
            f"--storage {shown_url} was written by another Optuna version ({exc}); run "
            f"'optuna storage upgrade --storage URL' or use a new store."
        ) from None


def _explain(message: str, shown_url: str) -> str:
    message = redact_text(message).strip().splitlines()[0]
    lowered = message.lower()
    if "disk is full" in lowered or "no space" in lowered:
        fix = "free disk space; SQLite rolled the last write back, so the store is intact"
    elif "readonly" in lowered or "read-only" in lowered:
        fix = "make the file and its folder writable; nothing was written"
    elif "locked" in lowered:
        fix = "another program holds a long write lock on it; stop it or use PostgreSQL"
    elif "connect" in lowered or "could not translate host" in lowered:
        fix = "check that the server runs and that host, port, user and database are right"
    else:
        fix = "check the server or file named above"
    return f"study store --storage {shown_url} failed: {message}; {fix}."
