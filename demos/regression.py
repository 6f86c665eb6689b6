"""Regression: fit y = sin(x) on [-pi, pi] from 40 noisy samples with mean squared error and Adam.

An MLP 1-16-16-1 (tanh, tanh, linear) maps x to y. After training, the fit is compared with
sin itself on 200 evenly spaced points (the test error) and drawn over the samples.

    python demos/regression.py            # 300 steps, pictures in out/regression/
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine
import nn
from demos import common, plots

SAMPLES, NOISE, TEST_POINTS = 40, 0.1, 200


def samples(n: int, noise: float, seed: int) -> tuple[list[float], list[float]]:
    """n points x uniform in [-pi, pi] (sorted), y = sin(x) plus Gaussian noise."""
    rng = random.Random(seed)
    xs = sorted(rng.uniform(-math.pi, math.pi) for _ in range(n))
    return xs, [math.sin(x) + rng.gauss(0.0, noise) for x in xs]


def mse(predictions: Sequence[float], targets: Sequence[float]) -> float:
    return sum((p - t) ** 2 for p, t in zip(predictions, targets, strict=True)) / len(targets)


def plot_fit(model, xs: list[float], ys: list[float], grid: list[float], title: str) -> Figure:
    figure = plots.new_figure(6.0, 4.0)
    ax = figure.add_subplot()
    ax.plot(grid, [math.sin(x) for x in grid], color="gray", linestyle="--", label="sin(x)")
    ax.plot(grid, nn.outputs(model, grid), color=plots.COLOURS[1], label="model")
    ax.scatter(xs, ys, s=18, color=plots.COLOURS[0], edgecolors="black", linewidths=0.5, label="training samples")
    ax.set(title=title, xlabel="x", ylabel="y")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("regression", __doc__, steps=300, lr=0.01, seed=0, compiled=True)
    args = common.parse(parser, argv)
    xs, ys = samples(SAMPLES, NOISE, args.seed)
    grid = [-math.pi + 2.0 * math.pi * i / (TEST_POINTS - 1) for i in range(TEST_POINTS)]
    model = nn.MLP(1, [16, 16, 1], activation="tanh", seed=args.seed)
    optimizer = nn.Adam(model.parameters(), lr=args.lr)

    def loss_fn():
        predictions = [model(x) for x in xs]  # forward: the model over the whole batch
        loss = nn.mse_loss(predictions, ys)
        return loss, predictions

    step = engine.compile(loss_fn)  # records loss_fn's graph on the first call, then replays it

    with common.Run("regression", args, model) as run:  # progress bar, timing, one line if a number blows up
        for _ in run:
            optimizer.zero_grad()  # leaf gradients accumulate: start every step from 0
            if args.compiled:
                loss, predictions = step()  # forward + backward as floats, exactly as loss_fn() then loss.backward()
            else:
                loss, predictions = loss_fn()  # forward: builds the graph of Values
                loss.backward()  # backward: d loss / d p into every parameter's .grad
                loss, predictions = loss.data, nn.floats(predictions)
            optimizer.step()  # Adam: p.data -= lr * (running mean of p.grad) / (its running root mean square)
            run.log(loss)
    training = run.training
    train_error = mse(nn.outputs(model, xs), ys)
    test_error = mse(nn.outputs(model, grid), [math.sin(x) for x in grid])
    title = f"fitting sin(x), {training.steps} steps: test MSE {test_error:.4f}"
    figures = {"fit": plot_fit(model, xs, ys, grid, title), "curves": plots.plot_curves(training, "sin(x)")}
    pictures = common.save_pictures("regression", args.out, figures)
    return common.report(
        "regression",
        training,
        pictures,
        train_mse=(train_error, f"train MSE {train_error:.6f} on {SAMPLES} noisy samples"),
        test_mse=(test_error, f"test MSE {test_error:.6f} against sin(x) on {TEST_POINTS} points"),
    )


if __name__ == "__main__":
    common.script("regression", main)
