"""Two moons: micrograd's demo, reproduced, with a held-out test set.

An MLP 2-16-16-1 (relu, relu, linear) learns to separate 100 noisy two-moons points with the
SVM hinge loss + 1e-4 * L2 and plain SGD whose learning rate falls linearly from --lr to
--lr / 10 over the steps. It is then scored on 200 new points from the same distribution.

    python demos/moons.py                 # 100 steps, pictures in out/moons/
    python demos/moons.py --no-compile    # the same numbers, building the graph of Values every step
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

TRAIN_POINTS, TEST_POINTS, NOISE = 100, 200, 0.1


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
    args = common.parse(parser, argv)
    X, y = nn.make_moons(TRAIN_POINTS, noise=NOISE, seed=args.seed)  # labels -1 / +1
    X_test, y_test = nn.make_moons(TEST_POINTS, noise=NOISE, seed=args.seed + 1000)
    model = nn.MLP(2, [16, 16, 1], seed=args.seed)
    parameters = model.parameters()
    optimizer = nn.SGD(parameters, lr=nn.linear_decay(args.lr, args.lr / 10, args.steps))

    def loss_fn():
        scores = [model(x) for x in X]  # forward: the model over the whole batch
        loss = nn.hinge_loss(scores, y) + nn.l2_penalty(parameters, 1e-4)
        return loss, scores

    step = engine.compile(loss_fn)  # records loss_fn's graph on the first call, then replays it

    snapshots = animation.Snapshots(model.parameters(), args.steps)  # numbers only: frames are drawn after
    with common.Run("moons", args, model) as run:  # progress bar, timing, one line if a number blows up
        for _ in run:
            optimizer.zero_grad()  # leaf gradients accumulate: start every step from 0
            if args.compiled:
                loss, scores = step()  # forward + backward as floats, exactly as loss_fn() then loss.backward()
            else:
                loss, scores = loss_fn()  # forward: builds the graph of Values
                loss.backward()  # backward: d loss / d p into every parameter's .grad
                loss, scores = loss.data, common.floats(scores)
            optimizer.step()  # p.data -= lr * p.grad
            snapshots.take(run.step)
            run.log(loss, common.accuracy(scores, y))
    summary = common.finish_classifier("moons", "two moons", args, model, run.training, (X, y, X_test, y_test))
    gif = animation.write_gif("moons", args.out, "two moons", model, snapshots, run.training.losses, X, y)
    print(f"animation of the training: {gif} ({len(snapshots.taken)} frames)")
    return {**summary, "animation": gif}


if __name__ == "__main__":
    common.script("moons", main)
