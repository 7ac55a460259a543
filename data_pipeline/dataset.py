"""``Dataset``: a data folder opened once, windowed many times, each result cached.

A search asks for the same window size again and again, so :meth:`Dataset.windows` keeps every
result in memory (per ``Dataset`` object) and on disk (one ``.npz`` per settings, shared by
processes and runs). The disk key is the sha256 of the data fingerprint and every setting that
shapes the result (window, features, labels, split, :data:`CACHE_VERSION`); a changed input
file changes the fingerprint, so a stale file is never read. Writes are atomic.

Cache folder: ``cache_dir`` if given, else ``<data>/.cache/windows``, else (read-only data
folder) ``~/.cache/stroke-search/windows``.

Example:
    >>> from data_pipeline.config import WindowConfig
    >>> ds = Dataset.open("data/synthetic")  # doctest: +SKIP
    >>> data = ds.windows(WindowConfig(window_size=45, overlap=15))  # doctest: +SKIP
    >>> data.X.shape, data.class_names  # doctest: +SKIP
    ((1234, 45, 60), ('backhand', 'fronthand', 'serve'))
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
from pathlib import Path

import numpy as np

from data_pipeline import layout
from data_pipeline._io import atomic_write
from data_pipeline._sources import ClipInfo
from data_pipeline._sources import ClipSource
from data_pipeline._sources import RawWindows
from data_pipeline._sources import SequenceSource
from data_pipeline.config import AUTO_GROUP
from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.errors import setting
from data_pipeline.labels import resolve_labels
from data_pipeline.splits import class_weights
from data_pipeline.splits import group_folds
from data_pipeline.splits import split_groups
from data_pipeline.windowed import SplitIndices
from data_pipeline.windowed import WindowedData

logger = logging.getLogger(__name__)

#: Bump when windowing, labelling or splitting changes, so old cache files are not reused.
CACHE_VERSION = 2
_CACHE_SUBDIR = Path(".cache") / "windows"
_USER_CACHE = Path("~/.cache/stroke-search/windows")


class Dataset:
    """A clip folder (poses + annotations) or a sequence folder, ready to be windowed.

    Use :meth:`open`; see ``data_pipeline.layout`` for the two folder layouts.
    """

    def __init__(
        self,
        path: Path,
        source: ClipSource | SequenceSource,
        *,
        labels: LabelConfig,
        split: SplitConfig,
        cache_dir: Path,
        fingerprint: str,
    ) -> None:
        self.path = path
        self.labels = labels
        self.split_config = split
        self.cache_dir = cache_dir
        self.fingerprint = fingerprint
        self._source = source
        self._memory: dict[str, WindowedData] = {}
        self._last: WindowedData | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        labels: LabelConfig = LabelConfig(),
        split: SplitConfig = SplitConfig(),
        cache_dir: Path | None = None,
    ) -> Dataset:
        """Read a data folder's index (pose metadata, annotations, groups), not its poses yet.

        Args:
            path: the data folder.
            labels: label mapping, serve switch, neutral class, annotation fps; the mapping
                comes from ``labels.file``, else the folder's ``labels.toml``
                (``data_pipeline.labels.resolve_labels``).
            split: split fractions, seed, grouping key and held-out groups; ``auto``
                grouping is resolved here (``split_config`` holds the key used).
            cache_dir: where window caches go. None picks ``<path>/.cache/windows``, or
                ``~/.cache/stroke-search/windows`` when the data folder is read-only.

        Raises:
            DataError: the folder is missing, holds no clips, or its annotations are unusable.
        """
        path = Path(path)
        if not path.is_dir():
            raise DataError(
                f"data folder {path} does not exist; check the path, or run "
                f"`python -m data_pipeline synth --out {path}` to generate one."
            )
        labels = resolve_labels(labels, path)
        source: ClipSource | SequenceSource
        if layout.is_sequence_folder(path):
            source = SequenceSource(path, labels)
        else:
            source = ClipSource(path, labels)
        if split.group_by == AUTO_GROUP:
            split = dataclasses.replace(split, group_by=source.default_group_key())
            logger.info("split groups by %s", split.group_by)
        dataset = cls(
            path, source, labels=labels, split=split,
            cache_dir=_cache_dir(path, cache_dir), fingerprint=fingerprint(path),
        )
        for clip_id in source.clip_ids:
            dataset.group_of(clip_id)  # a missing groups.toml key fails now, not mid-search
        return dataset

    @property
    def kind(self) -> str:
        """``clips`` or ``sequences``."""
        return self._source.kind

    @property
    def clip_ids(self) -> tuple[str, ...]:
        """Clip stems (clip folder) or group names (sequence folder), sorted."""
        return self._source.clip_ids

    @property
    def clips(self) -> dict[str, ClipInfo]:
        """Per-clip file, fps, length and annotation; empty for a sequence folder."""
        return dict(self._source.clips) if isinstance(self._source, ClipSource) else {}

    @property
    def sequences(self) -> SequenceSource | None:
        """The arrays of a sequence folder; None for a clip folder."""
        return self._source if isinstance(self._source, SequenceSource) else None

    @property
    def class_names(self) -> tuple[str, ...]:
        """Classes every ``windows()`` result uses, in model output order."""
        return self._source.class_names

    def group_of(self, clip_id: str) -> str:
        """The split group of ``clip_id`` under ``split_config.group_by`` (clip, player, ...)."""
        return self._source.group_of(clip_id, self.split_config.group_by)

    def handedness(self, clip_id: str, scope: str = "player") -> str:
        """``left``, ``right`` or ``unknown``: groups.toml, else the annotation, else inferred
        per player (``scope="player"``) or per clip (``"clip"``)."""
        return self._source.handedness(clip_id, scope)[0]

    def handedness_source(self, clip_id: str, scope: str = "player") -> str:
        """Where :meth:`handedness` came from: ``groups.toml``, ``annotation`` or ``inferred``."""
        return self._source.handedness(clip_id, scope)[1]

    def handedness_detail(self, clip_id: str, scope: str = "player") -> str:
        """What an inferred handedness rests on (``player ana: 42 strokes, confidence 0.81``);
        empty when it was given."""
        if isinstance(self._source, ClipSource):
            return self._source.inference_detail(clip_id, scope)
        return ""

    def admissible_window_range(self, reference_fps: float = 30.0) -> tuple[int, int]:
        """``(1, longest clip or sample length in reference frames)``: window sizes that fit."""
        return 1, self._source.max_length(reference_fps)[0]

    def windows(
        self, window: WindowConfig, features: FeatureConfig = FeatureConfig()
    ) -> WindowedData:
        """Windowed, labelled, split data for these settings (cached; see the module docstring).

        Raises:
            ConfigError: the window is longer than every clip (the message names the longest).
            DataError: no window qualifies as a sample, or too few groups to split.
        """
        key = self._key(window, features)
        data = self._memory.get(key) or self._read_cache(key, window, features)
        if data is None:
            data = self._build(window, features)
            self._write_cache(key, data)
        self._memory[key] = self._last = data
        return data

    def unsplit_windows(
        self, window: WindowConfig, features: FeatureConfig = FeatureConfig()
    ) -> RawWindows:
        """The windows, their class names and clips before any split (not cached): what a
        folder too small to split still makes."""
        return self._source.build(window, features)

    def group_folds(
        self, k: int, seed: int, data: WindowedData | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Grouped K-fold ``(train, val)`` window indices over the non-test windows of ``data``.

        Args:
            k: number of folds (``--cv K``).
            seed: seed of the fold assignment.
            data: windows from :meth:`windows`; None uses the most recent result.
        """
        data = data or self._last
        if data is None:
            raise ConfigError("group_folds needs windows: call Dataset.windows(...) first.")
        pool = non_test_windows(data)
        folds = group_folds(data.groups, data.y, pool, k=k, seed=seed)
        return [(with_mirrored(train, data.augmented), val) for train, val in folds]

    def _key(self, window: WindowConfig, features: FeatureConfig) -> str:
        settings = {
            "version": CACHE_VERSION, "fingerprint": self.fingerprint,
            "window": dataclasses.asdict(window), "features": dataclasses.asdict(features),
            "labels": dataclasses.asdict(self.labels),
            "split": dataclasses.asdict(self.split_config),
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]

    def _build(self, window: WindowConfig, features: FeatureConfig) -> WindowedData:
        raw = self.unsplit_windows(window, features)
        if not len(raw.labels):
            raise DataError(
                f"no window of {window.window_size} frames (overlap {window.overlap}) qualifies "
                f"as a sample in {self.path} under min_coverage={window.min_coverage}; lower "
                f"{setting('window_size')} or min_coverage, or enable the neutral class."
            )
        class_index = {name: i for i, name in enumerate(raw.class_names)}
        y = np.array([class_index[label] for label in raw.labels], dtype=np.int64)
        groups = np.array([self.group_of(c) for c in raw.clips])
        real = np.flatnonzero(~raw.augmented)
        split = split_groups(
            groups[real], y[real], n_classes=len(raw.class_names), config=self.split_config
        )
        if raw.augmented.any():  # mirrored copies train with their originals, never evaluate
            split = SplitIndices(
                train=with_mirrored(split.train, raw.augmented), val=split.val, test=split.test
            )
        return WindowedData(
            X=raw.X, y=y, mask=raw.mask, groups=groups, class_names=raw.class_names,
            feature_names=raw.feature_names, split=split,
            class_weights=class_weights(y[split.train], raw.class_names), window=window,
            features=features, labels=self.labels, fingerprint=self.fingerprint,
            split_rule=self.split_config.rule, augmented=raw.augmented,
            split_config=self.split_config,
        )

    def _read_cache(
        self, key: str, window: WindowConfig, features: FeatureConfig
    ) -> WindowedData | None:
        path = self.cache_dir / f"{key}.npz"
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                arrays = {name: f[name] for name in f.files if name != "meta"}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable window cache %s (%s); rebuilding", path, exc)
            return None
        logger.info("windows read from cache %s", path)
        return WindowedData(
            X=arrays["X"], y=arrays["y"], mask=arrays["mask"], groups=arrays["groups"],
            class_names=tuple(meta["class_names"]), feature_names=tuple(meta["feature_names"]),
            split=SplitIndices(arrays["train"], arrays["val"], arrays["test"]),
            class_weights=meta["class_weights"], window=window, features=features,
            labels=self.labels, fingerprint=self.fingerprint, split_rule=meta["split_rule"],
            augmented=arrays["augmented"], split_config=self.split_config,
        )

    def _write_cache(self, key: str, data: WindowedData) -> None:
        meta = {
            "class_names": data.class_names, "feature_names": data.feature_names,
            "class_weights": data.class_weights, "split_rule": data.split_rule,
        }
        buffer = io.BytesIO()
        np.savez(
            buffer, X=data.X, y=data.y, mask=data.mask, groups=data.groups,
            train=data.split.train, val=data.split.val, test=data.split.test,
            augmented=data.augmented, meta=np.array(json.dumps(meta)),
        )
        with atomic_write(self.cache_dir / f"{key}.npz") as handle:
            handle.write(buffer.getbuffer())


def with_mirrored(index: np.ndarray, augmented: np.ndarray) -> np.ndarray:
    """``index`` plus the mirrored copy of each of its windows (see ``RawWindows``: the copies
    follow the originals in the same order)."""
    n_real = int((~augmented).sum())
    copies = index[index < n_real] + n_real if augmented.any() else index[:0]
    return np.sort(np.concatenate([index, copies]))


def non_test_windows(data: WindowedData) -> np.ndarray:
    """Sorted indices of the train and validation windows, mirrored copies left out."""
    pool = np.sort(np.concatenate([data.split.train, data.split.val]))
    return pool[~data.augmented[pool]]


def validation_rotations(data: WindowedData, seed: int) -> list[WindowedData]:
    """``data`` with its validation moved onto the training groups, one part at a time.

    The training groups are shuffled by ``seed`` and cut into as many parts as they hold
    validation-sized shares (at least 2). Rotation ``i`` validates on part ``i`` and trains on
    every other non-test group, the validation split's included; test is kept. With the
    original split, the rotations validate every non-test group once (a grouped
    cross-validation), so a configuration is judged on all those players, not a few. Mirrored
    copies follow their originals into training and never validate. No rotation (empty list)
    where fewer than 2 groups train. The parts are drawn from group names alone (not stratified
    like :meth:`Dataset.group_folds`), so every window size and feature set of a study gets the
    same parts and its finalists are judged on the same players.
    """
    train_groups = np.unique(data.groups[data.split.train])  # copies share their group
    if len(train_groups) < 2:
        return []
    n_val_groups = max(1, len(np.unique(data.groups[data.split.val])))
    n_parts = min(len(train_groups), max(2, round(len(train_groups) / n_val_groups)))
    parts = np.array_split(np.random.default_rng(seed).permutation(train_groups), n_parts)
    pool = non_test_windows(data)
    rotations = []
    for part in parts:
        held = np.isin(data.groups[pool], part)
        train = with_mirrored(pool[~held], data.augmented)
        split = SplitIndices(train=train, val=pool[held], test=data.split.test)
        weights = class_weights(data.y[train], data.class_names)
        rotations.append(dataclasses.replace(data, split=split, class_weights=weights))
    return rotations


def fingerprint(path: str | Path) -> str:
    """sha256 over the names and bytes of a data folder's inputs, in sorted name order.

    Inputs: ``poses/*.npz``, ``annotations/*.json``, ``groups.toml``, ``labels.toml`` and
    ``sequences.npz``.
    Videos are not read (the pose files record their hash) and caches are not inputs.
    """
    path = Path(path)
    files = sorted(
        [*path.glob(f"{layout.POSES_DIR}/*.npz"), *path.glob(f"{layout.ANNOTATIONS_DIR}/*.json"),
         path / layout.GROUPS_FILE, path / layout.LABELS_FILE, path / layout.SEQUENCES_FILE]
    )
    digest = hashlib.sha256()
    for file in files:
        if file.is_file():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _cache_dir(path: Path, requested: Path | None) -> Path:
    """The window cache folder: ``requested``, else in the data folder if writable, else home."""
    if requested is not None:
        return Path(requested)
    local = path / _CACHE_SUBDIR
    try:
        local.mkdir(parents=True, exist_ok=True)
        if os.access(local, os.W_OK):
            return local
    except OSError:
        pass
    fallback = _USER_CACHE.expanduser()
    logger.info("data folder %s is read-only; caching windows in %s", path, fallback)
    return fallback
