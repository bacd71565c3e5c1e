"""Evaluation: the evaluator embedding, pure metric functions, and `evaluate(clips, reference)`."""

from motionloop.eval.errors import EvaluationError
from motionloop.eval.evaluate import METRIC_KEYS, evaluate, format_metrics, load_reference
from motionloop.eval.evaluator import Evaluator
from motionloop.eval.metrics import accuracy, diversity, fid, frechet_distance, multimodality, precision_recall
from motionloop.eval.network import EvaluatorConfig
from motionloop.eval.train import train_evaluator

__all__ = [
    "METRIC_KEYS",
    "EvaluationError",
    "Evaluator",
    "EvaluatorConfig",
    "accuracy",
    "diversity",
    "evaluate",
    "fid",
    "format_metrics",
    "frechet_distance",
    "load_reference",
    "multimodality",
    "precision_recall",
    "train_evaluator",
]
