"""Cutting reference-fps clips into windows, and the rule that labels each window.

All frame numbers here are reference frames (after resampling), 0-based, segments ``[start, end)``.

**Labelling rule.** For a window ``[s, s + w)`` and a stroke ``[a, b)`` let
``overlap = |[s, s + w) ∩ [a, b)|``. The window *touches* the stroke when ``overlap > 0`` and the
stroke *qualifies* when ``overlap >= min_coverage * (b - a)`` (the window holds enough of the
stroke) or ``overlap >= min_coverage * w`` (the stroke fills enough of the window; this lets a
long serve be sampled by windows shorter than it). Then:

- exactly one stroke qualifies -> the window is a sample of that stroke's class (strokes that
  only touch it are tolerated);
- two or more qualify -> ambiguous, dropped;
- it touches strokes but none qualifies -> dropped (a partial stroke is neither that class nor
  background);
- it touches no stroke -> ``neutral`` when that class is enabled, else dropped.

A stroke whose class is not kept (a serve under ``drop_serve``) still counts in this rule: a
window it would label is dropped, and windows touching it are never ``neutral``.

Example:
    >>> from data_pipeline.config import WindowConfig
    >>> window_starts(100, WindowConfig(window_size=45, overlap=15)).tolist()
    [0, 30, 55]
    >>> label_windows(np.array([0, 30, 55]), 45, [(35, 60, "fronthand")], min_coverage=0.5,
    ...               classes={"fronthand"}, neutral=False)
    [None, 'fronthand', None]
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Sequence

import numpy as np

from data_pipeline.config import WindowConfig
from data_pipeline.resample import rescale_frames

#: :func:`assign_windows` code of a window that touches no stroke.
NO_STROKE = -1
#: :func:`assign_windows` code of a window that touches strokes but is no sample of exactly one.
AMBIGUOUS = -2
#: Class of windows without any stroke when ``LabelConfig.neutral_class`` is on.
NEUTRAL = "neutral"


def window_starts(n_frames: int, window: WindowConfig) -> np.ndarray:
    """First frame of every full window of a clip of ``n_frames`` frames.

    Starts are ``0, stride, 2 * stride, ...``; when the stride skips the clip's last full
    window, a final start ``n_frames - window_size`` is added so the clip's end is never lost.
    A clip shorter than one window has no windows.

    Example:
        >>> window_starts(10, WindowConfig(window_size=4, overlap=1)).tolist()
        [0, 3, 6]
        >>> window_starts(11, WindowConfig(window_size=4, overlap=1)).tolist()
        [0, 3, 6, 7]
    """
    last = n_frames - window.window_size
    if last < 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.arange(0, last + 1, window.stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def to_reference_frames(bounds: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Segment bounds ``[S, 2]`` counted at ``src_fps`` -> the same instants at ``dst_fps``."""
    return rescale_frames(np.asarray(bounds, dtype=np.int64).reshape(-1, 2), src_fps, dst_fps)


def widen_segments(bounds: np.ndarray, min_length: int, n_frames: int) -> np.ndarray:
    """Widen segments shorter than ``min_length`` symmetrically, clipped to ``[0, n_frames]``.

    A segment of length ``L < min_length`` gains ``(min_length - L) // 2`` frames before and
    the rest after (the extra odd frame goes after), then both ends are clipped to the clip.

    Example:
        >>> widen_segments(np.array([[10, 14], [0, 3]]), 8, 100).tolist()
        [[8, 16], [0, 6]]
    """
    bounds = np.asarray(bounds, dtype=np.int64).reshape(-1, 2).copy()
    deficit = np.maximum(min_length - (bounds[:, 1] - bounds[:, 0]), 0)
    bounds[:, 0] -= deficit // 2
    bounds[:, 1] += deficit - deficit // 2
    return np.clip(bounds, 0, n_frames)


def assign_windows(
    starts: np.ndarray, window_size: int, bounds: np.ndarray, *, min_coverage: float
) -> np.ndarray:
    """For each window, the index of the one stroke it is a sample of (module rule), else a code.

    Returns:
        int64 ``[n_windows]``: a segment index, :data:`NO_STROKE` or :data:`AMBIGUOUS`.
    """
    starts = np.asarray(starts, dtype=np.int64)
    bounds = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
    if bounds.shape[0] == 0:
        return np.full(starts.shape[0], NO_STROKE, dtype=np.int64)
    lo = np.maximum(starts[:, None], bounds[None, :, 0])
    hi = np.minimum(starts[:, None] + window_size, bounds[None, :, 1])
    overlap = np.maximum(hi - lo, 0)
    length = (bounds[:, 1] - bounds[:, 0])[None, :]
    # A small tolerance keeps e.g. 0.5 * 45 = 22.5 from failing on float rounding.
    qualifies = (overlap > 0) & (
        (overlap >= min_coverage * length - 1e-9) | (overlap >= min_coverage * window_size - 1e-9)
    )
    n_qualifying = qualifies.sum(axis=1)
    touches = (overlap > 0).any(axis=1)
    return np.where(
        n_qualifying == 1,
        qualifies.argmax(axis=1),
        np.where(touches, AMBIGUOUS, NO_STROKE),
    ).astype(np.int64)


def label_windows(
    starts: np.ndarray,
    window_size: int,
    segments: Sequence[tuple[int, int, str]],
    *,
    min_coverage: float,
    classes: Collection[str],
    neutral: bool,
) -> list[str | None]:
    """Class of each window under the module rule; None for a dropped window.

    Args:
        starts: first frame of each window.
        window_size: frames per window.
        segments: ``(start, end, class)`` strokes in reference frames, already widened.
        min_coverage: coverage threshold of the rule.
        classes: stroke classes that make samples; strokes of other classes block windows.
        neutral: windows touching no stroke are ``neutral`` (else dropped).
    """
    bounds = np.array([(s, e) for s, e, _ in segments], dtype=np.int64).reshape(-1, 2)
    assigned = assign_windows(starts, window_size, bounds, min_coverage=min_coverage)
    labels: list[str | None] = []
    for code in assigned.tolist():
        if code == NO_STROKE:
            labels.append(NEUTRAL if neutral else None)
        elif code == AMBIGUOUS or segments[code][2] not in classes:
            labels.append(None)
        else:
            labels.append(segments[code][2])
    return labels


def cut_windows(values: np.ndarray, starts: np.ndarray, window_size: int) -> np.ndarray:
    """Stack ``values[s : s + window_size]`` for every start: ``[T, ...]`` -> ``[N, w, ...]``."""
    index = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(window_size)[None, :]
    return values[index]
