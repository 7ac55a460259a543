"""Window starts, segment widening and the labelling rule: examples and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from data_pipeline.windowing import AMBIGUOUS
from data_pipeline.windowing import NO_STROKE
from data_pipeline.windowing import assign_windows
from data_pipeline.windowing import cut_windows
from data_pipeline.windowing import label_windows
from data_pipeline.windowing import to_reference_frames
from data_pipeline.windowing import widen_segments
from data_pipeline.windowing import window_starts


@st.composite
def windows(draw: st.DrawFn) -> WindowConfig:
    size = draw(st.integers(1, 60))
    return WindowConfig(window_size=size, overlap=draw(st.integers(0, size - 1)))


@settings(deadline=None)  # timing varies on a shared CI machine; the property does not
@given(n_frames=st.integers(0, 400), window=windows())
def test_window_starts_cover_the_clip_and_keep_the_last_full_window(
    n_frames: int, window: WindowConfig
) -> None:
    starts = window_starts(n_frames, window)
    if n_frames < window.window_size:
        # A clip shorter than one window has none.
        assert starts.size == 0
        return
    # Every window is full and inside the clip; the first starts at 0, the last ends at the end.
    assert starts[0] == 0 and starts[-1] == n_frames - window.window_size
    steps = np.diff(starts)
    # Regular stride; only the added final window may come sooner.
    assert (steps[:-1] == window.stride).all() and ((steps > 0) & (steps <= window.stride)).all()


def test_window_starts_users_defaults() -> None:
    # 100 frames, window 45, overlap 15 (stride 30): 0, 30, and the last full window at 55.
    assert window_starts(100, WindowConfig()).tolist() == [0, 30, 55]


@pytest.mark.parametrize(("size", "overlap"), [(45, 45), (30, 45)])
def test_window_config_overlap_not_below_window_is_rejected(size: int, overlap: int) -> None:
    # A stride <= 0 is impossible; the message names both flags and the fix.
    with pytest.raises(ConfigError, match=r"--overlap must be smaller than --window-size.*lower"):
        WindowConfig(window_size=size, overlap=overlap)


@settings(deadline=None)
@given(
    start=st.integers(0, 200), length=st.integers(1, 60), min_length=st.integers(0, 80),
    n_frames=st.integers(1, 300),
)
def test_widen_segments_symmetric_and_clipped(
    start: int, length: int, min_length: int, n_frames: int
) -> None:
    start = min(start, n_frames - 1)
    end = min(start + length, n_frames)
    (new_start, new_end), = widen_segments(np.array([[start, end]]), min_length, n_frames)
    # The widened segment contains the original and stays inside the clip.
    assert 0 <= new_start <= start and end <= new_end <= n_frames
    deficit = max(min_length - (end - start), 0)
    # Symmetric: half the missing frames before (the odd one after), cut only by the clip's ends.
    assert new_start == max(start - deficit // 2, 0)
    assert new_end == min(end + deficit - deficit // 2, n_frames)


def _rule(start: int, size: int, strokes: list[tuple[int, int]], coverage: float) -> int:
    """The labelling rule written out per window, as the module docstring states it."""
    qualifying, touching = [], False
    for index, (a, b) in enumerate(strokes):
        overlap = max(0, min(start + size, b) - max(start, a))
        touching |= overlap > 0
        if overlap > 0 and (overlap >= coverage * (b - a) or overlap >= coverage * size):
            qualifying.append(index)
    if len(qualifying) == 1:
        return qualifying[0]
    return AMBIGUOUS if touching else NO_STROKE


@settings(max_examples=200, deadline=None)
@given(
    window=windows(),
    strokes=st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 80)).map(lambda t: (t[0], t[0] + t[1])),
        max_size=6,
    ),
    coverage=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
)
def test_assign_windows_follows_the_documented_rule(
    window: WindowConfig, strokes: list[tuple[int, int]], coverage: float
) -> None:
    starts = window_starts(400, window)
    assigned = assign_windows(starts, window.window_size, np.array(strokes), min_coverage=coverage)
    # The vectorised rule agrees with the rule written out window by window.
    expected = [_rule(int(s), window.window_size, strokes, coverage) for s in starts]
    assert assigned.tolist() == expected


def test_label_windows_coverage_of_stroke_or_of_window() -> None:
    strokes = [(10, 30, "fronthand"), (100, 200, "serve")]
    starts = np.array([0, 16, 21, 120, 60])
    labels = label_windows(starts, 20, strokes, min_coverage=0.5,
                           classes={"fronthand", "serve"}, neutral=False)
    # [0,20) holds 10 of 20 stroke frames -> sample; [16,36) holds 14 -> sample;
    # [21,41) holds 9 -> touching only, dropped; [120,140) lies inside a long serve that fills
    # the whole window -> sample; [60,80) touches nothing and neutral is off -> dropped.
    assert labels == ["fronthand", "fronthand", None, "serve", None]


def test_label_windows_two_qualifying_strokes_are_ambiguous() -> None:
    strokes = [(0, 10, "fronthand"), (12, 22, "backhand")]
    # A 30-frame window holds both strokes whole: ambiguous, dropped.
    assert label_windows(np.array([0]), 30, strokes, min_coverage=0.5,
                         classes={"fronthand", "backhand"}, neutral=True) == [None]


def test_label_windows_neutral_only_away_from_every_stroke() -> None:
    strokes = [(40, 60, "serve"), (100, 110, "fronthand")]
    starts = np.array([0, 45, 55, 60])
    labels = label_windows(starts, 20, strokes, min_coverage=0.5,
                           classes={"fronthand"}, neutral=True)
    # [0,20) and [60,80) touch no stroke -> neutral. A stroke of a dropped class (serve) makes
    # no sample ([45,65) covers it enough) and blocks neutral ([55,75) only touches it).
    assert labels == ["neutral", None, None, "neutral"]


def test_to_reference_frames_maps_instants() -> None:
    # Frames 120..180 at 60 fps are the same instants as 60..90 at 30 fps.
    assert to_reference_frames(np.array([[120, 180]]), 60, 30).tolist() == [[60, 90]]


def test_cut_windows_takes_consecutive_frames() -> None:
    frames = np.arange(20).reshape(10, 2)
    cut = cut_windows(frames, np.array([0, 6]), 4)
    # Shape [N, w, F] and each window is frames[s:s+w].
    assert cut.shape == (2, 4, 2) and (cut[1] == frames[6:10]).all()
