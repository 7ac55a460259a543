"""The synthetic tennis generator: format, determinism, realism and the difficulty knob."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tomllib

from data_pipeline.annotations import load_annotations
from data_pipeline.annotations import videos_from_poses
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.synthetic import ensure_default_dataset
from data_pipeline.synthetic import generate_dataset
from data_pipeline.synthetic.body import sample_players
from data_pipeline.synthetic.plot import main as plot_main
from data_pipeline.synthetic.plot import stroke_frames
from data_pipeline.synthetic.timeline import StrokeEvent
from data_pipeline.synthetic.timeline import simulate_clip

RAW_LABELS = {"Fronthand", "Backhand", "saque", "slice direita", "slice esquerda"}


def _clips(folder: Path) -> dict[str, object]:
    return {path.stem: load_pose_clip(path) for path in sorted((folder / "poses").glob("*.npz"))}


def _annotations(folder: Path) -> dict[str, list]:
    videos = videos_from_poses(folder / "poses")
    return {a.video: a.segments for a in load_annotations(folder / "annotations", videos=videos)}


def test_generate_dataset_same_seed_is_byte_identical(tmp_path: Path) -> None:
    first = generate_dataset(tmp_path / "a", seed=3, n_clips=3)
    second = generate_dataset(tmp_path / "b", seed=3, n_clips=3)
    other = generate_dataset(tmp_path / "c", seed=4, n_clips=3)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    data_files = [p for p in files if p.name != "dataset.json"]
    # Poses, both annotation export shapes and groups.toml are written.
    assert {p.parts[0] for p in data_files} == {"poses", "annotations", "groups.toml"}
    # Every data file is byte-identical for the same seed.
    for rel in data_files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    info = [json.loads((d / "dataset.json").read_text()) for d in (first, second, other)]
    # The recorded fingerprint is the Dataset's fingerprint, equal for equal seeds only.
    assert info[0]["fingerprint"] == info[1]["fingerprint"] == Dataset.open(first).fingerprint
    assert info[2]["fingerprint"] != info[0]["fingerprint"]
    assert info[0]["seed"] == 3 and info[0]["generator_version"] and info[0]["generated_at"]


def test_generate_dataset_pose_files_read_back_like_extracted_ones(small_synthetic_dir: Path) -> None:
    clips = _clips(small_synthetic_dir)
    assert len(clips) == 12
    for stem, clip in clips.items():
        # Provenance fields the extraction path writes.
        assert clip.meta["video"] == f"{stem}.mp4" and clip.meta["model_sha256"] == "synthetic"
        assert clip.meta["mediapipe_version"] == "synthetic" and len(clip.meta["video_sha256"]) == 64
        assert clip.meta["settings"]["seed"] == 7
        # No NaN anywhere; dropped detections are masked and all zero.
        assert np.isfinite(clip.landmarks).all()
        assert 0 < (~clip.mask).sum() < 0.2 * clip.n_frames
        assert not clip.landmarks[~clip.mask].any()
        # MediaPipe-like channels: image coordinates around the frame, visibility in [0, 1],
        # lowered for some landmarks (occlusion).
        seen = clip.landmarks[clip.mask]
        assert 0.0 < np.median(seen[..., 0]) < 1.0 and 0.0 < np.median(seen[..., 1]) < 1.0
        assert seen[..., 3].min() >= 0.0 and seen[..., 3].max() <= 1.0
        assert (seen[..., 3] < 0.7).mean() > 0.001


def test_generate_dataset_annotations_parse_with_the_real_parser(small_synthetic_dir: Path) -> None:
    clips = _clips(small_synthetic_dir)
    annotations = _annotations(small_synthetic_dir)
    # Every clip is annotated, video names resolved despite the export's different case.
    assert set(annotations) == set(clips)
    exported = json.loads((small_synthetic_dir / "annotations" / "project-1-export.json").read_text())
    assert any("MP4" in task["data"]["video"] for task in exported)
    required = {"saque", "Backhand", "slice direita", "slice esquerda"}  # timeline.REQUIRED_SHOTS
    for stem, segments in annotations.items():
        # Every clip holds the required shots' raw labels, inside the video; the data holds all.
        assert required <= {s.label for s in segments}
        assert all(0 <= s.start < s.end <= clips[stem].n_frames for s in segments)
    assert {s.label for segments in annotations.values() for s in segments} == RAW_LABELS


def test_generate_dataset_every_class_in_every_split(small_synthetic_dir: Path) -> None:
    data = Dataset.open(small_synthetic_dir, cache_dir=small_synthetic_dir / "cache").windows(
        WindowConfig(window_size=45, overlap=15)
    )
    assert data.class_names == ("backhand", "fronthand", "serve")
    for split in ("train", "val", "test"):
        # A grouped split of 12 clips keeps every class in every split.
        assert min(data.class_counts(split).values()) > 0, (split, data.class_counts(split))


def test_generate_dataset_fps_and_handedness_variety(small_synthetic_dir: Path) -> None:
    clips = _clips(small_synthetic_dir)
    # The users' camera frame rates all occur.
    assert {clip.fps for clip in clips.values()} == {25.0, 30.0, 50.0, 60.0}
    groups = tomllib.loads((small_synthetic_dir / "groups.toml").read_text())["groups"]
    assert set(groups) == set(clips)
    # Left- and right-handed players, several players and camera viewpoints.
    assert {g["handedness"] for g in groups.values()} == {"left", "right"}
    assert len({g["player"] for g in groups.values()}) == 6  # two clips per player
    assert len({g["camera"] for g in groups.values()}) >= 2


def test_generate_dataset_left_handers_swing_the_other_way(tmp_path: Path) -> None:
    # Difficulty 0: every camera behind and no left/right swaps, so the wrist is the wrist.
    folder = generate_dataset(tmp_path / "clean", seed=7, n_clips=8, difficulty=0.0)
    clips = _clips(folder)
    groups = tomllib.loads((folder / "groups.toml").read_text())["groups"]
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    swings = {}
    for stem, segments in _annotations(folder).items():
        if groups[stem]["camera"] != "behind":
            continue
        clip, hand = clips[stem], groups[stem]["handedness"]
        moves = []
        for s in (s for s in segments if s.label == "Fronthand"):
            seen = clip.landmarks[s.start : s.end][clip.mask[s.start : s.end]]
            x = seen[:, LANDMARK_INDEX[f"{hand}_wrist"], 0] - seen[:, hips, 0].mean(axis=1)
            moves.append(x[int(0.75 * len(x)) :].mean() - x[: int(0.4 * len(x))].mean())
        if moves:  # a short clip may hold no forehand (its required shots are the others)
            swings[stem] = (hand, float(np.median(moves)))
    # Seen from behind, a right-hander's forehand swings the racket hand from right to left
    # (image x falls), a left-hander's from left to right: handedness is in the data.
    assert {hand for hand, _ in swings.values()} == {"left", "right"}
    for stem, (hand, move) in swings.items():
        assert (move > 0) == (hand == "left"), (stem, hand, move)


def test_generate_dataset_durations_and_class_balance(small_synthetic_dir: Path) -> None:
    clips = _clips(small_synthetic_dir)
    lengths: dict[str, list[float]] = {}
    gaps = []
    for stem, segments in _annotations(small_synthetic_dir).items():
        scale = 30.0 / clips[stem].fps
        for s in segments:
            lengths.setdefault(s.cls, []).append(s.length * scale)
        gaps += [(b.start - a.end) * scale for a, b in itertools.pairwise(segments)]
    everything = np.concatenate([np.array(v) for v in lengths.values()])
    # Tennis strokes: 8-59 frames at 30 fps, groundstrokes median ~20, serves ~50,
    # gaps median ~30 frames; fronthand >> backhand >> serve.
    assert everything.min() >= 7.5 and everything.max() <= 60
    assert 16 <= np.median(lengths["fronthand"] + lengths["backhand"]) <= 26
    assert 42 <= np.median(lengths["serve"]) <= 56
    assert 24 <= np.median(gaps) <= 45 and min(gaps) > 0
    counts = {cls: len(v) for cls, v in lengths.items()}
    # Groundstrokes dominate; each short clip keeps its required serves and backhand-side shots
    # (timeline.REQUIRED_SHOTS), so serves and backhands are a larger share than in match video.
    assert counts["fronthand"] + counts["backhand"] > 2 * counts["serve"]
    assert min(counts["fronthand"], counts["backhand"]) > counts["serve"]


def test_body_keeps_segment_lengths_and_strokes_have_their_shape() -> None:
    rng = np.random.default_rng(0)
    player = replace(sample_players(rng, 1)[0], handedness="right")
    events = [StrokeEvent("serve", "saque", 1.0, 2.7), StrokeEvent("forehand", "Fronthand", 4.0, 4.7)]
    points = simulate_clip(player, events, rng, n_frames=180, fps=30, difficulty=1.0)
    for a, b in (("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
                 ("left_hip", "left_knee"), ("left_knee", "left_ankle")):  # fmt: skip
        length = np.linalg.norm(points[:, LANDMARK_INDEX[a]] - points[:, LANDMARK_INDEX[b]], axis=-1)
        # Bones do not stretch (two-bone inverse kinematics keeps thigh and shin lengths).
        assert np.ptp(length) < 0.02 * player.height, (a, b)
    wrist_y = points[:, LANDMARK_INDEX["right_wrist"], 1]
    nose_y = points[:, LANDMARK_INDEX["nose"], 1]
    above_head = wrist_y - nose_y
    # At serve contact the racket arm reaches high above the head; a forehand finishes lower.
    assert above_head[30:85].max() > 0.2
    assert above_head[115:150].max() < above_head[30:85].max() - 0.1


@pytest.mark.parametrize("left", [False, True])
def test_strokes_swing_across_the_body_seen_from_behind(left: bool) -> None:
    wrist = LANDMARK_INDEX["left_wrist" if left else "right_wrist"]
    direction = {}
    for shot in ("forehand", "backhand"):
        frames = stroke_frames(shot, two_handed=True, view="behind", seed=1, left_handed=left)
        centre = frames[:, [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]], 0].mean(axis=1)
        offset = frames[:, wrist, 0] - centre
        # Preparation on one side of the body, follow-through on the other.
        direction[shot] = np.sign(offset[2]) - np.sign(offset[-2])
    # A right-hander's forehand swings right to left (image x falls), the backhand left to right;
    # a left-hander's mirror image does the opposite.
    sign = -1 if left else 1
    assert direction["forehand"] == 2 * sign and direction["backhand"] == -2 * sign


def test_difficulty_zero_is_clean_and_difficulty_adds_noise(tmp_path: Path) -> None:
    easy = _clips(generate_dataset(tmp_path / "easy", seed=5, n_clips=3, difficulty=0.0))
    hard = _clips(generate_dataset(tmp_path / "hard", seed=5, n_clips=3, difficulty=2.0))
    groups = tomllib.loads((tmp_path / "easy" / "groups.toml").read_text())["groups"]
    # Difficulty 0: filmed from behind, no dropped detections.
    assert {g["camera"] for g in groups.values()} == {"behind"}
    assert all(clip.mask.all() for clip in easy.values())

    def jitter(clip: object) -> float:
        nose = clip.landmarks[clip.mask, LANDMARK_INDEX["nose"], 0]
        return float(np.median(np.abs(np.diff(nose, 2))))

    # Higher difficulty: frame-to-frame jitter grows.
    assert np.median([jitter(c) for c in hard.values()]) > 2 * np.median([jitter(c) for c in easy.values()])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clips": 0}, r"--clips must be at least 1, but got n_clips=0"),
        ({"difficulty": -0.5}, r"--difficulty must be between 0 and 3.*difficulty=-0.5"),
        ({"difficulty": 3.5}, r"--difficulty must be between 0 and 3.*use 1 for the default"),
    ],
)
def test_generate_dataset_rejects_bad_settings(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        generate_dataset(tmp_path / "out", **kwargs)


def test_generate_dataset_refuses_a_foreign_folder_and_replaces_its_own(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    # A non-empty folder that is not a generated dataset is never overwritten.
    with pytest.raises(ConfigError, match=r"is not empty and holds no generated dataset.*--out"):
        generate_dataset(foreign, n_clips=1)
    with pytest.raises(DataError, match=r"holds no generated dataset.*--data"):
        ensure_default_dataset(foreign)
    own = generate_dataset(tmp_path / "own", seed=1, n_clips=3)
    generate_dataset(own, seed=1, n_clips=2)
    # Regenerating with fewer clips leaves no stale pose file behind.
    assert len(list((own / "poses").glob("*.npz"))) == 2 and len(_annotations(own)) == 2


@pytest.mark.slow
def test_ensure_default_dataset_generates_once_then_reuses(tmp_path: Path) -> None:
    target = tmp_path / "data" / "synthetic"
    assert ensure_default_dataset(target) == target
    info = json.loads((target / "dataset.json").read_text())
    # The default dataset: 60 clips, generated well within the 30 s budget.
    assert info["n_clips"] == 60 and info["generation_seconds"] < 30
    stamp = (target / "dataset.json").stat().st_mtime_ns
    ensure_default_dataset(target)
    # Second use: the same files, not regenerated.
    assert (target / "dataset.json").stat().st_mtime_ns == stamp
    (target / "groups.toml").write_text("# edited\n")
    ensure_default_dataset(target)
    # A modified file no longer matches the fingerprint: the dataset is regenerated.
    assert (target / "groups.toml").read_text().count("[groups.") == 60
    assert not list(tmp_path.joinpath("data").glob(".synthetic.*"))


def test_cli_synth_writes_a_dataset_and_reports_errors_in_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "data_pipeline", "synth", "--out", str(tmp_path / "s")]
    ok = subprocess.run(
        [*command, "--clips", "2", "--seed", "4"], check=False, capture_output=True, text=True
    )
    # Success: exit 0, one summary line naming the clip count.
    assert ok.returncode == 0, ok.stderr
    assert "2 clips" in ok.stdout and len(ok.stdout.strip().splitlines()) == 1
    bad = subprocess.run(
        [*command, "--difficulty", "9"], check=False, capture_output=True, text=True
    )
    # A user error: non-zero exit, one line on stderr, no traceback.
    assert bad.returncode != 0 and bad.stderr.startswith("error: --difficulty")
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "strokes.png"
    assert plot_main(["--out", str(out), "--view", "behind", "--left"]) == 0
    # A real PNG file with content.
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
