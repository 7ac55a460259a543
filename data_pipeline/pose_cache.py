"""The pose cache: one ``.npz`` file per video with every landmark of every frame.

File layout (``DATA_DIR/poses/<video stem>.npz``):

- ``landmarks``: float32 ``[T, 33, 4]`` — MediaPipe's 33 landmarks x (x, y, z, visibility) in
  normalised image coordinates. Frames without a detection hold zeros *and* are masked.
- ``mask``: bool ``[T]`` — True where a pose was detected.
- ``meta``: a JSON string (see :class:`PoseClip`): fps, frame count, source video and its hash,
  pose-model hash, mediapipe version and extraction settings. Extraction compares these with the
  current inputs and re-extracts only when one of them changed.

The landmark subset is never applied here: it is a feature-time setting.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import numpy as np

from data_pipeline._io import atomic_write
from data_pipeline.errors import DataError
from data_pipeline.landmarks import N_LANDMARKS

FORMAT_VERSION = 1


@dataclass(frozen=True)
class PoseClip:
    """Pose sequence of one video.

    Args:
        landmarks: float32 ``[T, 33, 4]``.
        mask: bool ``[T]``, True where a pose was detected.
        fps: frame rate of the source video (frames in ``landmarks`` are the video's frames).
        meta: provenance: ``video`` (file name), ``video_sha256``, ``model_sha256``,
            ``mediapipe_version``, ``settings`` (dict), and anything else worth keeping.
    """

    landmarks: np.ndarray
    mask: np.ndarray
    fps: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.landmarks.ndim != 3 or self.landmarks.shape[1:] != (N_LANDMARKS, 4):
            raise DataError(
                f"landmarks must have shape [T, {N_LANDMARKS}, 4], but got {self.landmarks.shape}."
            )
        if self.mask.shape != (self.landmarks.shape[0],):
            raise DataError(
                f"mask must have shape [T]={self.landmarks.shape[0]}, but got {self.mask.shape}."
            )
        if not self.fps > 0:
            raise DataError(f"fps must be positive, but got fps={self.fps}.")

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])


def save_pose_clip(path: str | Path, clip: PoseClip) -> None:
    """Write ``clip`` to ``path`` atomically (byte-identical for identical input)."""
    meta = dict(clip.meta)
    meta.update(format_version=FORMAT_VERSION, fps=float(clip.fps), n_frames=clip.n_frames)
    buffer = io.BytesIO()
    # np.savez (not savez_compressed) writes no timestamps that vary run to run... but zip entries
    # carry a fixed date in numpy, so the output is deterministic either way; compress to save disk.
    np.savez_compressed(
        buffer,
        landmarks=np.ascontiguousarray(clip.landmarks, dtype=np.float32),
        mask=np.ascontiguousarray(clip.mask, dtype=bool),
        meta=np.array(json.dumps(meta, sort_keys=True)),
    )
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_pose_clip(path: str | Path) -> PoseClip:
    """Read a pose cache file; raise :class:`DataError` naming the file if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pose cache file {path} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            landmarks = data["landmarks"].astype(np.float32, copy=False)
            mask = data["mask"].astype(bool, copy=False)
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"pose cache file {path} is not a valid pose cache ({exc}); delete it and re-run "
            "`python -m data_pipeline extract` to rebuild it."
        ) from exc
    return PoseClip(landmarks=landmarks, mask=mask, fps=float(meta["fps"]), meta=meta)


def read_pose_meta(path: str | Path) -> dict[str, Any] | None:
    """Return the cached metadata of ``path``, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None
