"""``python -m data_pipeline synth``: generate the synthetic tennis dataset.

Example::

    python -m data_pipeline synth --out data/synthetic                   # the default benchmark
    python -m data_pipeline synth --out data/hard --difficulty 2 --seed 3

``--difficulty`` scales what makes the task hard: 0 gives clean poses from behind the baseline
with every stroke identical; 1 is the calibrated default (pose noise and dropouts, side-on and
elevated cameras, personal styles, annotation timing); 2-3 add more of each. Same seed, clips
and difficulty give byte-identical data files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data_pipeline.layout import DATASET_INFO_FILE
from data_pipeline.synthetic import DEFAULT_N_CLIPS
from data_pipeline.synthetic import generate_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``synth`` flags to ``parser``."""
    parser.add_argument("--out", type=Path, required=True, help="data folder to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--clips", type=int, default=DEFAULT_N_CLIPS, help="number of clips")
    parser.add_argument(
        "--difficulty",
        type=float,
        default=1.0,
        help="0 = clean and easy, 1 = calibrated default, up to 3 = noisier and more varied",
    )


def run(args: argparse.Namespace) -> int:
    """Generate and print a one-line summary."""
    out = generate_dataset(args.out, seed=args.seed, n_clips=args.clips, difficulty=args.difficulty)
    info = json.loads((out / DATASET_INFO_FILE).read_text())
    print(
        f"{out}: {info['n_clips']} clips, {info['n_strokes']} strokes in "
        f"{info['generation_seconds']:.1f} s (fingerprint {info['fingerprint'][:12]})"
    )
    return 0
