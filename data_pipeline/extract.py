"""Pose extraction: videos -> pose cache files, with MediaPipe's PoseLandmarker in VIDEO mode.

Each video is decoded with OpenCV frame by frame; frame ``i`` is given to
``PoseLandmarker.detect_for_video`` with the timestamp ``round(i * 1000 / fps)`` ms taken from the
video's own frame rate (kept strictly increasing). All 33 landmarks x (x, y, z, visibility) of the
first detected pose are stored as float32; frames without a pose are masked (and hold zeros).

A cache file is reused when its metadata matches the current inputs: the video's sha256, the model
bundle's sha256, the mediapipe version and the extraction settings; otherwise the video is
extracted again. Frame rate and frame count are recorded too (they follow from the video's hash).

A video that cannot be decoded, or in which no frame has a pose, is a per-video failure
(:class:`~data_pipeline.errors.DataError` naming the video); :func:`extract_videos` reports it
and finishes the others. Cache files are written atomically, so a failure never leaves half a file.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from tqdm import tqdm

from data_pipeline._io import atomic_write
from data_pipeline._pose_detection import ExtractionSettings
from data_pipeline._pose_detection import detect_poses
from data_pipeline._pose_detection import import_mediapipe
from data_pipeline._pose_detection import mediapipe_version
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.layout import ANNOTATIONS_DIR
from data_pipeline.layout import POSES_DIR
from data_pipeline.pose_cache import FORMAT_VERSION
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.pose_cache import read_pose_meta
from data_pipeline.pose_cache import save_pose_clip
from data_pipeline.pose_model import file_sha256
from data_pipeline.pose_model import resolve_pose_model

logger = logging.getLogger(__name__)

#: Video file suffixes picked up from ``--videos`` (matched case-insensitively).
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")
#: Metadata entries that must match for a cache file to be reused.
_CACHE_KEYS = ("format_version", "video_sha256", "model_sha256", "mediapipe_version", "settings")


@dataclass(frozen=True)
class ExtractReport:
    """Outcome of :func:`extract_videos`, by video stem.

    Args:
        extracted: videos extracted in this run.
        reused: videos whose cache file was already current.
        failed: video stem -> reason, for videos that could not be extracted.
    """

    extracted: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class _Job:
    """One video to extract, with the hashes its cache file is checked against."""

    video: Path
    cache: Path
    video_sha256: str
    model: Path
    model_sha256: str
    settings: ExtractionSettings

    def expected_meta(self) -> dict[str, object]:
        return {
            "format_version": FORMAT_VERSION,
            "video": self.video.name,
            "video_sha256": self.video_sha256,
            "model": self.model.name,
            "model_sha256": self.model_sha256,
            "mediapipe_version": mediapipe_version(),
            "settings": self.settings.as_meta(),
        }

    def cache_is_current(self) -> bool:
        meta = read_pose_meta(self.cache)
        expected = self.expected_meta()
        return meta is not None and all(meta.get(key) == expected[key] for key in _CACHE_KEYS)

    def run(self) -> PoseClip:
        landmarks, mask, fps = detect_poses(self.video, self.model, self.settings)
        clip = PoseClip(landmarks=landmarks, mask=mask, fps=fps, meta=self.expected_meta())
        save_pose_clip(self.cache, clip)
        return load_pose_clip(self.cache)


def extract_video(
    video_path: str | Path,
    cache_path: str | Path,
    *,
    pose_model: str | Path | None,
    settings: ExtractionSettings = ExtractionSettings(),
) -> PoseClip:
    """Return the poses of one video, from ``cache_path`` when it is current, else extracted.

    Args:
        video_path: the video file.
        cache_path: its pose cache file (written when missing or outdated).
        pose_model: model bundle; None resolves it (see :func:`resolve_pose_model`).
        settings: detector thresholds. Defaults to MediaPipe's defaults.

    Raises:
        DataError: the video is missing, cannot be decoded, or has no pose in any frame.
        ConfigError: the pose model cannot be found or loaded.
    """
    video = Path(video_path)
    if not video.is_file():
        raise DataError(f"video {video} does not exist; check the path.")
    model = resolve_pose_model(pose_model)
    job = _Job(video, Path(cache_path), file_sha256(video), model, file_sha256(model), settings)
    return load_pose_clip(job.cache) if job.cache_is_current() else job.run()


def extract_videos(
    videos_dir: str | Path,
    annotations_dir: str | Path,
    out_dir: str | Path,
    *,
    pose_model: str | Path | None,
    workers: int = 1,
    progress: bool | None = None,
) -> ExtractReport:
    """Extract every video of ``videos_dir`` into the data folder ``out_dir``.

    Writes ``out_dir/poses/<stem>.npz`` per video and copies the annotation JSON files into
    ``out_dir/annotations/``, so ``out_dir`` is a clip data folder (``data_pipeline.layout``).

    Args:
        videos_dir: folder with the videos (suffixes in :data:`VIDEO_SUFFIXES`).
        annotations_dir: folder with the Label Studio JSON exports.
        out_dir: the data folder to fill.
        pose_model: model bundle; None resolves it (see :func:`resolve_pose_model`).
        workers: videos extracted in parallel (processes). Defaults to 1.
        progress: show a progress bar; None shows it on a terminal only. Defaults to None.

    Returns:
        Which videos were extracted, reused or failed (with the reason).

    Raises:
        DataError: a folder is missing or empty, or two videos share a stem.
        ConfigError: ``workers`` < 1, or the pose model cannot be found or loaded.
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, but got {workers=}; use 1 or more.")
    videos = _list_videos(Path(videos_dir))
    out = Path(out_dir)
    _copy_annotations(Path(annotations_dir), out / ANNOTATIONS_DIR)
    model = resolve_pose_model(pose_model)
    model_sha256 = file_sha256(model)
    settings = ExtractionSettings()
    jobs = [
        _Job(
            video,
            out / POSES_DIR / f"{video.stem}.npz",
            file_sha256(video),
            model,
            model_sha256,
            settings,
        )
        for video in videos
    ]
    reused = tuple(job.video.stem for job in jobs if job.cache_is_current())
    pending = [job for job in jobs if job.video.stem not in reused]
    extracted: list[str] = []
    failed: dict[str, str] = {}
    bar = tqdm(total=len(pending), desc="extract", unit="video", disable=_disabled(progress))
    with bar:
        for job, error in _run_all(pending, workers):
            bar.update()
            if error is None:
                extracted.append(job.video.stem)
                continue
            failed[job.video.stem] = error
            # An outdated cache file no longer describes this video: drop it.
            job.cache.unlink(missing_ok=True)
    logger.info("extracted %d, reused %d, failed %d", len(extracted), len(reused), len(failed))
    return ExtractReport(tuple(extracted), reused, failed)


def _run_safely(job: _Job) -> str | None:
    """Extract one job; return None on success or the reason it failed."""
    try:
        job.run()
    except DataError as exc:
        return str(exc)
    return None


def _run_all(jobs: list[_Job], workers: int) -> Iterator[tuple[_Job, str | None]]:
    """Yield ``(job, error)`` as jobs finish, in this process or in ``workers`` processes."""
    if workers == 1 or len(jobs) <= 1:
        yield from ((job, _run_safely(job)) for job in jobs)
        return
    # Import MediaPipe (and the TensorFlow it pulls in, ~10 s) once: forked workers inherit it.
    import_mediapipe()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(_run_safely, job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _list_videos(videos_dir: Path) -> list[Path]:
    if not videos_dir.is_dir():
        raise DataError(f"--videos {videos_dir} is not a folder; give the folder of the videos.")
    videos = sorted(p for p in videos_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise DataError(
            f"--videos {videos_dir} holds no video (looked for {', '.join(VIDEO_SUFFIXES)})."
        )
    stems: dict[str, Path] = {}
    for video in videos:
        if video.stem in stems:
            raise DataError(
                f"videos {stems[video.stem].name} and {video.name} share the stem {video.stem!r}, "
                "so their pose files would collide; rename one of them."
            )
        stems[video.stem] = video
    return videos


def _copy_annotations(src: Path, dst: Path) -> None:
    files = sorted(src.glob("*.json")) if src.is_dir() else []
    if not files:
        raise DataError(
            f"--annotations {src} holds no Label Studio export (*.json); give the folder with "
            "the JSON exports of the videos."
        )
    for path in files:
        with path.open("rb") as source, atomic_write(dst / path.name) as target:
            shutil.copyfileobj(source, target)


def _disabled(progress: bool | None) -> bool | None:
    return None if progress is None else not progress
