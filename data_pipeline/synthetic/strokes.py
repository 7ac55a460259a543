"""Tennis strokes as keyframed joint-angle trajectories: preparation, contact, follow-through.

Each stroke is a table of keyframes ``(phase, overrides)``: ``phase`` runs from 0 (start of the
preparation) to 1 (end of the follow-through), overrides are cumulative (a keyframe keeps every
value of the one before unless it names it again); angles in degrees, distances in metres for a
1.76 m player. ``step`` moves the player towards the net. Tables are for a right-handed player.

A stroke instance adds the player's personal style (fixed per player and stroke) and its own
variation (per instance) to every keyframe, both scaled by the dataset's difficulty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline.synthetic.body import ANGLE_CHANNELS
from data_pipeline.synthetic.body import CH
from data_pipeline.synthetic.body import Player

#: Spread (one standard deviation, degrees, at difficulty 1) of a player's personal offset on the
#: joint angles that players differ in most: rotation of pelvis, trunk and head, where the racket
#: arm swings to (azimuths) and the other arm. Fixed per player and stroke, drawn per keyframe. With
#: 7 degrees on every angle (generator version 2) the search's features made V2 score
#: 0.93 validation macro-F1 and most trials 1.0: a split by clip left nothing to generalise across.
PERSONAL_STYLE_DEGREES = 40.0
PERSONAL_CHANNELS = ("pelvis_yaw", "twist", "head_yaw", "dom_ua_az", "dom_fa_az",
                     "off_ua_az", "off_ua_el", "off_fa_az", "off_fa_el")  # fmt: skip
#: The personal spread of the other angles (racket-arm elevations, lean, side bend, head pitch):
#: small, so that every player's serve still reaches high above the head and a forehand's
#: follow-through stays below it.
STYLE_DEGREES = 7.0
#: Spread of one stroke instance's own variation on every joint angle (degrees, at difficulty 1):
#: no two strokes of a player are alike (6 in generator version 2).
INSTANCE_DEGREES = 12.0
_STYLE_SPREAD = np.deg2rad(
    [PERSONAL_STYLE_DEGREES if name in PERSONAL_CHANNELS else STYLE_DEGREES for name in CH]
)

Overrides = dict[str, float]
_FOREHAND_STANCE: Overrides = {"l_stance_x": -0.15, "l_stance_z": 0.25, "r_stance_x": 0.3, "r_stance_z": -0.1}
_BACKHAND_STANCE: Overrides = {"l_stance_x": -0.3, "l_stance_z": -0.1, "r_stance_x": 0.15, "r_stance_z": 0.25}


def _arms(dom: tuple[float, float, float, float], off: tuple[float, float, float, float] | None = None,
          grip: float | None = None) -> Overrides:  # fmt: skip
    """Overrides of the racket arm (upper-arm az/el, forearm az/el) and optionally the other arm."""
    values = dict(zip(("dom_ua_az", "dom_ua_el", "dom_fa_az", "dom_fa_el"), dom))
    if off is not None:
        values.update(zip(("off_ua_az", "off_ua_el", "off_fa_az", "off_fa_el"), off))
    if grip is not None:
        values["grip"] = grip
    return values


@dataclass(frozen=True)
class StrokeKind:
    """One kind of stroke.

    Args:
        name: internal name (``forehand``, ``backhand_two``, ...).
        label: raw Label Studio label annotators give it (the default label mapping's).
        median_frames: median labelled duration in frames at 30 fps in real annotated practice.
        frame_range: shortest and longest labelled duration in frames at 30 fps.
        keyframes: ``(phase, overrides)`` pairs, phases increasing from 0 to 1.
    """

    name: str
    label: str
    median_frames: float
    frame_range: tuple[float, float]
    keyframes: tuple[tuple[float, Overrides], ...]

    def sample_duration(self, rng: np.random.Generator, difficulty: float) -> float:
        """Labelled duration in seconds: log-normal around the median, clipped to the range."""
        spread = 0.12 if self.label == "saque" else 0.3
        frames = self.median_frames * np.exp(rng.normal(0.0, spread * (0.5 + 0.5 * min(difficulty, 2.0))))
        return float(np.clip(frames, *self.frame_range)) / 30.0


_GROUND = (20.0, (8.0, 59.0))
STROKES: dict[str, StrokeKind] = {
    kind.name: kind
    for kind in (
        StrokeKind("forehand", "Fronthand", *_GROUND, (
            (0.0, {"crouch": 0.12}),
            (0.3, {"pelvis_yaw": -50, "twist": -35, "crouch": 0.16, "head_yaw": 60, **_FOREHAND_STANCE,
                   **_arms((60, -30, 90, 0), (-70, -10, -80, 5), grip=0)}),
            (0.55, {"pelvis_yaw": -10, "twist": 5, "crouch": 0.12, "head_yaw": 15,
                    **_arms((40, -35, 15, -10), (-50, -40, -90, -20))}),
            (0.75, {"pelvis_yaw": 25, "twist": 40, "crouch": 0.1, "head_yaw": -20,
                    **_arms((-35, 15, -130, 25), (-110, -55, -100, -50))}),
            (1.0, {"pelvis_yaw": 15, "twist": 20, **_arms((-25, 5, -100, 20), (-60, -55, -20, -20), 0.3)}),
        )),
        StrokeKind("backhand_two", "Backhand", *_GROUND, (
            (0.0, {"crouch": 0.12}),
            (0.3, {"pelvis_yaw": 55, "twist": 40, "crouch": 0.16, "head_yaw": -60, **_BACKHAND_STANCE,
                   **_arms((-50, -45, -120, -5), grip=1)}),
            (0.55, {"pelvis_yaw": 20, "twist": 5, "head_yaw": -20, **_arms((10, -45, -5, -15))}),
            (0.75, {"pelvis_yaw": -20, "twist": -35, "head_yaw": 15, **_arms((40, 20, 140, 40), grip=0.9)}),
            (1.0, {"pelvis_yaw": -10, "twist": -15, **_arms((30, 0, 100, 20), grip=0.5)}),
        )),
        StrokeKind("backhand_one", "Backhand", *_GROUND, (
            (0.0, {"crouch": 0.12}),
            (0.3, {"pelvis_yaw": 65, "twist": 35, "crouch": 0.16, "head_yaw": -70, **_BACKHAND_STANCE,
                   **_arms((-60, -40, -140, -10), grip=0.8)}),
            (0.55, {"pelvis_yaw": 35, "twist": 5, "head_yaw": -40,
                    **_arms((60, -30, 60, -25), (-150, -25, -160, -20), 0)}),
            (0.75, {"pelvis_yaw": 20, "twist": -5, "head_yaw": -30,
                    **_arms((95, 35, 100, 50), (-160, -15, -170, -10))}),
            (1.0, {"pelvis_yaw": 10, "twist": 0, **_arms((70, 10, 50, 20), (-60, -50, -20, -20), 0.2)}),
        )),
        StrokeKind("serve", "saque", 50.0, (36.0, 59.0), (
            (0.0, {"pelvis_yaw": -70, "lean": 5, "crouch": 0.03, "head_yaw": 70, "l_stance_x": 0.05,
                   "l_stance_z": 0.2, "r_stance_x": 0.25, "r_stance_z": -0.25,
                   **_arms((40, -65, 40, -30), (-80, -45, -80, -20), 0)}),
            (0.2, {"crouch": 0.05, **_arms((80, -75, 110, -55), (-70, -70, -70, -60))}),
            (0.45, {"crouch": 0.22, "lean": -12, "side_bend": -10, "pelvis_yaw": -75, "twist": -15,
                    "head_yaw": 80, "head_pitch": -40, **_arms((105, 5, 120, 70), (-75, 75, -75, 80))}),
            (0.62, {"crouch": 0.08, "hop": 0.05, "lean": -5, "pelvis_yaw": -50, "twist": 10,
                    **_arms((100, 45, 170, -50), (-40, 30, -40, 10))}),
            (0.7, {"crouch": 0.0, "hop": 0.15, "lean": 15, "side_bend": 10, "pelvis_yaw": -30,
                   "twist": 30, "head_pitch": -30, "head_yaw": 20,
                   **_arms((25, 75, 25, 82), (-30, -20, -40, -40))}),
            (0.85, {"hop": 0.04, "crouch": 0.1, "lean": 35, "side_bend": 0, "pelvis_yaw": 5, "twist": 40,
                    "head_pitch": 0, "head_yaw": -20, "step": 0.5,
                    **_arms((-45, -30, -80, -55), (-90, -50, -100, -50))}),
            (1.0, {"hop": 0.0, "crouch": 0.12, "lean": 25, "pelvis_yaw": 10, "twist": 15, "step": 0.7,
                   "l_stance_x": -0.2, "l_stance_z": 0.1, "r_stance_x": 0.2, "r_stance_z": -0.05,
                   **_arms((-25, -55, -30, -40), (-40, -55, -10, -20))}),
        )),
        StrokeKind("slice_forehand", "slice direita", 22.0, _GROUND[1], (
            (0.0, {"crouch": 0.12}),
            (0.3, {"pelvis_yaw": -45, "twist": -30, "crouch": 0.15, "head_yaw": 55, **_FOREHAND_STANCE,
                   **_arms((60, 10, 90, 55), (-70, -10, -80, 5), 0)}),
            (0.6, {"pelvis_yaw": -20, "twist": -5, "crouch": 0.16, "head_yaw": 25,
                   **_arms((45, -30, 30, -15), (-60, -35, -90, -20))}),
            (0.8, {"pelvis_yaw": -5, "twist": 5, **_arms((15, -15, -10, -15), (-90, -30, -100, -30))}),
            (1.0, {"pelvis_yaw": 0, "twist": 5, **_arms((15, -35, -15, -10), grip=0.4)}),
        )),
        StrokeKind("slice_backhand", "slice esquerda", 22.0, _GROUND[1], (
            (0.0, {"crouch": 0.12}),
            (0.3, {"pelvis_yaw": 60, "twist": 35, "crouch": 0.15, "head_yaw": -65, **_BACKHAND_STANCE,
                   **_arms((-45, 5, -150, 60), grip=0.8)}),
            (0.6, {"pelvis_yaw": 35, "twist": 5, "head_yaw": -40,
                   **_arms((55, -30, 55, -20), (-140, -30, -150, -25), 0)}),
            (0.8, {"pelvis_yaw": 25, "twist": 0, **_arms((80, -5, 80, 0), (-160, -20, -170, -15))}),
            (1.0, {"pelvis_yaw": 15, "twist": 0, **_arms((50, -30, 20, -10), (-60, -50, -20, -20), 0.2)}),
        )),
    )
}  # fmt: skip
#: Internal stroke names by the class of shot a player hits; ``backhand`` depends on the player.
LABELS: dict[str, str] = {"forehand": "Fronthand", "backhand": "Backhand", "serve": "saque",
                          "slice_forehand": "slice direita", "slice_backhand": "slice esquerda"}  # fmt: skip


def stroke_for(shot: str, player: Player) -> StrokeKind:
    """The stroke a player uses for ``shot`` (one of :data:`LABELS`)."""
    if shot == "backhand":
        return STROKES["backhand_two" if player.two_handed_backhand else "backhand_one"]
    return STROKES[shot]


def _as_vector(base: np.ndarray, overrides: Overrides, scale: float) -> np.ndarray:
    pose = base.copy()
    for name, value in overrides.items():
        if name == "step":
            continue
        pose[CH[name]] = np.deg2rad(value) if name in ANGLE_CHANNELS else value * scale
    return pose


def _style(player: Player, kind: StrokeKind) -> np.ndarray:
    """The player's fixed personal offsets ``[n_keyframes, n_channels]`` for one stroke kind."""
    rng = np.random.default_rng([player.style_seed, sorted(STROKES).index(kind.name)])
    return rng.normal(0.0, 1.0, (len(kind.keyframes), len(CH)))


def stroke_keyframes(kind: StrokeKind, player: Player, base: np.ndarray, rng: np.random.Generator,
                     *, start: float, duration: float, difficulty: float,
                     ) -> list[tuple[float, np.ndarray]]:  # fmt: skip
    """Keyframes ``(time in s, pose)`` of one stroke instance starting from pose ``base``.

    Args:
        kind: the stroke.
        player: who plays it (proportions and personal style).
        base: pose vector at the start (its root position is kept, plus the stroke's ``step``).
        rng: random source of this instance's variation.
        start: start of the preparation, seconds.
        duration: preparation to end of follow-through, seconds.
        difficulty: scales style and instance variation (0 = every instance identical).
    """
    scale = player.height / 1.76
    angle_mask = np.array([name in ANGLE_CHANNELS for name in CH], dtype=float)
    style = _style(player, kind) * _STYLE_SPREAD * difficulty * angle_mask
    n = len(kind.keyframes)
    noise = rng.normal(0.0, np.deg2rad(INSTANCE_DEGREES) * difficulty, (n, len(CH))) * angle_mask
    phases = np.array([phase for phase, _ in kind.keyframes])
    phases[1:-1] += rng.normal(0.0, 0.03 * min(difficulty, 2.0), n - 2)
    phases = np.maximum.accumulate(np.clip(phases, 0.0, 1.0))
    phases[1:] = np.maximum(phases[1:], phases[:-1] + 0.05)
    phases /= phases[-1]
    frames = []
    cumulative: Overrides = {}
    for i, (_, overrides) in enumerate(kind.keyframes):
        cumulative.update(overrides)
        pose = _as_vector(base, cumulative, scale)
        if i > 0:
            pose += style[i] + noise[i]
        pose[CH["root_z"]] = base[CH["root_z"]] + cumulative.get("step", 0.0) * scale
        frames.append((start + float(phases[i]) * duration, pose))
    return frames
