"""What every demo needs: command-line options, progress and timing, one-line errors, the picture folder.

A training demo builds its data, its model, a loss function and an optimizer, and runs its own
training loop (forward, loss, zero_grad, backward, step) inside `Run`, which shows the progress
bar, times the steps and stops with one line when the training goes wrong. It then draws with
`demos.plots` (`plot_boundary` / `plot_curves`), writes the pictures all or none with
`save_pictures` and ends with `report`. Scoring a model (`accuracy`, `outputs`, `floats`) is nn's
(`nn.metrics`); the names are kept here for the demos that still call them so.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from matplotlib.figure import Figure
from tqdm import tqdm

from demos.plots import plot_boundary, plot_curves, render
from engine import Value
from engine.files import write_all_or_none
from nn.metrics import accuracy, outputs

MAX_STEPS = 1_000_000  # more steps than a demo needs by far; a typo such as 10**20 is refused instead
SEEDS = 2**32  # seeds are 0 .. SEEDS - 1 (random.Random would treat -5 as 5)
DIVERGED = 1e6  # a loss this many times the first step's (or above this, for a first loss under 1) means divergence
FAILURES = (ArithmeticError, ValueError)  # what the engine raises for a number it cannot compute


# ---------------------------------------------------------------- command line


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (`--help` still shows the usage), exit status 2.

    An error leaves the disk as it was: the folders `parse` made for --out are removed again
    (if still empty), so a demo's own check after parsing touches nothing either.
    """

    made: tuple[Path, ...] = ()  # the folders parse() created for --out, deepest first

    def error(self, message: str) -> NoReturn:
        for folder in self.made:
            try:
                folder.rmdir()
            except OSError:  # no longer empty, or gone: leave it and what holds it
                break
        self.made = ()
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
    missing = tuple(folder for folder in (args.out, *args.out.parents) if not folder.exists())
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if isinstance(parser, OneLineParser):
            parser.made = missing
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


# ---------------------------------------------------------------- pictures


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
    """Write every file into `out`, or none, and return their paths (see `engine.files`).

    A disk that fills up, or Ctrl-C, part way leaves the previous files as they were and no
    temporary file behind; a full disk ends the demo with one line. A new file gets the
    permissions `open()` would give it; a replaced one keeps its own.
    """
    try:
        return write_all_or_none({out / filename: data for filename, data in files.items()}, who=name)
    except OSError as error:
        why = error.strerror or str(error)
        raise SystemExit(f"{name}: cannot write the pictures to {out}: {why}; the folder is as it was") from None


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
