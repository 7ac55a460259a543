"""import-keypoints: other estimators' CSVs -> clip folder; NPZ and .ts -> sequences.npz."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.__main__ import main
from data_pipeline.annotations import load_annotations
from data_pipeline.annotations import videos_from_poses
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import DataError
from data_pipeline.groups import load_groups
from data_pipeline.import_keypoints import import_keypoint_csvs
from data_pipeline.import_keypoints import landmark_of
from data_pipeline.import_sequences import import_npz
from data_pipeline.import_sequences import import_ts
from data_pipeline.import_sequences import read_ts
from data_pipeline.import_sequences import write_sequences
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.pose_cache import load_pose_clip

COCO_17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _coco_rows(n_frames: int, *, seed: int, label: str | None = None) -> list[dict[str, object]]:
    """COCO-17 keypoints (x, y, score) moving smoothly, plus an unmapped ``neck``."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.8, size=(len(COCO_17), 2))
    rows = []
    for t in range(n_frames):
        row: dict[str, object] = {"frame": t}
        for k, name in enumerate(COCO_17):
            x, y = base[k] + 0.05 * np.sin(0.3 * t + k)
            row.update({f"{name}_x": f"{x:.4f}", f"{name}_y": f"{y:.4f}", f"{name}_score": 0.9})
        row.update(neck_x=0.5, neck_y=0.3)
        if label is not None:
            row["label"] = label
        rows.append(row)
    return rows


@pytest.mark.parametrize(
    ("keypoint", "landmark"),
    [
        ("left_wrist", "left_wrist"),  # COCO-17 / MoveNet names are MediaPipe names
        ("leftWrist", "left_wrist"),  # TF.js MoveNet camelCase
        ("Right Ankle", "right_ankle"),
        ("left_big_toe", "left_foot_index"),  # alias
        ("nose", "nose"),
    ],
)
def test_landmark_of_maps_estimator_names(keypoint: str, landmark: str) -> None:
    # Each spelling lands on the MediaPipe index of the same body point.
    assert landmark_of(keypoint) == LANDMARK_INDEX[landmark]


def test_landmark_of_unknown_keypoint_is_none() -> None:
    # OpenPose's neck has no MediaPipe counterpart.
    assert landmark_of("neck") is None


def test_import_keypoint_csvs_maps_coco_and_masks_what_is_missing(tmp_path: Path) -> None:
    rows = _coco_rows(6, seed=1)
    rows[2]["left_wrist_x"] = ""  # left wrist lost in frame 2
    for name in COCO_17:  # nobody in frame 4
        rows[4][f"{name}_x"] = rows[4][f"{name}_y"] = "nan"
    _write_csv(tmp_path / "src" / "ana" / "forehand_01.csv", rows)
    result = import_keypoint_csvs(tmp_path / "src", tmp_path / "out", fps=25.0)
    clip = load_pose_clip(tmp_path / "out" / "poses" / "ana__forehand_01.npz")
    wrist, heel = LANDMARK_INDEX["left_wrist"], LANDMARK_INDEX["left_heel"]
    # Coordinates and scores land on the MediaPipe indices; z defaults to 0.
    assert clip.landmarks[0, wrist, 0] == pytest.approx(float(rows[0]["left_wrist_x"]))
    assert clip.landmarks[0, wrist, 1] == pytest.approx(float(rows[0]["left_wrist_y"]))
    assert clip.landmarks[0, wrist].tolist()[2:] == pytest.approx([0.0, 0.9])
    # A missing keypoint in one frame: all zeros with visibility 0, the frame stays valid.
    assert clip.landmarks[2, wrist].tolist() == [0.0, 0.0, 0.0, 0.0] and clip.mask[2]
    # A landmark COCO does not have (heel) is missing everywhere; a frame with nothing is masked.
    assert not clip.landmarks[:, heel].any()
    assert clip.mask.tolist() == [True, True, True, True, False, True]
    assert clip.fps == 25.0 and clip.meta["csv"] == "ana/forehand_01.csv"
    # The unmapped neck is reported, not silently dropped.
    assert result.ignored_columns == ("neck",)


def test_import_keypoint_csvs_labels_from_name_or_column(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write_csv(src / "p1" / "backhand_003.csv", _coco_rows(12, seed=2))
    rows = _coco_rows(12, seed=3)
    for t, row in enumerate(rows):
        row["label"] = "forehand" if 2 <= t < 5 else "serve" if t >= 8 else ""
    _write_csv(src / "p2" / "rally.csv", rows)
    out = tmp_path / "out"
    import_keypoint_csvs(src, out)
    clips = load_annotations(out / "annotations", videos=videos_from_poses(out / "poses"))
    segments = {c.video: [(s.cls, s.start, s.end) for s in c.segments] for c in clips}
    # File name without its number labels the whole clip; a label column gives one segment
    # per run of a label (frames [start, end) of the clip).
    assert segments == {
        "p1__backhand_003": [("backhand", 0, 12)],
        "p2__rally": [("fronthand", 2, 5), ("serve", 8, 12)],
    }
    groups = load_groups(out / "groups.toml")
    # The parent folder is each clip's group.
    assert groups.get("p1__backhand_003", "group") == "p1"
    assert groups.get("p2__rally", "group") == "p2"


def test_import_keypoint_csvs_end_to_end_into_grouped_windows(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for player in range(6):
        for k, label in enumerate(("forehand", "backhand")):
            _write_csv(src / f"player{player}" / f"{label}_{k}.csv", _coco_rows(40, seed=player))
    import_keypoint_csvs(src, tmp_path / "out", fps=30.0)
    dataset = Dataset.open(tmp_path / "out", split=SplitConfig(group_by="group", seed=0))
    data = dataset.windows(WindowConfig(window_size=15, overlap=5))
    # The downstream path runs unchanged: 60 features of the default 15 landmarks, 2 classes
    # named as the data names them (the import's labels.toml maps each label to itself).
    assert data.X.shape[1:] == (15, 60)
    assert data.class_names == ("backhand", "forehand")
    # No player (folder) appears in two splits.
    players = [set(data.groups[getattr(data.split, s)]) for s in ("train", "val", "test")]
    assert all(players) and not (players[0] & players[1] or players[0] & players[2])


def test_import_keypoint_csvs_pixels_need_the_image_size(tmp_path: Path) -> None:
    rows = _coco_rows(3, seed=4)
    for row in rows:
        for name in COCO_17:
            row[f"{name}_x"] = float(row[f"{name}_x"]) * 1920
            row[f"{name}_y"] = float(row[f"{name}_y"]) * 1080
    _write_csv(tmp_path / "src" / "g" / "serve_1.csv", rows)
    with pytest.raises(DataError, match="look like pixels; pass --image-size"):
        import_keypoint_csvs(tmp_path / "src", tmp_path / "out")
    # Nothing was written for the rejected file.
    assert not (tmp_path / "out" / "poses").exists()
    import_keypoint_csvs(tmp_path / "src", tmp_path / "out", image_size=(1920, 1080))
    clip = load_pose_clip(tmp_path / "out" / "poses" / "g__serve_1.npz")
    assert clip.landmarks[0, 0, 0] == pytest.approx(float(rows[0]["nose_x"]) / 1920)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("abc", r"forehand_1.csv:3: 'abc' in column \d+ is not a number"), (None, "no data rows")],
)
def test_import_keypoint_csvs_rejects_bad_files(tmp_path: Path, cell, message: str) -> None:
    rows = _coco_rows(3, seed=5)
    if cell is None:
        rows = rows[:0]
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "forehand_1.csv").write_text("nose_x,nose_y\n")
    else:
        rows[1]["nose_y"] = cell
        _write_csv(tmp_path / "src" / "forehand_1.csv", rows)
    with pytest.raises(DataError, match=message):
        import_keypoint_csvs(tmp_path / "src", tmp_path / "out")


def test_import_ts_racketsports_end_to_end(racketsports_dir: Path, tmp_path: Path) -> None:
    path = import_ts(racketsports_dir, tmp_path / "rs", fps=10.0)
    with np.load(path) as data:
        X, y, groups, source = data["X"], data["y"], data["groups"], data["source_split"]
        fps = float(data["fps"])
    # TRAIN (151) and TEST (152) samples of 30 steps x 6 channels (SOURCE.md).
    assert X.shape == (303, 30, 6) and fps == 10.0
    assert (source == "train").sum() == 151 and (source == "test").sum() == 152
    assert dict(zip(*np.unique(y[source == "test"], return_counts=True))) == {
        "Badminton_Clear": 43, "Badminton_Smash": 40,
        "Squash_BackhandBoast": 34, "Squash_ForehandBoast": 35,
    }  # fmt: skip
    # Every sample is its own group, and TRAIN and TEST groups never collide.
    assert len(set(groups)) == 303
    dataset = Dataset.open(tmp_path / "rs")
    # 3 s at 10 Hz = 90 reference frames at 30 fps: windows up to 90 are admissible.
    assert dataset.admissible_window_range() == (1, 90)
    data = dataset.windows(WindowConfig(window_size=45, overlap=15))
    assert data.X.shape[1:] == (45, 6) and data.n_classes == 4
    assert np.isfinite(data.X).all()
    parts = [set(data.groups[getattr(data.split, s)]) for s in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_read_ts_names_the_line_of_a_malformed_sample(tmp_path: Path) -> None:
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_text(
        "# toy\n@problemName Toy\n@dimensions 2\n@seriesLength 3\n@classLabel true a b\n@data\n"
        "1,2,3:4,5,6:a\n1,2,3:b\n"
    )
    # Line 8 has one dimension where the header declares two.
    with pytest.raises(DataError, match=r"Toy_TRAIN.ts:8: 1 dimensions, but @dimensions says 2"):
        read_ts(path)
    path.write_text("@dimensions 1\n@classLabel true a b\n@data\n1,?,3:a\n4,5,6:b\n")
    X, labels = read_ts(path)
    # '?' is a missing value (NaN); labels come last on each line.
    assert X.shape == (2, 3, 1) and np.isnan(X[0, 1, 0]) and labels == ["a", "b"]


def test_import_npz_keeps_groups_and_feature_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 20, 3))
    X[0, 5] = np.nan  # one missing frame is allowed
    source = tmp_path / "seq.npz"
    np.savez(source, X=X, y=np.array([0, 1] * 4), groups=np.array(["a", "b"] * 4),
             feature_names=np.array(["ax", "ay", "az"]))  # fmt: skip
    path = import_npz(source, tmp_path / "out", fps=50.0)
    with np.load(path) as data:
        # Labels become strings; groups, names and the flag's fps are kept.
        assert data["y"].tolist() == ["0", "1"] * 4
        assert data["groups"].tolist() == ["a", "b"] * 4
        assert data["feature_names"].tolist() == ["ax", "ay", "az"]
        assert float(data["fps"]) == 50.0 and np.isnan(data["X"][0, 5]).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X": np.zeros((4, 5))}, r"X must be a non-empty numeric array \[N, T, F\]"),
        ({"y": ["a", "b", "a"]}, r"y must have one entry per sample \(4\)"),
        ({"y": ["a"] * 4}, "needs at least 2 classes"),
        ({"groups": ["g"] * 3}, r"groups must have one entry per sample \(4\)"),
        ({"feature_names": ["f"]}, r"one name per feature \(2\)"),
        ({"X": np.full((4, 5, 2), np.inf)}, "infinite values"),
        ({"X": np.stack([np.full((5, 2), np.nan)] + [np.ones((5, 2))] * 3)}, "no complete frame"),
        ({"fps": 0.0}, "fps must be positive"),
    ],
)
def test_write_sequences_rejects_invalid_arrays(
    tmp_path: Path, change: dict, message: str
) -> None:
    arrays = {"X": np.ones((4, 5, 2)), "y": ["a", "b", "a", "b"], **change}
    X, y = arrays.pop("X"), arrays.pop("y")
    with pytest.raises(DataError, match=message):
        write_sequences(tmp_path, X, y, **arrays)
    # Nothing is written for invalid input.
    assert not (tmp_path / "sequences.npz").exists()


def test_import_keypoints_command(
    racketsports_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The format is guessed from the .ts files; the summary names what was written.
    assert main(["import-keypoints", "--src", str(racketsports_dir), "--out", str(tmp_path)]) == 0
    assert "303 samples x 30 steps x 6 features, 4 classes" in capsys.readouterr().out
    # A folder with nothing to import: exit 2 with one line and no traceback.
    code = main(["import-keypoints", "--src", str(tmp_path / "none"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_import_keypoints_labels_become_the_classes_through_labels_toml(tmp_path: Path) -> None:
    _write_csv(tmp_path / "src" / "g" / "smash_1.csv", _coco_rows(4, seed=6))
    import_keypoint_csvs(tmp_path / "src", tmp_path / "out")
    # Raw labels keep their spelling in the annotations; the import's labels.toml maps each to
    # itself, so the folder opens without any mapping in the code.
    assert (tmp_path / "out" / "labels.toml").read_text().count('"smash" = "smash"') == 1
    assert Dataset.open(tmp_path / "out").class_names == ("smash",)
    # Without labels.toml the Label Studio mapping applies and names the file to create.
    (tmp_path / "out" / "labels.toml").unlink()
    with pytest.raises(DataError, match=r"unknown label 'smash'.*create .*out/labels.toml"):
        Dataset.open(tmp_path / "out")


