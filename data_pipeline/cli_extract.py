"""``python -m data_pipeline extract``: videos + Label Studio exports -> a clip data folder.

Example::

    python -m data_pipeline extract --videos raw/videos --annotations raw/labels \\
        --out data/tennis --workers 2

Exit code 0 when every video was extracted (or its cache was current), 1 when some video failed
(each failure is named on stderr; the others are still extracted), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_pipeline.extract import extract_videos
from data_pipeline.pose_model import ENV_VAR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``extract`` flags to ``parser``."""
    parser.add_argument("--videos", type=Path, required=True, help="folder with the videos")
    parser.add_argument(
        "--annotations", type=Path, required=True, help="folder with the Label Studio JSON exports"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="data folder to write (poses/, annotations/)"
    )
    parser.add_argument(
        "--pose-model",
        type=Path,
        default=None,
        help=f"MediaPipe pose landmarker bundle (.task); else ${ENV_VAR}, else the official "
        "pose_landmarker_full.task downloaded once to ~/.cache/stroke-search",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="videos extracted in parallel (processes)"
    )


def run(args: argparse.Namespace) -> int:
    """Extract, print a one-line summary, name each failed video on stderr."""
    report = extract_videos(
        args.videos, args.annotations, args.out, pose_model=args.pose_model, workers=args.workers
    )
    for stem, reason in sorted(report.failed.items()):
        print(f"error: {stem}: {reason}", file=sys.stderr)
    print(
        f"{args.out}: extracted {len(report.extracted)}, reused {len(report.reused)}, "
        f"failed {len(report.failed)}"
    )
    return 0 if report.ok else 1
