"""Two moons: micrograd's demo, reproduced, with a held-out test set.

An MLP 2-16-16-1 (relu, relu, linear) learns to separate 100 noisy two-moons points with the
SVM hinge loss + 1e-4 * L2 and plain SGD whose learning rate falls linearly from --lr to
--lr / 10 over the steps. It is then scored on 200 new points from the same distribution.

With --batch N each step trains on N points drawn at random from the 100 (stochastic gradient
descent on mini-batches): the batch's inputs and labels are the compiled step's arguments, so
the recorded graph is replayed with each new batch.

    python demos/moons.py                 # 100 steps, pictures in out/moons/
    python demos/moons.py --no-compile    # the same numbers, building the graph of Values every step
    python demos/moons.py --batch 20 --steps 300   # mini-batches of 20 points
    python demos/moons.py --no-animation  # the pictures without training.gif
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine
import nn
from demos import animation, common

TRAIN_POINTS, TEST_POINTS, NOISE = 100, 200, 0.1


def batch_size(text: str) -> int:
    """--batch: an int from 1 to the number of training points."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= TRAIN_POINTS:
        raise argparse.ArgumentTypeError(f"must be an int from 1 to {TRAIN_POINTS}, got {text!r}")
    return n


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser(
        "moons",
        __doc__,
        steps=100,
        lr=1.0,
        seed=3,
        compiled=True,
        lr_help="learning rate at the first step, falling linearly to a tenth of it at the last",
    )
    parser.add_argument(
        "--batch",
        type=batch_size,
        default=None,
        help=f"points per step, drawn at random, 1 to {TRAIN_POINTS} (default: all {TRAIN_POINTS} every step)",
    )
    animation.add_option(parser)
    args = common.parse(parser, argv)
    X, y = nn.make_moons(TRAIN_POINTS, noise=NOISE, seed=args.seed)  # labels -1 / +1
    X_test, y_test = nn.make_moons(TEST_POINTS, noise=NOISE, seed=args.seed + 1000)
    model = nn.MLP(2, [16, 16, 1], seed=args.seed)
    parameters = model.parameters()
    optimizer = nn.SGD(parameters, lr=nn.linear_decay(args.lr, args.lr / 10, args.steps))

    def loss_fn(X, y):
        scores = [model(x) for x in X]  # forward: the model over the batch
        loss = nn.hinge_loss(scores, y) + nn.l2_penalty(parameters, 1e-4)
        return loss, scores

    # Records loss_fn's graph on the first call, then replays it with each call's batch: the
    # points and the labels are arguments, so they are inputs of the recorded graph.
    step = engine.compile(loss_fn)
    draw = random.Random(args.seed)  # which points each mini-batch takes

    snapshots = animation.Snapshots(model.parameters(), args.steps)  # numbers only: frames are drawn after
    with common.Run("moons", args, model) as run:  # progress bar, timing, one line if a number blows up
        for _ in run:
            if args.batch is None:
                Xb, yb = X, y  # the whole training set every step
            else:
                picked = draw.sample(range(TRAIN_POINTS), args.batch)
                Xb, yb = [X[i] for i in picked], [y[i] for i in picked]
            optimizer.zero_grad()  # leaf gradients accumulate: start every step from 0
            if args.compiled:
                loss, scores = step(Xb, yb)  # forward + backward as floats, exactly as loss_fn then backward()
            else:
                loss, scores = loss_fn(Xb, yb)  # forward: builds the graph of Values
                loss.backward()  # backward: d loss / d p into every parameter's .grad
                loss, scores = loss.data, nn.floats(scores)
            optimizer.step()  # p.data -= lr * p.grad
            snapshots.take(run.step)
            run.log(loss, nn.accuracy(scores, yb))
    summary = common.finish_classifier("moons", "two moons", args, model, run.training, (X, y, X_test, y_test))
    summary["parameters"] = [p.data for p in parameters]
    drawn = animation.finish("moons", args, "two moons", model, snapshots, run.training.losses, X, y)
    return {**summary, **drawn}


if __name__ == "__main__":
    common.script("moons", main)
