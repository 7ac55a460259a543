"""Detection throughput end to end against pose extraction alone, on the same video.

Measured in one process, alternating (extraction, detection, extraction, detection) so that load
from other processes hits both alike:

- ``extraction``: ``data_pipeline.extract.extract_video`` into a fresh cache (MediaPipe alone);
- ``end to end``: ``python -m model.detect VIDEO --out <fresh folder>`` run in-process
  (``model.detect.main``): model loading, the same extraction, features, one batched
  prediction, events, ``strokes.json``/``.csv`` and ``timeline.png``.

The overhead ``end to end / extraction - 1`` is what prediction and post-processing add (target:
under 10 %). On a shared machine its noise can exceed it, so the detection stages are also timed
one by one on the cached poses: their sum over the extraction time is the same overhead without
the noise of a second extraction, and it shows the per-frame work (``detect_clip``) apart from the
one-off costs (model loading, the PNG). Process start (importing TensorFlow) is not counted.

The video is the real photograph of ``tests/data_pipeline_tests/videos.py`` panning slowly; the
model is ``--model`` or, by default, an untrained model of the V2 architecture with V2's
preprocessing (window 45, overlap 15, 30 fps, 15 landmarks): prediction costs the same
trained or not. Usage::

    python -m benchmarks.bench_detect --pose-model ../shared/models/pose_landmarker_full.task
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

from data_pipeline import atomic_write_text
from data_pipeline.config import FeatureConfig
from data_pipeline.extract import extract_video
from data_pipeline.features import feature_names_for
from model.artifacts import KERAS_FILE
from model.artifacts import PREPROCESSING_FILE
from model.artifacts import PreprocessingSettings
from model.artifacts import write_preprocessing
from model.build import build_model
from model.detect import main as detect_main
from model.detection import detect_clip
from model.detection import load_model
from model.detection import write_outputs
from model.spec import ModelSpec
from tests.data_pipeline_tests.videos import write_astronaut_video

CLASSES = ("backhand", "fronthand", "neutral", "serve")


def baseline_model(folder: Path) -> Path:
    """Save an untrained V2 model with V2's default preprocessing into ``folder``."""
    features = FeatureConfig()
    settings = PreprocessingSettings(
        window_size=45,
        overlap=15,
        reference_fps=30.0,
        features=features,
        class_names=CLASSES,
        feature_names=feature_names_for(features),
    )
    model = build_model(ModelSpec.baseline(), (45, len(settings.feature_names)), len(CLASSES))
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / KERAS_FILE)
    write_preprocessing(settings, folder / PREPROCESSING_FILE)
    return folder


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(video: Path, model: str, pose_model: Path, work: Path, repeats: int) -> dict:
    """Time extraction alone and detection end to end, ``repeats`` times each, alternating."""
    extraction, end_to_end = [], []
    for index in range(repeats):
        cache = work / f"extract-{index}" / "clip.npz"
        extraction.append(_seconds(lambda: extract_video(video, cache, pose_model=pose_model)))
        argv = [str(video), "--model", model, "--out", str(work / f"detect-{index}")]
        argv += ["--pose-model", str(pose_model)]
        end_to_end.append(_seconds(lambda: detect_main(argv)))
    loaded = load_model(model)
    clip = extract_video(video, work / "extract-0" / "clip.npz", pose_model=pose_model)
    stages = {
        "load_model": _seconds(lambda: load_model(model)),
        "detect_clip (features, predict, events)": statistics.median(
            _seconds(lambda: detect_clip(loaded.model, loaded.preprocessing, clip))
            for _ in range(3)
        ),
    }
    detection = detect_clip(loaded.model, loaded.preprocessing, clip)
    stages["write_outputs (json, csv, png)"] = _seconds(
        lambda: write_outputs(work / "outputs", detection, video=video, loaded=loaded)
    )
    x, e = statistics.median(extraction), statistics.median(end_to_end)
    return {
        "frames": clip.n_frames,
        "video_fps": clip.fps,
        "extraction_s": extraction,
        "end_to_end_s": end_to_end,
        "extraction_fps": clip.n_frames / x,
        "end_to_end_fps": clip.n_frames / e,
        "overhead": e / x - 1,
        "stages_s": stages,
        "stages_overhead": sum(stages.values()) / x,
        "per_frame_overhead": stages["detect_clip (features, predict, events)"] / x,
        "events": len(detection.events),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames of the test video")
    parser.add_argument("--video", type=Path, default=None, help="use this video instead")
    parser.add_argument("--model", default=None, help="model to use (default: untrained V2)")
    parser.add_argument("--pose-model", type=Path, required=True, help="PoseLandmarker .task")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_detect.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        work = Path(tmp)
        video = args.video
        if video is None:
            video = work / "astronaut.mp4"
            write_astronaut_video(video, n_frames=args.frames, fps=30.0, step=(1, 0))
        model = args.model or str(baseline_model(work / "model"))
        result = run(video, model, args.pose_model, work, args.repeats)
    print(f"{result['frames']} frames at {result['video_fps']:g} fps")
    print(f"extraction alone : {result['extraction_fps']:7.1f} frames/s  {result['extraction_s']}")
    print(f"detection e2e    : {result['end_to_end_fps']:7.1f} frames/s  {result['end_to_end_s']}")
    print(f"overhead         : {100 * result['overhead']:+.1f} % (target < 10 %)")
    print(f"stages / extract : {100 * result['stages_overhead']:+.1f} % (all stages below)")
    print(f"per-frame stages : {100 * result['per_frame_overhead']:+.1f} % (detect_clip only)")
    for stage, seconds in result["stages_s"].items():
        print(f"  {stage:<42}{seconds:8.3f} s")
    if args.out is not None:
        atomic_write_text(args.out / "bench_detect.json", json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
