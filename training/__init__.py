"""Labeled data, training, evaluation, MLflow tracking and the model registry."""
