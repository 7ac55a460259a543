"""``python -m search.plots``: (re)draw a study's plots into studies/<study>/plots/ and MLflow.

Optimisation history, parameter importances, parallel coordinate, slice, contour of the two most
important parameters, intermediate values (the pruning picture; values are -val_loss when the study
maximises) and timeline: all in ``plots.html`` (interactive, opens offline) and one PNG each.
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
    return study_parser("python -m search.plots", __doc__)


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the plots; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)

    def draw(handle: StudyHandle) -> str:
        from search._plots import publish_plots

        plots = publish_plots(handle.study, handle.client, handle.parent_run_id)
        lines = [f"plots of study {args.study!r}: {plots.html} and {len(plots.pngs)} PNG files"]
        lines += [f"skipped {name}: {reason}" for name, reason in plots.skipped.items()]
        return "\n".join(lines)

    return run_on_study(args, draw)


if __name__ == "__main__":
    raise SystemExit(main())
