"""From videos or keypoints to leakage-free windowed datasets.

Knows nothing of Keras, Optuna or MLflow. See ``data_pipeline.layout`` for the data folder layout.
"""
