"""Newton's method with derivatives from engine, and tanh's derivatives by nesting `derivative`.

Newton's method for a minimum of f(x) = x**4 - 2*x**2 steps x <- x - f'(x) / f''(x), with f' and
f'' from engine.derivative (reverse mode, nested for the second derivative: no formula written
by hand). From x = 2 it reaches the minimum at x = 1 in a handful of steps, the error roughly
squaring each time. It stops when f'(x) is exactly 0 or a step no longer changes x.

The second picture is tanh with its first four derivatives, each one derivative(tanh, n).

    .venv/bin/python demos/newton.py              # from x = 2: the minimum at 1, pictures in out/newton/
    .venv/bin/python demos/newton.py --x0 -2      # the minimum at -1
    .venv/bin/python demos/newton.py --x0 -0.3    # the maximum at 0: Newton's method finds where f' = 0
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demos import common, plots
from engine import derivative, tanh


def f(x):
    return x**4 - 2 * x**2


df = derivative(f)
d2f = derivative(f, 2)


def row(step: object, x: object, *values: object) -> str:
    return f"{step!s:>4}  " + "  ".join(f"{v!s:>22}" for v in (x, *values))


def newton(x: float, max_steps: int, quiet: bool = False) -> list[float]:
    """The iterates x0, x1, ... of Newton's method on f' (printing each step unless quiet).

    A number the engine cannot compute (x**4 overflows for |x| above about 1e77) or an infinite
    step ends the program with one line naming the step (exit status 1).
    """
    xs = [x]
    k = 0
    try:
        if not quiet:
            print(row("step", "x", "f(x)", "f'(x)", "f''(x)"))
            print(row(0, repr(x), repr(f(x)), repr(df(x)), repr(d2f(x))))
        for k in range(1, max_steps + 1):
            slope, curvature = df(x), d2f(x)
            if slope == 0.0:
                break
            if curvature == 0.0:
                raise SystemExit(f"newton: step {k}: f''(x) = 0 at x = {x!r}, so the Newton step is undefined")
            new = x - slope / curvature
            if not math.isfinite(new):
                raise SystemExit(f"newton: step {k}: the step from x = {x!r} goes to {new}")
            if new == x:
                break
            x = new
            xs.append(x)
            if not quiet:
                print(row(k, repr(x), repr(f(x)), repr(df(x)), repr(d2f(x))))
        f(x), d2f(x)  # the summary prints these
    except OverflowError:  # Python's float ** says only "(34, 'Numerical result out of range')"
        raise SystemExit(
            f"newton: step {k}: f(x) or a derivative at x = {x!r} is too large for a float "
            "(x**4 overflows for |x| above about 1e77); start nearer the minima at -1 and 1"
        ) from None
    except common.FAILURES as error:
        raise SystemExit(f"newton: step {k}: at x = {x!r}: {type(error).__name__}: {error}") from None
    return xs


def plot_newton(xs: list[float]) -> Figure:
    low, high = min(-1.7, min(xs) - 0.2), max(1.7, max(xs) + 0.2)
    grid = [low + (high - low) * i / 300 for i in range(301)]
    figure = plots.new_figure(6.0, 4.0)
    ax = figure.add_subplot()
    ax.plot(grid, [f(x) for x in grid], color="gray", label="f(x) = x**4 - 2 x**2")
    ax.plot(xs, [f(x) for x in xs], "o-", color=plots.COLOURS[1], markersize=5, linewidth=0.8, label="Newton steps")
    for k, x in enumerate(xs[:4]):
        ax.annotate(str(k), (x, f(x)), textcoords="offset points", xytext=(6, 4), fontsize="small")
    ax.set(title=f"Newton's method from x = {xs[0]:g}: {len(xs) - 1} steps", xlabel="x", ylabel="f(x)")
    ax.legend(loc="upper center", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_tanh_derivatives(orders: int = 4) -> Figure:
    grid = [-4.0 + 8.0 * i / 200 for i in range(201)]
    figure = plots.new_figure(6.0, 4.0)
    ax = figure.add_subplot()
    for n in range(orders + 1):
        nth = derivative(tanh, n)  # n nested reverse-mode passes, no closed form
        label = "tanh" + "'" * n + (f" = derivative(tanh, {n})" if n else "")
        ax.plot(grid, [nth(x) for x in grid], color=plots.COLOURS[n % len(plots.COLOURS)], label=label)
    ax.set(title=f"tanh and its first {orders} derivatives (nested engine.derivative)", xlabel="x")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("newton", __doc__, steps=20, steps_help="most Newton steps to take")
    parser.add_argument("--x0", type=common.finite, default=2.0, help="starting point (default %(default)s)")
    args = common.parse(parser, argv)
    start = time.perf_counter()
    xs = newton(args.x0, args.steps, args.quiet)
    seconds = time.perf_counter() - start
    x = xs[-1]
    figures = {"newton": plot_newton(xs), "tanh_derivatives": plot_tanh_derivatives()}
    pictures = common.save_pictures("newton", args.out, figures)
    if df(x) != 0.0 and len(xs) - 1 == args.steps:  # stopped by --steps, still moving
        kind = f"not yet where f'(x) = 0; try more than --steps {args.steps}"
    else:
        kind = "a minimum" if d2f(x) > 0 else "a maximum" if d2f(x) < 0 else "a flat point"
    print(f"newton: x = {x!r} after {len(xs) - 1} steps in {1000 * seconds:.1f} ms from x0 = {args.x0!r}")
    print(f"f(x) = {f(x)!r}, f'(x) = {df(x)!r}, f''(x) = {d2f(x)!r}: {kind}")
    print(f"pictures in {args.out}: " + ", ".join(p.name for p in pictures))
    return {"xs": xs, "x": x, "steps": len(xs) - 1, "seconds": seconds, "pictures": pictures}


if __name__ == "__main__":
    common.script("newton", main)
