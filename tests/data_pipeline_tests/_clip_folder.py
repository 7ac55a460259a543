"""Tiny clip data folders for data_pipeline tests: pose files + a Label Studio export."""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_pipeline.landmarks import N_LANDMARKS
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import save_pose_clip

#: (raw label, Label Studio start, Label Studio end): 1-based, both ends included.
Stroke = tuple[str, int, int]


def write_pose(path: Path, n_frames: int, fps: float, *, seed: int = 0) -> None:
    """A pose clip of ``n_frames`` random (but valid) landmarks at ``fps``."""
    rng = np.random.default_rng(seed)
    landmarks = rng.uniform(0.2, 0.8, size=(n_frames, N_LANDMARKS, 4)).astype(np.float32)
    landmarks[..., 3] = 0.9
    save_pose_clip(
        path,
        PoseClip(landmarks=landmarks, mask=np.ones(n_frames, dtype=bool), fps=fps,
                 meta={"video": path.stem + ".mp4"}),
    )


def task(video: str, strokes: Sequence[Stroke], *, task_id: int = 1, **data: str) -> dict:
    """One Label Studio task with one annotation holding ``strokes``."""
    result = [
        {"type": "timelinelabels", "from_name": "movimentos", "to_name": "video",
         "value": {"ranges": [{"start": s, "end": e}], "timelinelabels": [label]}}
        for label, s, e in strokes
    ]
    return {"id": task_id, "data": {"video": f"/data/local-files/?d=videos/{video}", **data},
            "annotations": [{"id": task_id, "was_cancelled": False, "result": result}]}


def make_clip_folder(
    root: Path,
    clips: Mapping[str, tuple[int, float, Sequence[Stroke]]],
    *,
    groups_toml: str | None = None,
) -> Path:
    """``root`` with ``poses/<stem>.npz`` and ``annotations/export.json`` for ``clips``.

    Args:
        clips: stem -> (n_frames, fps, strokes). Videos are named ``<STEM>.MP4`` in the export.
    """
    tasks = []
    for number, (stem, (n_frames, fps, strokes)) in enumerate(sorted(clips.items()), start=1):
        write_pose(root / "poses" / f"{stem}.npz", n_frames, fps, seed=number)
        tasks.append(task(f"{stem.upper()}.MP4", strokes, task_id=number))
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "export.json").write_text(json.dumps(tasks, indent=1))
    if groups_toml is not None:
        (root / "groups.toml").write_text(groups_toml)
    return root
