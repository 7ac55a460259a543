"""The hyperparameter search service: Optuna study, nested MLflow runs, pruning, plots, champion."""
