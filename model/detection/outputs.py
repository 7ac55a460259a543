"""What ``python -m model.detect`` writes: ``strokes.json``, ``strokes.csv``, ``annotated.mp4``.

Outputs in ``--out``: ``strokes.json`` (settings, per-class counts, events with class, start/end
frame in the video's own frames, start/end time in seconds and confidence), ``strokes.csv`` (the
events), ``timeline.png`` and, with ``--annotated-video``, ``annotated.mp4`` (the video with the
already extracted poses and the current stroke drawn; no second pose pass).

Event frames are counted in the source video's own frames (start inclusive, end exclusive), times
in seconds from its first frame. ``strokes.json`` also holds the settings that produced the events
and, when there are none for a reason other than the model's verdict, a ``note``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_pipeline import atomic_write_text
from data_pipeline.errors import DataError
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.pose_cache import PoseClip
from model.detection.detect import Detection
from model.detection.events import stroke_score
from model.detection.loading import LoadedModel
from model.detection.timeline import timeline_data
from model.detection.timeline import write_timeline_png

CSV_COLUMNS = ("class", "start_frame", "end_frame", "start_time", "end_time", "confidence")

#: Skeleton drawn on the annotated video: pairs of MediaPipe landmark names.
_BONES = tuple(
    (LANDMARK_INDEX[a], LANDMARK_INDEX[b])
    for a, b in (
        ("left_shoulder", "right_shoulder"),
        ("left_hip", "right_hip"),
        *(
            (f"{side}_{a}", f"{side}_{b}")
            for side in ("left", "right")
            for a, b in (
                ("shoulder", "elbow"),
                ("elbow", "wrist"),
                ("shoulder", "hip"),
                ("hip", "knee"),
                ("knee", "ankle"),
                ("ankle", "heel"),
            )
        ),
    )
)


def write_outputs(out: Path, detection: Detection, *, video: Path, loaded: LoadedModel) -> None:
    """Write ``strokes.json``, ``strokes.csv`` and ``timeline.png`` into ``out``."""
    source = {"video": video.name, "model": loaded.uri, "model_run_id": loaded.run_id}
    write_strokes_json(out / "strokes.json", detection, source=source)
    write_strokes_csv(out / "strokes.csv", detection)
    times = np.arange(detection.scores.shape[0]) / detection.reference_fps
    data = timeline_data(
        detection.events,
        detection.class_names,
        duration=detection.duration,
        title=video.name,
        stroke_score=(times, stroke_score(detection.scores, detection.class_names)),
        threshold=float(detection.settings["confidence"]),
    )
    write_timeline_png(out / "timeline.png", data)


def event_records(detection: Detection) -> list[dict[str, object]]:
    """One row per event, in :data:`CSV_COLUMNS` order."""
    records = []
    for event in detection.events:
        start, end = event.frames(detection.video_fps, detection.n_frames)
        records.append(
            {
                "class": event.cls,
                "start_frame": start,
                "end_frame": end,
                "start_time": round(event.start_time, 4),
                "end_time": round(event.end_time, 4),
                "confidence": round(event.confidence, 4),
            }
        )
    return records


def write_strokes_json(path: str | Path, detection: Detection, *, source: dict) -> None:
    """Write ``strokes.json``: ``source`` (video, model), settings, counts, events and note."""
    document = {
        **source,
        "video_fps": detection.video_fps,
        "n_frames": detection.n_frames,
        "duration_s": round(detection.duration, 4),
        "settings": detection.settings,
        "counts": detection.counts(),
        "n_events": len(detection.events),
        "note": detection.note,
        "events": event_records(detection),
    }
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")


def write_strokes_csv(path: str | Path, detection: Detection) -> None:
    """Write ``strokes.csv``: a header and one row per event."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(event_records(detection))
    atomic_write_text(path, buffer.getvalue())


def write_annotated_video(
    video_path: str | Path, out_path: str | Path, clip: PoseClip, detection: Detection
) -> None:
    """Copy the video with the clip's poses and the current stroke drawn on every frame.

    The poses come from ``clip`` (the extraction already done), so no pose model runs again.

    Raises:
        DataError: the video cannot be read, or its frame count differs from the clip's.
    """
    import cv2

    capture = cv2.VideoCapture(str(video_path))
    if not capture.isOpened():
        raise DataError(f"cannot read video {video_path} to annotate it; check the file.")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    label = _frame_labels(detection)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}", suffix=".mp4", dir=out_path.parent)
    os.close(fd)
    writer = cv2.VideoWriter(tmp_name, cv2.VideoWriter_fourcc(*"mp4v"), clip.fps, (width, height))
    try:
        if not writer.isOpened():
            raise DataError(f"OpenCV cannot write {out_path} (no MPEG-4 encoder in this build).")
        frames = tqdm(range(clip.n_frames), desc="annotated video", unit="frame", disable=None)
        for index in frames:
            ok, frame = capture.read()
            if not ok:
                raise DataError(
                    f"video {video_path} ended after {index} frames but its poses have "
                    f"{clip.n_frames}; re-extract the poses of this video."
                )
            if clip.mask[index]:
                _draw_pose(frame, clip.landmarks[index], cv2)
            if label[index]:
                cv2.putText(
                    frame, label[index], (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 255, 255), 3
                )
            writer.write(frame)
        writer.release()
        os.replace(tmp_name, out_path)
    except BaseException:
        writer.release()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    finally:
        capture.release()


def _frame_labels(detection: Detection) -> list[str]:
    """Per video frame, ``"<class> <confidence>"`` inside an event, else ``""``."""
    labels = [""] * detection.n_frames
    for record in event_records(detection):
        text = f"{record['class']} {record['confidence']:.2f}"
        for index in range(int(record["start_frame"]), int(record["end_frame"])):
            labels[index] = text
    return labels


def _draw_pose(frame: np.ndarray, landmarks: np.ndarray, cv2: object) -> None:
    """Draw the skeleton of one frame's normalised landmarks ``[33, 4]`` onto ``frame``."""
    height, width = frame.shape[:2]
    points = np.round(landmarks[:, :2] * (width, height)).astype(int)
    for a, b in _BONES:
        cv2.line(frame, tuple(points[a]), tuple(points[b]), (0, 255, 0), 2, cv2.LINE_AA)
    for x, y in points[[i for bone in _BONES for i in bone]]:
        cv2.circle(frame, (int(x), int(y)), 3, (0, 0, 255), -1, cv2.LINE_AA)
