"""What the demos share: command-line options, the training loop with its progress bar, accuracy, pictures.

A demo builds its data, its model, a loss function and an optimizer, then calls `train`,
draws with `plot_boundary` / `plot_curves` and ends with `report`. Pictures are written with
matplotlib's Agg canvas (no display needed) as PNG and SVG; the SVGs are byte-identical from
run to run, so a changed picture means changed numbers.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm import tqdm

import engine
from engine import Value, no_grad

matplotlib.rcParams["svg.hashsalt"] = "chainrule"  # fixed ids inside the SVG instead of random ones
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]  # class 0, 1, 2, ...
GRID = 60  # the decision boundary is evaluated on GRID x GRID points


# ---------------------------------------------------------------- command line


def make_parser(
    name: str,
    description: str | None,
    *,
    steps: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    compiled: bool = False,
    lr_help: str = "learning rate",
    steps_help: str = "number of training steps",
) -> argparse.ArgumentParser:
    """The demo's parser: --steps/--lr/--seed when given a default, --no-compile if asked, always --out and --quiet."""
    parser = argparse.ArgumentParser(
        prog=f"python demos/{name}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps, help=f"{steps_help} (default %(default)s)")
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr, help=f"{lr_help} (default %(default)s)")
    if seed is not None:
        parser.add_argument(
            "--seed", type=int, default=seed, help="seed for the data and the initial weights (default %(default)s)"
        )
    if compiled:
        parser.add_argument(
            "--no-compile",
            dest="compiled",
            action="store_false",
            help="rebuild the graph of Values every step instead of replaying the recorded one (slower; to compare)",
        )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out") / name,
        help="folder for the pictures, created if missing (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or step-by-step output")
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the options; a bad one ends the program with a one-line error (exit status 2)."""
    args = parser.parse_args(argv)
    if getattr(args, "steps", 1) < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    lr = getattr(args, "lr", 1.0)
    if not (math.isfinite(lr) and lr > 0.0):
        parser.error(f"--lr must be a number > 0, got {lr}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=args.out):
            pass
    except OSError as error:
        parser.error(f"--out {args.out}: cannot write pictures there ({error.strerror or error})")
    return args


def settle_heap() -> None:
    """Move every object made so far (imports, data) out of the garbage collector's view.

    Each training step makes ~10^5 short-lived nodes, which trigger full collections; without
    this each one would rescan the whole heap left by the imports (matplotlib's is large).
    """
    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------- training


@dataclass
class Training:
    """What `train` measured: the loss and accuracy at every step, the time and how the steps ran."""

    losses: list[float]
    accuracies: list[float]
    seconds: float
    mode: str

    @property
    def steps(self) -> int:
        return len(self.losses)


def floats(x: Any) -> Any:
    """The same nested lists with every Value replaced by its float."""
    if isinstance(x, (list, tuple)):
        return [floats(item) for item in x]
    return x.data if isinstance(x, Value) else float(x)


def make_step(loss_fn: Callable[[], tuple[Value, Any]], compiled: bool = True) -> tuple[Callable, str]:
    """A function that runs loss_fn's forward and backward pass and returns (loss, outputs) as floats.

    The one place that picks how: engine.compile's recorded replay, or building the graph of
    Values again each time. Either way the gradients are added to the parameters' `.grad`, so
    zero them before each call.
    """
    if compiled:
        return engine.compile(loss_fn), "compiled replay"

    def rebuild() -> tuple[float, Any]:
        loss, outputs = loss_fn()
        loss.backward()
        return loss.data, floats(outputs)

    return rebuild, "graph of Values"


def train(
    name: str,
    loss_fn: Callable[[], tuple[Value, Any]],
    optimizer: Any,
    steps: int,
    labels: Sequence[int] | None = None,
    *,
    compiled: bool = True,
    quiet: bool = False,
) -> Training:
    """Run `steps` optimizer steps on loss_fn() -> (loss, outputs), with a progress bar.

    loss_fn must be a pure function of the parameters and fixed data (no `if` on `.data`), so a
    recorded graph can replay it. The loss and accuracy recorded for a step are those of the
    weights the step started from; with `labels` the accuracy is of `outputs` against them.
    """
    step, mode = make_step(loss_fn, compiled)
    losses: list[float] = []
    accuracies: list[float] = []
    bar = tqdm(range(steps), desc=name, unit="step", disable=True if quiet else None, file=sys.stderr)
    collecting = gc.isenabled()
    gc.disable()  # a step's graph has no cycles: reference counting frees it, the collector would only rescan it
    start = time.perf_counter()
    try:
        for k in bar:
            optimizer.zero_grad()
            try:
                loss, outputs = step()
            except ArithmeticError as error:
                raise SystemExit(f"{name}: training failed at step {k + 1} ({error}); try a smaller --lr") from None
            if not math.isfinite(loss):
                raise SystemExit(f"{name}: the loss became {loss} at step {k + 1}; try a smaller --lr")
            optimizer.step()
            losses.append(loss)
            postfix = {"loss": f"{loss:.4f}"}
            if labels is not None:
                accuracies.append(accuracy(outputs, labels))
                postfix["acc"] = f"{accuracies[-1]:.0%}"
            bar.set_postfix(postfix, refresh=False)
        seconds = time.perf_counter() - start
    finally:
        bar.close()
        if collecting:
            gc.enable()
    return Training(losses, accuracies, seconds, mode)


# ---------------------------------------------------------------- predictions


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
    """The fraction of examples whose predicted class is the label's class."""
    multiclass = bool(outs) and isinstance(outs[0], list)
    hits = sum(predicted_class(o) == true_class(t, multiclass) for o, t in zip(outs, labels, strict=True))
    return hits / len(labels)


# ---------------------------------------------------------------- pictures


def new_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, out: Path, stem: str) -> list[Path]:
    """Write the figure as out/stem.png and out/stem.svg (the SVG without a date, so runs compare equal)."""
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    try:
        figure.savefig(paths[0], dpi=120, metadata={"Software": None})
        figure.savefig(paths[1], metadata={"Date": None})
    except OSError as error:
        raise SystemExit(f"cannot write {paths[0].parent}: {error.strerror or error}") from None
    return paths


def _limits(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = 0.15 * (high - low) + 0.1
    return low - margin, high + margin


def plot_boundary(
    out: Path,
    model: Callable,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    title: str,
    X_test: Sequence[Sequence[float]] = (),
    y_test: Sequence[int] = (),
    stem: str = "boundary",
) -> list[Path]:
    """The model's predicted class over the plane (evaluated without a graph), with the points on top."""
    points = list(X) + list(X_test)
    (x0, x1), (y0, y1) = _limits([p[0] for p in points]), _limits([p[1] for p in points])
    xs = [x0 + (x1 - x0) * i / (GRID - 1) for i in range(GRID)]
    ys = [y0 + (y1 - y0) * j / (GRID - 1) for j in range(GRID)]
    grid = outputs(model, [[x, v] for v in ys for x in xs])
    multiclass = isinstance(grid[0], list)
    classes = len(grid[0]) if multiclass else 2

    figure = new_figure()
    ax = figure.add_subplot()
    for k in range(classes):  # class k wins where its margin over the best other class is positive
        margins = [class_margin(o, k) for o in grid]
        zs = [margins[j * GRID : (j + 1) * GRID] for j in range(GRID)]
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
    ax.set(xlim=(x0, x1), ylim=(y0, y1), title=title, xlabel="x0", ylabel="x1")
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return save_figure(figure, out, stem)


def plot_curves(out: Path, training: Training, title: str, stem: str = "curves") -> list[Path]:
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
    return save_figure(figure, out, stem)


# ---------------------------------------------------------------- summary


def accuracy_metric(what: str, fraction: float, n: int) -> tuple[float, str]:
    """An accuracy for `report`: the number and how to print it."""
    return fraction, f"{what} accuracy {100.0 * fraction:.1f}% of {n}"


def report(name: str, training: Training, pictures: list[Path], **metrics: tuple[float, str]) -> dict[str, Any]:
    """Print the short summary (always, even with --quiet) and return its numbers.

    Each metric is (value, text): the text is printed after the final loss, the value returned.
    """
    per_step = 1000.0 * training.seconds / training.steps
    print(f"{name}: {training.steps} steps in {training.seconds:.2f} s ({per_step:.1f} ms per step, {training.mode})")
    print(f"final loss {training.losses[-1]:.6g}" + "".join(f", {text}" for _, text in metrics.values()))
    print(f"pictures in {pictures[0].parent}: " + ", ".join(p.name for p in pictures))
    return {
        "steps": training.steps,
        "loss": training.losses[-1],
        **{key: value for key, (value, _) in metrics.items()},
        "seconds": training.seconds,
        "ms_per_step": per_step,
        "mode": training.mode,
        "pictures": pictures,
    }


def percent(fraction: float) -> str:
    """0.995 -> '99.5%', 1.0 -> '100%'."""
    return f"{fraction:.1%}".replace(".0%", "%")


def fit_classifier(
    name: str,
    title: str,
    args: argparse.Namespace,
    model: Callable,
    optimizer: Any,
    loss_fn: Callable[[], tuple[Value, Any]],
    data: tuple[Sequence[Any], Sequence[int], Sequence[Any], Sequence[int]],
) -> dict[str, Any]:
    """Train, score on the training and test sets, draw the boundary and the curves, and report."""
    X, y, X_test, y_test = data
    settle_heap()
    training = train(name, loss_fn, optimizer, args.steps, y, compiled=args.compiled, quiet=args.quiet)
    train_accuracy = accuracy(outputs(model, X), y)
    test_accuracy = accuracy(outputs(model, X_test), y_test)
    heading = f"{title}, {training.steps} steps: train {percent(train_accuracy)}, test {percent(test_accuracy)}"
    pictures = plot_boundary(args.out, model, X, y, heading, X_test, y_test)
    pictures += plot_curves(args.out, training, title)
    return report(
        name,
        training,
        pictures,
        train_accuracy=accuracy_metric("train", train_accuracy, len(y)),
        test_accuracy=accuracy_metric("test", test_accuracy, len(y_test)),
    )
