"""Handedness: mirroring left-handed poses into right-handed form, and inferring handedness.

Mirroring flips the image horizontally (x -> 1 - x) *and* swaps every left/right landmark pair
(``landmarks.mirror_permutation``). Flipping x alone would leave a left-hander's racquet arm in the
``left_*`` channels, where a right-hander's free arm lives.

Inference heuristic (:func:`infer_handedness`): the racquet wrist travels further than the free
wrist during strokes. Over the frames of the stroke segments, sum each wrist's frame-to-frame
displacement in the image plane (x, y), counting only steps between two valid frames. The wrist
with the longer path is the racquet hand; the confidence is ``|right - left| / (right + left)``
in [0, 1]. Below ``min_confidence`` (e.g. two-handed backhands only, or no valid stroke frames)
the answer is ``"unknown"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from data_pipeline.errors import DataError
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import N_LANDMARKS
from data_pipeline.landmarks import mirror_permutation
from data_pipeline.pose_cache import PoseClip

HANDEDNESS: tuple[str, ...] = ("left", "right", "unknown")

_PERMUTATION = np.asarray(mirror_permutation())
_LEFT_WRIST = LANDMARK_INDEX["left_wrist"]
_RIGHT_WRIST = LANDMARK_INDEX["right_wrist"]


class FrameSpan(Protocol):
    """Anything with a frame range, e.g. ``annotations.Segment`` (start inclusive, end exclusive)."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


def landmark_present(landmarks: np.ndarray) -> np.ndarray:
    """Bool ``[T, 33]``: False for missing landmarks.

    A landmark is missing when any channel is NaN, or when y, z and visibility are all exactly 0
    (how masked frames and keypoint sets without that landmark are stored). x is not consulted,
    so mirroring never turns a present landmark into a missing one or back.
    """
    finite = np.isfinite(landmarks).all(axis=-1)
    empty = (landmarks[..., 1:] == 0).all(axis=-1)
    return finite & ~empty


def mirror_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Mirror poses horizontally: x -> 1 - x and left/right landmarks swapped.

    Missing landmarks (see :func:`landmark_present`) are swapped but keep their values, so they
    stay missing. The function is an involution (up to float rounding of ``1 - (1 - x)``).

    Args:
        landmarks: ``[T, 33, 4]`` (x, y, z, visibility) in normalised image coordinates.

    Returns:
        A new ``[T, 33, 4]`` array of the same dtype.

    Raises:
        DataError: ``landmarks`` is not ``[T, 33, 4]``.
    """
    landmarks = np.asarray(landmarks)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 4):
        raise DataError(
            f"mirror_landmarks needs landmarks of shape [T, {N_LANDMARKS}, 4], but got "
            f"{landmarks.shape}; pass a PoseClip's landmarks, not a feature matrix."
        )
    mirrored = landmarks.copy()
    present = landmark_present(landmarks)
    mirrored[..., 0] = np.where(present, 1 - landmarks[..., 0], landmarks[..., 0])
    return mirrored[:, _PERMUTATION]


def infer_handedness(
    clip: PoseClip, segments: Iterable[FrameSpan], *, min_confidence: float = 0.1
) -> tuple[str, float]:
    """Guess the player's racquet hand from wrist motion during the stroke segments.

    See the module docstring for the heuristic.

    Args:
        clip: the pose clip; segment frames are in its (the video's) frames.
        segments: stroke segments, start inclusive, end exclusive; clipped to the clip.
        min_confidence: below this confidence the answer is ``"unknown"``. Defaults to 0.1.

    Returns:
        ``(handedness, confidence)`` with handedness ``"left"``, ``"right"`` or ``"unknown"``.
    """
    in_stroke = np.zeros(clip.n_frames, dtype=bool)
    for segment in segments:
        in_stroke[max(segment.start, 0) : max(min(segment.end, clip.n_frames), 0)] = True
    wrists = clip.landmarks[:, [_LEFT_WRIST, _RIGHT_WRIST], :2].astype(np.float64)
    usable = clip.mask & landmark_present(clip.landmarks)[:, [_LEFT_WRIST, _RIGHT_WRIST]].all(1)
    step_ok = (usable & in_stroke)[1:] & (usable & in_stroke)[:-1]
    steps = np.linalg.norm(np.diff(wrists, axis=0), axis=-1)[step_ok]
    left, right = steps.sum(axis=0) if steps.size else (0.0, 0.0)
    if left + right <= 0:
        return "unknown", 0.0
    confidence = float(abs(right - left) / (right + left))
    if confidence < min_confidence:
        return "unknown", confidence
    return ("right" if right > left else "left"), confidence
