"""``python -m search.report``: (re)write a study's report, ``studies/<study>/report.md`` and
``report.html``, and log it to the study's MLflow parent run.

The report says which model to take and how sure that is: baseline against champion (validation
and test, with the selection score and its interval where trials were confirmed), the top trials
with their MLflow run ids, parameter importances, what pruning saved, wall time, failures and
advice drawn from the study. ``python -m search.run`` writes it after every run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from data_pipeline.errors import ProjectError
from search._config import add_store_arguments
from search._config import resolve_stores


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m search.report", description=__doc__)
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    from search._reading import open_existing  # after parsing: --help stays fast
    from search._report import publish_report

    try:
        storage, tracking_uri = resolve_stores(args)
        handle = open_existing(args.study, storage=storage, tracking_uri=tracking_uri)
        path = publish_report(handle.study, handle.client, handle.parent_run_id)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report of study {args.study!r}: {path} and {path.with_suffix('.html')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
