"""Using a trained model on new clips: detection, stroke events, outputs and their evaluation.

``python -m model.detect`` and ``python -m model.evaluate_detection`` are the command lines
(:mod:`model.detection.cli`); the functions behind them are public here::

    from model.detection import detect_clip, load_model, load_poses, write_outputs
    loaded = load_model("models:/tennis_stroke_recognition@champion")
    clip = load_poses(video, out_dir=out, pose_model=None)
    detection = detect_clip(loaded.model, loaded.preprocessing, clip)
    write_outputs(out, detection, video=video, loaded=loaded)
"""

from model.detection.detect import Detection
from model.detection.detect import detect_clip
from model.detection.detect import load_poses
from model.detection.evaluate import evaluate_clips
from model.detection.evaluate import held_out_clips
from model.detection.events import EventConfig
from model.detection.events import StrokeEvent
from model.detection.loading import LoadedModel
from model.detection.loading import load_model
from model.detection.outputs import write_outputs

__all__ = [
    "Detection",
    "EventConfig",
    "LoadedModel",
    "StrokeEvent",
    "detect_clip",
    "evaluate_clips",
    "held_out_clips",
    "load_model",
    "load_poses",
    "write_outputs",
]
