"""Shared fixtures: the real pose model, the real PostgreSQL server, a small synthetic dataset.

``.ci/run`` sets ``STROKE_SEARCH_REQUIRE_SERVICES=1``: then a missing pose model or PostgreSQL
server fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STROKE_SEARCH_SHARED", REPO_ROOT.parent / "shared"))
REQUIRE_SERVICES = os.environ.get("STROKE_SEARCH_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("STROKE_SEARCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def missing(reason: str) -> None:
    """Skip, or fail when CI requires every real component."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (STROKE_SEARCH_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        missing(f"shared folder {SHARED} not found; set STROKE_SEARCH_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def pose_model_path() -> Path:
    """The real BlazePose bundle from POSE_LANDMARKER_MODEL (CI: ../shared/models/...)."""
    env = os.environ.get("POSE_LANDMARKER_MODEL")
    path = Path(env) if env else SHARED / "models" / "pose_landmarker_full.task"
    if not path.is_file():
        missing(f"pose model {path} not found; set POSE_LANDMARKER_MODEL")
    return path


@pytest.fixture(scope="session")
def racketsports_dir(shared_dir: Path) -> Path:
    path = shared_dir / "realdata" / "racketsports"
    if not (path / "RacketSports_TRAIN.ts").is_file():
        missing(f"RacketSports files not found under {path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the real PostgreSQL server (127.0.0.1:5432, database ``test``)."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    try:
        # pin the driver we ship: SQLAlchemy 2.1 maps plain postgresql:// to psycopg (v3)
        engine = sqlalchemy.create_engine(
            sqlalchemy.engine.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2")
        )
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def small_synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic tennis dataset (few clips, all classes), generated once per session."""
    from data_pipeline.synthetic import generate_dataset

    out = tmp_path_factory.mktemp("synthetic_small")
    generate_dataset(out, seed=7, n_clips=12)
    return out
