"""Keras LSTM stroke classifier: spec, builder, training, evaluation and the MLflow record of a run.

Knows nothing of Optuna.
"""

from data_pipeline import native_logs

native_logs.install()  # TensorFlow's native start-up lines stay off the terminal unless -v
