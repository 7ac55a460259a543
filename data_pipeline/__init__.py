"""From videos or keypoints to leakage-free windowed datasets.

Knows nothing of Keras, Optuna or MLflow. See ``data_pipeline.layout`` for the data folder layout.
"""

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
