"""The stroke timeline of one video as a PNG: one lane per class, with per-class counts.

The data is computed first (``timeline_data``) and rendered second (``write_timeline_png``), so
tests check the values and the picture only draws them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from data_pipeline import atomic_write
from model.detection.events import NEUTRAL
from model.detection.events import StrokeEvent


class TimelineLane(NamedTuple):
    """One class's lane: its label (with the count) and its ``(start, duration)`` spans in s."""

    cls: str
    count: int
    label: str
    spans: list[tuple[float, float]]
    confidences: list[float]


class TimelineData(NamedTuple):
    """Everything the timeline shows."""

    lanes: list[TimelineLane]
    duration: float
    title: str
    stroke_score: tuple[np.ndarray, np.ndarray] | None
    threshold: float | None


def timeline_data(
    events: Sequence[StrokeEvent],
    class_names: Sequence[str],
    *,
    duration: float,
    title: str,
    stroke_score: tuple[np.ndarray, np.ndarray] | None = None,
    threshold: float | None = None,
) -> TimelineData:
    """Lanes per stroke class (the model's order, ``neutral`` left out), each with its count.

    Args:
        events: detected events.
        class_names: the model's classes; every stroke class gets a lane, even an empty one.
        duration: video length in seconds (the x axis).
        title: figure title.
        stroke_score: optional ``(times, score)`` curve drawn under the lanes.
        threshold: optional stroke-score threshold drawn over the curve.
    """
    lanes = []
    for cls in (name for name in class_names if name != NEUTRAL):
        mine = [event for event in events if event.cls == cls]
        lanes.append(
            TimelineLane(
                cls=cls,
                count=len(mine),
                label=f"{cls} ({len(mine)})",
                spans=[(event.start_time, event.duration) for event in mine],
                confidences=[event.confidence for event in mine],
            )
        )
    return TimelineData(
        lanes=lanes, duration=duration, title=title, stroke_score=stroke_score, threshold=threshold
    )


def write_timeline_png(path: str | Path, data: TimelineData) -> None:
    """Render ``data`` to ``path`` (atomic write)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    has_curve = data.stroke_score is not None
    figure = Figure(figsize=(12, 1.2 + 0.6 * len(data.lanes) + (1.2 if has_curve else 0)))
    ratios = [3, 1] if has_curve else [1]
    grid = figure.add_gridspec(len(ratios), 1, height_ratios=ratios)
    lanes_axis = figure.add_subplot(grid[0])
    colours = colormaps["tab10"]
    for row, lane in enumerate(data.lanes):
        colour = colours(row % 10)
        lanes_axis.broken_barh(lane.spans, (row - 0.4, 0.8), facecolors=colour, alpha=0.85)
    lanes_axis.set_yticks(range(len(data.lanes)), [lane.label for lane in data.lanes])
    lanes_axis.set_ylim(-0.6, len(data.lanes) - 0.4)
    lanes_axis.set_xlim(0, max(data.duration, 1e-3))
    total = sum(lane.count for lane in data.lanes)
    lanes_axis.set_title(f"{data.title}: {total} strokes")
    lanes_axis.grid(axis="x", alpha=0.3)
    if has_curve:
        times, score = data.stroke_score
        curve_axis = figure.add_subplot(grid[1], sharex=lanes_axis)
        curve_axis.plot(times, score, linewidth=0.8, color="black")
        if data.threshold is not None:
            curve_axis.axhline(data.threshold, linestyle="--", linewidth=0.8, color="red")
        curve_axis.set_ylim(0, 1)
        curve_axis.set_ylabel("stroke score")
        curve_axis.set_xlabel("time (s)")
    else:
        lanes_axis.set_xlabel("time (s)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
