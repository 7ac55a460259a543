"""One practice clip: which strokes when, the pauses between them, and the resulting 3D motion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline.synthetic.body import CH
from data_pipeline.synthetic.body import Player
from data_pipeline.synthetic.body import forward_kinematics
from data_pipeline.synthetic.body import mirror_world
from data_pipeline.synthetic.movement import COURT_X
from data_pipeline.synthetic.movement import COURT_Z
from data_pipeline.synthetic.movement import gap_keyframes
from data_pipeline.synthetic.movement import interpolate
from data_pipeline.synthetic.movement import plant_feet
from data_pipeline.synthetic.movement import ready_pose
from data_pipeline.synthetic.movement import sway
from data_pipeline.synthetic.strokes import LABELS
from data_pipeline.synthetic.strokes import stroke_for
from data_pipeline.synthetic.strokes import stroke_keyframes

#: Share of each shot among a clip's strokes, as in real practice (fronthand >> backhand >> serve).
SHOT_WEIGHTS: dict[str, float] = {
    "forehand": 0.52, "backhand": 0.33, "serve": 0.05, "slice_forehand": 0.05, "slice_backhand": 0.05,
}  # fmt: skip
#: Every clip contains at least these shots, so that even a dozen clips split three ways keep
#: every class (and every raw label) in every split.
REQUIRED_SHOTS: tuple[str, ...] = ("serve", "serve", "backhand", "slice_forehand", "slice_backhand")
_RESERVE_S = 4.5  # time kept free per required shot still missing


@dataclass(frozen=True)
class StrokeEvent:
    """One labelled stroke of a clip.

    Args:
        shot: ``forehand``, ``backhand``, ``serve``, ``slice_forehand`` or ``slice_backhand``.
        label: the raw Label Studio label.
        start: labelled start in seconds.
        end: labelled end in seconds (exclusive).
    """

    shot: str
    label: str
    start: float
    end: float


def _gap(rng: np.random.Generator, shot: str, forcing: bool) -> float:
    """Pause before a stroke: median 1 s (30 frames at 30 fps), longer before serves."""
    gap = float(np.clip(np.exp(rng.normal(0.0, 0.45)), 0.35, 4.0))
    if forcing:
        return min(gap, 1.5)
    if rng.random() < 0.06:
        gap += rng.uniform(3.0, 7.0)
    if shot == "serve":
        gap += rng.uniform(1.0, 2.5)
    return gap


def plan_strokes(player: Player, rng: np.random.Generator, *, duration: float,
                 difficulty: float) -> list[StrokeEvent]:  # fmt: skip
    """Labelled strokes of a clip of ``duration`` seconds, every required shot included."""
    shots, weights = list(SHOT_WEIGHTS), np.array(list(SHOT_WEIGHTS.values()))
    pending = list(REQUIRED_SHOTS)
    events: list[StrokeEvent] = []
    t = rng.uniform(1.0, 2.5)
    while True:
        forcing = duration - t < (len(pending) + 1) * _RESERVE_S
        shot = str(rng.choice(pending)) if forcing and pending else str(rng.choice(shots, p=weights))
        if shot in pending:
            pending.remove(shot)
        start = t + _gap(rng, shot, forcing)
        length = stroke_for(shot, player).sample_duration(rng, difficulty)
        if start + length > duration - 1.0:
            break
        events.append(StrokeEvent(shot, LABELS[shot], start, start + length))
        t = start + length
    return events


def simulate_clip(player: Player, events: list[StrokeEvent], rng: np.random.Generator, *,
                  n_frames: int, fps: float, difficulty: float) -> np.ndarray:  # fmt: skip
    """World landmark positions ``[T, 33, 3]`` of ``player`` playing ``events``.

    The motion of each stroke runs a little off its label (annotators' timing is not exact).
    """
    x, z = float(rng.uniform(*COURT_X)) * 0.5, float(rng.uniform(*COURT_Z))
    frames = [(0.0, ready_pose(player, x, z))]
    previous_end = 0.0
    for event in events:
        jitter = np.clip(rng.normal(0.0, 0.04 * difficulty, 2), -0.12, 0.12)
        start, end = event.start + jitter[0], max(event.end + jitter[1], event.start + jitter[0] + 0.2)
        gap, (x, z) = gap_keyframes(player, rng, start=previous_end, end=start, root=(x, z),
                                    difficulty=difficulty)  # fmt: skip
        frames += gap
        base = frames[-1][1].copy()
        base[CH["root_x"]], base[CH["root_z"]] = x, min(z, COURT_Z[1])
        kind = stroke_for(event.shot, player)
        frames += stroke_keyframes(kind, player, base, rng, start=start, duration=end - start,
                                   difficulty=difficulty)  # fmt: skip
        x, z = float(frames[-1][1][CH["root_x"]]), float(frames[-1][1][CH["root_z"]])
        previous_end = end
    frames.append((max(n_frames / fps, previous_end) + 0.5, ready_pose(player, x, z)))
    times = np.arange(n_frames) / fps
    motion = interpolate(frames, times) + sway(n_frames, fps, rng, difficulty)
    points = forward_kinematics(player, motion, plant_feet(player, motion, fps))
    return mirror_world(points) if player.handedness == "left" else points
