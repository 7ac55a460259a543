"""``python -m search.plots``: (re)draw a study's plots into studies/<study>/plots/ and MLflow.

Optimisation history, parameter importances, parallel coordinate, slice, contour of the two most
important parameters, intermediate values (the pruning picture; values are -val_loss when the study
maximises) and timeline: all in ``plots.html`` (interactive, opens offline) and one PNG each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from data_pipeline.errors import ProjectError
from search._config import add_store_arguments
from search._config import resolve_stores


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m search.plots", description=__doc__)
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the plots; user errors print one line on stderr and return 2."""
    args = build_parser().parse_args(argv)
    from search._plots import publish_plots  # after parsing: --help stays fast
    from search._reading import open_existing

    try:
        storage, tracking_uri = resolve_stores(args)
        handle = open_existing(args.study, storage=storage, tracking_uri=tracking_uri)
        plots = publish_plots(handle.study, handle.client, handle.parent_run_id)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"plots of study {args.study!r}: {plots.html} and {len(plots.pngs)} PNG files")
    for name, reason in plots.skipped.items():
        print(f"skipped {name}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
