"""From videos or keypoints to leakage-free windowed datasets.

Knows nothing of Keras, Optuna or MLflow. See ``data_pipeline.layout`` for the data folder layout.
"""

from data_pipeline._io import atomic_write
from data_pipeline._io import atomic_write_text

__all__ = ["atomic_write", "atomic_write_text"]
