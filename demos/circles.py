"""Two circles, one inside the other: binary cross-entropy on logits and Adam.

An MLP 2-8-8-1 (tanh, tanh, linear) gives one logit per point (the log-odds of the inner circle)
for 100 noisy points; the loss is the mean binary cross-entropy, minimised with Adam. No straight
line separates the classes, so the hidden layers have to bend the boundary into a closed curve.
It is then scored on 200 new points.

    python demos/circles.py               # 100 steps, pictures in out/circles/
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine
import nn
from demos import animation, common

TRAIN_POINTS, TEST_POINTS, NOISE, FACTOR = 100, 200, 0.1, 0.5


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("circles", __doc__, steps=100, lr=0.05, seed=0, compiled=True)
    animation.add_option(parser)
    args = common.parse(parser, argv)
    X, y = nn.make_circles(TRAIN_POINTS, noise=NOISE, factor=FACTOR, seed=args.seed, labels="01")
    X_test, y_test = nn.make_circles(TEST_POINTS, noise=NOISE, factor=FACTOR, seed=args.seed + 1000, labels="01")
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=args.seed)
    optimizer = nn.Adam(model.parameters(), lr=args.lr)

    def loss_fn():
        logits = [model(x) for x in X]  # forward: the model over the whole batch
        loss = nn.bce_with_logits(logits, y)
        return loss, logits

    step = engine.compile(loss_fn)  # records loss_fn's graph on the first call, then replays it

    snapshots = animation.Snapshots(model.parameters(), args.steps)  # numbers only: frames are drawn after
    with common.Run("circles", args, model) as run:  # progress bar, timing, one line if a number blows up
        for _ in run:
            optimizer.zero_grad()  # leaf gradients accumulate: start every step from 0
            if args.compiled:
                loss, logits = step()  # forward + backward as floats, exactly as loss_fn() then loss.backward()
            else:
                loss, logits = loss_fn()  # forward: builds the graph of Values
                loss.backward()  # backward: d loss / d p into every parameter's .grad
                loss, logits = loss.data, nn.floats(logits)
            optimizer.step()  # Adam: p.data -= lr * (running mean of p.grad) / (its running root mean square)
            snapshots.take(run.step)
            run.log(loss, nn.accuracy(logits, y))
    summary = common.finish_classifier("circles", "two circles", args, model, run.training, (X, y, X_test, y_test))
    drawn = animation.finish("circles", args, "two circles", model, snapshots, run.training.losses, X, y)
    return {**summary, **drawn}


if __name__ == "__main__":
    common.script("circles", main)
