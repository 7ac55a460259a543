"""From videos or keypoints to leakage-free windowed datasets.

Knows nothing of Keras, Optuna or MLflow. See ``data_pipeline.layout`` for the data folder layout.
Importing it (every command does) keeps native start-up log lines quiet: see ``native_logs``.
"""

from data_pipeline import native_logs

native_logs.install()  # before anything can load TensorFlow or MediaPipe

from data_pipeline._io import atomic_write
from data_pipeline._io import atomic_write_text
from data_pipeline._pose_detection import ExtractionSettings
from data_pipeline._pose_detection import import_mediapipe
from data_pipeline._pose_detection import open_landmarker

__all__ = [
    "ExtractionSettings",
    "atomic_write",
    "atomic_write_text",
    "import_mediapipe",
    "open_landmarker",
]
