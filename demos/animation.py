"""Training you can watch: the decision boundary as it forms, beside the loss curve, as an animated GIF.

During training, `Snapshots.take(step)` copies the parameters' numbers at a few chosen steps (a
list of floats: nothing is drawn while training runs). After training, `write_gif` puts each
snapshot back into the model in turn, evaluates the model over a grid at once (`demos.grid`: the
model's own numbers, without a graph per point), and draws one frame: the predicted class over
the plane with the training points, and the loss curve up to that step. One figure serves every
frame: the points and axes are drawn once, laid out once, and each frame replaces only the
coloured regions, the curve's data and the titles, then is read off the canvas. Pillow writes the
frames into `<out>/training.gif`, atomically like the other pictures; the model's own parameters
are put back afterwards. `--no-animation` (see `add_option`) skips all of it.
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from demos import common, grid, plots
from nn import metrics

FRAMES = 16  # pictures in an animation, the last one after the last step
FPS, DPI = 3, 70  # frames per second, and the frames' dots per inch
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


def add_option(parser: argparse.ArgumentParser) -> None:
    """--no-animation: the demo writes no training.gif (its other pictures are written as always)."""
    parser.add_argument(
        "--no-animation",
        dest="animation",
        action="store_false",
        help="do not draw training.gif, the boundary forming frame by frame (saves a second or two)",
    )


def finish(name: str, args: argparse.Namespace, title: str, model: Any, snapshots: Snapshots, *data: Any) -> dict:
    """After the other pictures: write the animation unless --no-animation, saying so first; {"animation": path}.

    data: the losses, then the training points and labels (see `write_gif`).
    """
    if not args.animation:
        return {"animation": None}
    if not args.quiet:  # the one stretch after the pictures with nothing else on the screen
        print(f"drawing the animation of the training ({len(snapshots.taken)} frames)...", flush=True)
    gif = write_gif(name, args.out, title, model, snapshots, *data)
    print(f"animation of the training: {gif} ({len(snapshots.taken)} frames)")
    return {"animation": gif}


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
    xs, ys = plots.grid_axes(X, GRID)
    saved = [p.data for p in snapshots.parameters]
    grids = []
    try:
        for _, numbers in snapshots.taken:
            for p, number in zip(snapshots.parameters, numbers, strict=True):
                p.data = number
            grids.append(plots.grid_scores(model, xs, ys))
    finally:
        for p, number in zip(snapshots.parameters, saved, strict=True):
            p.data = number
    multiclass = len(grids[0]) > 1
    classes = len(grids[0]) if multiclass else 2

    # What stays from frame to frame is drawn once: the points, the axes, the whole loss curve's frame.
    figure = plots.new_figure(10.0, 4.2)
    board, curve = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for k in range(classes):
        mine = [p for p, t in zip(X, y, strict=True) if metrics.true_class(t, multiclass) == k]
        board.scatter(
            [p[0] for p in mine],
            [p[1] for p in mine],
            s=14,
            c=plots.COLOURS[k],
            edgecolors="black",
            linewidths=0.4,
            zorder=1.5,
        )
    board.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]))
    (path_so_far,) = curve.plot([], [], color=plots.COLOURS[0])
    (now,) = curve.plot([], [], "o", color=plots.COLOURS[1])
    curve.set(xlim=(0, len(losses) + 1), xlabel="step")
    if min(losses) > 0.0:
        curve.set_yscale("log")
        curve.set_ylim(min(losses) * 0.8, max(losses) * 1.25)
    else:
        low, high = min(losses), max(losses)
        pad = 0.05 * (high - low) or 1.0
        curve.set_ylim(low - pad, high + pad)
    curve.grid(alpha=0.3)
    regions: list[Any] = []  # this frame's filled areas and boundary lines, removed before the next

    def draw(i: int) -> None:
        step, _ = snapshots.taken[i]
        for region in regions:
            region.remove()
        regions.clear()
        for k in range(classes):
            zs = grid.margins(grids[i], k).reshape(len(ys), len(xs))
            regions.append(board.contourf(xs, ys, zs, levels=[0.0, math.inf], colors=plots.COLOURS[k], alpha=0.25))
            if zs.max() > 0.0 > zs.min():
                regions.append(board.contour(xs, ys, zs, levels=[0.0], colors="black", linewidths=0.8))
        board.set_title(f"{title}: after step {step}")
        path_so_far.set_data(range(1, step + 1), losses[:step])
        now.set_data([step], [losses[step - 1]])
        curve.set_title(f"loss {losses[step - 1]:.4g} at step {step}")

    figure.set_dpi(DPI)
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # plots.new_figure's
    draw(len(snapshots.taken) - 1)  # lay the figure out once, on the last frame, and keep that layout
    canvas.draw()
    figure.set_layout_engine("none")
    frames = []
    try:
        for i in range(len(snapshots.taken)):
            draw(i)
            canvas.draw()  # one drawing per frame, read straight off the canvas
            frames.append(Image.fromarray(numpy.asarray(canvas.buffer_rgba())).convert("RGB"))
    except common.FAILURES as error:
        raise SystemExit(f"{name}: cannot draw the animation: {type(error).__name__}: {error}") from None
    data = io.BytesIO()
    frames[0].save(data, format="GIF", save_all=True, append_images=frames[1:], duration=1000 // FPS, loop=0)
    (path,) = common.write_files(name, out, {"training.gif": data.getvalue()})
    return path
