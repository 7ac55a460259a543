"""``python -m data_pipeline import-keypoints``: other estimators' keypoints or generic sequences.

Examples::

    python -m data_pipeline import-keypoints --src movenet_csv/ --out data/movenet --fps 25
    python -m data_pipeline import-keypoints --src ../shared/realdata/racketsports \\
        --out data/racketsports --format ts --fps 10

``--format`` (default: guessed from the files in ``--src``):

- ``csv``: per-sample keypoint CSVs -> a clip data folder (``data_pipeline.import_keypoints``);
- ``npz``: ``X [N, T, F]``, ``y``... -> ``OUT/sequences.npz`` (``data_pipeline.import_sequences``);
- ``ts``: sktime/aeon ``.ts`` files (TRAIN and TEST) -> ``OUT/sequences.npz``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.import_keypoints import import_keypoint_csvs
from data_pipeline.import_sequences import import_npz
from data_pipeline.import_sequences import import_ts

FORMATS = ("csv", "npz", "ts")
#: Frame rate assumed for CSV rows when ``--fps`` is not given.
DEFAULT_CSV_FPS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``import-keypoints`` flags to ``parser``."""
    parser.add_argument("--src", type=Path, required=True, help="file or folder to import")
    parser.add_argument("--out", type=Path, required=True, help="data folder to write")
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="input format (None: from the files)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=None,
        help=f"frame rate of the rows/steps (None: {DEFAULT_CSV_FPS:g} for csv; for npz and ts "
        "the file's own, else the steps are reference frames)",
    )
    parser.add_argument(
        "--image-size",
        type=_image_size,
        default=None,
        metavar="WIDTHxHEIGHT",
        help="csv only: image size when the coordinates are pixels (e.g. 1920x1080)",
    )


def run(args: argparse.Namespace) -> int:
    """Import and print a one-line summary."""
    fmt = args.format or guess_format(args.src)
    if args.image_size is not None and fmt != "csv":
        raise ConfigError(f"--image-size applies to csv input only, but --format is {fmt}.")
    if fmt == "csv":
        fps = DEFAULT_CSV_FPS if args.fps is None else args.fps
        result = import_keypoint_csvs(args.src, args.out, fps=fps, image_size=args.image_size)
        ignored = f" (ignored keypoints: {', '.join(result.ignored_columns)})"
        print(
            f"{args.out}: {len(result.clips)} clips, {result.n_frames} frames at {fps:g} fps"
            + (ignored if result.ignored_columns else "")
        )
        return 0
    importer = import_npz if fmt == "npz" else import_ts
    path = importer(args.src, args.out, fps=args.fps)
    with np.load(path) as data:
        n, steps, n_features = data["X"].shape
        n_classes = len(set(data["y"].tolist()))
    print(f"{path}: {n} samples x {steps} steps x {n_features} features, {n_classes} classes")
    return 0


def guess_format(src: Path) -> str:
    """``csv``, ``npz`` or ``ts`` from the suffix of ``src`` or of the files in it.

    Raises:
        DataError: nothing importable, or several formats mixed (then ``--format`` decides).
    """
    if src.is_file():
        files = [src]
    elif src.is_dir():
        files = [p for p in src.rglob("*") if p.is_file()]
    else:
        raise DataError(f"--src {src} does not exist; give the file or folder to import.")
    found = sorted({p.suffix.lower().lstrip(".") for p in files} & set(FORMATS))
    if not found:
        raise DataError(f"--src {src} holds no .csv, .npz or .ts file; give what to import.")
    if len(found) > 1:
        raise DataError(f"--src {src} mixes formats {found}; choose one with --format.")
    return found[0]


def _image_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    return int(width), int(height)
