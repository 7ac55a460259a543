"""The shape the read-only commands share (``search.plots``, ``search.report``): a parser with
the store flags, then one piece of work on an existing study, never creating a store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from data_pipeline.errors import ProjectError
from search._config import add_store_arguments
from search._config import resolve_stores

if TYPE_CHECKING:
    from search._reading import StudyHandle


def study_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A parser with ``--study``, ``--storage``, ``--tracking-uri`` and ``--experiment``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_store_arguments(parser)
    return parser


def run_on_study(args: argparse.Namespace, work: Callable[[StudyHandle], str]) -> int:
    """Open ``args.study`` and print what ``work`` returns; user errors: one line, exit 2."""
    from search._reading import open_existing  # MLflow: after parsing, --help stays fast

    try:
        storage, tracking_uri = resolve_stores(args)
        handle = open_existing(args.study, storage=storage, tracking_uri=tracking_uri)
        message = work(handle)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0
