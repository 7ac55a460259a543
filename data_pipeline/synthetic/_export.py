"""Writers of the synthetic dataset's text files: Label Studio export and groups.toml."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from data_pipeline.synthetic.timeline import StrokeEvent

_ID_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"))


def video_reference(stem: str, rng: np.random.Generator) -> str:
    """The task's video path as Label Studio exports it, with the file-name case users see."""
    name = str(rng.choice([stem, stem.upper(), stem.capitalize()], p=[0.5, 0.25, 0.25]))
    extension = str(rng.choice([".MP4", ".mp4"], p=[0.7, 0.3]))
    return f"/data/local-files/?d=videos/{name}{extension}"


def label_studio_frames(event: StrokeEvent, fps: float) -> tuple[int, int]:
    """Label Studio's frame numbers of a stroke: 1-based, both ends inclusive, video frames.

    The stroke covers 0-based video frames ``round(start * fps)`` up to (excluding)
    ``round(end * fps)``.
    """
    first = round(event.start * fps)
    stop = max(round(event.end * fps), first + 1)
    return first + 1, stop


def label_studio_result(events: Sequence[StrokeEvent], fps: float,
                        rng: np.random.Generator) -> list[dict[str, Any]]:  # fmt: skip
    """The ``result`` list of one annotation: one ``timelinelabels`` item per stroke."""
    items = []
    for event in events:
        start, end = label_studio_frames(event, fps)
        items.append({
            "id": "".join(rng.choice(_ID_ALPHABET, 10)),
            "type": "timelinelabels",
            "from_name": "movimentos",
            "to_name": "video",
            "origin": "manual",
            "value": {"ranges": [{"start": start, "end": end}], "timelinelabels": [event.label]},
        })  # fmt: skip
    return items


def label_studio_task(task_id: int, video: str, result: list[dict[str, Any]]) -> dict[str, Any]:
    """One task of a Label Studio JSON export (the list form)."""
    return {
        "id": task_id,
        "data": {"video": video},
        "annotations": [{
            "id": task_id - 1000,
            "completed_by": 1,
            "was_cancelled": False,
            "ground_truth": False,
            "result": result,
        }],
    }  # fmt: skip


def annotation_object(video: str, result: list[dict[str, Any]]) -> dict[str, Any]:
    """A single-annotation export (the ``{"task": ..., "result": ...}`` form)."""
    return {"task": {"data": {"video": video}}, "result": result, "was_cancelled": False}


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def groups_toml(rows: Sequence[tuple[str, dict[str, str]]]) -> str:
    """``groups.toml`` text: ``[groups."<clip>"]`` tables of string keys."""
    lines = ["# Grouping keys of each clip (split by clip, player or camera).", ""]
    for stem, keys in rows:
        lines.append(f'[groups."{stem}"]')
        lines += [f'{key} = "{value}"' for key, value in keys.items()]
        lines.append("")
    return "\n".join(lines)
