"""Stroke detection on new clips and videos (model.detection), with one tiny model per session."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.annotations import Segment
from data_pipeline.dataset import Dataset
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.pose_cache import save_pose_clip
from data_pipeline.resample import resample_clip
from model.artifacts import load_stroke_model
from model.detect import main
from model.detection import detect_clip
from model.detection.cli import detect_parser
from model.detection.matching import match_events
from tests.data_pipeline_tests.videos import write_astronaut_video
from tests.data_pipeline_tests.videos import write_blank_video
from tests.model_tests._detector import Detector


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_detect_clip_finds_the_strokes_of_a_held_out_clip(
    detector: Detector, dataset: Dataset
) -> None:
    model, settings = load_stroke_model(detector.path)
    info = dataset.clips[detector.test_clips[0]]
    detection = detect_clip(model, settings, load_pose_clip(info.path))
    strokes: list[Segment] = info.annotation.segments
    found = [e.frames(info.fps, info.n_frames) for e in detection.events]
    pairs = match_events(found, [(s.start, s.end) for s in strokes], iou=0.3)
    # most annotated strokes of a clip the model never saw are found, in time order, in the clip
    assert len(pairs) >= 0.5 * len(strokes)
    starts = [e.start_time for e in detection.events]
    assert starts == sorted(starts)
    assert all(0 <= e.start_time < e.end_time <= detection.duration for e in detection.events)
    assert {e.cls for e in detection.events} <= {"backhand", "fronthand", "serve"}


def test_detect_writes_json_csv_and_timeline_with_the_models_window(
    detector: Detector, dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    info = dataset.clips[detector.test_clips[0]]
    argv = [str(info.path), "--model", str(detector.path), "--out", str(tmp_path)]
    code, err = _run(argv, capsys)
    assert code == 0, err
    document = json.loads((tmp_path / "strokes.json").read_text())
    # window 30 / overlap 15 come from the model: the CLI has no flag to type them
    assert document["settings"]["window_size"] == 30
    assert document["settings"]["overlap"] == 15
    assert document["settings"]["reference_fps"] == 30.0
    assert document["settings"]["class_names"] == ["backhand", "fronthand", "neutral", "serve"]
    assert document["n_frames"] == info.n_frames and document["video_fps"] == info.fps
    events = document["events"]
    assert events and document["note"] is None
    # frames are the video's own frames, matching the times at the video's fps (halves up)
    for event in events:
        assert event["start_frame"] == math.floor(event["start_time"] * info.fps + 0.5)
        assert 0 <= event["start_frame"] < event["end_frame"] <= info.n_frames
    # counts cover every stroke class; the CSV holds the same events
    assert document["counts"] == {
        cls: sum(e["class"] == cls for e in events) for cls in ("backhand", "fronthand", "serve")
    }
    with (tmp_path / "strokes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["class"], int(r["start_frame"])) for r in rows] == [
        (e["class"], e["start_frame"]) for e in events
    ]
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_detect_parser_has_no_window_flags() -> None:
    # preprocessing settings are never re-typed: asking for them is a usage error
    for flag in ("--window-size", "--overlap", "--reference-fps"):
        with pytest.raises(SystemExit):
            detect_parser().parse_args(["clip.npz", flag, "45"])


def test_detect_clip_at_60_fps_matches_30_fps(detector: Detector, dataset: Dataset) -> None:
    model, settings = load_stroke_model(detector.path)
    info = next(i for i in dataset.clips.values() if i.fps == 30)
    clip30 = load_pose_clip(info.path)
    landmarks, mask = resample_clip(clip30.landmarks, clip30.mask, 30.0, 60.0)
    clip60 = PoseClip(landmarks=landmarks, mask=mask, fps=60.0)
    events30 = detect_clip(model, settings, clip30).events
    events60 = detect_clip(model, settings, clip60).events
    # the same strokes at the same times in seconds, at twice the frame numbers
    assert events30
    assert [e.cls for e in events60] == [e.cls for e in events30]
    for a, b in zip(events30, events60):
        assert b.start_time == pytest.approx(a.start_time, abs=1 / 30)
        assert b.end_time == pytest.approx(a.end_time, abs=1 / 30)
        assert abs(b.frames(60.0)[0] - 2 * a.frames(30.0)[0]) <= 2


def test_detect_clip_shorter_than_a_window_notes_it(detector: Detector, dataset: Dataset) -> None:
    model, settings = load_stroke_model(detector.path)
    clip = load_pose_clip(dataset.clips[detector.test_clips[0]].path)
    short = PoseClip(landmarks=clip.landmarks[:20], mask=clip.mask[:20], fps=clip.fps)
    detection = detect_clip(model, settings, short)
    # fewer frames than one 30-frame window: no events, and the reason is given
    assert detection.events == []
    assert "shorter than one model window" in detection.note


def test_detect_video_without_person_reports_zero_strokes(
    detector: Detector, pose_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    video = tmp_path / "empty_court.mp4"
    write_blank_video(video, n_frames=45, fps=30.0)
    out = tmp_path / "out"
    argv = [str(video), "--model", str(detector.path), "--out", str(out)]
    code, err = _run([*argv, "--pose-model", str(pose_model_path)], capsys)
    # not a crash: exit 0, zero events, and a note in strokes.json and on stderr
    assert code == 0, err
    document = json.loads((out / "strokes.json").read_text())
    assert document["events"] == [] and document["n_frames"] == 45
    assert "no person detected" in document["note"]
    assert "no person detected" in err
    assert (out / "strokes.csv").read_text().strip().count("\n") == 0


def test_detect_real_video_end_to_end(
    detector: Detector, pose_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import cv2

    video = tmp_path / "astronaut.mp4"
    write_astronaut_video(video, n_frames=60, fps=30.0)
    out = tmp_path / "out"
    argv = [str(video), "--model", str(detector.path), "--out", str(out)]
    argv += ["--pose-model", str(pose_model_path), "--annotated-video"]
    code, err = _run(argv, capsys)
    assert code == 0, err
    document = json.loads((out / "strokes.json").read_text())
    # the person was found in the real photograph's frames, so detection ran without a note
    assert document["note"] is None and document["n_frames"] == 60
    cache = out / "poses" / "astronaut.npz"
    assert load_pose_clip(cache).mask.all()
    # the annotated video has every frame, with the extracted poses drawn on it
    annotated = cv2.VideoCapture(str(out / "annotated.mp4"))
    original = cv2.VideoCapture(str(video))
    assert int(annotated.get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    drawn, plain = annotated.read()[1], original.read()[1]
    assert drawn.shape == plain.shape
    assert _green_pixels(drawn) > _green_pixels(plain) + 200
    # a second run reuses the pose cache instead of extracting again
    before = cache.stat().st_mtime_ns
    assert _run(argv[:-1], capsys)[0] == 0
    assert cache.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--confidence", "2"], "--confidence must be in"),
        (["--model", "no/such/model"], "no model at no/such/model"),
        (["--annotated-video"], "pass the video file instead"),
    ],
)
def test_detect_rejects_bad_calls_with_one_line(
    detector: Detector,
    dataset: Dataset,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    extra: list[str],
    message: str,
) -> None:
    clip = tmp_path / "clip.npz"
    save_pose_clip(clip, load_pose_clip(dataset.clips[detector.test_clips[0]].path))
    argv = [str(clip), "--model", str(detector.path), "--out", str(tmp_path / "out"), *extra]
    code, err = _run(argv, capsys)
    # exit 2 with one line naming the problem, no traceback
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_detect_missing_video_is_a_usage_error(
    detector: Detector, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    argv = [str(tmp_path / "nope.mp4"), "--model", str(detector.path), "--out", str(out)]
    code, err = _run(argv, capsys)
    # exit 2 naming the missing file, and nothing written
    assert code == 2 and "nope.mp4 does not exist" in err
    assert not out.exists()


def _green_pixels(frame: np.ndarray) -> int:
    """Pixels of the skeleton's pure green (BGR) in ``frame``."""
    return int(((frame[..., 1] > 200) & (frame[..., 0] < 90) & (frame[..., 2] < 90)).sum())
