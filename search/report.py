"""``python -m search.report``: (re)write a study's report, ``studies/<study>/report.md`` and
``report.html``, and log it to the study's MLflow parent run.

The report says which model to take and how sure that is: baseline against champion (validation
and test, with the selection score and its interval where trials were confirmed), the top trials
with their MLflow run ids, parameter importances, what pruning saved, wall time, failures and
advice drawn from the study. ``python -m search.run`` writes it after every run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from search._read_cli import run_on_study
from search._read_cli import study_parser

if TYPE_CHECKING:
    from search._reading import StudyHandle


def build_parser() -> argparse.ArgumentParser:
    return study_parser("python -m search.report", __doc__)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)

    def write(handle: StudyHandle) -> str:
        from search._report_render import publish_report

        path = publish_report(handle.study, handle.client, handle.parent_run_id)
        return f"report of study {args.study!r}: {path} and {path.with_suffix('.html')}"

    return run_on_study(args, write)


if __name__ == "__main__":
    raise SystemExit(main())
