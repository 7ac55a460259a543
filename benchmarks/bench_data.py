"""Pose extraction throughput: our pipeline against MediaPipe's ``detect_for_video`` alone.

Both sides decode the same video with OpenCV, convert each frame to RGB and run a fresh
VIDEO-mode ``PoseLandmarker`` over every frame with the same timestamps. The pipeline
(``data_pipeline.extract.extract_video`` on an empty cache) adds hashing of the video and the
model, packing the landmarks into arrays and the atomic cache write. The two alternate within one
process; the table reports the median of ``--repeats`` runs each and the ratio (target: the
pipeline adds under 10 %).

Usage::

    python -m benchmarks.bench_data [--video PATH] [--frames 90] [--repeats 3] [--pose-model PATH]

Without ``--video`` a panning 512 x 512 video of a real photograph (``skimage.data.astronaut``)
is written to a temporary folder. Window build times are in ``benchmarks/bench_windows.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

from data_pipeline import ExtractionSettings
from data_pipeline import import_mediapipe
from data_pipeline import open_landmarker
from data_pipeline.extract import extract_video
from data_pipeline.pose_model import resolve_pose_model


def detect_only(video: Path, model: Path) -> int:
    """Decode + RGB + ``detect_for_video`` per frame, nothing else; return the frame count."""
    import cv2

    mp = import_mediapipe()
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    n = 0
    with open_landmarker(model, ExtractionSettings()) as landmarker:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            image = mp.Image(
                image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            )
            landmarker.detect_for_video(image, round(n * 1000.0 / fps))
            n += 1
    capture.release()
    return n


def pipeline(video: Path, model: Path, cache: Path) -> int:
    """``extract_video`` on a missing cache file (full extraction + write); return frames."""
    cache.unlink(missing_ok=True)
    return extract_video(video, cache, pose_model=model).n_frames


def _time(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    frames = run()
    return time.perf_counter() - start, frames


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=None, help="video to extract")
    parser.add_argument("--frames", type=int, default=90, help="frames of the generated video")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side")
    parser.add_argument("--pose-model", type=Path, default=None, help="model bundle")
    args = parser.parse_args(argv)
    model = resolve_pose_model(args.pose_model)
    import_mediapipe()  # the ~10 s import is not part of either measurement
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video
        if video is None:
            from tests.data_pipeline_tests.videos import write_astronaut_video

            video = Path(tmp) / "astronaut.mp4"
            write_astronaut_video(video, n_frames=args.frames, step=(1, 0))
        cache = Path(tmp) / "poses" / "bench.npz"
        pipeline(video, model, cache)  # warm-up: file cache, XNNPACK initialisation
        times: dict[str, list[float]] = {"detect_for_video alone": [], "pipeline": []}
        frames = 0
        for _ in range(args.repeats):
            seconds, frames = _time(lambda: detect_only(video, model))
            times["detect_for_video alone"].append(seconds)
            seconds, _ = _time(lambda: pipeline(video, model, cache))
            times["pipeline"].append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"video: {video.name}, {frames} frames; median of {args.repeats} alternating runs\n")
    print("| measure | seconds | frames/s |")
    print("|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {frames / seconds:.1f} |")
    overhead = medians["pipeline"] / medians["detect_for_video alone"] - 1.0
    print(f"\npipeline overhead: {overhead:+.1%} (target < +10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
