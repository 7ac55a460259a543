"""What a data folder holds, read once: pose clips with annotations, or generic sequences.

Each source turns one ``(WindowConfig, FeatureConfig)`` into unsplit windows (:class:`RawWindows`);
``data_pipeline.dataset.Dataset`` adds labels as indices, the split, class weights and caching.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from data_pipeline import layout
from data_pipeline.annotations import ClipAnnotation
from data_pipeline.annotations import load_annotations
from data_pipeline.annotations import videos_from_poses
from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.errors import setting
from data_pipeline.features import clip_features
from data_pipeline.features import sequence_features
from data_pipeline.groups import ClipGroups
from data_pipeline.groups import load_groups
from data_pipeline.handedness import infer_handedness
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.resample import rescale_frames
from data_pipeline.windowing import NEUTRAL
from data_pipeline.windowing import cut_windows
from data_pipeline.windowing import label_windows
from data_pipeline.windowing import to_reference_frames
from data_pipeline.windowing import widen_segments
from data_pipeline.windowing import window_starts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawWindows:
    """Windows before the split: the class *name* and the clip of every window."""

    X: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    clips: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]


class ClipFrames(NamedTuple):
    """A clip's per-frame features at the reference fps (``data_pipeline.features.clip_features``)
    and the fps of its annotations."""

    frames: np.ndarray
    mask: np.ndarray
    names: tuple[str, ...]
    fps: float


#: Feature settings whose per-clip frames ``ClipSource`` keeps in memory (see ``clip_frames``).
FEATURE_CACHE_SETTINGS = 2


@dataclass(frozen=True)
class ClipInfo:
    """One pose clip of a clip folder: file, rate, length and annotation (None: unlabelled)."""

    clip_id: str
    path: Path
    fps: float
    n_frames: int
    annotation: ClipAnnotation | None


def _check_window_fits(window: WindowConfig, longest: int, name: str) -> None:
    if window.window_size > longest:
        size = setting("window_size")
        raise ConfigError(
            f"{size} {window.window_size} is longer than every clip: the longest, {name}, "
            f"has {longest} frames at {window.reference_fps:g} fps; choose {size} <= {longest}."
        )


def _stack(parts: list[np.ndarray], empty_shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(empty_shape, dtype=dtype)


class ClipSource:
    """``poses/*.npz`` + ``annotations/*.json`` + optional ``groups.toml``.

    Clips without an annotation task are listed (``clips``) but make no windows. Classes are all
    classes the annotations use (minus ``serve`` under ``drop_serve``, plus ``neutral`` when
    enabled), so the class list does not change with the window size.
    """

    kind = "clips"

    def __init__(self, path: Path, labels: LabelConfig) -> None:
        videos = videos_from_poses(path / layout.POSES_DIR)
        if not videos:
            raise DataError(
                f"{path} has no clips: no {layout.POSES_DIR}/*.npz and no "
                f"{layout.SEQUENCES_FILE}; run `python -m data_pipeline extract`, `synth` or "
                "`import-keypoints` into it first."
            )
        annotations = {
            a.video: a
            for a in load_annotations(path / layout.ANNOTATIONS_DIR, labels=labels, videos=videos)
        }
        self.labels = labels
        self.groups: ClipGroups = load_groups(path / layout.GROUPS_FILE)
        self.clips = {
            stem: ClipInfo(stem, path / layout.POSES_DIR / f"{stem}.npz", info.fps,
                           info.n_frames, annotations.get(stem))
            for stem, info in videos.items()
        }
        unlabelled = [c for c, info in self.clips.items() if info.annotation is None]
        if unlabelled:
            logger.warning("%d clips have no annotation and make no windows: %s",
                           len(unlabelled), ", ".join(unlabelled[:10]))
        for stem in self.groups.unknown_clips(self.clips):
            logger.warning("%s names clip %r, which is not in %s", self.groups.path, stem, path)
        classes = {s.cls for a in annotations.values() for s in a.segments}
        if labels.drop_serve:
            classes.discard("serve")
        self.stroke_classes = tuple(sorted(classes))
        self.class_names = tuple(sorted(classes | ({NEUTRAL} if labels.neutral_class else set())))
        self._handedness: dict[str, tuple[str, str]] = {}
        self._frames: OrderedDict[tuple[FeatureConfig, float], dict[str, ClipFrames]] = (
            OrderedDict()
        )

    @property
    def clip_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.clips))

    def clip_frames(
        self, clip_id: str, features: FeatureConfig, reference_fps: float
    ) -> ClipFrames:
        """One clip's per-frame features at ``reference_fps`` (memory-cached).

        A search varies the window and overlap far more often than the features, and reading
        the pose file plus computing features is four fifths of a window build (0.4 of 0.5 s
        on the default dataset): cutting new windows from cached frames skips it. The cache
        holds the clips of the ``FEATURE_CACHE_SETTINGS`` most recently used feature settings
        (about 15 MB each on the default dataset; a few hundred MB for hours of video).
        """
        key = (features, reference_fps)
        per_clip = self._frames.setdefault(key, {})
        self._frames.move_to_end(key)
        while len(self._frames) > FEATURE_CACHE_SETTINGS:
            self._frames.popitem(last=False)
        if clip_id not in per_clip:
            clip = load_pose_clip(self.clips[clip_id].path)
            # Handedness only matters when left-handed clips are mirrored.
            hand = "unknown"
            if features.canonical_handedness:
                hand = self.handedness(clip_id, clip)[0]
            frames, mask, names = clip_features(clip, features, reference_fps, handedness=hand)
            per_clip[clip_id] = ClipFrames(frames, mask, names, clip.fps)
        return per_clip[clip_id]

    def group_of(self, clip_id: str, key: str) -> str:
        return self.groups.group_of(clip_id, key)

    def handedness(self, clip_id: str, clip: PoseClip | None = None) -> tuple[str, str]:
        """``(handedness, source)``; source is ``groups.toml``, ``annotation`` or ``inferred``.

        ``clip`` saves reading the pose file again when inference is needed.
        """
        if clip_id not in self._handedness:
            info = self.clips[clip_id]
            given = self.groups.get(clip_id, "handedness")
            if given is not None:
                self._handedness[clip_id] = (given, "groups.toml")
            elif info.annotation is not None and info.annotation.handedness is not None:
                self._handedness[clip_id] = (info.annotation.handedness, "annotation")
            else:
                segments = info.annotation.segments if info.annotation else []
                hand, _ = infer_handedness(clip or load_pose_clip(info.path), segments)
                self._handedness[clip_id] = (hand, "inferred")
        return self._handedness[clip_id]

    def max_length(self, reference_fps: float) -> tuple[int, str]:
        """Longest labelled clip in reference frames, and its name."""
        lengths = {
            c: rescale_frames(i.n_frames, i.fps, reference_fps)
            for c, i in self.clips.items() if i.annotation is not None
        }
        if not lengths:
            raise DataError("no clip has an annotation; export the Label Studio project first.")
        name = max(lengths, key=lambda c: (lengths[c], c))
        return lengths[name], name

    def build(self, window: WindowConfig, features: FeatureConfig) -> RawWindows:
        _check_window_fits(window, *self.max_length(window.reference_fps))
        X, M, labels, clips = [], [], [], []
        names: tuple[str, ...] = ()
        for clip_id in self.clip_ids:
            info = self.clips[clip_id]
            if info.annotation is None:
                continue
            frames, mask, names, fps = self.clip_frames(clip_id, features, window.reference_fps)
            segments = info.annotation.segments
            bounds = to_reference_frames(
                [(s.start, s.end) for s in segments], fps, window.reference_fps
            )
            bounds = widen_segments(bounds, window.min_annotation_length, len(frames))
            starts = window_starts(len(frames), window)
            window_labels = label_windows(
                starts, window.window_size,
                [(int(a), int(b), s.cls) for (a, b), s in zip(bounds, segments)],
                min_coverage=window.min_coverage, classes=self.stroke_classes,
                neutral=self.labels.neutral_class,
            )
            keep = np.array([label is not None for label in window_labels], dtype=bool)
            X.append(cut_windows(frames, starts[keep], window.window_size))
            M.append(cut_windows(mask, starts[keep], window.window_size))
            labels += [label for label in window_labels if label is not None]
            clips += [clip_id] * int(keep.sum())
        n_features = len(names)
        return RawWindows(
            X=_stack(X, (0, window.window_size, n_features), np.float32),
            mask=_stack(M, (0, window.window_size), bool),
            labels=np.array(labels, dtype=str), clips=np.array(clips, dtype=str),
            class_names=self.class_names, feature_names=names,
        )


class SequenceSource:
    """A sequence folder: ``sequences.npz`` (see ``data_pipeline.layout``).

    Windows of every size up to the sample length are cut from each sample with the stride and
    carry the sample's label (labels are class names already; no label mapping applies). Without
    ``groups`` every sample is its own group. NaN values mark missing frames. With ``fps`` the
    samples are resampled to ``reference_fps`` first; without it their steps are reference frames.
    ``FeatureConfig`` does not apply (the features are given); the clips are the groups.
    """

    kind = "sequences"

    def __init__(self, path: Path) -> None:
        file = path / layout.SEQUENCES_FILE
        try:
            with np.load(file, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as exc:
            raise DataError(f"{file} is not a readable .npz file ({exc}).") from exc
        X, y = arrays.get("X"), arrays.get("y")
        if X is None or y is None or X.ndim != 3 or y.shape != (X.shape[0],) or not len(y):
            raise DataError(
                f"{file} must hold X [N, T, F] and y [N] with N >= 1, but got X "
                f"{None if X is None else X.shape} and y {None if y is None else y.shape}; "
                "re-create it with `python -m data_pipeline import-keypoints`."
            )
        n = X.shape[0]
        groups = arrays.get("groups", np.array([f"sample-{i:05d}" for i in range(n)]))
        if groups.shape != (n,):
            raise DataError(f"{file}: groups must have shape [{n}], but got {groups.shape}.")
        self.X = X.astype(np.float32)
        self.y = y.astype(str)
        self.sample_groups = groups.astype(str)
        self.fps = float(arrays["fps"]) if "fps" in arrays else None
        self.feature_names = tuple(
            arrays["feature_names"].astype(str).tolist()
            if "feature_names" in arrays else [f"feature_{i}" for i in range(X.shape[2])]
        )
        self.class_names = tuple(sorted(set(self.y.tolist())))

    @property
    def clip_ids(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.sample_groups.tolist())))

    def group_of(self, clip_id: str, key: str) -> str:
        if key != "clip":
            raise ConfigError(
                f"a sequence folder groups samples by its 'groups' array, so the split cannot "
                f"group by {key!r}; use group_by='clip' (the default)."
            )
        return clip_id

    def handedness(self, clip_id: str, clip: PoseClip | None = None) -> tuple[str, str]:
        return "unknown", "not applicable"

    def max_length(self, reference_fps: float) -> tuple[int, str]:
        length = self.X.shape[1]
        if self.fps is not None:
            length = rescale_frames(length, self.fps, reference_fps)
        return length, "every sample"

    def build(self, window: WindowConfig, features: FeatureConfig) -> RawWindows:
        _check_window_fits(window, *self.max_length(window.reference_fps))
        X, M, labels, clips = [], [], [], []
        for values, label, group in zip(self.X, self.y, self.sample_groups):
            valid = np.isfinite(values).all(axis=1)
            frames, mask = sequence_features(
                np.nan_to_num(values), valid, self.fps, window.reference_fps
            )
            starts = window_starts(len(frames), window)
            X.append(cut_windows(frames, starts, window.window_size))
            M.append(cut_windows(mask, starts, window.window_size))
            labels += [label] * len(starts)
            clips += [group] * len(starts)
        return RawWindows(
            X=np.concatenate(X), mask=np.concatenate(M), labels=np.array(labels, dtype=str),
            clips=np.array(clips, dtype=str), class_names=self.class_names,
            feature_names=self.feature_names,
        )
