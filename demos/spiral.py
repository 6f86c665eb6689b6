"""Three interleaved spirals: three classes, softmax cross-entropy and Adam.

An MLP 2-16-16-3 (relu, relu, linear) gives one score per class for 150 points on three spiral
arms (50 per arm); the loss is the softmax cross-entropy of those scores, minimised with Adam.
It is then scored on 150 new points from the same spirals.

    python demos/spiral.py                # 100 steps, pictures in out/spiral/
    python demos/spiral.py --no-compile   # the same numbers, building the graph of Values every step
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

PER_ARM, ARMS, NOISE = 50, 3, 0.1


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("spiral", __doc__, steps=100, lr=0.05, seed=0, compiled=True)
    animation.add_option(parser)
    args = common.parse(parser, argv)
    X, y = nn.make_spirals(PER_ARM, ARMS, noise=NOISE, seed=args.seed)  # labels 0, 1, 2
    X_test, y_test = nn.make_spirals(PER_ARM, ARMS, noise=NOISE, seed=args.seed + 1000)
    model = nn.MLP(2, [16, 16, ARMS], seed=args.seed)
    optimizer = nn.Adam(model.parameters(), lr=args.lr)

    def loss_fn():
        scores = [model(x) for x in X]  # forward: the model over the whole batch, three scores per point
        loss = nn.cross_entropy(scores, y)
        return loss, scores

    step = engine.compile(loss_fn)  # records loss_fn's graph on the first call, then replays it

    snapshots = animation.Snapshots(model.parameters(), args.steps)  # numbers only: frames are drawn after
    with common.Run("spiral", args, model) as run:  # progress bar, timing, one line if a number blows up
        for _ in run:
            optimizer.zero_grad()  # leaf gradients accumulate: start every step from 0
            if args.compiled:
                loss, scores = step()  # forward + backward as floats, exactly as loss_fn() then loss.backward()
            else:
                loss, scores = loss_fn()  # forward: builds the graph of Values
                loss.backward()  # backward: d loss / d p into every parameter's .grad
                loss, scores = loss.data, nn.floats(scores)
            optimizer.step()  # Adam: p.data -= lr * (running mean of p.grad) / (its running root mean square)
            snapshots.take(run.step)
            run.log(loss, nn.accuracy(scores, y))
    summary = common.finish_classifier("spiral", "three spirals", args, model, run.training, (X, y, X_test, y_test))
    drawn = animation.finish("spiral", args, "three spirals", model, snapshots, run.training.losses, X, y)
    return {**summary, **drawn}


if __name__ == "__main__":
    common.script("spiral", main)
