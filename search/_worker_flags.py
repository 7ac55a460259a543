"""The flags of ``--workers`` mode, kept apart from the worker machinery so that
``python -m search.run --help`` answers without loading TensorFlow."""

from __future__ import annotations

import argparse


def at_least_one(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be at least 1, but got {value}; pass 1 for one process, or more to share "
            "the study between processes"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--trials-per-process``, for ``python -m search.run``."""
    parser.add_argument(
        "--workers",
        type=at_least_one,
        default=1,
        help="worker processes on this machine, sharing the study and the cores; run the same "
        "command on other machines with a PostgreSQL --storage to add more (default: %(default)s)",
    )
    parser.add_argument(
        "--trials-per-process",
        type=int,  # SearchConfig checks it, with the fix
        default=None,
        metavar="N",
        help="run the trials in worker processes that are replaced after N trials each: "
        "TensorFlow keeps about 20 MiB per trained model until its process ends (an upstream "
        "leak that clear_session does not free), so a long study grows by ~1 GiB per 50 "
        "trials in one process (default: one process for all trials)",
    )
