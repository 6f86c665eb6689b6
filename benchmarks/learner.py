"""The learner's own loop: micrograd's demo notebook training loop, run on either engine.

A learner trains the way micrograd's demo.ipynb does: a `loss()` function that turns every row
of the data into input Values, maps the model over them, adds the hinge losses and an L2 term,
and returns `(total_loss, accuracy)`; then a loop that calls it, zeroes the gradients, runs
backward and updates with a decaying learning rate. `total_loss` is rebound each step, so the
previous step's graph is still alive while the next one is built, and the data are numpy arrays
when numpy is installed (as the notebook has them, from scikit-learn). The code below is that
loop with only the engine swapped: `MLP(2, [16, 16, 1])` from `micrograd.nn` or from `nn`.

Both models start from the same weights (`workloads.initial_weights`), set after construction,
so both engines compute the same losses; `Session.step` returns the loss to compare them.
"""

from __future__ import annotations

from typing import Any

from benchmarks import workloads

ALPHA = 1e-4
STEPS = 100  # the notebook's loop length, for its learning-rate schedule


def as_arrays(points: list[tuple[float, float]], labels: list[float]) -> tuple[Any, Any]:
    """The data as the notebook holds it: numpy arrays (X float, y int -1/+1) if numpy is installed."""
    try:
        import numpy as np
    except ImportError:
        return [list(p) for p in points], [int(t) for t in labels]
    return np.array(points, dtype=float), np.array([int(t) for t in labels])


class Session:
    """One engine's notebook: its data, its model and the loss of the last step (kept alive)."""

    def __init__(self, Value: type, MLP: type, points: list[tuple[float, float]], labels: list[float]) -> None:
        self.Value = Value
        self.X, self.y = as_arrays(points, labels)
        self.model = MLP(2, [16, 16, 1])
        weights = [
            w for ws, bs in workloads.initial_weights() for row, b in zip(ws, bs, strict=True) for w in [*row, b]
        ]
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data = w
        self.k = 0
        self.total_loss: Any = None  # the previous step's graph, alive as in the notebook

    def loss(self) -> tuple[Any, float]:
        """The notebook's loss(): hinge loss over every row plus alpha * sum(p**2), and the accuracy."""
        Value, model, X, y = self.Value, self.model, self.X, self.y
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        total = data_loss + reg_loss
        right = [(yi > 0) == (si.data > 0) for yi, si in zip(y, scores, strict=True)]
        return total, sum(right) / len(right)

    def step(self) -> float:
        """One pass of the notebook's loop body; returns the loss."""
        self.total_loss, _ = self.loss()
        self.model.zero_grad()
        self.total_loss.backward()
        learning_rate = 1.0 - 0.9 * self.k / STEPS
        for p in self.model.parameters():
            p.data -= learning_rate * p.grad
        self.k += 1
        return float(self.total_loss.data)

    def close(self) -> None:
        """Drop the last graph (so that it does not weigh on another engine's turn)."""
        self.total_loss = None
