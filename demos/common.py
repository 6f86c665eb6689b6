"""What the demos share: command-line options, progress and timing, accuracy, pictures, the summary.

A training demo builds its data, its model, a loss function and an optimizer, and runs its own
training loop (forward, loss, zero_grad, backward, step) inside `Run`, which shows the progress
bar, times the steps and stops with one line when the training goes wrong. It then draws with
`plot_boundary` / `plot_curves`, writes the pictures all or none with `save_pictures` and ends
with `report`. Pictures are rendered with matplotlib's Agg canvas (no display needed) as PNG and
SVG; the SVGs are byte-identical from run to run, so a changed picture means changed numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import matplotlib
import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm import tqdm

from engine import Value, no_grad

matplotlib.rcParams["svg.hashsalt"] = "chainrule"  # fixed ids inside the SVG instead of random ones
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]  # class 0, 1, 2, ...
GRID = 60  # the decision boundary is evaluated on GRID x GRID points
MAX_STEPS = 1_000_000  # more steps than a demo needs by far; a typo such as 10**20 is refused instead
SEEDS = 2**32  # seeds are 0 .. SEEDS - 1 (random.Random would treat -5 as 5)
DIVERGED = 1e6  # a loss this many times the first step's (or above this, for a first loss under 1) means divergence
FAILURES = (ArithmeticError, ValueError)  # what the engine raises for a number it cannot compute


# ---------------------------------------------------------------- command line


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (`--help` still shows the usage), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


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
    parser = OneLineParser(
        prog=f"python demos/{name}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if steps is not None:
        parser.add_argument(
            "--steps", type=int, default=steps, help=f"{steps_help}, at most {MAX_STEPS:,} (default %(default)s)"
        )
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr, help=f"{lr_help} (default %(default)s)")
    if seed is not None:
        parser.add_argument(
            "--seed",
            type=int,
            default=seed,
            help=f"seed for the data and the initial weights, 0 to {SEEDS - 1} (default %(default)s)",
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
    if not 1 <= getattr(args, "steps", 1) <= MAX_STEPS:
        parser.error(f"--steps must be from 1 to {MAX_STEPS:,}, got {args.steps}")
    if not 0 <= getattr(args, "seed", 0) < SEEDS:
        parser.error(f"--seed must be from 0 to {SEEDS - 1}, got {args.seed}")
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


def finite(text: str) -> float:
    """An option's value as a float that is neither infinite nor NaN (for argparse's `type=`)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return x


def script(name: str, main: Callable[[], Any]) -> None:
    """Run a demo's main() from the command line: Ctrl-C ends it with one line and exit status 130."""
    try:
        main()
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


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
    """What a `Run` measured: the loss and accuracy at every step, the time and how the steps ran."""

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


def first_not_finite(numbers: Sequence[float]) -> tuple[int, float] | None:
    """(index, number) of the first inf or NaN in `numbers`, else None."""
    if math.isfinite(sum(numbers)):  # one sum: an inf or NaN anywhere shows in it
        return None
    return next(((i, x) for i, x in enumerate(numbers) if not math.isfinite(x)), None)


class Run:
    """The bookkeeping around a demo's own training loop; the loop itself stays in the demo.

    `with Run(name, args, model) as run: for k in run: ...` counts the steps with a progress bar
    (unless --quiet) and times them with the garbage collector off (a step's graph has no cycles:
    reference counting frees it). `run.log(loss, accuracy)` records a step. The run stops with
    one line naming the step (exit status 1) when the loss, a gradient or an updated parameter
    is inf or NaN, when the loss grows past DIVERGED times the first step's, or when the engine
    raises (overflow, log(0), ...) inside the loop; Ctrl-C stops it with one line and exit status
    130. Nothing is drawn after a stop. `run.training` holds the result.
    """

    def __init__(self, name: str, args: argparse.Namespace, model: Any) -> None:
        self.name, self.total, self.quiet = name, args.steps, args.quiet
        self.model = model
        self.parameters: list[Value] = model.parameters()
        self.mode = "compiled replay" if getattr(args, "compiled", False) else "graph of Values"
        self.step = 0
        self.limit = math.inf
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.bar: Any = None
        self.training: Training | None = None

    def __enter__(self) -> Run:
        settle_heap()
        self.collecting = gc.isenabled()
        quiet = True if self.quiet else None  # None: a bar only on a terminal
        self.bar = tqdm(total=self.total, desc=self.name, unit="step", disable=quiet, file=sys.stderr)
        gc.disable()
        self.start = time.perf_counter()
        return self

    def __iter__(self) -> Iterator[int]:
        for k in range(1, self.total + 1):
            self.step = k
            yield k

    def log(self, loss: float, accuracy: float | None = None) -> None:
        """Record this step's loss (and accuracy); stop if it, a gradient or an updated parameter is inf or NaN."""
        if not math.isfinite(loss):
            self.stop(f"the loss is {loss}")
        if loss > self.limit:
            first = self.losses[0]
            self.stop(f"the loss is {loss:.3g}, up from {first:.3g} at step 1: the training diverged")
        bad = first_not_finite([p.data for p in self.parameters])  # a bad gradient makes a bad parameter too
        if bad is not None:
            gradient = first_not_finite([float(p.grad) for p in self.parameters])
            if gradient is not None:
                self.stop(f"the gradient of parameter {self.parameter_name(gradient[0])} is {gradient[1]}")
            self.stop(f"the update made parameter {self.parameter_name(bad[0])} {bad[1]}")
        self.losses.append(loss)
        if self.step == 1:
            self.limit = DIVERGED * max(loss, 1.0)
        postfix = {"loss": f"{loss:.4f}"}
        if accuracy is not None:
            self.accuracies.append(accuracy)
            postfix["acc"] = f"{accuracy:.0%}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update()

    def parameter_name(self, i: int) -> str:
        named = getattr(self.model, "named_parameters", None)
        return named()[i][0] if named is not None else str(i)

    def stop(self, what: str) -> None:
        raise SystemExit(f"{self.name}: step {self.step} of {self.total}: {what}; try a smaller --lr")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None) -> None:
        seconds = time.perf_counter() - self.start
        self.bar.close()
        if self.collecting:
            gc.enable()
        if error is None:
            self.training = Training(self.losses, self.accuracies, seconds, self.mode)
        elif isinstance(error, KeyboardInterrupt):
            print(f"{self.name}: interrupted at step {self.step} of {self.total}; no pictures written", file=sys.stderr)
            raise SystemExit(130) from None
        elif isinstance(error, FAILURES):
            more = " (run with --no-compile to see the operation)" if self.mode == "compiled replay" else ""
            message = " ".join(str(error).split())  # one line, whatever the error's text
            self.stop(f"{type(error).__name__}: {message}{more}")


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


def render(figure: Figure) -> dict[str, bytes]:
    """The figure as PNG and SVG bytes, by suffix (the PNG without the software tag, the SVG without a date)."""
    png, svg = io.BytesIO(), io.BytesIO()
    with warnings.catch_warnings(), numpy.errstate(all="ignore"):  # an overflow then raises below, in one line
        warnings.simplefilter("ignore", RuntimeWarning)
        figure.savefig(png, format="png", dpi=120, metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return {".png": png.getvalue(), ".svg": svg.getvalue()}


def save_pictures(name: str, out: Path, figures: Mapping[str, Figure]) -> list[Path]:
    """Render each figure as out/<stem>.png and out/<stem>.svg and write them all, or none (see write_files)."""
    files: dict[str, bytes] = {}
    for stem, figure in figures.items():
        try:
            pictures = render(figure)
        except FAILURES as error:  # matplotlib cannot lay out some numbers (say 1e300 on a log axis)
            raise SystemExit(f"{name}: cannot draw {stem}: {type(error).__name__}: {error}") from None
        files.update({stem + suffix: data for suffix, data in pictures.items()})
    return write_files(name, out, files)


def write_files(name: str, out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write every file into `out`, or none, and return their paths.

    Each file goes first to a temporary file in the same folder, flushed to disk; only when all
    are written are they renamed over the final names (a rename within a folder is atomic). A
    disk that fills up, or Ctrl-C, part way leaves the previous files as they were and no
    temporary file behind. A new file gets the permissions `open()` would give it; a replaced
    one keeps its own.
    """
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, Path]] = []
    try:
        for filename, data in files.items():
            final = out / filename
            fd, temp = tempfile.mkstemp(dir=out, prefix=f".{filename}.", suffix=".part")
            staged.append((temp, final))
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                try:
                    mode = os.stat(final).st_mode & 0o7777
                except FileNotFoundError:
                    mode = 0o666 & ~umask
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
        for temp, final in staged:
            os.replace(temp, final)
    except BaseException as error:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        if isinstance(error, OSError):
            why = error.strerror or str(error)
            raise SystemExit(f"{name}: cannot write the pictures to {out}: {why}; the folder is as it was") from None
        raise
    with contextlib.suppress(OSError):  # make the renames durable too (not every system can open a folder)
        folder = os.open(out, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return [final for _, final in staged]


def _limits(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = 0.15 * (high - low) + 0.1
    return low - margin, high + margin


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
    return figure


def plot_curves(training: Training, title: str) -> Figure:
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


def finish_classifier(
    name: str,
    title: str,
    args: argparse.Namespace,
    model: Callable,
    training: Training,
    data: tuple[Sequence[Any], Sequence[int], Sequence[Any], Sequence[int]],
) -> dict[str, Any]:
    """After training: score on the training and test sets, draw the boundary and the curves, and report."""
    X, y, X_test, y_test = data
    train_accuracy = accuracy(outputs(model, X), y)
    test_accuracy = accuracy(outputs(model, X_test), y_test)
    heading = f"{title}, {training.steps} steps: train {percent(train_accuracy)}, test {percent(test_accuracy)}"
    boundary = plot_boundary(model, X, y, heading, X_test, y_test)
    pictures = save_pictures(name, args.out, {"boundary": boundary, "curves": plot_curves(training, title)})
    result = report(
        name,
        training,
        pictures,
        train_accuracy=accuracy_metric("train", train_accuracy, len(y)),
        test_accuracy=accuracy_metric("test", test_accuracy, len(y_test)),
    )
    hint = chance_hint(name, train_accuracy, y, args)
    if hint:
        print(hint, file=sys.stderr)
    return result


def chance_hint(name: str, train_accuracy: float, labels: Sequence[int], args: argparse.Namespace) -> str | None:
    """A line saying the model learnt nothing, when it ends no better than guessing the most common class."""
    counts = [sum(1 for t in labels if t == c) for c in set(labels)]
    chance = max(counts) / len(labels)
    if train_accuracy > chance + 0.05:
        return None
    return (
        f"{name}: the model ended at chance accuracy (train {percent(train_accuracy)}, guessing gives "
        f"{percent(chance)}): it learnt nothing. The steps were likely too large for it: try a smaller --lr "
        f"(this run used {getattr(args, 'lr', '?')}; see --help for the default)"
    )
