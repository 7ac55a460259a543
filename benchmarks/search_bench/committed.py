"""Command line of the scripts that analyse the committed ``bench_search`` results together."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).parents[1] / "results"
ANALYSIS_RESULTS = Path(__file__).parents[1] / "analysis" / "results"


def parse_results_args(
    description: str, default_out: str, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """``results`` (JSON paths) and ``--out``; without paths, every committed full result.

    The committed results are ``results/bench_search*.json`` but the ``--quick`` smoke run;
    ``--out`` defaults to ``analysis/results/<default_out>``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="bench_search result JSONs (default: every committed one but the --quick smoke run)",
    )
    parser.add_argument("--out", type=Path, default=ANALYSIS_RESULTS / default_out)
    args = parser.parse_args(argv)
    args.results = args.results or sorted(
        p for p in RESULTS.glob("bench_search*.json") if not p.stem.endswith("_quick")
    )
    return args
