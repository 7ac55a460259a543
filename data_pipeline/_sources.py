"""What a data folder holds, read once: pose clips with annotations, or generic sequences.

Each source turns one ``(WindowConfig, FeatureConfig)`` into unsplit windows (:class:`RawWindows`);
``data_pipeline.dataset.Dataset`` adds labels as indices, the split, class weights and caching.
"""

from __future__ import annotations

import dataclasses
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
from data_pipeline.handedness import CLIP_MIN_CONFIDENCE
from data_pipeline.handedness import PLAYER_MIN_CONFIDENCE
from data_pipeline.handedness import decide_handedness
from data_pipeline.handedness import mirror_landmarks
from data_pipeline.handedness import stroke_votes
from data_pipeline.labels import DROPPED
from data_pipeline.labels import map_label
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
    """Windows before the split: the class *name* and the clip of every window, and which
    windows are mirrored copies (``mirror_augmentation``; they are placed after the rest)."""

    X: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    clips: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    augmented: np.ndarray


class ClipFrames(NamedTuple):
    """A clip's per-frame features at the reference fps (``data_pipeline.features.clip_features``),
    the fps of its annotations, and (with ``mirror_augmentation``) the features of the clip
    mirrored the other way (same mask)."""

    frames: np.ndarray
    mask: np.ndarray
    names: tuple[str, ...]
    fps: float
    mirrored: np.ndarray | None


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
        classes = {s.cls for a in annotations.values() for s in a.segments} - {DROPPED}
        if labels.drop_serve:
            classes.discard("serve")
        self.stroke_classes = tuple(sorted(classes))
        self.class_names = tuple(sorted(classes | ({NEUTRAL} if labels.neutral_class else set())))
        self._handedness: dict[tuple[str, str], tuple[str, str]] = {}
        self._clip_votes: dict[str, list[int]] = {}
        self._details: dict[tuple[str, str], str] = {}
        self._warned = False
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
                hand = self.handedness(clip_id, features.handedness_inference)[0]
            frames, mask, names = clip_features(clip, features, reference_fps, handedness=hand)
            mirrored = None
            if features.mirror_augmentation:  # the other hand: mirror what the model sees
                flipped = clip if hand == "left" else dataclasses.replace(
                    clip, landmarks=mirror_landmarks(clip.landmarks))
                unmirrored = dataclasses.replace(features, canonical_handedness=False)
                mirrored = clip_features(flipped, unmirrored, reference_fps)[0]
            per_clip[clip_id] = ClipFrames(frames, mask, names, clip.fps, mirrored)
        return per_clip[clip_id]

    def group_of(self, clip_id: str, key: str) -> str:
        return self.groups.group_of(clip_id, key)

    def default_group_key(self) -> str:
        """``player`` if every clip names one in groups.toml, else ``group``, else ``clip``:
        the strongest grouping the data has."""
        for key in ("player", "group"):
            if all(self.groups.get(c, key) is not None for c in self.clips):
                return key
        return "clip"

    def handedness(self, clip_id: str, scope: str = "player") -> tuple[str, str]:
        """``(handedness, source)``: ``groups.toml``, else the annotation, else inferred.

        Inference (``scope`` ``player``) pools the stroke votes of every clip of the clip's
        player (else its ``groups.toml`` group, else the clip alone) and abstains below
        ``PLAYER_MIN_CONFIDENCE``; ``clip`` votes on the clip alone (``CLIP_MIN_CONFIDENCE``).
        Background and dropped classes never vote; :meth:`inference_detail` says what the
        inferred answer rests on.
        """
        key = (clip_id, scope)
        if key not in self._handedness:
            info = self.clips[clip_id]
            given = self.groups.get(clip_id, "handedness")
            if given is not None:
                self._handedness[key] = (given, "groups.toml")
            elif info.annotation is not None and info.annotation.handedness is not None:
                self._handedness[key] = (info.annotation.handedness, "annotation")
            else:
                self._handedness[key] = self._inferred(clip_id, scope)
        return self._handedness[key]

    def _inferred(self, clip_id: str, scope: str) -> tuple[str, str]:
        owner_key = next(
            (k for k in ("player", "group") if self.groups.get(clip_id, k) is not None), "clip"
        )
        if scope == "clip" or owner_key == "clip":
            members, owner = [clip_id], f"clip {clip_id}"
            threshold = CLIP_MIN_CONFIDENCE if scope == "clip" else PLAYER_MIN_CONFIDENCE
        else:
            name = self.groups.group_of(clip_id, owner_key)
            members = [c for c in self.clip_ids if self.groups.get(c, owner_key) == name]
            owner, threshold = f"{owner_key} {name}", PLAYER_MIN_CONFIDENCE
        votes = [v for member in members for v in self._votes(member)]
        hand, confidence = decide_handedness(votes, min_confidence=threshold)
        self._details[(clip_id, scope)] = (
            f"{owner}: {len(votes)} strokes, confidence {confidence:.2f}"
        )
        return hand, "inferred"

    def inference_detail(self, clip_id: str, scope: str = "player") -> str:
        """What an inferred handedness rests on, e.g. ``player ana: 42 strokes, confidence
        0.81``; empty when the handedness was given."""
        self.handedness(clip_id, scope)
        return self._details.get((clip_id, scope), "")

    def _votes(self, clip_id: str) -> list[int]:
        """The stroke votes of one clip (cached): stroke classes only, never background."""
        if clip_id not in self._clip_votes:
            info = self.clips[clip_id]
            segments = [
                s for s in (info.annotation.segments if info.annotation else [])
                if s.cls != DROPPED and not self.labels.is_background(s.cls)
            ]
            self._clip_votes[clip_id] = (
                stroke_votes(load_pose_clip(info.path), segments) if segments else []
            )
        return self._clip_votes[clip_id]

    def warn_unknown_handedness(self, features: FeatureConfig) -> None:
        """One warning naming ``groups.toml`` when mirroring is on and some clips' hand is
        unknown (those clips are not mirrored)."""
        if not features.canonical_handedness or self._warned:
            return
        unknown = [
            c for c in self.clip_ids if self.clips[c].annotation is not None
            and self.handedness(c, features.handedness_inference)[0] == "unknown"
        ]
        if unknown:
            self._warned = True
            where = self.groups.path or "groups.toml in the data folder"
            logger.warning(
                "handedness unclear for %d clips (%s); they are not mirrored. Name it in %s: "
                '[groups."<clip>"] handedness = "left" or "right"', len(unknown),
                ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""), where,
            )

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
        self.warn_unknown_handedness(features)
        X, M, labels, clips, mirrored = [], [], [], [], []
        names: tuple[str, ...] = ()
        for clip_id in self.clip_ids:
            info = self.clips[clip_id]
            if info.annotation is None:
                continue
            cached = self.clip_frames(clip_id, features, window.reference_fps)
            names = cached.names
            segments = info.annotation.segments
            bounds = to_reference_frames(
                [(s.start, s.end) for s in segments], cached.fps, window.reference_fps
            )
            bounds = widen_segments(bounds, window.min_annotation_length, len(cached.frames))
            starts = window_starts(len(cached.frames), window)
            window_labels = label_windows(
                starts, window.window_size,
                [(int(a), int(b), s.cls) for (a, b), s in zip(bounds, segments)],
                min_coverage=window.min_coverage, classes=self.stroke_classes,
                neutral=self.labels.neutral_class,
            )
            keep = np.array([label is not None for label in window_labels], dtype=bool)
            X.append(cut_windows(cached.frames, starts[keep], window.window_size))
            M.append(cut_windows(cached.mask, starts[keep], window.window_size))
            if cached.mirrored is not None:
                mirrored.append(cut_windows(cached.mirrored, starts[keep], window.window_size))
            labels += [label for label in window_labels if label is not None]
            clips += [clip_id] * int(keep.sum())
        n_features, n = len(names), len(labels)
        X_all = _stack(X + mirrored, (0, window.window_size, n_features), np.float32)
        mask = _stack(M + (M if mirrored else []), (0, window.window_size), bool)
        copies = 2 if mirrored else 1
        return RawWindows(
            X=X_all, mask=mask, labels=np.array(labels * copies, dtype=str),
            clips=np.array(clips * copies, dtype=str), class_names=self.class_names,
            feature_names=names, augmented=np.arange(n * copies) >= n,
        )


class SequenceSource:
    """A sequence folder: ``sequences.npz`` (see ``data_pipeline.layout``).

    Windows of every size up to the sample length are cut from each sample with the stride and
    carry the sample's class: its label mapped through ``labels.toml`` when the folder has one
    (or ``--labels FILE``; dropped labels drop their samples), else the label itself. Without
    ``groups`` every sample is its own group. NaN values mark missing frames. With ``fps`` the
    samples are resampled to ``reference_fps`` first; without it their steps are reference frames.
    ``FeatureConfig`` does not apply (the features are given); the clips are the groups.
    """

    kind = "sequences"

    def __init__(self, path: Path, labels: LabelConfig) -> None:
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
        self.raw_labels = y.astype(str)
        #: raw label -> class (``DROPPED`` for a dropped label)
        self.label_classes = {
            raw: map_label(raw, labels, source=str(file), data_dir=path)
            if labels.file is not None else raw
            for raw in sorted(set(self.raw_labels.tolist()))
        }
        classes = np.array([self.label_classes[raw] for raw in self.raw_labels])
        keep = classes != DROPPED
        self.X = X[keep].astype(np.float32)
        self.y = classes[keep]
        self.sample_groups = groups[keep].astype(str)
        self.fps = float(arrays["fps"]) if "fps" in arrays else None
        self.feature_names = tuple(
            arrays["feature_names"].astype(str).tolist()
            if "feature_names" in arrays else [f"feature_{i}" for i in range(X.shape[2])]
        )
        self.class_names = tuple(sorted(set(self.y.tolist())))

    @property
    def clip_ids(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.sample_groups.tolist())))

    def default_group_key(self) -> str:
        return "clip"

    def group_of(self, clip_id: str, key: str) -> str:
        if key != "clip":
            raise ConfigError(
                f"a sequence folder groups samples by its 'groups' array, so the split cannot "
                f"group by {key!r}; use group_by='clip' (the default)."
            )
        return clip_id

    def handedness(self, clip_id: str, scope: str = "player") -> tuple[str, str]:
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
            feature_names=self.feature_names, augmented=np.zeros(len(labels), dtype=bool),
        )
