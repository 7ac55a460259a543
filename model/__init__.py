"""Keras LSTM stroke classifier: spec, builder, training, evaluation and the MLflow record of a run.

Knows nothing of Optuna.
"""
