"""Window predictions -> frame scores -> stroke events (model.detection.events)."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipeline.errors import ConfigError
from model.detection.events import EventConfig
from model.detection.events import StrokeEvent
from model.detection.events import frame_scores
from model.detection.events import scores_to_events

CLASSES = ("backhand", "fronthand", "neutral")


def _scores_from_seconds(
    fps: float, duration: float, strokes: list[tuple[str, float, float, float]]
) -> np.ndarray:
    """Per-frame scores at ``fps``: neutral everywhere except ``(cls, start, end, p)`` spans."""
    n = int(round(duration * fps))
    scores = np.zeros((n, len(CLASSES)), dtype=np.float32)
    scores[:, CLASSES.index("neutral")] = 1.0
    times = np.arange(n) / fps
    for cls, start, end, p in strokes:
        inside = (times >= start) & (times < end)
        scores[inside] = (1.0 - p) / 2
        scores[inside, CLASSES.index(cls)] = p
    return scores


def test_frame_scores_average_covering_windows() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    scores = frame_scores(probs, np.array([0, 2]), window_size=4, n_frames=7)
    # frames 0-1 only window 0, frames 2-3 both (mean), 4-5 only window 1, frame 6 none (zeros)
    expected = [[1, 0], [1, 0], [0.5, 0.5], [0.5, 0.5], [0, 1], [0, 1], [0, 0]]
    np.testing.assert_allclose(scores, expected)


def test_frame_scores_clip_last_window_at_clip_end() -> None:
    scores = frame_scores(np.array([[0.2, 0.8]]), np.array([3]), window_size=10, n_frames=5)
    # a window running past the clip's end still scores the frames it covers
    np.testing.assert_allclose(scores[3:], [[0.2, 0.8], [0.2, 0.8]], rtol=1e-6)


def test_frame_scores_rejects_mismatched_shapes() -> None:
    # one start per window row, or the error names the shapes
    with pytest.raises(ValueError, match="len\\(starts\\) = 3"):
        frame_scores(np.ones((2, 3)), np.array([0, 1, 2]), window_size=4, n_frames=10)


def test_scores_to_events_neutral_is_background() -> None:
    scores = _scores_from_seconds(30, 6, [("fronthand", 1.0, 1.6, 0.9), ("backhand", 3, 4, 0.7)])
    events = scores_to_events(scores, CLASSES, fps=30)
    # two strokes with their class, bounds in seconds and mean class probability
    assert [(e.cls, e.start_time, e.end_time) for e in events] == [
        ("fronthand", 1.0, 1.6),
        ("backhand", 3.0, 4.0),
    ]
    assert events[0].confidence == pytest.approx(0.9)


def test_scores_to_events_without_neutral_uses_confidence() -> None:
    probs = np.array([[0.55, 0.45], [0.95, 0.05], [0.6, 0.4]])
    scores = np.repeat(probs, 10, axis=0)
    # the default threshold (0.8 without neutral) keeps only the confident middle second
    events = scores_to_events(scores, ("backhand", "fronthand"), fps=10)
    assert [(e.cls, e.start_time, e.end_time) for e in events] == [("backhand", 1.0, 2.0)]
    # an explicit threshold overrides it: everything is one long backhand run
    loose = scores_to_events(
        scores, ("backhand", "fronthand"), fps=10, config=EventConfig(confidence=0.5)
    )
    assert [(e.start_time, e.end_time) for e in loose] == [(0.0, 3.0)]


def test_scores_to_events_merges_same_class_across_short_gap() -> None:
    strokes = [("fronthand", 1.0, 1.5, 0.9), ("fronthand", 1.6, 2, 0.9)]
    scores = _scores_from_seconds(30, 4, strokes)
    # a 0.1 s dip joins the two halves (merge_gap_s=0.2); a 0.05 s gap setting keeps them apart
    assert len(scores_to_events(scores, CLASSES, fps=30)) == 1
    strict = EventConfig(merge_gap_s=0.05)
    assert len(scores_to_events(scores, CLASSES, fps=30, config=strict)) == 2


def test_scores_to_events_never_merges_different_classes() -> None:
    scores = _scores_from_seconds(30, 4, [("fronthand", 1.0, 1.5, 0.9), ("backhand", 1.6, 2, 0.9)])
    # a fronthand then a backhand stay two events even across a short gap
    assert [e.cls for e in scores_to_events(scores, CLASSES, fps=30)] == ["fronthand", "backhand"]


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_scores_to_events_durations_hold_at_any_fps(fps: float) -> None:
    strokes = [("fronthand", 1.0, 1.1, 0.9), ("backhand", 2.0, 2.5, 0.9), ("fronthand", 3, 7, 0.9)]
    events = scores_to_events(_scores_from_seconds(fps, 8, strokes), CLASSES, fps=fps)
    # the 0.1 s blip is below min_duration_s=0.2 and dropped at every fps ...
    assert [e.cls for e in events] == ["backhand", "fronthand", "fronthand"]
    assert events[0].start_time == pytest.approx(2.0, abs=1 / fps)
    # ... and the 4 s run is split into pieces no longer than max_duration_s=3
    assert all(e.duration <= 3.0 + 1e-9 for e in events)
    assert events[2].end_time == pytest.approx(7.0, abs=1 / fps)


def test_scores_to_events_splits_long_run_at_weakest_frame() -> None:
    strokes = [("fronthand", 0, 2, 0.9), ("fronthand", 2, 2.1, 0.6), ("fronthand", 2.1, 4, 0.9)]
    scores = _scores_from_seconds(10, 6, strokes)
    events = scores_to_events(scores, CLASSES, fps=10, config=EventConfig(max_duration_s=3.0))
    # two strokes seen as one 4 s run are cut where the model was least sure (t = 2.0 s)
    assert [(e.start_time, e.end_time) for e in events] == [(0.0, 2.0), (2.0, 4.0)]


def test_scores_to_events_absent_pose_is_never_a_stroke() -> None:
    scores = _scores_from_seconds(30, 3, [("fronthand", 0.0, 3.0, 0.9)])
    present = np.zeros(scores.shape[0], dtype=bool)
    # frames without a person yield no event whatever the scores say
    assert scores_to_events(scores, CLASSES, fps=30, present=present) == []


def test_stroke_event_frames_at_video_fps() -> None:
    event = StrokeEvent("serve", start_time=1.0, end_time=1.5, confidence=0.9)
    # seconds map to the video's own frame numbers, end exclusive, clipped to the video
    assert event.frames(30.0) == (30, 45)
    assert event.frames(60.0) == (60, 90)
    assert event.frames(60.0, n_frames=80) == (60, 80)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence": 0.0}, "--confidence must be in"),
        ({"confidence": 1.5}, "--confidence must be in"),
        ({"merge_gap_s": -0.1}, "--merge-gap and --min-duration must be >= 0"),
        ({"min_duration_s": -1.0}, "--merge-gap and --min-duration must be >= 0"),
        ({"min_duration_s": 2.0, "max_duration_s": 1.0}, "raise --max-duration"),
    ],
)
def test_event_config_rejects_impossible_settings(kwargs: dict, match: str) -> None:
    # each impossible setting names the flag and the fix
    with pytest.raises(ConfigError, match=match):
        EventConfig(**kwargs)
