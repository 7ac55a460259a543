"""Pose extraction with the real MediaPipe PoseLandmarker and the real model bundle."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.__main__ import main
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.extract import extract_video
from data_pipeline.extract import extract_videos
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.pose_cache import read_pose_meta
from data_pipeline.pose_cache import save_pose_clip
from data_pipeline.pose_model import ENV_VAR
from data_pipeline.pose_model import OFFICIAL_SHA256
from data_pipeline.pose_model import ensure_official_model
from data_pipeline.pose_model import file_sha256
from data_pipeline.pose_model import resolve_pose_model
from tests.data_pipeline_tests.videos import FACE_BOX
from tests.data_pipeline_tests.videos import NOSE
from tests.data_pipeline_tests.videos import write_astronaut_video
from tests.data_pipeline_tests.videos import write_blank_video
from tests.data_pipeline_tests.videos import write_corrupt_video

N_FRAMES = 30


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory: pytest.TempPathFactory, pose_model_path: Path) -> dict:
    """The panning astronaut video (25 fps), extracted once for the module."""
    root = tmp_path_factory.mktemp("astronaut")
    video = root / "astronaut.mp4"
    shifts = write_astronaut_video(video, n_frames=N_FRAMES, fps=25.0)
    cache = root / "poses" / "astronaut.npz"
    clip = extract_video(video, cache, pose_model=pose_model_path)
    return {"video": video, "cache": cache, "clip": clip, "shifts": shifts}


def _pixels(clip, name: str, shifts: np.ndarray) -> np.ndarray:
    """``[T, 2]`` pixel position of landmark ``name`` in the *unshifted* photograph."""
    xy = clip.landmarks[:, LANDMARK_INDEX[name], :2] * 512.0
    return xy - shifts


def test_extract_video_detects_33_landmarks_in_every_frame(astronaut: dict) -> None:
    clip = astronaut["clip"]
    # One pose with all 33 x (x, y, z, visibility) per frame of the video, none masked.
    assert clip.landmarks.shape == (N_FRAMES, 33, 4)
    assert clip.landmarks.dtype == np.float32
    assert clip.mask.all()
    # The head and shoulders are in plain view.
    for name in ("nose", "left_shoulder", "right_shoulder"):
        assert clip.landmarks[:, LANDMARK_INDEX[name], 3].min() > 0.9, name


def test_extract_video_landmarks_match_the_photograph(astronaut: dict) -> None:
    clip, shifts = astronaut["clip"], astronaut["shifts"]
    nose = _pixels(clip, "nose", shifts)
    x0, y0, x1, y1 = FACE_BOX
    # The nose lies inside the face in every frame, within 12 px of the measured nose tip.
    assert ((nose[:, 0] > x0) & (nose[:, 0] < x1) & (nose[:, 1] > y0) & (nose[:, 1] < y1)).all()
    assert np.abs(nose - np.array(NOSE)).max() < 12.0
    left, right = _pixels(clip, "left_shoulder", shifts), _pixels(clip, "right_shoulder", shifts)
    # She faces the camera: her left shoulder is on the image's right, her right on its left.
    assert (left[:, 0] > nose[:, 0] + 40).all() and (right[:, 0] < nose[:, 0] - 40).all()
    # Both shoulders are well below the nose, the eyes above it.
    assert (left[:, 1] > nose[:, 1] + 60).all() and (right[:, 1] > nose[:, 1] + 60).all()
    for eye in ("left_eye", "right_eye"):
        assert (_pixels(clip, eye, shifts)[:, 1] < nose[:, 1]).all()


def test_extract_video_landmarks_follow_the_pan(astronaut: dict) -> None:
    clip, shifts = astronaut["clip"], astronaut["shifts"]
    raw = clip.landmarks[:, LANDMARK_INDEX["nose"], :2] * 512.0
    # The nose moves with the picture: after removing the pan it stays within 3 px of its mean.
    assert np.ptp(raw[:, 0]) > 40
    residual = _pixels(clip, "nose", shifts)
    assert residual.std(axis=0).max() < 3.0


def test_extract_video_records_provenance(astronaut: dict, pose_model_path: Path) -> None:
    meta = read_pose_meta(astronaut["cache"])
    # The cache says what it was made from: video and model hashes, fps, frames, versions.
    assert meta["fps"] == pytest.approx(25.0)
    assert meta["n_frames"] == N_FRAMES
    assert meta["video_sha256"] == file_sha256(astronaut["video"])
    assert meta["model_sha256"] == file_sha256(pose_model_path)
    assert int(meta["mediapipe_version"].split(".")[0]) >= 1
    assert meta["settings"]["running_mode"] == "VIDEO"
    assert meta["settings"]["min_pose_detection_confidence"] == 0.5


def test_extract_video_reuses_a_current_cache(astronaut: dict, pose_model_path: Path) -> None:
    cache = astronaut["cache"]
    before = cache.stat().st_mtime_ns
    clip = extract_video(astronaut["video"], cache, pose_model=pose_model_path)
    # The second call reads the cache: the file is untouched and the poses are the same.
    assert cache.stat().st_mtime_ns == before
    np.testing.assert_array_equal(clip.landmarks, astronaut["clip"].landmarks)


def test_extract_video_reextracts_when_the_model_changes(
    astronaut: dict, pose_model_path: Path, tmp_path: Path
) -> None:
    # Same weights, different bytes (a zip tolerates trailing bytes): another model hash.
    other_model = tmp_path / "other.task"
    shutil.copyfile(pose_model_path, other_model)
    with other_model.open("ab") as handle:
        handle.write(b"another bundle")
    cache = tmp_path / "astronaut.npz"
    shutil.copyfile(astronaut["cache"], cache)
    os.utime(cache, ns=(1, 1))
    clip = extract_video(astronaut["video"], cache, pose_model=other_model)
    # The cache was rewritten for the new model, with the same detections.
    assert cache.stat().st_mtime_ns != 1
    assert read_pose_meta(cache)["model_sha256"] == file_sha256(other_model)
    np.testing.assert_allclose(clip.landmarks, astronaut["clip"].landmarks, atol=1e-5)


def test_extract_video_reextracts_when_the_settings_differ(
    astronaut: dict, pose_model_path: Path, tmp_path: Path
) -> None:
    stale = load_pose_clip(astronaut["cache"])
    cache = tmp_path / "astronaut.npz"
    meta = {**stale.meta, "settings": {**stale.meta["settings"], "min_tracking_confidence": 0.9}}
    save_pose_clip(cache, PoseClip(stale.landmarks * 0, stale.mask, stale.fps, meta))
    clip = extract_video(astronaut["video"], cache, pose_model=pose_model_path)
    # A cache made with other settings is not trusted: the poses are extracted again.
    assert read_pose_meta(cache)["settings"] == astronaut["clip"].meta["settings"]
    assert clip.landmarks.any()


def test_extract_command_reports_bad_videos_and_finishes_the_good_one(
    tmp_path: Path, pose_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos, annotations, out = tmp_path / "videos", tmp_path / "labels", tmp_path / "data"
    write_astronaut_video(videos / "good.mp4", n_frames=8)
    write_blank_video(videos / "blank.mp4")
    write_corrupt_video(videos / "corrupt.MP4")
    annotations.mkdir()
    (annotations / "export.json").write_text(json.dumps([{"data": {"video": "good.mp4"}}]))
    # A pose file left from an earlier, different blank.mp4 no longer describes the video.
    stale = PoseClip(np.zeros((2, 33, 4), np.float32), np.ones(2, bool), 30.0, {})
    save_pose_clip(out / "poses" / "blank.npz", stale)
    argv = ["extract", "--videos", str(videos), "--annotations", str(annotations), "--out",
            str(out), "--pose-model", str(pose_model_path)]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    # Non-zero exit; each bad video is named with its reason; the good one is extracted; no
    # partial or stale pose file is left.
    assert code == 1
    assert "blank: video blank.mp4: no pose detected in any of its 10 frames" in err
    assert "corrupt: video corrupt.MP4 cannot be opened or decoded" in err
    assert sorted(p.name for p in (out / "poses").iterdir()) == ["good.npz"]
    assert load_pose_clip(out / "poses" / "good.npz").mask.all()
    # The annotations are copied, so OUT is a data folder.
    assert (out / "annotations" / "export.json").read_bytes() == (
        annotations / "export.json"
    ).read_bytes()


def test_extract_videos_in_parallel_workers(tmp_path: Path, pose_model_path: Path) -> None:
    videos, annotations = tmp_path / "videos", tmp_path / "labels"
    write_astronaut_video(videos / "a.mp4", n_frames=6)
    write_astronaut_video(videos / "b.mp4", n_frames=6, step=(-2, 0))
    write_blank_video(videos / "c.mp4", n_frames=4)
    annotations.mkdir()
    (annotations / "a.json").write_text("[]")
    report = extract_videos(
        videos, annotations, tmp_path / "out", pose_model=pose_model_path, workers=2
    )
    # Two worker processes: both good videos extracted, the blank one reported, none lost.
    assert sorted(report.extracted) == ["a", "b"]
    assert list(report.failed) == ["c"]
    again = extract_videos(
        videos, annotations, tmp_path / "out", pose_model=pose_model_path, workers=2
    )
    # A second run reuses both caches and retries only the failed video.
    assert sorted(again.reused) == ["a", "b"] and list(again.failed) == ["c"]


def test_extract_video_rejects_a_file_that_is_no_model(astronaut: dict, tmp_path: Path) -> None:
    fake = tmp_path / "fake.task"
    fake.write_text("not a model bundle")
    # An unusable bundle is a configuration error naming the file, not a crash per video.
    with pytest.raises(ConfigError, match="fake.task cannot be loaded"):
        extract_video(astronaut["video"], tmp_path / "x.npz", pose_model=fake)
    assert not (tmp_path / "x.npz").exists()


def test_extract_command_without_videos_exits_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "videos").mkdir()
    code = main(["extract", "--videos", str(tmp_path / "videos"), "--annotations",
                 str(tmp_path), "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    # A usage error: exit 2, one line naming the folder, no traceback.
    assert code == 2
    assert err.count("\n") == 1 and "holds no video" in err and "Traceback" not in err


def test_resolve_pose_model_prefers_flag_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag, env = tmp_path / "flag.task", tmp_path / "env.task"
    flag.write_bytes(b"a")
    env.write_bytes(b"b")
    monkeypatch.setenv(ENV_VAR, str(env))
    # --pose-model wins over POSE_LANDMARKER_MODEL, which wins over the user cache.
    assert resolve_pose_model(flag) == flag
    assert resolve_pose_model(None) == env
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.task"))
    with pytest.raises(ConfigError, match="POSE_LANDMARKER_MODEL points to .*missing.task"):
        resolve_pose_model(None)


def test_resolve_pose_model_uses_the_checked_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = tmp_path / "stroke-search" / "pose_landmarker_full.task"
    cached.parent.mkdir()
    cached.write_bytes(b"tampered")
    # A cached official bundle with the wrong hash is refused, never silently replaced.
    with pytest.raises(ConfigError, match="has sha256 .* expected " + OFFICIAL_SHA256):
        resolve_pose_model(None)
    assert cached.read_bytes() == b"tampered"


def test_ensure_official_model_downloads_once_and_verifies(tmp_path: Path) -> None:
    source = tmp_path / "published.task"
    source.write_bytes(b"model bytes" * 1000)
    digest = file_sha256(source)
    target = tmp_path / "cache" / "model.task"
    # A file:// URL stands in for the download server (tests never touch the network).
    assert ensure_official_model(target, url=source.as_uri(), sha256=digest) == target
    assert target.read_bytes() == source.read_bytes()
    source.unlink()
    # The second call uses the verified copy and does not download again.
    assert ensure_official_model(target, url=source.as_uri(), sha256=digest) == target


def test_ensure_official_model_keeps_nothing_of_a_bad_download(tmp_path: Path) -> None:
    source = tmp_path / "published.task"
    source.write_bytes(b"corrupted in transit")
    target = tmp_path / "cache" / "model.task"
    with pytest.raises(DataError, match="has sha256 .*nothing was saved"):
        ensure_official_model(target, url=source.as_uri(), sha256="0" * 64)
    with pytest.raises(DataError, match="could not download"):
        ensure_official_model(target, url=(tmp_path / "gone").as_uri(), sha256="0" * 64)
    # Neither the final file nor a temporary one is left behind.
    assert list(target.parent.iterdir()) == []
