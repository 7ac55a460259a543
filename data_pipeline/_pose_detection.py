"""Run MediaPipe's PoseLandmarker (Tasks API, VIDEO mode) over the frames of one video.

MediaPipe is imported here only, on first use: importing it also imports TensorFlow (for a
documentation helper), which takes seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.errors import NoPoseError
from data_pipeline.landmarks import N_LANDMARKS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractionSettings:
    """PoseLandmarker settings; recorded in every cache file, a change re-extracts.

    Args:
        min_pose_detection_confidence: detector threshold. Defaults to 0.5.
        min_pose_presence_confidence: landmark-model presence threshold. Defaults to 0.5.
        min_tracking_confidence: below it, the detector runs again. Defaults to 0.5.
    """

    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], but got {name}={value}.")

    def as_meta(self) -> dict[str, Any]:
        """Settings as stored in the cache metadata (with the fixed running mode and timing)."""
        return {
            **dataclasses.asdict(self),
            "num_poses": 1,
            "running_mode": "VIDEO",
            "timestamps": "round(frame_index * 1000 / video_fps) ms",
        }


def mediapipe_version() -> str:
    """The installed mediapipe version, read without importing mediapipe."""
    return metadata.version("mediapipe")


def import_mediapipe() -> ModuleType:
    """Import and return ``mediapipe`` (with an install hint when it is missing)."""
    try:
        import mediapipe
        from mediapipe.tasks.python import vision  # noqa: F401 - loads the Tasks API
    except ImportError as exc:  # pragma: no cover - mediapipe is a declared dependency
        raise ConfigError(
            f"pose extraction needs mediapipe>=1.0 ({exc}); install it with "
            "`pip install 'mediapipe>=1.0'`."
        ) from exc
    return mediapipe


def detect_poses(
    video: Path, model: Path, settings: ExtractionSettings
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode ``video`` and detect one pose per frame.

    Returns:
        ``(landmarks [T, 33, 4] float32, mask [T] bool, fps)``; undetected frames hold zeros.

    Raises:
        DataError: the video cannot be decoded, has no frame rate, or no frame has a pose.
        ConfigError: the model bundle cannot be loaded.
    """
    import cv2

    mp = import_mediapipe()
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise DataError(f"video {video.name} cannot be opened or decoded by OpenCV/FFmpeg.")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(fps) and fps > 0):
            raise DataError(f"video {video.name} reports no frame rate (fps={fps}).")
        rows: list[np.ndarray | None] = []
        with open_landmarker(model, settings) as landmarker:
            for timestamp, frame in _frames(capture, fps):
                image = mp.Image(
                    image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                )
                result = landmarker.detect_for_video(image, timestamp)
                rows.append(_first_pose(result.pose_landmarks))
    finally:
        capture.release()
    if not rows:
        raise DataError(f"video {video.name} has no decodable frame (corrupt or empty file).")
    mask = np.array([row is not None for row in rows], dtype=bool)
    if not mask.any():
        raise NoPoseError(
            f"video {video.name}: no pose detected in any of its {len(rows)} frames.",
            n_frames=len(rows),
            fps=fps,
        )
    landmarks = np.zeros((len(rows), N_LANDMARKS, 4), dtype=np.float32)
    for index in np.flatnonzero(mask):
        landmarks[index] = rows[index]
    logger.info("%s: %d frames at %.3g fps, pose in %d", video.name, len(rows), fps, mask.sum())
    return landmarks, mask, fps


@contextlib.contextmanager
def open_landmarker(model: Path, settings: ExtractionSettings) -> Iterator[Any]:
    """A VIDEO-mode ``PoseLandmarker`` for one video (timestamps restart per instance)."""
    mp = import_mediapipe()
    vision = mp.tasks.vision
    options = vision.PoseLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=1,
        min_pose_detection_confidence=settings.min_pose_detection_confidence,
        min_pose_presence_confidence=settings.min_pose_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
    )
    try:
        with _native_stderr_quiet():
            landmarker = vision.PoseLandmarker.create_from_options(options)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"the pose model {model} cannot be loaded by MediaPipe ({exc}); pass a MediaPipe "
            "pose landmarker bundle (.task) with --pose-model or POSE_LANDMARKER_MODEL."
        ) from exc
    try:
        yield landmarker
    finally:
        with _native_stderr_quiet():
            landmarker.close()


def _frames(capture: Any, fps: float) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(timestamp_ms, BGR frame)``; timestamps follow the fps, strictly increasing."""
    index, previous = 0, -1
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        timestamp = max(round(index * 1000.0 / fps), previous + 1)
        yield timestamp, frame
        index, previous = index + 1, timestamp


def _first_pose(poses: list[list[Any]]) -> np.ndarray | None:
    if not poses:
        return None
    return np.array(
        [(p.x, p.y, p.z, p.visibility if p.visibility is not None else 1.0) for p in poses[0]],
        dtype=np.float32,
    )


@contextlib.contextmanager
def _native_stderr_quiet() -> Iterator[None]:
    """Silence the native INFO lines LiteRT prints to fd 2, unless logging is at INFO."""
    if logging.getLogger().isEnabledFor(logging.INFO):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
