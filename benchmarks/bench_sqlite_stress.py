"""N processes hammer one study with ask/report/tell: count "database is locked" per storage set-up.

Set-ups, each on a fresh file in a temporary folder:
  default      optuna.storages.RDBStorage("sqlite:///...") as Optuna builds it for a URL string
  wal_timeout  WAL journal + 60 s busy timeout, pysqlite's deferred transactions
  ours         search.open_storage: WAL + 60 s busy timeout + BEGIN IMMEDIATE
  journal      optuna.storages.JournalStorage(JournalFileBackend(...))

Every worker runs trials as the search does: ask, suggest 6 parameters, report 5 intermediate
values, read the study's trials (the finished-trials count), tell. Failed calls are counted and
the worker goes on. Usage::

    python benchmarks/bench_sqlite_stress.py --workers 4 8 --trials 40 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import optuna

from data_pipeline import atomic_write_text
from search import engine_kwargs
from search import normalize_storage_url
from search import open_storage

SETUPS = ("default", "wal_timeout", "ours", "journal")


def _storage(setup: str, folder: Path, *, create: bool) -> optuna.storages.BaseStorage:
    url = f"sqlite:///{folder / 'stress.db'}"
    if setup == "default":
        return optuna.storages.RDBStorage(url, skip_table_creation=not create)
    if setup == "wal_timeout":
        storage = optuna.storages.RDBStorage(
            url,
            engine_kwargs={"connect_args": {"timeout": 60.0}},
            skip_table_creation=not create,
        )
        with storage.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        return storage
    if setup == "ours":
        assert "isolation_level" in engine_kwargs(normalize_storage_url(url))["connect_args"]
        return open_storage(url, create_schema=create)
    backend = optuna.storages.journal.JournalFileBackend(str(folder / "stress.journal"))
    return optuna.storages.JournalStorage(backend)


def _worker(setup: str, folder: str, n_trials: int, seed: int, barrier, results) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    errors: Counter[str] = Counter()
    storage = _storage(setup, Path(folder), create=False)
    study = optuna.load_study(
        study_name="stress", storage=storage, sampler=optuna.samplers.RandomSampler(seed)
    )
    barrier.wait()  # all workers start hammering together, after their imports
    started = time.perf_counter()
    for _ in range(n_trials):
        try:
            trial = study.ask()
            values = [trial.suggest_float(f"p{i}", 0.0, 1.0) for i in range(6)]
            for step in range(5):
                trial.report(sum(values) / (step + 1), step)
            study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            study.tell(trial, sum(values))
            errors["ok"] += 1
        except Exception as exc:  # noqa: BLE001 - counting every failure is the point
            errors[_kind(exc)] += 1
    results.put((dict(errors), time.perf_counter() - started))


def _kind(exc: BaseException) -> str:
    """"database is locked" wherever it hides in the cause chain, else the exception's type."""
    seen: BaseException | None = exc
    while seen is not None:
        if "database is locked" in str(seen):
            return "database is locked"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def stress(setup: str, n_workers: int, n_trials: int) -> dict[str, object]:
    """Run one set-up with ``n_workers`` processes of ``n_trials`` each; count outcomes."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        optuna.create_study(study_name="stress", storage=_storage(setup, Path(folder), create=True))
        barrier, results = context.Barrier(n_workers), context.Queue()
        workers = [
            context.Process(target=_worker, args=(setup, folder, n_trials, seed, barrier, results))
            for seed in range(n_workers)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        study = optuna.load_study(
            study_name="stress", storage=_storage(setup, Path(folder), create=False)
        )
        states = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    total: Counter[str] = Counter()
    for errors, _ in outcomes:
        total.update(errors)
    seconds = max(elapsed for _, elapsed in outcomes)
    return {
        "setup": setup,
        "workers": n_workers,
        "trials_asked": n_workers * n_trials,
        "ok": total.pop("ok", 0),
        "locked_errors": total.pop("database is locked", 0),
        "other_errors": dict(total),
        "trial_states": dict(states),
        "seconds": round(seconds, 2),
        "trials_per_second": round(n_workers * n_trials / seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8], help="default: 4 8")
    parser.add_argument("--trials", type=int, default=40, help="trials per worker (default 40)")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--out", type=Path, default=None, help="write results JSON here")
    args = parser.parse_args(argv)
    rows = []
    for n_workers in args.workers:
        for setup in args.setups:
            row = stress(setup, n_workers, args.trials)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        atomic_write_text(args.out / "sqlite_stress.json", json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
