"""Dataset: clip and sequence folders -> windows, splits, weights; the memory and disk caches."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.config import FeatureConfig
from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.dataset import validation_rotations
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from tests.data_pipeline_tests._clip_folder import make_clip_folder

STROKES = [("Fronthand", 20, 40), ("backhand", 100, 125), ("saque", 200, 250)]
SMALL = WindowConfig(window_size=30, overlap=10, min_annotation_length=0)


@pytest.fixture
def clip_dir(tmp_path: Path) -> Path:
    """Eight 10-second clips at 30 fps, one stroke of each class, one player per two clips."""
    toml = "".join(f'[groups."clip{i}"]\nplayer = "p{i // 2}"\n' for i in range(8))
    clips = {f"clip{i}": (300, 30.0, STROKES) for i in range(8)}
    return make_clip_folder(tmp_path / "data", clips, groups_toml=toml)


def _cache_files(ds: Dataset) -> list[Path]:
    return sorted(ds.cache_dir.glob("*.npz")) if ds.cache_dir.is_dir() else []


def test_dataset_clip_folder_windows_labels_and_weights(clip_dir: Path) -> None:
    data = Dataset.open(clip_dir).windows(SMALL)
    # Shapes: [N, window, 60 default features]; classes sorted, serve kept by default.
    assert data.X.shape[1:] == (30, 60) and data.mask.shape == data.X.shape[:2]
    assert data.class_names == ("backhand", "fronthand", "serve")
    # Class weights are n / (k * n_c) over the training windows only.
    counts = np.bincount(data.y[data.split.train], minlength=3)
    expected = {c: len(data.split.train) / (3 * n) for c, n in zip(data.class_names, counts)}
    assert data.class_weights == pytest.approx(expected)
    # The default grouping resolves to the strongest key the folder has: every clip names a player.
    assert data.split_rule == SplitConfig(group_by="player").rule


@pytest.mark.parametrize("group_by", ["clip", "player"])
def test_dataset_no_clip_crosses_splits(small_synthetic_dir: Path, group_by: str) -> None:
    data = Dataset.open(small_synthetic_dir, split=SplitConfig(group_by=group_by)).windows(
        WindowConfig()
    )
    clips_of = {n: set(data.groups[getattr(data.split, n)]) for n in ("train", "val", "test")}
    # No group (clip, or player) has windows in two splits.
    assert not clips_of["train"] & clips_of["val"]
    assert not clips_of["train"] & clips_of["test"] and not clips_of["val"] & clips_of["test"]
    # Every class of the synthetic data shows up in every split.
    for name in ("train", "val", "test"):
        assert min(data.class_counts(name).values()) > 0


def test_dataset_repeated_window_size_comes_from_memory(clip_dir: Path) -> None:
    ds = Dataset.open(clip_dir)
    first = ds.windows(SMALL)
    # The same settings again: the very same object, no rebuild.
    assert ds.windows(WindowConfig(window_size=30, overlap=10, min_annotation_length=0)) is first
    # Other settings: another result, another cache file.
    other = ds.windows(SMALL, FeatureConfig(keep_visibility=False))
    assert other.X.shape[2] == 45 and len(_cache_files(ds)) == 2


def test_dataset_disk_cache_serves_a_new_process_without_the_poses(clip_dir: Path) -> None:
    built = Dataset.open(clip_dir).windows(SMALL)
    reopened = Dataset.open(clip_dir)
    shutil.rmtree(clip_dir / "poses")  # a rebuild would fail now
    cached = reopened.windows(SMALL)
    # The second Dataset reads the disk cache: identical arrays, split and weights.
    assert np.array_equal(cached.X, built.X) and np.array_equal(cached.y, built.y)
    assert np.array_equal(cached.split.test, built.split.test)
    assert cached.class_weights == built.class_weights
    assert cached.groups.tolist() == built.groups.tolist()


def test_dataset_new_overlap_cuts_cached_frames_without_reading_poses(clip_dir: Path) -> None:
    canonical = FeatureConfig(representation="body_scaled", canonical_handedness=True)
    shutil.copytree(clip_dir, clip_dir.parent / "copy")
    ds = Dataset.open(clip_dir)
    ds.windows(SMALL, canonical)
    shutil.rmtree(clip_dir / "poses")  # reading a pose file would fail now
    other_overlap = WindowConfig(window_size=24, overlap=5, min_annotation_length=0)
    recut = ds.windows(other_overlap, canonical)
    # A new window and overlap are cut from the clips' cached per-frame features ...
    fresh = Dataset.open(clip_dir.parent / "copy")
    assert np.array_equal(recut.X, fresh.windows(other_overlap, canonical).X)
    assert np.array_equal(recut.mask, fresh.windows(other_overlap, canonical).mask)
    # ... while a feature setting never built before needs the pose files.
    with pytest.raises((DataError, OSError)):
        ds.windows(other_overlap, FeatureConfig(keep_visibility=False))


def test_dataset_changed_annotations_change_fingerprint_and_cache(clip_dir: Path) -> None:
    ds = Dataset.open(clip_dir)
    ds.windows(SMALL)
    export = clip_dir / "annotations" / "export.json"
    export.write_text(export.read_text().replace('"Fronthand"', '"backhand"'))
    changed = Dataset.open(clip_dir)
    # A changed input changes the fingerprint, so the stale cache file is not read.
    assert changed.fingerprint != ds.fingerprint
    assert "fronthand" not in changed.windows(SMALL).class_names


def test_dataset_cache_falls_back_to_user_cache_when_folder_not_writable(
    clip_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clip_dir / ".cache").write_text("a file where the cache folder would go")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ds = Dataset.open(clip_dir)
    ds.windows(SMALL)
    # The windows are cached under ~/.cache/stroke-search/windows instead.
    assert ds.cache_dir == tmp_path / "home" / ".cache" / "stroke-search" / "windows"
    assert len(_cache_files(ds)) == 1


def test_dataset_window_longer_than_every_clip_names_the_longest(tmp_path: Path) -> None:
    folder = make_clip_folder(tmp_path, {"short": (60, 30.0, [("backhand", 5, 20)]),
                                         "long": (120, 50.0, [("backhand", 5, 20)])})
    ds = Dataset.open(folder)
    # 120 frames at 50 fps are 72 reference frames; the message names that clip and the limit.
    assert ds.admissible_window_range() == (1, 72)
    with pytest.raises(ConfigError, match=r"longest, long, has 72 frames at 30 fps.*<= 72"):
        ds.windows(WindowConfig(window_size=73, overlap=0))
    # Nothing half-written is left in the cache.
    assert _cache_files(ds) == [] and not list(ds.cache_dir.glob(".*.tmp"))


def test_dataset_folder_without_clips_raises(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    with pytest.raises(DataError, match=r"has no clips: no poses/\*.npz and no sequences.npz"):
        Dataset.open(tmp_path)
    with pytest.raises(DataError, match=r"data folder .*missing does not exist"):
        Dataset.open(tmp_path / "missing")


def test_dataset_segments_follow_each_clips_fps(tmp_path: Path) -> None:
    # The same stroke (seconds 2-3) in a 30 fps and a 60 fps video of the same 10 s.
    folder = make_clip_folder(tmp_path, {
        "a30": (300, 30.0, [("backhand", 61, 90)]),
        "b60": (600, 60.0, [("backhand", 121, 180)]),
        "c30": (300, 30.0, [("fronthand", 61, 90)]),
    })
    labels = LabelConfig(neutral_class=True)
    window = WindowConfig(window_size=30, overlap=0, min_annotation_length=0)
    data = Dataset.open(folder, labels=labels).windows(window)
    per_clip = {g: data.y[data.groups == g].tolist() for g in ("a30", "b60")}
    # Window sizes are reference frames: both clips give the same windows and labels.
    assert per_clip["a30"] == per_clip["b60"]
    assert [data.class_names[i] for i in per_clip["a30"]] == ["neutral"] * 2 + ["backhand"] + [
        "neutral"] * 7


def test_dataset_drop_serve_never_turns_a_serve_into_neutral(tmp_path: Path) -> None:
    folder = make_clip_folder(tmp_path, {f"c{i}": (300, 30.0, STROKES) for i in range(4)})
    labels = LabelConfig(drop_serve=True, neutral_class=True)
    data = Dataset.open(folder, labels=labels).windows(SMALL)
    assert data.class_names == ("backhand", "fronthand", "neutral")
    # Starts 0, 20, ..., 260, 270 over strokes [19,40) [99,125) and the dropped serve [199,250):
    # windows at 180-240 cover or touch the serve and are dropped, never neutral; 80 and 120
    # only touch the backhand and are dropped too.
    assert [data.class_names[i] for i in data.y[data.groups == "c0"]] == [
        "fronthand", "fronthand", "neutral", "neutral", "backhand",
        "neutral", "neutral", "neutral", "neutral",
    ]


def test_dataset_handedness_precedence(tmp_path: Path) -> None:
    folder = make_clip_folder(
        tmp_path, {f"c{i}": (120, 30.0, [("backhand", 10, 40)]) for i in range(3)},
        groups_toml='[groups."C0"]\nhandedness = "left"\n',
    )
    export = folder / "annotations" / "export.json"
    export.write_text(export.read_text().replace(
        '"video": "/data/local-files/?d=videos/C1.MP4"',
        '"video": "/data/local-files/?d=videos/C1.MP4", "handedness": "left"',
    ))
    ds = Dataset.open(folder)
    # groups.toml (matched ignoring case) wins, then the task's data.handedness, then inference.
    sources = [ds.handedness_source(c) for c in ds.clip_ids]
    assert sources == ["groups.toml", "annotation", "inferred"]
    assert ds.handedness("c0") == ds.handedness("c1") == "left"
    assert ds.handedness("c2") in ("left", "right", "unknown")


def test_dataset_group_by_player_and_missing_key_fails_at_open(clip_dir: Path) -> None:
    # Grouping by player: clips 0 and 1 share a group.
    by_player = Dataset.open(clip_dir, split=SplitConfig(group_by="player"))
    assert by_player.group_of("clip0") == by_player.group_of("clip1") == "p0"
    # groups.toml gives players but no cameras: grouping by camera fails before any work.
    with pytest.raises(DataError, match=r"clip 'clip0' has no 'camera' in .*groups.toml"):
        Dataset.open(clip_dir, split=SplitConfig(group_by="camera"))


def test_dataset_group_folds_exclude_test_windows(clip_dir: Path) -> None:
    ds = Dataset.open(clip_dir)
    data = ds.windows(SMALL)
    folds = ds.group_folds(3, seed=0)
    test_groups = set(data.groups[data.split.test])
    for train, val in folds:
        # Folds use train + val windows only and never share a group.
        assert not (set(data.groups[train]) | set(data.groups[val])) & test_groups
        assert not set(data.groups[train]) & set(data.groups[val])


def test_validation_rotations_validate_every_training_group_once(tmp_path: Path) -> None:
    data = Dataset.open(_sequence_folder(tmp_path, n=60)).windows(WindowConfig(20, 10))
    train, val = (set(data.groups[getattr(data.split, s)]) for s in ("train", "val"))
    rotations = validation_rotations(data, seed=3)
    assert len(rotations) == 2
    validated = [set(r.groups[r.split.val]) for r in rotations]
    # The rotations' validation parts cut the training groups; each trains on every other
    # non-test group (the split's validation included) and keeps the test split.
    assert set().union(*validated) == train and not validated[0] & validated[1]
    for rotation, held in zip(rotations, validated):
        assert set(rotation.groups[rotation.split.train]) == (train | val) - held
        assert np.array_equal(rotation.split.test, data.split.test)
        counts = np.bincount(rotation.y[rotation.split.train], minlength=3)
        weights = [rotation.class_weights[name] for name in rotation.class_names]
        # Class weights are those of the rotation's training windows.
        assert weights == pytest.approx(
            [counts.sum() / (3 * c) if c else 0.0 for c in counts]
        )
    # The same seed draws the same parts; one training group leaves nothing to rotate.
    assert [set(r.groups[r.split.val]) for r in validation_rotations(data, 3)] == validated
    held_out = SplitConfig(test_groups=("player0", "player1"),
                           val_groups=("player2", "player3", "player4"))  # fmt: skip
    single = Dataset.open(tmp_path, split=held_out).windows(WindowConfig(20, 10))
    assert set(single.groups[single.split.train]) == {"player5"}
    assert validation_rotations(single, seed=3) == []


def _sequence_folder(root: Path, *, fps: float | None = None, n: int = 12) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "X": rng.normal(size=(n, 30, 6)).astype(np.float32),
        "y": np.array(["smash", "boast", "drive"] * (n // 3)),
        "groups": np.array([f"player{i % 6}" for i in range(n)]),
        "feature_names": np.array([f"gyro_{a}" for a in "xyz"] + [f"acc_{a}" for a in "xyz"]),
    }
    arrays["X"][0, 3] = np.nan  # a missing step
    if fps is not None:
        arrays["fps"] = np.array(fps)
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "sequences.npz", **arrays)
    return root


def test_dataset_sequence_folder_cuts_windows_from_each_sample(tmp_path: Path) -> None:
    ds = Dataset.open(_sequence_folder(tmp_path))
    # Fixed-length samples: windows up to the sample length (30 steps) are admissible.
    assert ds.kind == "sequences" and ds.admissible_window_range() == (1, 30)
    data = ds.windows(WindowConfig(window_size=20, overlap=10))
    # Starts 0 and 10 per sample: 2 windows each, labelled with the sample's label.
    assert data.X.shape == (24, 20, 6) and data.feature_names[0] == "gyro_x"
    assert data.class_names == ("boast", "drive", "smash")
    assert [data.class_names[i] for i in data.y[:4]] == ["smash", "smash", "boast", "boast"]
    # The NaN step is masked and zero; groups come from the file.
    assert not data.mask[0, 3] and data.X[0, 3].tolist() == [0.0] * 6
    assert set(data.groups) == {f"player{i}" for i in range(6)}
    with pytest.raises(ConfigError, match=r"--window-size 31 is longer than every clip"):
        ds.windows(WindowConfig(window_size=31, overlap=0))


def test_dataset_sequence_folder_with_fps_is_resampled(tmp_path: Path) -> None:
    ds = Dataset.open(_sequence_folder(tmp_path, fps=60.0))
    # 30 steps at 60 fps are 15 reference frames at 30 fps.
    assert ds.admissible_window_range() == (1, 15)
    assert ds.windows(WindowConfig(window_size=15, overlap=5)).X.shape == (12, 15, 6)


def test_dataset_racketsports_end_to_end(racketsports_dir: Path, tmp_path: Path) -> None:
    from data_pipeline.import_sequences import import_ts

    import_ts(racketsports_dir, tmp_path / "racketsports")
    ds = Dataset.open(tmp_path / "racketsports")
    # A real fixed-length benchmark: the sample length bounds the window size.
    assert ds.admissible_window_range() == (1, 30)
    data = ds.windows(WindowConfig(window_size=30, overlap=15))
    # 151 + 152 samples of 30 steps x 6 channels, 4 classes: one window per sample.
    assert data.X.shape == (303, 30, 6) and data.n_classes == 4
    assert not set(data.groups[data.split.train]) & set(data.groups[data.split.test])
    # Every class is in every split (the groups, one per sample, allow it).
    assert all(min(data.class_counts(s).values()) > 0 for s in ("train", "val", "test"))
    # Shorter windows: starts 0 and 10 (the last full window) in each 30-step sample.
    assert ds.windows(WindowConfig(window_size=20, overlap=10)).X.shape == (606, 20, 6)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("".join(f'[groups."clip{i}"]\nplayer = "p{i // 2}"\ngroup = "v{i // 4}"\n'
                 for i in range(8)), "player"),
        ("".join(f'[groups."clip{i}"]\ngroup = "v{i % 4}"\n' for i in range(8)), "group"),
        ('[groups."clip0"]\nplayer = "p0"\n', "clip"),
    ],
)
def test_dataset_default_split_groups_by_the_strongest_key(
    tmp_path: Path, toml: str, expected: str
) -> None:
    clips = {f"clip{i}": (300, 30.0, STROKES) for i in range(8)}
    folder = make_clip_folder(tmp_path / "d", clips, groups_toml=toml)
    dataset = Dataset.open(folder)
    # player where every clip names one, else the import's group, else clip.
    assert dataset.split_config.group_by == expected
    data = dataset.windows(SMALL)
    parts = [set(data.groups[getattr(data.split, s)]) for s in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_dataset_mirror_augmentation_adds_mirrored_training_windows_only(clip_dir: Path) -> None:
    dataset = Dataset.open(clip_dir)
    plain = dataset.windows(SMALL)
    augmented = dataset.windows(SMALL, FeatureConfig(mirror_augmentation=True))
    n = len(plain.y)
    # Every training window gains a mirrored copy with the same label and group; validation
    # and test are the same windows as without augmentation.
    assert len(augmented.y) == 2 * n and augmented.augmented.sum() == n
    assert len(augmented.split.train) == 2 * len(plain.split.train)
    assert np.array_equal(augmented.split.val, plain.split.val)
    assert np.array_equal(augmented.split.test, plain.split.test)
    assert not augmented.augmented[np.concatenate([augmented.split.val, augmented.split.test])].any()
    copies = augmented.split.train[augmented.split.train >= n]
    assert np.array_equal(augmented.y[copies], augmented.y[copies - n])
    assert not np.allclose(augmented.X[copies], augmented.X[copies - n])
    # The cache round-trips the augmented flags.
    again = Dataset.open(clip_dir).windows(SMALL, FeatureConfig(mirror_augmentation=True))
    assert np.array_equal(again.augmented, augmented.augmented)
    # Grouped folds never validate on a mirrored copy.
    for train, val in dataset.group_folds(2, 0, augmented):
        assert not augmented.augmented[val].any() and augmented.augmented[train].any()
    # Validation rotations move copies with their originals and never validate on one.
    for rotation in validation_rotations(augmented, seed=0):
        train, val = rotation.split.train, rotation.split.val
        assert not augmented.augmented[val].any()
        assert np.array_equal(np.sort(train[train >= n] - n), train[train < n])
