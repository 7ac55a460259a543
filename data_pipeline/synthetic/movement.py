"""Between strokes: ready position, split step, side shuffles, walking, idle sway; and feet.

Gaps produce keyframes like strokes do; :func:`interpolate` turns all keyframes of a clip into a
smooth motion, :func:`sway` adds the small idle movement of a standing person, and
:func:`plant_feet` makes the feet step to where the body wants them, one foot at a time.
"""

from __future__ import annotations

import math

import numpy as np

from data_pipeline.synthetic.body import ANGLE_CHANNELS
from data_pipeline.synthetic.body import CH
from data_pipeline.synthetic.body import CHANNELS
from data_pipeline.synthetic.body import Player

Keyframes = list[tuple[float, np.ndarray]]
#: Court area the player stays in (root x, root z), metres; the camera frames it.
COURT_X = (-2.0, 2.0)
COURT_Z = (-0.8, 0.8)

_READY = {
    "crouch": 0.10, "lean": 15, "head_pitch": 5,
    "dom_ua_az": 20, "dom_ua_el": -55, "dom_fa_az": -15, "dom_fa_el": -5,
    "off_ua_az": -20, "off_ua_el": -55, "off_fa_az": 10, "off_fa_el": 0, "grip": 1.0,
    "l_stance_x": -0.25, "r_stance_x": 0.25,
}  # fmt: skip
_RELAXED = {"grip": 0.0, "crouch": 0.03, "lean": 5, "head_pitch": 0,
            "dom_ua_az": 15, "dom_ua_el": -80, "dom_fa_az": 30, "dom_fa_el": -55,
            "off_ua_az": -10, "off_ua_el": -85, "off_fa_az": 0, "off_fa_el": -75,
            "l_stance_x": -0.15, "r_stance_x": 0.15}  # fmt: skip


def pose(player: Player, overrides: dict[str, float], base: np.ndarray | None = None) -> np.ndarray:
    """Pose vector from ``overrides`` (degrees, metres for a 1.76 m player) on top of ``base``."""
    vector = np.zeros(len(CHANNELS)) if base is None else base.copy()
    for name, value in overrides.items():
        vector[CH[name]] = np.deg2rad(value) if name in ANGLE_CHANNELS else value * player.height / 1.76
    return vector


def ready_pose(player: Player, root_x: float, root_z: float) -> np.ndarray:
    """Ready position (knees bent, racket in front held with both hands) at ``(root_x, root_z)``."""
    vector = pose(player, _READY)
    vector[CH["root_x"]], vector[CH["root_z"]] = root_x, root_z
    return vector


def _at(vector: np.ndarray, x: float, z: float, **channels: float) -> np.ndarray:
    out = vector.copy()
    out[CH["root_x"]], out[CH["root_z"]] = x, z
    for name, value in channels.items():
        out[CH[name]] = value
    return out


def gap_keyframes(player: Player, rng: np.random.Generator, *, start: float, end: float,
                  root: tuple[float, float], difficulty: float,
                  ) -> tuple[Keyframes, tuple[float, float]]:  # fmt: skip
    """Keyframes of the pause between two strokes, from ``start`` to ``end`` seconds.

    Recovers to the ready position, then stands, shuffles sideways or (in long pauses) walks to a
    new spot, and makes a split step just before the next stroke. Returns the keyframes and where
    the player ends up.
    """
    length = end - start
    x, z = root
    ready = ready_pose(player, x, z)
    frames: Keyframes = [(start + min(0.35, 0.35 * length), ready)]
    t = frames[-1][0]
    budget = end - t - (0.45 if length > 0.9 else 0.05)
    choice = rng.random()
    if budget > 2.5 and choice < 0.45:
        x, z = _walk(player, rng, frames, t, budget, x, z)
    elif budget > 0.5 and choice < 0.8:
        target = float(np.clip(x + rng.uniform(0.4, 1.4) * rng.choice([-1.0, 1.0]), *COURT_X))
        move = min(budget * 0.8, 0.25 + abs(target - x) / 2.5)
        t0 = t + rng.uniform(0.0, budget - move)
        frames.append((t0, _at(ready, x, z)))
        frames.append((t0 + move, _at(ready, target, z)))
        x = target
    ready = _at(ready_pose(player, x, z), x, z)
    if length > 0.9:
        amount = rng.uniform(0.04, 0.08) * (player.height / 1.76)
        frames.append((end - 0.4, _at(ready, x, z)))
        frames.append((end - 0.25, _at(ready, x, z, hop=amount, crouch=0.05)))
        frames.append((end - 0.1, _at(ready, x, z, crouch=0.17 * player.height / 1.76)))
    return frames, (x, z)


def _walk(player: Player, rng: np.random.Generator, frames: Keyframes, t: float, budget: float,
          x: float, z: float) -> tuple[float, float]:  # fmt: skip
    """Append a walk to a new spot (turn, walk, turn back) to ``frames``; return the new spot."""
    tx = float(rng.uniform(*COURT_X))
    tz = float(rng.uniform(*COURT_Z))
    distance = math.hypot(tx - x, tz - z)
    heading = math.atan2(-(tx - x), tz - z)
    walk_time = min(budget - 1.0, distance / rng.uniform(0.9, 1.4))
    if walk_time < 0.5:
        return x, z
    relaxed = pose(player, _RELAXED)
    turn = 0.4
    frames.append((t + turn, _at(relaxed, x, z, pelvis_yaw=heading)))
    frames.append((t + turn + walk_time, _at(relaxed, tx, tz, pelvis_yaw=heading)))
    frames.append((t + 2 * turn + walk_time, _at(relaxed, tx, tz, head_yaw=0.0)))
    frames.append((min(t + budget, t + 3 * turn + walk_time), ready_pose(player, tx, tz)))
    return tx, tz


def interpolate(frames: Keyframes, times: np.ndarray) -> np.ndarray:
    """Smooth (Catmull-Rom) motion ``[len(times), C]`` through the keyframes ``(time, pose)``."""
    key_t = np.array([t for t, _ in frames])
    order = np.argsort(key_t, kind="stable")
    key_t = key_t[order]
    values = np.stack([frames[i][1] for i in order])
    # Keyframes closer than 20 ms would give huge tangents: push later ones apart.
    steps = 0.02 * np.arange(len(key_t))
    key_t = np.maximum.accumulate(key_t - steps) + steps
    tangents = np.zeros_like(values)
    tangents[1:-1] = (values[2:] - values[:-2]) / (key_t[2:] - key_t[:-2])[:, None] * 0.8
    k = np.clip(np.searchsorted(key_t, times, side="right") - 1, 0, len(key_t) - 2)
    span = key_t[k + 1] - key_t[k]
    u = np.clip((times - key_t[k]) / span, 0.0, 1.0)[:, None]
    u2, u3 = u * u, u * u * u
    return (
        (2 * u3 - 3 * u2 + 1) * values[k]
        + (u3 - 2 * u2 + u) * span[:, None] * tangents[k]
        + (-2 * u3 + 3 * u2) * values[k + 1]
        + (u3 - u2) * span[:, None] * tangents[k + 1]
    )


def sway(n_frames: int, fps: float, rng: np.random.Generator, difficulty: float) -> np.ndarray:
    """Small, slow idle movement ``[T, C]`` (weight shifts, trunk and head sway) to add to a motion."""
    out = np.zeros((n_frames, len(CHANNELS)))
    t = np.arange(n_frames) / fps
    amplitude = {"root_x": 0.03, "side_bend": 0.03, "twist": 0.05, "head_yaw": 0.12, "lean": 0.03}
    for name, size in amplitude.items():
        for _ in range(2):
            period = rng.uniform(1.5, 6.0)
            out[:, CH[name]] += size * (0.5 + 0.5 * difficulty) * np.sin(
                2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return out


def plant_feet(player: Player, motion: np.ndarray, fps: float) -> np.ndarray:
    """Ankle positions ``[T, 2, 3]``: each foot stays planted until the body needs it elsewhere.

    A foot steps (lifted, over about 0.15 s) when it is more than a short stride from its stance
    target; one foot moves at a time. Hops lift both feet.
    """
    n = motion.shape[0]
    targets = np.stack([
        motion[:, CH["root_x"]] + motion[:, CH["l_stance_x"]],
        motion[:, CH["root_z"]] + motion[:, CH["l_stance_z"]],
        motion[:, CH["root_x"]] + motion[:, CH["r_stance_x"]],
        motion[:, CH["root_z"]] + motion[:, CH["r_stance_z"]],
    ], axis=1).tolist()  # fmt: skip
    threshold = 0.12 * player.height / 1.76
    step_frames = max(2, round(0.15 * fps))
    feet = [targets[0][0:2], targets[0][2:4]]
    xz = np.zeros((n, 2, 2))
    lift = np.zeros((n, 2))
    moving, progress, origin, goal = -1, 0, (0.0, 0.0), (0.0, 0.0)
    for i in range(n):
        target = targets[i]
        if moving < 0:
            dl = math.hypot(target[0] - feet[0][0], target[1] - feet[0][1])
            dr = math.hypot(target[2] - feet[1][0], target[3] - feet[1][1])
            if max(dl, dr) > threshold:
                moving = 0 if dl >= dr else 1
                progress, origin = 0, tuple(feet[moving])
                goal = (target[2 * moving], target[2 * moving + 1])
        if moving >= 0:
            progress += 1
            s = progress / step_frames
            w = s * s * (3 - 2 * s)
            feet[moving] = [origin[0] + w * (goal[0] - origin[0]), origin[1] + w * (goal[1] - origin[1])]
            lift[i, moving] = 0.06 * math.sin(math.pi * s)
            if progress >= step_frames:
                moving = -1
        xz[i, 0], xz[i, 1] = feet
    ankle_y = player.segment("ankle") + lift + np.maximum(motion[:, CH["hop"]], 0.0)[:, None]
    return np.stack([xz[..., 0], ankle_y, xz[..., 1]], axis=-1)
