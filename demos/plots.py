"""The demos' pictures, drawn with matplotlib: a classifier's decision boundary and the training curves.

Figures are rendered with matplotlib's Agg canvas (no display needed) as PNG and SVG bytes; the
SVGs are byte-identical from run to run, so a changed picture means changed numbers. Writing them
is `demos.common.save_pictures`'s job.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Protocol

import matplotlib
import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from demos.grid import margins, outputs_on
from nn.metrics import true_class

matplotlib.rcParams["svg.hashsalt"] = "chainrule"  # fixed ids inside the SVG instead of random ones
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]  # class 0, 1, 2, ...
GRID = 60  # the decision boundary is evaluated on GRID x GRID points


class Curves(Protocol):
    """What `plot_curves` reads of a training run (a `demos.common.Training`)."""

    losses: list[float]
    accuracies: list[float]

    @property
    def steps(self) -> int: ...


def new_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def render(figure: Figure) -> dict[str, bytes]:
    """The figure as PNG and SVG bytes, by suffix (the PNG without the software tag, the SVG without a date)."""
    png, svg = io.BytesIO(), io.BytesIO()
    with warnings.catch_warnings(), numpy.errstate(all="ignore"):  # an overflow then raises below, in one line
        warnings.simplefilter("ignore", RuntimeWarning)
        figure.savefig(png, format="png", dpi=120, metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return {".png": png.getvalue(), ".svg": svg.getvalue()}


def _limits(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = 0.15 * (high - low) + 0.1
    return low - margin, high + margin


def grid_axes(points: Sequence[Sequence[float]], size: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """`size` evenly spaced x0's and x1's spanning the points, with a margin."""
    (x0, x1), (y0, y1) = _limits([p[0] for p in points]), _limits([p[1] for p in points])
    i = numpy.arange(size)
    return x0 + (x1 - x0) * i / (size - 1), y0 + (y1 - y0) * i / (size - 1)


def grid_scores(model: Callable, xs: numpy.ndarray, ys: numpy.ndarray) -> list[numpy.ndarray]:
    """The model's outputs at every (x, y) of the grid, row by row (y outer), one array per output."""
    X, Y = numpy.meshgrid(xs, ys)
    return outputs_on(model, [X.ravel(), Y.ravel()])


def plot_boundary(
    model: Callable,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    title: str,
    X_test: Sequence[Sequence[float]] = (),
    y_test: Sequence[int] = (),
) -> Figure:
    """The model's predicted class over the plane (evaluated without a graph), with the points on top."""
    points = list(X) + list(X_test)
    xs, ys = grid_axes(points, GRID)
    scores = grid_scores(model, xs, ys)
    multiclass = len(scores) > 1
    classes = len(scores) if multiclass else 2

    figure = new_figure()
    ax = figure.add_subplot()
    for k in range(classes):  # class k wins where its margin over the best other class is positive
        zs = margins(scores, k).reshape(len(ys), len(xs))
        ax.contourf(xs, ys, zs, levels=[0.0, math.inf], colors=COLOURS[k], alpha=0.25)
        ax.contour(xs, ys, zs, levels=[0.0], colors="black", linewidths=0.8)
    for k in range(classes):
        train = [p for p, t in zip(X, y, strict=True) if true_class(t, multiclass) == k]
        test = [p for p, t in zip(X_test, y_test, strict=True) if true_class(t, multiclass) == k]
        ax.scatter(
            [p[0] for p in train],
            [p[1] for p in train],
            s=22,
            c=COLOURS[k],
            edgecolors="black",
            linewidths=0.5,
            label=f"class {k} (train)",
        )
        if test:
            ax.scatter(
                [p[0] for p in test],
                [p[1] for p in test],
                s=16,
                facecolors="none",
                edgecolors=COLOURS[k],
                linewidths=0.9,
                label=f"class {k} (test)",
            )
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), title=title, xlabel="x0", ylabel="x1")
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return figure


def plot_curves(training: Curves, title: str) -> Figure:
    """Loss per step (log scale when it stays positive) and, if measured, accuracy per step."""
    panels = 2 if training.accuracies else 1
    figure = new_figure(5.0 * panels, 3.6)
    steps = list(range(1, training.steps + 1))
    ax = figure.add_subplot(1, panels, 1)
    ax.plot(steps, training.losses, color=COLOURS[0])
    if min(training.losses) > 0.0:
        ax.set_yscale("log")
    ax.set(title=f"{title}: loss", xlabel="step", ylabel="loss")
    ax.grid(alpha=0.3)
    if training.accuracies:
        ax = figure.add_subplot(1, panels, 2)
        ax.plot(steps, [100.0 * a for a in training.accuracies], color=COLOURS[2])
        ax.set(title=f"{title}: training accuracy", xlabel="step", ylabel="accuracy (%)", ylim=(0, 101))
        ax.grid(alpha=0.3)
    return figure
