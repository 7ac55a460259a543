"""Find the strokes in a new clip with a trained model (``python -m model.detect VIDEO``).

Steps: poses (extracted through the data pipeline, cached as ``OUT/poses/<stem>.npz``; a pose cache
``.npz`` given as VIDEO is used directly) -> per-frame features at the model's reference fps
(``data_pipeline.features.clip_features``) -> every sliding window with the model's own window size
and overlap -> one batched prediction -> per-frame scores -> stroke events
(:mod:`model.detection.events`). Every preprocessing setting (window, overlap, reference fps,
landmark subset, feature settings, class order) is read from the model, never typed again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from data_pipeline.config import WindowConfig
from data_pipeline.errors import NoPoseError
from data_pipeline.features import clip_features
from data_pipeline.handedness import infer_handedness
from data_pipeline.landmarks import N_LANDMARKS
from data_pipeline.layout import POSES_DIR
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.windowing import cut_windows
from data_pipeline.windowing import window_starts
from model.artifacts import PreprocessingSettings
from model.detection.events import NEUTRAL
from model.detection.events import EventConfig
from model.detection.events import StrokeEvent
from model.detection.events import frame_scores
from model.detection.events import scores_to_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """Strokes found in one clip, with what is needed to report and draw them.

    Args:
        events: detected strokes, sorted by start.
        class_names: the model's class order.
        video_fps: frame rate of the source video (event frames are counted at it).
        n_frames: frames of the source video.
        reference_fps: frame rate of ``scores``.
        scores: ``[T, C]`` per-frame class probabilities at ``reference_fps``.
        settings: the preprocessing and event settings used (written to ``strokes.json``).
        note: why there are no events when that is not the model's verdict (no person, clip
            shorter than one window), else None.
    """

    events: list[StrokeEvent]
    class_names: tuple[str, ...]
    video_fps: float
    n_frames: int
    reference_fps: float
    scores: np.ndarray
    settings: dict[str, object]
    note: str | None = None

    @property
    def duration(self) -> float:
        return self.n_frames / self.video_fps

    def counts(self) -> dict[str, int]:
        """Events per stroke class (every class of the model but ``neutral``, even at 0)."""
        counts = {name: 0 for name in self.class_names if name != NEUTRAL}
        for event in self.events:
            counts[event.cls] += 1
        return counts


def detect_clip(
    model: keras.Model,
    preprocessing: PreprocessingSettings,
    clip: PoseClip,
    *,
    events: EventConfig = EventConfig(),
    handedness: str = "auto",
    batch_size: int = 256,
) -> Detection:
    """Detect the strokes of a pose clip with ``model`` and its stored preprocessing settings.

    Args:
        model: the trained Keras classifier.
        preprocessing: its settings (``model.artifacts.load_stroke_model``).
        clip: poses of the video, at the video's fps.
        events: how window predictions become events. Defaults to ``EventConfig()``.
        handedness: the player's racquet hand (``left``/``right``/``unknown``), or ``auto`` to
            infer it from wrist motion; only used when the model mirrors left-handers.
            Defaults to ``auto``.
        batch_size: windows per prediction batch. Defaults to 256.
    """
    window, features = preprocessing.window, preprocessing.features
    class_names = tuple(preprocessing.class_names)
    if not features.canonical_handedness:
        handedness = "unknown"
    elif handedness == "auto":
        handedness, _ = infer_handedness(clip, [_WholeClip(clip.n_frames)])
    frames, mask, _ = clip_features(clip, features, window.reference_fps, handedness=handedness)
    starts = window_starts(len(frames), window)
    scores = np.zeros((len(frames), len(class_names)), dtype=np.float32)
    found: list[StrokeEvent] = []
    note = _no_strokes_note(clip, window, starts)
    if note is None:
        windows = cut_windows(frames, starts, window.window_size)
        probabilities = model.predict(windows, batch_size=batch_size, verbose=0)
        scores = frame_scores(
            probabilities, starts, window_size=window.window_size, n_frames=len(frames)
        )
        found = scores_to_events(
            scores, class_names, fps=window.reference_fps, config=events, present=mask
        )
    return Detection(
        events=found,
        class_names=class_names,
        video_fps=clip.fps,
        n_frames=clip.n_frames,
        reference_fps=window.reference_fps,
        scores=scores,
        settings=_settings(preprocessing, events, handedness),
        note=note,
    )


def _no_strokes_note(clip: PoseClip, window: WindowConfig, starts: np.ndarray) -> str | None:
    """Why ``clip`` cannot hold strokes whatever the model says (no person, too short), or None."""
    if not clip.mask.any():
        return f"no person detected in any of the {clip.n_frames} frames; no strokes to report."
    if starts.size == 0:
        return (
            f"the clip lasts {clip.n_frames / clip.fps:.2f} s, shorter than one model window "
            f"({window.window_size} frames at {window.reference_fps:g} fps); no strokes to report."
        )
    return None


@dataclass(frozen=True)
class _WholeClip:
    """A frame span covering a whole clip (handedness inference over every frame)."""

    n_frames: int

    @property
    def start(self) -> int:
        return 0

    @property
    def end(self) -> int:
        return self.n_frames


def _settings(
    preprocessing: PreprocessingSettings, events: EventConfig, handedness: str
) -> dict[str, object]:
    """The settings a reader of ``strokes.json`` needs to interpret (and reproduce) the events."""
    class_names = tuple(preprocessing.class_names)
    return {
        "window_size": preprocessing.window_size,
        "overlap": preprocessing.overlap,
        "reference_fps": preprocessing.reference_fps,
        "landmark_subset": list(preprocessing.landmark_subset),
        "representation": preprocessing.features.representation,
        "class_names": list(class_names),
        "handedness": handedness,
        **events.resolved(class_names),
    }


def load_poses(video: Path, *, out_dir: Path, pose_model: Path | None) -> PoseClip:
    """Poses of ``video``: a pose cache ``.npz`` is read as is; a video is extracted once into
    ``out_dir/poses/<stem>.npz`` and that cache is reused while video and pose model are unchanged.
    A video in which no frame shows a person gives a clip with every frame masked.
    """
    if video.suffix.lower() == ".npz":
        return load_pose_clip(video)
    from data_pipeline.extract import extract_video

    cache = out_dir / POSES_DIR / f"{video.stem}.npz"
    try:
        return extract_video(video, cache, pose_model=pose_model)
    except NoPoseError as exc:
        logger.info("%s", exc)
        return PoseClip(
            landmarks=np.zeros((exc.n_frames, N_LANDMARKS, 4), dtype=np.float32),
            mask=np.zeros(exc.n_frames, dtype=bool),
            fps=exc.fps,
            meta={"video": video.name},
        )
