"""What the search's processes share on the console: log levels, signals and their exit codes.

``python -m search.run`` and every ``--workers`` process call :func:`quiet_libraries` once, turn
SIGTERM into :class:`Terminated` with :func:`raise_terminated`, and exit with
:data:`EXIT_SIGINT` or :data:`EXIT_SIGTERM` after an interruption.
"""

from __future__ import annotations

import logging
from types import FrameType

import optuna

from data_pipeline import native_logs
from search._storage import install_log_redaction

#: Exit codes after Ctrl-C (SIGINT) and SIGTERM, as a shell reports them (128 + signal number).
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (the running trial fails, its run is closed), exit 143.

    Defined here, not in ``search.run``: under ``python -m search.run`` that module is
    ``__main__``, and a second import of it would define a second, different class.
    """


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """:data:`EXIT_SIGTERM` for :class:`Terminated`, else :data:`EXIT_SIGINT`."""
    return EXIT_SIGTERM if isinstance(interrupt, Terminated) else EXIT_SIGINT


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler: raise :class:`Terminated` in the main thread."""
    raise Terminated(f"signal {signum}")


def quiet_libraries(verbose: bool) -> None:
    """Keep TensorFlow, Optuna and MLflow quiet unless -v."""
    native_logs.set_verbose(verbose)  # -v: TensorFlow's native lines too, if it has not loaded
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    # quiet: our progress line reports failed trials; Optuna would add their tracebacks
    optuna.logging.set_verbosity(level if verbose else logging.ERROR)
    for name in ("mlflow", "alembic", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(level if verbose else logging.ERROR)
