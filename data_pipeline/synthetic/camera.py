"""The camera and the pose estimator's imperfections: what MediaPipe would report of a 3D body.

Projects world points to normalised image coordinates (``x`` right, ``y`` down, both 0..1), gives
a MediaPipe-like ``z`` (depth relative to the hip midpoint, in units of the image width, smaller is
closer) and ``visibility`` (lower for landmarks hidden behind the body or outside the frame), and
adds correlated jitter, occasional outliers and frames without any detection.

Seen from behind, real estimators (MediaPipe, MoveNet) often take the player for someone facing
the camera and report the left side as the right: whole stretches of frames come back with every
left/right landmark pair swapped (x unchanged). :func:`observe` does the same on ``behind`` views:
stretches of about :data:`SWAP_SECONDS` s cover a share ``min(SWAP_SHARE * difficulty, 0.45)`` of
the frames, so which wrist moves faster flips between strokes of one player, as on real match
video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import mirror_permutation

VIEWPOINTS: tuple[str, ...] = ("behind", "elevated", "side", "diagonal")
MAX_SPREAD = 2.0  # camera placement variety stops growing beyond this difficulty
_LIMBS = [LANDMARK_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("wrist", "elbow", "ankle")]
_TORSO = [LANDMARK_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("shoulder", "hip")]
#: Share of a back view's frames (per unit of difficulty) reported with left and right swapped.
SWAP_SHARE = 0.3
#: Mean length in seconds of one swapped stretch.
SWAP_SECONDS = 1.5


@dataclass(frozen=True)
class Camera:
    """A video camera filming the court.

    Args:
        viewpoint: one of :data:`VIEWPOINTS`.
        position: camera centre in world coordinates (metres).
        target: the point it looks at.
        fov_deg: horizontal field of view in degrees.
        shake_deg: amplitude of slow hand-held motion in degrees (0 for a tripod).
        aspect: image width / height.
    """

    viewpoint: str
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_deg: float
    shake_deg: float
    aspect: float = 16 / 9


def plan_viewpoints(rng: np.random.Generator, n_clips: int, difficulty: float) -> list[str]:
    """Viewpoint of each clip: behind the baseline except for a share of ``0.15 * difficulty``
    (at most 75 %) spread over elevated, side-on and diagonal views, in random order."""
    n_other = round(min(0.75, 0.2 * difficulty) * n_clips)
    others = [VIEWPOINTS[1 + i % 3] for i in rng.permutation(n_other)]
    return [str(v) for v in rng.permutation(others + ["behind"] * (n_clips - n_other))]


def sample_camera(rng: np.random.Generator, difficulty: float, viewpoint: str) -> Camera:
    """Draw a camera for ``viewpoint``; higher ``difficulty`` places it more variously (distance,
    height, offset, field of view) and makes hand-held shake more common."""
    side = float(rng.choice([-1.0, 1.0]))
    spread = min(difficulty, MAX_SPREAD)
    distance = rng.uniform(7.0 - spread, 7.5 + spread)
    height = rng.uniform(1.3 - 0.3 * spread, 1.4 + 0.3 * spread)
    target = (0.0, 0.95, 0.0)
    if viewpoint == "behind":
        position = (rng.normal(0.0, 0.3 * spread), height, -distance)
    elif viewpoint == "elevated":
        position = (rng.normal(0.0, 0.5), rng.uniform(2.8, 4.5), -distance - 1.0)
        target = (0.0, 0.6, 0.3)
    elif viewpoint == "side":
        position = (side * distance, height, rng.uniform(-0.5, 1.0))
    else:
        angle = np.deg2rad(rng.uniform(30, 55))
        position = (side * distance * np.sin(angle), height, -distance * np.cos(angle))
    handheld = rng.random() < 0.3 * min(difficulty, 2.0)
    return Camera(
        viewpoint=viewpoint,
        position=tuple(float(v) for v in position),
        target=target,
        fov_deg=float(rng.uniform(70 - 10 * spread, 75 + 15 * spread)),
        shake_deg=float(rng.uniform(0.3, 1.2)) if handheld else 0.0,
    )


def _axes(camera: Camera, n: int, rng: np.random.Generator, fps: float) -> tuple[np.ndarray, ...]:
    """Per-frame camera axes (right, up, forward) ``[T, 3]`` including slow shake."""
    forward = np.subtract(camera.target, camera.position)
    forward = np.broadcast_to(forward / np.linalg.norm(forward), (n, 3))
    if camera.shake_deg:
        t = np.arange(n) / fps
        pan = np.stack([np.sin(2 * np.pi * t / rng.uniform(2, 7) + rng.uniform(0, 7)) for _ in range(2)])
        pan = np.deg2rad(camera.shake_deg) * pan
        right0 = np.cross([0.0, 1.0, 0.0], forward)
        right0 /= np.linalg.norm(right0, axis=-1, keepdims=True)
        up0 = np.cross(forward, right0)
        forward = forward + right0 * np.tan(pan[0])[:, None] + up0 * np.tan(pan[1])[:, None]
        forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    return right, np.cross(forward, right), forward


def observe(points: np.ndarray, camera: Camera, fps: float, rng: np.random.Generator,
            difficulty: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """What the pose estimator reports of world ``points [T, 33, 3]``: ``(landmarks [T,33,4], mask [T])``.

    Frames without a detection are all zeros and have ``mask`` False.
    """
    n = points.shape[0]
    right, up, forward = _axes(camera, n, rng, fps)
    rel = points - np.asarray(camera.position)
    depth = np.einsum("tld,td->tl", rel, forward)
    fx = 0.5 / np.tan(np.deg2rad(camera.fov_deg) / 2)
    x = 0.5 + fx * np.einsum("tld,td->tl", rel, right) / depth
    y = 0.5 - fx * camera.aspect * np.einsum("tld,td->tl", rel, up) / depth
    hip_depth = depth[:, [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]].mean(axis=1)
    z = fx * (depth - hip_depth[:, None]) / hip_depth[:, None]

    # Self-occlusion: behind the torso (farther than its centre) and inside its outline.
    torso_depth = depth[:, _TORSO].mean(axis=1, keepdims=True)
    torso_x = x[:, _TORSO].mean(axis=1, keepdims=True)
    half_width = np.ptp(x[:, _TORSO], axis=1, keepdims=True) / 2 + 0.01
    behind = 1 / (1 + np.exp(-(depth - torso_depth - 0.08) / 0.04))
    inside = np.exp(-(((x - torso_x) / half_width) ** 2))
    occlusion = behind * inside
    outside = (x < 0) | (x > 1) | (y < 0) | (y > 1)
    visibility = 0.995 - 0.6 * occlusion - np.abs(rng.normal(0.0, 0.015, x.shape))
    visibility = np.where(outside, visibility * 0.15, visibility)

    body = np.median(np.ptp(y, axis=1))
    sigma = 0.006 * body * difficulty * (1 + 2.5 * occlusion)
    from scipy.signal import lfilter  # 0.8 s to import: not for every command's --help

    noise = lfilter([np.sqrt(1 - 0.6**2)], [1, -0.6], rng.normal(0.0, 1.0, (3, *x.shape)), axis=1)
    x = x + sigma * noise[0]
    y = y + sigma * noise[1]
    z = z + 3 * sigma * noise[2]
    spikes = (rng.random(x.shape) < 0.0015 * difficulty) & np.isin(np.arange(x.shape[1]), _LIMBS)
    spikes = spikes | (np.roll(spikes, 1, axis=0) & (rng.random(x.shape) < 0.5))
    x = x + spikes * rng.normal(0.0, 0.08 * body, x.shape)
    y = y + spikes * rng.normal(0.0, 0.08 * body, x.shape)

    landmarks = np.stack([x, y, z, np.clip(visibility, 0.0, 1.0)], axis=-1).astype(np.float32)
    mask = _detections(n, fps, rng, difficulty) & ~outside[:, _TORSO].any(axis=1)
    landmarks[~mask] = 0.0
    if camera.viewpoint == "behind":
        swapped = left_right_swaps(n, fps, rng, difficulty)
        landmarks[swapped] = landmarks[swapped][:, mirror_permutation()]
    return landmarks, mask


def left_right_swaps(
    n: int, fps: float, rng: np.random.Generator, difficulty: float
) -> np.ndarray:
    """Bool ``[n]``: frames the estimator reports with left and right swapped (see the module
    docstring); a two-state Markov chain, so swaps come in stretches."""
    share = min(SWAP_SHARE * difficulty, 0.45)
    swapped = np.zeros(n, dtype=bool)
    if share <= 0:
        return swapped
    leave = 1.0 / (SWAP_SECONDS * fps)
    enter = share * leave / (1 - share)
    draws = rng.random(n)
    state = bool(rng.random() < share)
    for t in range(n):
        swapped[t] = state
        state = draws[t] >= leave if state else draws[t] < enter
    return swapped


def _detections(n: int, fps: float, rng: np.random.Generator, difficulty: float) -> np.ndarray:
    """True where the estimator finds the person: short dropouts and sometimes one long one."""
    mask = np.ones(n, dtype=bool)
    starts = np.flatnonzero(rng.random(n) < 0.004 * difficulty * 30 / fps)
    lengths = np.minimum(rng.geometric(0.35, starts.size), 10) * max(1, round(fps / 30))
    for start, length in zip(starts, lengths):
        mask[start : start + length] = False
    if n > 4 * fps and rng.random() < 0.25 * difficulty:
        length = int(rng.uniform(0.5, 1.5) * fps)
        start = int(rng.integers(0, n - length))
        mask[start : start + length] = False
    return mask
