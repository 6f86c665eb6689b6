"""What higher-order support costs a first-order backward pass.

    python -m benchmarks.higher_order                # 40 interleaved rounds
    python -m benchmarks.higher_order --rounds 100 --points 100

`engine`'s `run_backward` serves `backward()` in every mode: it checks for create_graph, hooks
and anomaly mode, then (when none is on) runs a plain float loop. This file holds a reference
first-order-only backward, `reference_backward`: the same sort (the engine's `graph_order`, called
as backward() calls it) and the same float loop, with no such checks. The moons training step of
`benchmarks.workloads` (engine.Value, MLP 2-16-16-1, hinge loss, SGD) runs once with each,
alternately, in one process, on two models that start from the same weights. Both must give the
same loss at every step, to the last bit. Reported: medians over the rounds of the whole step and
of its backward() call alone, and their ratio real / reference. The requirement is a ratio of at most 1.05.

Times are wall-clock with the cyclic garbage collector on; each step's garbage is collected
before the next step starts, outside the timing. The order within a round alternates, so a
drift in machine speed falls on both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/higher_order.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import workloads  # noqa: E402
from engine import Value  # noqa: E402
from engine.core.graph import graph_order  # noqa: E402  (the one walk; not part of engine's public API)

LIMIT = 1.05
LEARNING_RATE = 0.05


def reference_backward(root: Value, grad: float = 1.0) -> None:
    """backward() for floats only: the engine's own sort (resetting non-leaf grads), seed, then the chain rule."""
    order = graph_order([root])
    for node in order:
        if node._how.rule is not None:
            node.grad = 0.0
    root.grad += grad
    for node in reversed(order):
        rule = node._how.rule
        if rule is None:
            continue
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            ga, gb = rule(node.grad, node._data, a._data, b._data)
            a.grad += ga
            b.grad += gb
        elif len(parents) == 1:
            a = parents[0]
            a.grad += rule(node.grad, node._data, a._data)[0]
        else:
            for p, share in zip(parents, rule(node.grad, node._data, *[p._data for p in parents]), strict=True):
                p.grad += share


def _timing(backward: Callable[..., None], spent: list[float]) -> Callable[..., None]:
    """`backward` as a method that appends the seconds of each call to `spent`."""

    def timed(self: Value, grad: Any = 1.0) -> None:
        start = time.perf_counter()
        backward(self, grad)
        spent.append(time.perf_counter() - start)

    return timed


def measure(rounds: int = 40, points: int = 100, warmup: int = 3) -> dict[str, Any]:
    """Interleave training steps with the real and the reference backward; return the timings."""
    data, labels = workloads.make_moons(points)
    weights = workloads.initial_weights()
    real = Value.backward  # the method users call: Value.backward -> run_backward
    variants = {
        "real run_backward": (real, workloads.Model(Value, weights)),
        "reference loop": (reference_backward, workloads.Model(Value, weights)),
    }
    steps: dict[str, list[float]] = {name: [] for name in variants}
    backwards: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    try:
        for r in range(warmup + rounds):
            losses = {}
            for name in names if r % 2 == 0 else names[::-1]:
                backward, model = variants[name]
                spent: list[float] = []
                Value.backward = _timing(backward, spent)
                gc.collect()
                start = time.perf_counter()
                losses[name] = workloads.training_step(Value, model, data, labels, LEARNING_RATE)
                elapsed = time.perf_counter() - start
                if r >= warmup:
                    steps[name].append(elapsed)
                    backwards[name].extend(spent)
            if len(set(losses.values())) != 1:
                raise AssertionError(f"round {r}: the two backward passes disagree: {losses}")
    finally:
        Value.backward = real
    step = {name: statistics.median(ts) for name, ts in steps.items()}
    back = {name: statistics.median(ts) for name, ts in backwards.items()}
    real_name, ref_name = names
    return {
        "rounds": rounds,
        "points": points,
        "step": step,
        "backward": back,
        "step_ratio": step[real_name] / step[ref_name],
        "backward_ratio": back[real_name] / back[ref_name],
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"moons training step ({result['points']} points, MLP 2-16-16-1), "
        f"median of {result['rounds']} interleaved rounds",
        f"{'':22}{'whole step':>14}{'backward()':>14}",
    ]
    for name in result["step"]:
        lines.append(f"{name:22}{result['step'][name] * 1e3:11.2f} ms{result['backward'][name] * 1e3:11.2f} ms")
    step, back = result["step_ratio"], result["backward_ratio"]
    lines.append(f"{'ratio real / ref':22}{step:14.3f}{back:14.3f}")
    verdict = "within" if back <= LIMIT else "OVER"
    lines.append(
        f"backward() overhead {100 * (back - 1):+.1f}% ({verdict} the {100 * (LIMIT - 1):.0f}% limit); "
        f"whole step {100 * (step - 1):+.1f}%"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (each runs both variants)")
    parser.add_argument("--points", type=int, default=100, help="two-moons points in the loss")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    args = parser.parse_args(argv)
    print(report(measure(args.rounds, args.points, args.warmup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
