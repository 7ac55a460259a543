"""MediaPipe BlazePose's 33 landmarks, the default subset of 15, and left/right pairs."""

from __future__ import annotations

MEDIAPIPE_LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
N_LANDMARKS = len(MEDIAPIPE_LANDMARKS)
LANDMARK_INDEX: dict[str, int] = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}

#: Per-landmark channels stored in the pose cache, in this order.
CHANNELS: tuple[str, ...] = ("x", "y", "z", "visibility")

#: The 15 landmarks kept by default (the V2 recipe's): nose, shoulders, elbows, wrists, hips,
#: knees, ankles, heels -> 60 features per frame, landmark-major ``[x, y, z, vis] x 15``.
DEFAULT_SUBSET: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30)


def mirror_permutation() -> tuple[int, ...]:
    """Index permutation that swaps every ``left_*`` landmark with its ``right_*`` twin."""
    perm = []
    for name in MEDIAPIPE_LANDMARKS:
        if name.startswith("left_"):
            twin = "right_" + name[len("left_"):]
        elif name.startswith("right_"):
            twin = "left_" + name[len("right_"):]
        elif name.endswith("_left"):
            twin = name[: -len("_left")] + "_right"
        elif name.endswith("_right"):
            twin = name[: -len("_right")] + "_left"
        else:
            twin = name
        perm.append(LANDMARK_INDEX[twin])
    return tuple(perm)


def feature_names(subset: tuple[int, ...] = DEFAULT_SUBSET) -> tuple[str, ...]:
    """Landmark-major feature names, e.g. ``nose_x, nose_y, nose_z, nose_visibility, ...``."""
    return tuple(f"{MEDIAPIPE_LANDMARKS[i]}_{c}" for i in subset for c in CHANNELS)
