"""Label Studio video exports -> stroke segments in the video's own frames.

Decisions (each one is tested in ``tests/data_pipeline_tests/test_annotations.py``):

- **Shapes.** A file holds a list of tasks (``[{"data": ..., "annotations": [...]}, ...]``), one
  task object, or one annotation object (``{"task": {"data": ...}, "result": [...]}``). Every
  task of every ``*.json`` file in a folder is read, in sorted file order.
- **Several annotations per task.** Cancelled annotations (``was_cancelled``) are ignored. Of
  the rest, the most recent one is used: latest ``updated_at``, then ``created_at``, then the
  highest ``id``. Merging annotators would double every stroke, so exactly one annotation per
  task counts; which one is logged at INFO level. A task with no usable annotation is skipped.
- **One task per video.** Two tasks (in one file or several) for the same video are an error:
  it is almost always the same export saved twice, which would double every stroke.
- **Frame numbers.** Label Studio numbers video frames from 1 (its ``Video`` tag starts at frame
  1 and its full range is ``{start: 1, end: n_frames}``) and a ``TimelineLabels`` range includes
  both ends (a one-click region is ``{start: f, end: f}``). A range ``[start, end]`` therefore
  becomes ``Segment(start=start - 1, end=end)``: 0-based, start inclusive, end exclusive.
- **Frame rate.** Label Studio counts frames at the ``frameRate`` of the ``Video`` tag (24 when
  unset). ``LabelConfig.annotation_fps`` names that rate; frame numbers are then rescaled to the
  video's fps with :func:`data_pipeline.resample.rescale_frames`. None means "same as the video".
- **Labels.** Raw labels map to classes through ``LabelConfig.label_map`` (see
  :mod:`data_pipeline.labels`), matched ignoring case and runs of spaces; a dropped label's
  segments get the class :data:`data_pipeline.labels.DROPPED`. ``drop_serve`` is *not* applied here: serve segments are kept so windowing
  can keep windows over a dropped serve out of the ``neutral`` class (see
  :mod:`data_pipeline.windowing`).
- **Video paths.** ``/data/local-files/?d=videos/secao_99.MP4`` -> ``secao_99``: the prefix, URL
  quoting and leading folders are dropped and the file stem is matched case-insensitively
  against the videos present (Label Studio's ``<hash>-`` upload prefix is tried as well).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlparse

from data_pipeline.config import LabelConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.labels import map_label
from data_pipeline.pose_cache import read_pose_meta
from data_pipeline.resample import rescale_frames

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


@dataclass(frozen=True)
class Segment:
    """One labelled stroke: frames ``[start, end)`` of the video, 0-based.

    Args:
        label: raw label as exported (e.g. ``slice direita``).
        cls: class the label maps to (e.g. ``fronthand``).
        start: first frame of the stroke (inclusive).
        end: frame after the last frame of the stroke (exclusive).
    """

    label: str
    cls: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class ClipAnnotation:
    """All strokes of one video.

    Args:
        video: file stem of the video (as on disk when ``videos`` was given).
        segments: strokes sorted by start frame.
        handedness: ``left`` / ``right`` from the task's ``data.handedness``, else None.
        source: ``<file>#task <id>`` the segments came from.
    """

    video: str
    segments: list[Segment]
    handedness: str | None = None
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class VideoInfo:
    """What annotation checks need to know about a video: its frame rate and length."""

    fps: float
    n_frames: int


def videos_from_poses(poses_dir: str | Path) -> dict[str, VideoInfo]:
    """``stem -> VideoInfo`` of every pose cache file in ``poses_dir``, from its metadata."""
    videos = {}
    for path in sorted(Path(poses_dir).glob("*.npz")):
        meta = read_pose_meta(path)
        if meta is None:
            raise DataError(
                f"pose cache file {path} is not readable; delete it and re-run "
                "`python -m data_pipeline extract` to rebuild it."
            )
        videos[path.stem] = VideoInfo(fps=float(meta["fps"]), n_frames=int(meta["n_frames"]))
    return videos


def resolve_video(reference: str, available: Mapping[str, object], *, source: str) -> str:
    """Stem in ``available`` that the exported video path ``reference`` names.

    Raises:
        DataError: no stem matches (the video or its pose cache is missing), or several do.
    """
    stem = _video_stem(reference)
    by_lower: dict[str, list[str]] = {}
    for name in available:
        by_lower.setdefault(name.lower(), []).append(name)
    candidates = by_lower.get(stem.lower()) or by_lower.get(_UPLOAD_PREFIX.sub("", stem).lower())
    if not candidates:
        raise DataError(
            f"video {reference!r} of {source} has no pose file (looked for {stem!r}, ignoring "
            f"case, among {len(available)} videos); extract it with `python -m data_pipeline "
            "extract` or remove its task from the export."
        )
    if len(candidates) > 1:
        raise DataError(
            f"video {reference!r} of {source} matches several files ignoring case: "
            f"{sorted(candidates)}; rename or remove all but one."
        )
    return candidates[0]


def load_annotations(
    folder_or_file: str | Path,
    *,
    labels: LabelConfig = LabelConfig(),
    videos: Mapping[str, VideoInfo] | None = None,
) -> list[ClipAnnotation]:
    """Read Label Studio exports into per-video stroke segments (see the module docstring).

    Args:
        folder_or_file: one export file, or a folder whose ``*.json`` files are all read.
        labels: label mapping and the labelling tool's frame rate.
        videos: ``stem -> VideoInfo`` of the videos on disk (e.g. :func:`videos_from_poses`).
            With it, video paths are resolved to these stems, frame numbers rescaled from
            ``labels.annotation_fps`` and ranges checked against the video's length. None
            keeps the exported stem and skips both (then ``annotation_fps`` must be None).

    Returns:
        One :class:`ClipAnnotation` per annotated video, sorted by video stem.

    Raises:
        DataError: malformed JSON (file and line), a task without video, a video missing on
            disk or ambiguous, an unknown label, an empty range, a range beyond the video,
            two tasks for one video, or no export file at all.
        ConfigError: ``labels.annotation_fps`` is set but ``videos`` is None.
    """
    if videos is None and labels.annotation_fps is not None:
        raise ConfigError(
            "annotation_fps rescales frame numbers to each video's fps, which needs videos=; "
            f"got annotation_fps={labels.annotation_fps} and videos=None."
        )
    clips: dict[str, ClipAnnotation] = {}
    for path in _export_files(Path(folder_or_file)):
        data_dir = path.parent.parent  # DIR/annotations/<file>.json
        for where, task, annotation in _tasks(_read_json(path), path):
            reference = _video_reference(task, where)
            if videos is None:
                video = _video_stem(reference)
            else:
                video = resolve_video(reference, videos, source=where)
            if video in clips:
                raise DataError(
                    f"video {video!r} is annotated twice: {clips[video].source} and {where}; "
                    "remove the duplicate export or task."
                )
            info = None if videos is None else videos[video]
            segments = _segments(annotation.get("result") or [], where, labels, info, data_dir)
            clips[video] = ClipAnnotation(
                video=video, segments=segments, handedness=_handedness(task, where), source=where
            )
    return [clips[name] for name in sorted(clips)]


def _export_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.json")) if path.is_dir() else []
    if not files:
        raise DataError(
            f"no Label Studio export (*.json) found at {path}; export the project from Label "
            "Studio as JSON into that folder."
        )
    return files


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "re-export it from Label Studio as JSON."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc}); re-export it as JSON.") from exc


def _tasks(doc: Any, path: Path) -> Iterator[tuple[str, dict, dict]]:
    """Yield ``(where, task, chosen annotation)`` for every task with a usable annotation."""
    if isinstance(doc, dict) and "task" in doc and "result" in doc:
        if not doc.get("was_cancelled"):
            task = doc["task"] if isinstance(doc["task"], dict) else {}
            yield f"{path.name}#task {task.get('id', 1)}", task, doc
        return
    tasks = [doc] if isinstance(doc, dict) and "data" in doc else doc
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise DataError(
            f"{path} is neither a list of Label Studio tasks nor one annotation object "
            '({"task": ..., "result": [...]}); export the project as JSON.'
        )
    for number, task in enumerate(tasks, start=1):
        where = f"{path.name}#task {task.get('id', number)}"
        annotation = _pick_annotation(task.get("annotations") or [], where)
        if annotation is not None:
            yield where, task, annotation


def _pick_annotation(annotations: list[dict], where: str) -> dict | None:
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not usable:
        logger.info("%s: no annotation that is not cancelled; task skipped", where)
        return None
    chosen = max(usable, key=_recency)
    if len(usable) > 1:
        logger.info(
            "%s: %d annotations, using the most recent one (id %s, updated %s)",
            where, len(usable), chosen.get("id"), chosen.get("updated_at"),
        )
    return chosen


def _recency(annotation: dict) -> tuple[str, str, float]:
    """Sort key: ``updated_at``, then ``created_at`` (ISO strings sort by time), then ``id``."""
    try:
        number = float(annotation.get("id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("-inf")
    return str(annotation.get("updated_at") or ""), str(annotation.get("created_at") or ""), number


def _video_reference(task: dict, where: str) -> str:
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    if isinstance(data.get("video"), str) and data["video"]:
        return data["video"]
    guesses = [
        v for v in data.values() if isinstance(v, str) and v.lower().endswith(VIDEO_EXTENSIONS)
    ]
    if len(guesses) == 1:
        return guesses[0]
    raise DataError(
        f"{where} names no video: its data has no 'video' field (fields: {sorted(data)}); "
        "give every task a data.video path to the video file."
    )


def _video_stem(reference: str) -> str:
    parsed = urlparse(reference)
    local = parse_qs(parsed.query).get("d")
    path = local[0] if local else unquote(parsed.path or reference)
    return PurePosixPath(path.replace("\\", "/")).stem


def _handedness(task: dict, where: str) -> str | None:
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    value = data.get("handedness")
    if value is None:
        return None
    if str(value).lower() not in ("left", "right"):
        raise DataError(
            f"{where} has data.handedness={value!r}; it must be 'left' or 'right' (or absent)."
        )
    return str(value).lower()


def _segments(
    result: list[dict], where: str, labels: LabelConfig, video: VideoInfo | None, data_dir: Path
) -> list[Segment]:
    annotation_fps = labels.annotation_fps or (video.fps if video else None)
    segments = []
    for item in result:
        if not isinstance(item, dict) or item.get("type") != "timelinelabels":
            continue
        value = item.get("value") or {}
        for raw in value.get("timelinelabels") or []:
            cls = map_label(raw, labels, source=where, data_dir=data_dir)
            for frame_range in value.get("ranges") or []:
                start, end = _range(frame_range, raw, where, video, annotation_fps)
                segments.append(Segment(label=str(raw), cls=cls, start=start, end=end))
    return sorted(segments, key=lambda s: (s.start, s.end, s.cls))


def _range(
    frame_range: dict,
    label: str,
    where: str,
    video: VideoInfo | None,
    annotation_fps: float | None,
) -> tuple[int, int]:
    """Label Studio's 1-based inclusive ``[start, end]`` -> 0-based ``[start, end)``."""
    start, end = frame_range.get("start"), frame_range.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        raise DataError(
            f"range {frame_range} of label {label!r} in {where} needs integer start and end "
            "frames; finish the region in Label Studio and export again."
        )
    if start < 1 or end < start:
        raise DataError(
            f"range {start}-{end} of label {label!r} in {where} is empty or starts before frame "
            "1 (Label Studio numbers frames from 1, both ends included); fix the region."
        )
    if video is None or annotation_fps is None:
        return start - 1, end
    last = rescale_frames(video.n_frames, video.fps, annotation_fps)
    if end > last:
        raise DataError(
            f"range {start}-{end} of label {label!r} in {where} ends after the video's last "
            f"frame {last} (at {annotation_fps:g} fps); fix the region, or set --annotation-fps "
            "to the frame rate Label Studio used (24 when its Video tag has no frameRate)."
        )
    begin = rescale_frames(start - 1, annotation_fps, video.fps)
    stop = min(rescale_frames(end, annotation_fps, video.fps), video.n_frames)
    return begin, max(stop, begin + 1)
