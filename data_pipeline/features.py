"""Per-frame features from a pose clip: the same code for training and for detection on new videos.

Pipeline of :func:`clip_features` (every step keeps invalid frames at 0):

1. resample the clip to ``reference_fps`` (``resample.resample_clip``);
2. fill detection gaps of at most ``max_gap_frames`` reference frames (``resample.interpolate_gaps``);
3. with ``canonical_handedness``, mirror a left-handed clip into right-handed form
   (``handedness.mirror_landmarks``);
4. compute the representation on all 33 landmarks, then keep ``landmark_subset``:

   - ``raw``: normalised image coordinates ``x, y, z``;
   - ``body_centred``: coordinates minus the hip midpoint (frames without both hips: invalid);
   - ``body_scaled``: body-centred, divided by the torso length (shoulder midpoint to hip midpoint,
     3-D). Frames without both shoulders or with a torso shorter than ``1e-4`` have no usable
     scale and become invalid;
   - ``view_robust``: joint angles (elbows, shoulders, hips, knees; angle / pi in [0, 1]) and unit
     direction vectors of ten limbs. Invariant to translation and uniform scale. It uses its
     fixed joints, so ``landmark_subset`` only selects the visibility channels kept;

5. with ``velocities``, append frame-to-frame differences of the non-visibility columns
   (``<name>_vel``; 0 at the first frame and where either frame lacks the value);
6. visibility is kept (landmark-major ``[x, y, z, visibility]`` per landmark, the V2 recipe's
   60 columns by default) or dropped.

Missing landmarks (``handedness.landmark_present``: imported keypoint sets without heels, say)
give 0 in every column they feed: their coordinates, angles and directions that need them
(also a zero-length limb), and the velocities of those.

Nothing here is learned from data; the one learned transform is ``scaler.FeatureScaler``.
"""

from __future__ import annotations

import numpy as np

from data_pipeline.config import FeatureConfig
from data_pipeline.errors import ConfigError
from data_pipeline.handedness import HANDEDNESS
from data_pipeline.handedness import landmark_present
from data_pipeline.handedness import mirror_landmarks
from data_pipeline.landmarks import CHANNELS
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import MEDIAPIPE_LANDMARKS
from data_pipeline.pose_cache import PoseClip
from data_pipeline.resample import interpolate_gaps
from data_pipeline.resample import resample_clip

_MIN_LENGTH = 1e-4

#: Joint angles of ``view_robust``: name -> (end point, vertex, end point).
JOINT_ANGLES: dict[str, tuple[str, str, str]] = {
    f"{side}_{joint}": (f"{side}_{a}", f"{side}_{vertex}", f"{side}_{b}")
    for side in ("left", "right")
    for joint, (a, vertex, b) in (
        ("elbow", ("shoulder", "elbow", "wrist")),
        ("shoulder", ("elbow", "shoulder", "hip")),
        ("hip", ("shoulder", "hip", "knee")),
        ("knee", ("hip", "knee", "ankle")),
    )
}

#: Limb directions of ``view_robust``: name -> (from landmark, to landmark).
LIMBS: dict[str, tuple[str, str]] = {
    **{
        f"{side}_{limb}": (f"{side}_{a}", f"{side}_{b}")
        for side in ("left", "right")
        for limb, (a, b) in (
            ("upper_arm", ("shoulder", "elbow")),
            ("forearm", ("elbow", "wrist")),
            ("thigh", ("hip", "knee")),
            ("shin", ("knee", "ankle")),
        )
    },
    "shoulder_line": ("left_shoulder", "right_shoulder"),
    "hip_line": ("left_hip", "right_hip"),
}


def feature_names_for(features: FeatureConfig) -> tuple[str, ...]:
    """Column names :func:`clip_features` produces for ``features``, in order."""
    subset = [MEDIAPIPE_LANDMARKS[i] for i in features.landmark_subset]
    if features.representation == "view_robust":
        motion = [f"angle_{name}" for name in JOINT_ANGLES] + [
            f"direction_{name}_{axis}" for name in LIMBS for axis in CHANNELS[:3]
        ]
        visibility = [f"{name}_visibility" for name in subset] if features.keep_visibility else []
        names = motion + visibility
    else:
        channels = CHANNELS if features.keep_visibility else CHANNELS[:3]
        names = [f"{name}_{channel}" for name in subset for channel in channels]
        motion = [name for name in names if not name.endswith("_visibility")]
    if features.velocities:
        names += [f"{name}_vel" for name in motion]
    return tuple(names)


def clip_features(
    clip: PoseClip, features: FeatureConfig, reference_fps: float, *, handedness: str = "right"
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Turn a pose clip into per-frame features at ``reference_fps`` (see the module docstring).

    Args:
        clip: pose clip at its video's fps.
        features: feature settings.
        reference_fps: frame rate of the output.
        handedness: the clip's player handedness, ``left``, ``right`` or ``unknown``; only a
            ``left`` clip is mirrored, and only when ``features.canonical_handedness``.
            Defaults to ``right``.

    Returns:
        ``(frames float32 [T', F], mask bool [T'], feature_names)``; invalid frames hold 0.

    Raises:
        ConfigError: an unknown ``handedness`` or a non-positive ``reference_fps``.
    """
    if handedness not in HANDEDNESS:
        raise ConfigError(f"handedness must be one of {HANDEDNESS}, but got {handedness=}.")
    landmarks, mask = resample_clip(clip.landmarks, clip.mask, clip.fps, reference_fps)
    landmarks, mask = interpolate_gaps(landmarks, mask, features.max_gap_frames)
    if features.canonical_handedness and handedness == "left":
        landmarks = mirror_landmarks(landmarks)
    return (*pose_features(landmarks, mask, features), feature_names_for(features))


def pose_features(
    landmarks: np.ndarray, mask: np.ndarray, features: FeatureConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Representation, subset, velocities and visibility of reference-rate landmarks ``[T, 33, 4]``.

    Returns:
        ``(frames float32 [T, F], mask bool [T])`` with columns as :func:`feature_names_for`.
    """
    landmarks = landmarks.astype(np.float64)
    present = landmark_present(landmarks)
    coords = np.where(present[..., None], landmarks[..., :3], 0.0)
    visibility = np.where(present, landmarks[..., 3], 0.0)[:, list(features.landmark_subset)]
    if features.representation == "view_robust":
        motion, known = _view_robust(coords, present)
        frames = (
            np.concatenate([motion, visibility], axis=1) if features.keep_visibility else motion
        )
    else:
        motion, known, mask = _landmark_coordinates(coords, present, mask, features)
        frames = motion
        if features.keep_visibility:
            per_landmark = motion.reshape(len(motion), -1, 3)
            frames = np.concatenate([per_landmark, visibility[..., None]], axis=2)
            frames = frames.reshape(len(motion), -1)
    if features.velocities:
        frames = np.concatenate([frames, _velocities(motion, known & mask[:, None])], axis=1)
    frames[~mask] = 0
    return frames.astype(np.float32), mask


def sequence_features(
    values: np.ndarray, mask: np.ndarray, src_fps: float | None, reference_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Generic (non-pose) ``[T, F]`` sequences: resampled to ``reference_fps``, nothing else.

    A sequence whose rate is unknown (``src_fps=None``, e.g. samples delivered already cut to a
    fixed length) is used as-is: its frames count as reference frames.

    Returns:
        ``(values float32 [T', F], mask bool [T'])``; invalid frames hold 0.
    """
    values = np.asarray(values, dtype=np.float32)
    if src_fps is None:
        return resample_clip(values, mask, reference_fps, reference_fps)
    return resample_clip(values, mask, src_fps, reference_fps)


def _point(coords: np.ndarray, name: str) -> np.ndarray:
    return coords[:, LANDMARK_INDEX[name]]


def _pair(present: np.ndarray, side_name: str) -> np.ndarray:
    """True where both the left and the right ``side_name`` landmark are present."""
    return present[
        :, [LANDMARK_INDEX[f"left_{side_name}"], LANDMARK_INDEX[f"right_{side_name}"]]
    ].all(1)


def _midpoint(coords: np.ndarray, side_name: str) -> np.ndarray:
    return (_point(coords, f"left_{side_name}") + _point(coords, f"right_{side_name}")) / 2


def _landmark_coordinates(
    coords: np.ndarray, present: np.ndarray, mask: np.ndarray, features: FeatureConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``raw`` / ``body_centred`` / ``body_scaled`` x, y, z of the subset, landmark-major.

    Returns:
        ``(values [T, 3n], known [T, 3n], mask [T])``: missing landmarks hold 0 and are not
        known; frames without the hips (or, when scaled, the shoulders or a torso) become invalid.
    """
    if features.representation != "raw":
        hips = _midpoint(coords, "hip")
        coords = coords - hips[:, None, :]
        mask = mask & _pair(present, "hip")
    if features.representation == "body_scaled":
        torso = np.linalg.norm(_midpoint(coords, "shoulder"), axis=-1)
        usable = _pair(present, "shoulder") & (torso >= _MIN_LENGTH)
        coords = coords / np.where(usable, torso, 1.0)[:, None, None]
        mask = mask & usable
    subset = list(features.landmark_subset)
    known = np.repeat(present[:, subset], 3, axis=1)
    values = np.where(known, coords[:, subset].reshape(len(coords), -1), 0.0)
    return values, known, mask


def _direction(
    coords: np.ndarray, present: np.ndarray, start: str, end: str
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors ``[T, 3]`` from ``start`` to ``end``, and where they are known ``[T]``.

    Unknown (0) where either landmark is missing or the two coincide.
    """
    i, j = LANDMARK_INDEX[start], LANDMARK_INDEX[end]
    vector = coords[:, j] - coords[:, i]
    length = np.linalg.norm(vector, axis=-1)
    known = present[:, i] & present[:, j] & (length >= _MIN_LENGTH)
    unit = vector / np.maximum(length, _MIN_LENGTH)[:, None]
    return np.where(known[:, None], unit, 0.0), known


def _view_robust(coords: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint angles / pi, then limb directions: ``(values [T, F], known [T, F])``."""
    angles, angle_known = [], []
    for a, vertex, b in JOINT_ANGLES.values():
        u, u_known = _direction(coords, present, vertex, a)
        v, v_known = _direction(coords, present, vertex, b)
        known = u_known & v_known
        cosine = np.clip((u * v).sum(axis=-1), -1.0, 1.0)
        angles.append(np.where(known, np.arccos(cosine) / np.pi, 0.0))
        angle_known.append(known)
    directions = [_direction(coords, present, a, b) for a, b in LIMBS.values()]
    values = np.concatenate([np.stack(angles, 1), *(unit for unit, _ in directions)], axis=1)
    known = np.concatenate(
        [np.stack(angle_known, 1), *(np.repeat(k[:, None], 3, 1) for _, k in directions)], axis=1
    )
    return values, known


def _velocities(motion: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Frame-to-frame differences; 0 at the first frame and where either value is not known."""
    velocity = np.zeros_like(motion)
    both = known[1:] & known[:-1]
    velocity[1:] = np.where(both, motion[1:] - motion[:-1], 0.0)
    return velocity
