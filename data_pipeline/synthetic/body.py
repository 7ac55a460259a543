"""A 3D kinematic tennis player: proportions, pose channels and forward kinematics to 33 landmarks.

World frame (metres): ``X`` along the baseline to the player's right, ``Y`` up, ``Z`` towards the net.
A motion is a float array ``[T, len(CHANNELS)]`` of a *right-handed* player; left-handed players are
produced by mirroring the finished landmarks (:func:`mirror_world`), so every stroke is written once.

Arm channels are segment angles in the torso frame: azimuth 0 = the torso's forward direction,
+90 deg = its right, -90 deg = its left; elevation -90 deg = hanging down, +90 deg = straight up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import N_LANDMARKS
from data_pipeline.landmarks import mirror_permutation

#: Pose channels of a motion. Angles in radians, distances in metres; ``*_stance_*`` are the
#: targets of the feet relative to the pelvis on the ground (the feet step to them).
CHANNELS: tuple[str, ...] = (
    "root_x", "root_z", "crouch", "hop", "pelvis_yaw", "twist", "lean", "side_bend",
    "head_yaw", "head_pitch",
    "dom_ua_az", "dom_ua_el", "dom_fa_az", "dom_fa_el",
    "off_ua_az", "off_ua_el", "off_fa_az", "off_fa_el", "grip",
    "l_stance_x", "l_stance_z", "r_stance_x", "r_stance_z",
)  # fmt: skip
CH: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}
#: Channels given in degrees in stroke and movement tables.
ANGLE_CHANNELS: frozenset[str] = frozenset(
    name for name in CHANNELS if name.endswith(("_az", "_el", "yaw", "twist", "lean", "bend", "pitch"))
)
_UP = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class Player:
    """One synthetic player.

    Args:
        name: player id written to ``groups.toml`` (e.g. ``p03``).
        height: body height in metres.
        handedness: ``right`` or ``left``.
        two_handed_backhand: plays the backhand with both hands on the racket.
        arm_ratio: arm length relative to the average proportion.
        leg_ratio: leg length relative to the average proportion.
        width_ratio: shoulder and hip width relative to the average proportion.
        style_seed: seed of the player's personal stroke style (see ``strokes``).
    """

    name: str
    height: float
    handedness: str
    two_handed_backhand: bool
    arm_ratio: float
    leg_ratio: float
    width_ratio: float
    style_seed: int

    def segment(self, name: str) -> float:
        """Length in metres of a body segment (anthropometric ratios of height)."""
        ratio = _SEGMENTS[name]
        if name in ("upper_arm", "forearm", "hand"):
            ratio *= self.arm_ratio
        elif name in ("thigh", "shin"):
            ratio *= self.leg_ratio
        elif name in ("shoulder_width", "hip_width"):
            ratio *= self.width_ratio
        return ratio * self.height


_SEGMENTS = {
    "upper_arm": 0.186, "forearm": 0.146, "hand": 0.06, "thigh": 0.245, "shin": 0.246,
    "ankle": 0.039, "torso": 0.288, "shoulder_width": 0.22, "hip_width": 0.13, "head": 0.11,
}  # fmt: skip


def sample_players(rng: np.random.Generator, n_players: int) -> list[Player]:
    """Draw ``n_players`` players; every fourth one (``p01``, ``p05``, ...) is left-handed."""
    players = []
    for i in range(n_players):
        left = i % 4 == 1
        players.append(
            Player(
                name=f"p{i:02d}",
                height=float(np.clip(rng.normal(1.76, 0.08), 1.55, 1.98)),
                handedness="left" if left else "right",
                two_handed_backhand=bool(i == 0 or rng.random() < 0.6),
                arm_ratio=float(rng.normal(1.0, 0.04)),
                leg_ratio=float(rng.normal(1.0, 0.03)),
                width_ratio=float(rng.normal(1.0, 0.06)),
                style_seed=int(rng.integers(2**31)),
            )
        )
    return players


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _yaw_axes(yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and right unit vectors ``[T, 3]`` of a body turned by ``yaw`` (positive = left)."""
    zero = np.zeros_like(yaw)
    forward = np.stack([-np.sin(yaw), zero, np.cos(yaw)], axis=-1)
    right = np.stack([np.cos(yaw), zero, np.sin(yaw)], axis=-1)
    return forward, right


def _direction(frame: tuple[np.ndarray, ...], az: np.ndarray, el: np.ndarray) -> np.ndarray:
    """Unit vector with azimuth/elevation ``az, el`` in the (forward, right, up) ``frame``."""
    forward, right, up = frame
    cos_el = np.cos(el)[:, None]
    return (
        forward * cos_el * np.cos(az)[:, None]
        + right * cos_el * np.sin(az)[:, None]
        + up * np.sin(el)[:, None]
    )


def two_bone(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, bend: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone inverse kinematics (hip-knee-ankle, shoulder-elbow-wrist), vectorised over ``T``.

    Returns the middle joint and the end point (``target`` moved within reach), bent towards ``bend``.
    """
    offset = target - root
    distance = np.linalg.norm(offset, axis=-1, keepdims=True)
    axis = offset / np.maximum(distance, 1e-9)
    reach = np.clip(distance, abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3)
    along = (l1**2 - l2**2 + reach**2) / (2 * reach)
    across = np.sqrt(np.maximum(l1**2 - along**2, 0.0))
    side = _unit(bend - np.sum(bend * axis, axis=-1, keepdims=True) * axis)
    return root + along * axis + across * side, root + reach * axis


def forward_kinematics(player: Player, motion: np.ndarray, ankles: np.ndarray) -> np.ndarray:
    """World positions ``[T, 33, 3]`` of a right-handed ``player`` following ``motion``.

    Args:
        player: the player (proportions only; handedness is applied by :func:`mirror_world`).
        motion: ``[T, len(CHANNELS)]`` pose channels.
        ankles: ``[T, 2, 3]`` world positions of the left and right ankle (see ``movement``).
    """
    m = {name: motion[:, i] for name, i in CH.items()}
    n = motion.shape[0]
    seg = player.segment
    out = np.zeros((n, N_LANDMARKS, 3))
    idx = LANDMARK_INDEX

    pelvis_fwd, pelvis_right = _yaw_axes(m["pelvis_yaw"])
    leg = seg("thigh") + seg("shin")
    hip_y = seg("ankle") + 0.97 * leg - m["crouch"] + m["hop"]
    hip_centre = np.stack([m["root_x"], hip_y, m["root_z"]], axis=-1)
    half_hip = pelvis_right * seg("hip_width") / 2
    hips = (hip_centre - half_hip, hip_centre + half_hip)

    torso_fwd0, torso_right0 = _yaw_axes(m["pelvis_yaw"] + m["twist"])
    lean, bend = m["lean"][:, None], m["side_bend"][:, None]
    torso_up = _unit(_UP * np.cos(lean) * np.cos(bend) + torso_fwd0 * np.sin(lean)
                     - torso_right0 * np.sin(bend))  # fmt: skip
    torso_right = _unit(torso_right0 - np.sum(torso_right0 * torso_up, -1, keepdims=True) * torso_up)
    torso_fwd = np.cross(torso_right, torso_up)
    torso = (torso_fwd, torso_right, torso_up)
    neck = hip_centre + torso_up * seg("torso")
    half_shoulder = torso_right * seg("shoulder_width") / 2
    shoulders = (neck - half_shoulder, neck + half_shoulder)

    # Racket arm (right) by segment angles; the other arm by angles, pulled onto the grip.
    r_elbow = shoulders[1] + seg("upper_arm") * _direction(torso, m["dom_ua_az"], m["dom_ua_el"])
    r_wrist = r_elbow + seg("forearm") * _direction(torso, m["dom_fa_az"], m["dom_fa_el"])
    l_elbow = shoulders[0] + seg("upper_arm") * _direction(torso, m["off_ua_az"], m["off_ua_el"])
    l_free = l_elbow + seg("forearm") * _direction(torso, m["off_fa_az"], m["off_fa_el"])
    grip = np.clip(m["grip"], 0.0, 1.0)[:, None]
    grip_target = r_wrist - torso_right * 0.02 * player.height
    l_target = (1 - grip) * l_free + grip * grip_target
    bend_out = _unit(-torso_right - torso_up * 0.5)
    l_elbow, l_wrist = two_bone(shoulders[0], l_target, seg("upper_arm"), seg("forearm"), bend_out)

    for side, elbow, wrist in (("left", l_elbow, l_wrist), ("right", r_elbow, r_wrist)):
        out[:, idx[f"{side}_shoulder"]] = shoulders[side == "right"]
        out[:, idx[f"{side}_elbow"]] = elbow
        out[:, idx[f"{side}_wrist"]] = wrist
        _hand(out, side, elbow, wrist, torso_up, seg("hand"))
    for i, side in enumerate(("left", "right")):
        knee, ankle = two_bone(hips[i], ankles[:, i], seg("thigh"), seg("shin"), pelvis_fwd)
        out[:, idx[f"{side}_hip"]] = hips[i]
        out[:, idx[f"{side}_knee"]] = knee
        out[:, idx[f"{side}_ankle"]] = ankle
        foot_fwd = _unit(pelvis_fwd + pelvis_right * (0.25 if side == "right" else -0.25))
        out[:, idx[f"{side}_heel"]] = ankle - foot_fwd * 0.03 * player.height - _UP * 0.02
        out[:, idx[f"{side}_foot_index"]] = ankle + foot_fwd * 0.09 * player.height - _UP * 0.035
    _head(out, neck, torso, m["head_yaw"], m["head_pitch"], seg("head"))
    return out


def _hand(out: np.ndarray, side: str, elbow: np.ndarray, wrist: np.ndarray,
          up: np.ndarray, length: float) -> None:  # fmt: skip
    """Pinky, index and thumb points continuing the forearm."""
    direction = _unit(wrist - elbow)
    lateral = _unit(np.cross(direction, up) + 1e-3)
    tip = wrist + direction * length
    out[:, LANDMARK_INDEX[f"{side}_index"]] = tip + lateral * 0.2 * length
    out[:, LANDMARK_INDEX[f"{side}_pinky"]] = tip - lateral * 0.2 * length
    out[:, LANDMARK_INDEX[f"{side}_thumb"]] = wrist + direction * 0.5 * length + lateral * 0.35 * length


def _head(out: np.ndarray, neck: np.ndarray, torso: tuple[np.ndarray, ...], yaw: np.ndarray,
          pitch: np.ndarray, size: float) -> None:  # fmt: skip
    """Nose, eyes, ears and mouth of a head turned by ``yaw`` and nodded by ``pitch``."""
    forward, right, up = torso
    cos_y, sin_y = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    head_fwd = forward * cos_y - right * sin_y
    head_right = right * cos_y + forward * sin_y
    head_fwd = _unit(head_fwd * np.cos(pitch)[:, None] - up * np.sin(pitch)[:, None])
    centre = neck + up * size
    points = {  # (forward, right, up) offsets in units of ``size``
        "nose": (0.9, 0.0, 0.0), "mouth_left": (0.8, -0.25, -0.35),
        "mouth_right": (0.8, 0.25, -0.35), "left_ear": (0.0, -0.7, 0.1),
        "right_ear": (0.0, 0.7, 0.1),
    }  # fmt: skip
    for side, sign in (("left", -1.0), ("right", 1.0)):
        for name, across in (("eye_inner", 0.15), ("eye", 0.3), ("eye_outer", 0.45)):
            points[f"{side}_{name}"] = (0.8, sign * across, 0.3)
    for name, (f, r, u) in points.items():
        out[:, LANDMARK_INDEX[name]] = centre + size * (f * head_fwd + r * head_right + u * up)


def mirror_world(points: np.ndarray) -> np.ndarray:
    """Mirror ``[T, 33, 3]`` world points across the ``X = 0`` plane and swap left/right names.

    Turns a right-handed player into the equivalent left-handed one.
    """
    mirrored = points[:, list(mirror_permutation())].copy()
    mirrored[..., 0] *= -1
    return mirrored
