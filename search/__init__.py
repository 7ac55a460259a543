"""The hyperparameter search service: Optuna study, nested MLflow runs, pruning, plots, champion.

Public API (imported lazily, so ``python -m search.best`` does not load TensorFlow)::

    from search import SearchConfig, prepare_study, run_study, finish_study
    config = SearchConfig(n_trials=20)
    session = prepare_study(config)      # once: study, baseline, parent run, stale trials
    run_study(config, session=session)   # the trial loop in this process
    finish_study(session)                # plots, parent run ended
"""

from __future__ import annotations

import importlib
from typing import Any

from data_pipeline import native_logs

# TensorFlow, absl and CUDA log from C++ while TensorFlow loads, before Python configures any
# logging: the quiet defaults must be in place before any submodule can import it.
native_logs.install()

_EXPORTS = {
    "DEFAULT_SPACE": "search._space",
    "DEFAULT_STORAGE": "search._config",
    "RUN_ID_ATTR": "search._attrs",
    "PruningCallback": "search._pruning",
    "SearchConfig": "search._config",
    "SearchSpace": "search._space",
    "TrialParams": "search._params",
    "add_store_arguments": "search._config",
    "baseline_values": "search._params",
    "champion_uri": "search._champion",
    "cross_validate": "search._cv",
    "engine_kwargs": "search._storage",
    "finish_study": "search._runner",
    "limit_tf_threads": "search._workers",
    "load_space": "search._runner",
    "make_pruner": "search._pruning",
    "normalize_storage_url": "search._storage",
    "open_dataset": "search._runner",
    "open_storage": "search._storage",
    "prepare_study": "search._runner",
    "quiet_libraries": "search._console",
    "resolve_stores": "search._config",
    "run_study": "search._runner",
    "suggest": "search._params",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
