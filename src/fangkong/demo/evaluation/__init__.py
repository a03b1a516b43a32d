"""``fangkong evaluate``: every policy pack run through the province loop over many seeds,
scored for effect and cost against the twin's truth (docs/evaluation.md)."""

from fangkong.demo.evaluation.cli import evaluate_command

__all__ = ["evaluate_command"]
