"""Training you can watch: the decision boundary as it forms, beside the loss curve, as an animated GIF.

During training, `Snapshots.take(step)` copies the parameters' numbers at a few chosen steps (a
list of floats: nothing is drawn while training runs). After training, `write_gif` puts each
snapshot back into the model in turn, evaluates the model over a grid without a graph, and draws
one frame: the predicted class over the plane with the training points, and the loss curve up to
that step. The frames go through matplotlib's Pillow writer into `<out>/training.gif`, written
atomically like the other pictures; the model's own parameters are put back afterwards.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.animation import FuncAnimation, PillowWriter

from demos import common, plots
from nn import metrics

FRAMES = 16  # pictures in an animation, the last one after the last step
GRID = 40  # the boundary of a frame is evaluated on GRID x GRID points (the still picture uses 60)


def frame_steps(total: int, frames: int = FRAMES) -> list[int]:
    """About `frames` steps from 1 to total, spaced quadratically: closer early on, where the boundary moves most."""
    if total <= frames:
        return list(range(1, total + 1))
    return sorted({max(1, round(total * (i / (frames - 1)) ** 2)) for i in range(frames)})


class Snapshots:
    """The parameters' numbers at the chosen steps of a training run."""

    def __init__(self, parameters: Sequence[Any], total: int, frames: int = FRAMES) -> None:
        self.parameters = list(parameters)
        self.wanted = set(frame_steps(total, frames))
        self.taken: list[tuple[int, list[float]]] = []

    def take(self, step: int) -> None:
        """Keep the parameters' numbers if `step` is one of the chosen steps (after its update)."""
        if step in self.wanted:
            self.taken.append((step, [p.data for p in self.parameters]))


def _grid(X: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    (x0, x1), (y0, y1) = plots._limits([p[0] for p in X]), plots._limits([p[1] for p in X])
    return [x0 + (x1 - x0) * i / (GRID - 1) for i in range(GRID)], [
        y0 + (y1 - y0) * j / (GRID - 1) for j in range(GRID)
    ]


def write_gif(
    name: str,
    out: Path,
    title: str,
    model: Any,
    snapshots: Snapshots,
    losses: Sequence[float],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
) -> Path:
    """Draw one frame per snapshot and write them as out/training.gif (all or nothing); return its path."""
    xs, ys = _grid(X)
    points = [[x, v] for v in ys for x in xs]
    saved = [p.data for p in snapshots.parameters]
    grids = []
    try:
        for _, numbers in snapshots.taken:
            for p, number in zip(snapshots.parameters, numbers, strict=True):
                p.data = number
            grids.append(metrics.outputs(model, points))
    finally:
        for p, number in zip(snapshots.parameters, saved, strict=True):
            p.data = number
    multiclass = isinstance(grids[0][0], list)
    classes = len(grids[0][0]) if multiclass else 2
    figure = plots.new_figure(10.0, 4.2)
    board, curve = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    steps_axis = list(range(1, len(losses) + 1))
    positive = min(losses) > 0.0

    def draw(i: int) -> None:
        step, _ = snapshots.taken[i]
        board.clear()
        for k in range(classes):
            margins = [metrics.class_margin(o, k) for o in grids[i]]
            zs = [margins[j * GRID : (j + 1) * GRID] for j in range(GRID)]
            board.contourf(xs, ys, zs, levels=[0.0, math.inf], colors=plots.COLOURS[k], alpha=0.25)
            if max(max(row) for row in zs) > 0.0 > min(min(row) for row in zs):
                board.contour(xs, ys, zs, levels=[0.0], colors="black", linewidths=0.8)
            mine = [p for p, t in zip(X, y, strict=True) if metrics.true_class(t, multiclass) == k]
            board.scatter(
                [p[0] for p in mine],
                [p[1] for p in mine],
                s=14,
                c=plots.COLOURS[k],
                edgecolors="black",
                linewidths=0.4,
            )
        board.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), title=f"{title}: after step {step}")
        curve.clear()
        curve.plot(steps_axis[:step], losses[:step], color=plots.COLOURS[0])
        curve.plot([step], [losses[step - 1]], "o", color=plots.COLOURS[1])
        curve.set(xlim=(0, len(losses) + 1), title=f"loss {losses[step - 1]:.4g} at step {step}", xlabel="step")
        if positive:
            curve.set_yscale("log")
            curve.set_ylim(min(losses) * 0.8, max(losses) * 1.25)
        curve.grid(alpha=0.3)

    animation = FuncAnimation(figure, draw, frames=len(snapshots.taken), interval=400, repeat=True)
    with tempfile.TemporaryDirectory() as folder:
        temp = Path(folder) / "training.gif"
        try:
            animation.save(temp, writer=PillowWriter(fps=3), dpi=70)
        except common.FAILURES as error:
            raise SystemExit(f"{name}: cannot draw the animation: {type(error).__name__}: {error}") from None
        data = temp.read_bytes()
    (path,) = common.write_files(name, out, {"training.gif": data})
    return path
