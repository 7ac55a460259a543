"""``python -m data_pipeline <command>``: extract, import-keypoints, synth, inspect."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from data_pipeline import native_logs
from data_pipeline.errors import ProjectError

#: sub-command -> module providing ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "extract": ("data_pipeline.cli_extract", "Extract poses from videos with MediaPipe."),
    "import-keypoints": (
        "data_pipeline.cli_import",
        "Import keypoints from other estimators (CSV) or generic sequences (NPZ, .ts).",
    ),
    "synth": ("data_pipeline.cli_synth", "Generate the synthetic tennis dataset."),
    "inspect": ("data_pipeline.cli_inspect", "Describe a data folder: clips, classes, windows."),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; user errors print one line to stderr and return 2."""
    args = build_parser().parse_args(argv)
    native_logs.set_verbose(args.verbose)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return int(args._run(args))
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
