"""Scoring a model: its outputs as plain floats, the class it predicts, and its accuracy.

A model's output for one example is one score (binary: class 1 if it is positive, else class 0)
or a list of scores (several classes: the largest wins). Labels are what nn's datasets give:
+1/-1 (or 1/0) for two classes, the class index for several.

    outputs(model, X)     every output as floats, computed without recording a graph
    accuracy(outs, y)     the fraction of examples whose predicted class is the label's class

>>> import nn
>>> nn.accuracy([0.7, -0.2, 0.4], [1, -1, -1])  # the third is on the wrong side of 0
0.6666666666666666
>>> nn.accuracy([[0.1, 2.0], [3.0, -1.0]], [1, 1])  # two classes as two scores: the larger wins
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine import Value, no_grad


def floats(x: Any) -> Any:
    """The same nested lists with every Value replaced by its float."""
    if isinstance(x, (list, tuple)):
        return [floats(item) for item in x]
    return x.data if isinstance(x, Value) else float(x)


def outputs(model: Callable, X: Sequence[Any]) -> list[Any]:
    """The model's outputs on every example as floats (lists of floats for several outputs), without a graph."""
    with no_grad():
        return [floats(model(x)) for x in X]


def predicted_class(output: float | list[float]) -> int:
    """1 for a positive score, else 0; the index of the largest of several scores."""
    if isinstance(output, list):
        return max(range(len(output)), key=output.__getitem__)
    return int(output > 0.0)


def class_margin(output: float | list[float], k: int) -> float:
    """How far class k's score is above the best other class's (a binary score s: s for class 1, -s for 0)."""
    if isinstance(output, list):
        return output[k] - max(o for j, o in enumerate(output) if j != k)
    return output if k == 1 else -output


def true_class(label: int, multiclass: bool) -> int:
    """The class index of a label: itself for several classes, 1 for a positive binary label (+1 or 1), else 0."""
    return label if multiclass else int(label > 0)


def accuracy(outs: Sequence[Any], labels: Sequence[int]) -> float:
    """The fraction of examples whose predicted class is the label's class (outputs as floats: see `floats`)."""
    multiclass = bool(outs) and isinstance(outs[0], list)
    hits = sum(predicted_class(o) == true_class(t, multiclass) for o, t in zip(outs, labels, strict=True))
    return hits / len(labels)
