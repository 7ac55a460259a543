"""Render generated strokes as stick figures so a person can see that they look like tennis.

``python -m data_pipeline.synthetic.plot --out strokes.png [--view side] [--seed N] [--left]``
draws one row per stroke (forehand, both backhands, serve, both slices) and one column per moment
from the start of the preparation to the end of the follow-through, as the camera sees it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from data_pipeline._io import atomic_write
from data_pipeline.errors import ProjectError
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.synthetic.body import sample_players
from data_pipeline.synthetic.camera import VIEWPOINTS
from data_pipeline.synthetic.camera import observe
from data_pipeline.synthetic.camera import sample_camera
from data_pipeline.synthetic.strokes import LABELS
from data_pipeline.synthetic.timeline import StrokeEvent
from data_pipeline.synthetic.timeline import simulate_clip

ROWS: tuple[tuple[str, bool], ...] = (
    ("forehand", True), ("backhand", True), ("backhand", False), ("serve", True),
    ("slice_forehand", True), ("slice_backhand", True),
)  # fmt: skip
_LIMB_PAIRS = (
    ("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"),
    ("ankle", "heel"), ("heel", "foot_index"), ("shoulder", "hip"),
)  # fmt: skip
_BONES = [
    (LANDMARK_INDEX[f"{side}_{a}"], LANDMARK_INDEX[f"{side}_{b}"])
    for side in ("left", "right")
    for a, b in _LIMB_PAIRS
] + [
    (LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]),
    (LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]),
]


def stroke_frames(shot: str, *, two_handed: bool, view: str, seed: int, left_handed: bool,
                  n_moments: int = 7) -> np.ndarray:  # fmt: skip
    """Image coordinates ``[n_moments, 33, 2]`` of one clean stroke filmed from ``view``."""
    rng = np.random.default_rng(seed)
    player = replace(sample_players(rng, 1)[0], two_handed_backhand=two_handed,
                     handedness="left" if left_handed else "right")  # fmt: skip
    fps = 30
    length = 1.7 if shot == "serve" else 0.8
    event = StrokeEvent(shot, LABELS[shot], 1.5, 1.5 + length)
    points = simulate_clip(player, [event], rng, n_frames=round(4 * fps), fps=fps, difficulty=0.0)
    camera = replace(sample_camera(rng, 0.0, view), shake_deg=0.0)
    landmarks, _ = observe(points, camera, fps, rng, difficulty=0.0)
    moments = np.linspace(event.start * fps, event.end * fps - 1, n_moments).round().astype(int)
    return landmarks[moments, :, :2]


def render(frames_by_row: Sequence[tuple[str, np.ndarray]], out: Path) -> None:
    """Draw the stick figures (rows of moments) to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = frames_by_row[0][1].shape[0]
    fig, axes = plt.subplots(len(frames_by_row), n_cols, figsize=(1.6 * n_cols, 2.2 * len(frames_by_row)))
    for row, (title, frames) in zip(axes, frames_by_row):
        lo, hi = frames.reshape(-1, 2).min(axis=0), frames.reshape(-1, 2).max(axis=0)
        for col, (ax, xy) in enumerate(zip(row, frames)):
            for a, b in _BONES:
                colour = "tab:red" if "right" in _name(a) or "right" in _name(b) else "tab:blue"
                ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=colour, lw=1.5)
            ax.plot(*xy[LANDMARK_INDEX["nose"]], "ko", ms=3)
            ax.set_xlim(lo[0] - 0.02, hi[0] + 0.02)
            ax.set_ylim(hi[1] + 0.02, lo[1] - 0.02)
            ax.set_aspect(9 / 16)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(title, fontsize=8)
    fig.suptitle("synthetic strokes (red = right side of the body)", fontsize=9)
    fig.tight_layout()
    with atomic_write(out, "wb") as handle:
        fig.savefig(handle, format="png", dpi=80)
    plt.close(fig)


def _name(index: int) -> str:
    return next(name for name, i in LANDMARK_INDEX.items() if i == index)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_pipeline.synthetic.plot", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--view", choices=VIEWPOINTS, default="side", help="camera viewpoint")
    parser.add_argument("--seed", type=int, default=0, help="seed of the player and camera")
    parser.add_argument("--left", action="store_true", help="draw a left-handed player")
    args = parser.parse_args(argv)
    try:
        rows = [
            (f"{LABELS[shot]}{'' if two else ' (1h)'}",
             stroke_frames(shot, two_handed=two, view=args.view, seed=args.seed, left_handed=args.left))
            for shot, two in ROWS
        ]  # fmt: skip
        render(rows, args.out)
    except (ProjectError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
