"""Mini-batch training with the targets as arguments: the compiled step against micrograd.

    python -m benchmarks.minibatch                      # batch 32, 4 rounds of 8 steps per loss
    python -m benchmarks.minibatch --batch 64 --rounds 8

For each of nn's losses (hinge, BCE on logits, MSE, cross-entropy) one SGD step on a mini-batch
of two-moons points, with an MLP 2-16-16-1 (2-16-16-2 for cross-entropy, relu):

- chainrule, compiled: `step = engine.compile(lambda xb, yb: loss([model(x) for x in xb], yb))`,
  called with each new batch (points and targets as arguments), then the SGD update;
- chainrule, objects: the same function, its graph built and `backward()` called every step;
- micrograd 0.1.0 (when installed): the same step written with micrograd's `Value`. micrograd
  has no exp, log or cross-entropy: `exp` and `log` are added in its own style (a node with a
  `_backward` closure), and each loss is written from its ops as a learner would.

All three start from the same weights and see the same batches. The compiled and the object
runs must end with the same parameters, bit for bit; micrograd's first loss must agree to 1e-9.
Reported: the median time of a step (after the first, which records), and the speed-ups
compiled / micrograd and compiled / objects. The requirement is at least 20x micrograd's speed.
The engines take turns step by step, so a drift in machine speed falls on all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/minibatch.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402
import nn  # noqa: E402
from benchmarks import workloads  # noqa: E402

LOSSES = ("hinge", "bce", "mse", "cross-entropy")
LIMIT = 20.0  # compiled at least this many times micrograd's speed
LEARNING_RATE = 0.05
POINTS = 200


class Net(workloads.Model):
    """workloads' MLP (relu between layers, micrograd's order of sums), returning every output."""

    def __call__(self, x: list[Any]) -> Any:
        last = len(self.layers) - 1
        for i, (ws, bs) in enumerate(self.layers):
            acts = [sum((w * xi for w, xi in zip(row, x, strict=True)), b) for row, b in zip(ws, bs, strict=True)]
            x = acts if i == last else [a.relu() for a in acts]
        return x


def targets_for(loss: str, labels: list[float]) -> list[Any]:
    """The moons labels (-1/+1) as the loss wants them: +-1, 0/1, +-1 or class indices 0/1."""
    if loss == "hinge" or loss == "mse":
        return [int(y) for y in labels]
    return [int((y + 1) // 2) for y in labels]


# ---------------------------------------------------------------- chainrule: nn's losses


def chainrule_loss(loss: str, model: Net) -> Callable[[list, list], Any]:
    def fn(xb: list, yb: list) -> Any:
        outs = [model(x) for x in xb]
        if loss == "cross-entropy":
            return nn.cross_entropy(outs, yb)
        scores = [o[0] for o in outs]
        if loss == "hinge":
            return nn.hinge_loss(scores, yb)
        if loss == "bce":
            return nn.bce_with_logits(scores, yb)
        return nn.mse_loss(scores, yb)

    return fn


# ---------------------------------------------------------------- micrograd: the same losses from its ops


def micrograd_step_loss(Value: type, loss: str, model: Net, xb: list, yb: list) -> Any:
    """The loss of one batch written with micrograd's Value (plus exp and log in its style)."""

    def exp(v: Any) -> Any:
        out = Value(math.exp(v.data), (v,), "exp")

        def _backward() -> None:
            v.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(v: Any) -> Any:
        out = Value(math.log(v.data), (v,), "log")

        def _backward() -> None:
            v.grad += out.grad / v.data

        out._backward = _backward
        return out

    outs = [model([Value(x0), Value(x1)]) for x0, x1 in xb]
    terms = []
    for out, y in zip(outs, yb, strict=True):
        if loss == "cross-entropy":
            m = max(z.data for z in out)  # the shift is a constant: its slopes cancel
            terms.append(log(sum((exp(z + -m) for z in out[1:]), exp(out[0] + -m))) + m - out[y])
            continue
        s = out[0]
        if loss == "hinge":
            terms.append((1 + -y * s).relu())
        elif loss == "bce":  # softplus(s) - y s = relu(s) - y s + log(1 + e**-|s|)
            magnitude = s.relu() + (-s).relu()
            terms.append(s.relu() - y * s + log(1 + exp(-magnitude)))
        else:
            terms.append((s - y) ** 2)
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


# ---------------------------------------------------------------- the runs


def _micrograd() -> tuple[type | None, str]:
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        return None, "micrograd is not installed (pip install micrograd==0.1.0): chainrule alone is reported."
    try:
        from importlib.metadata import version

        return MicrogradValue, f"micrograd {version('micrograd')}"
    except Exception:
        return MicrogradValue, "micrograd"


def _sgd(params: list[Any]) -> None:
    for p in params:
        p.data -= LEARNING_RATE * p.grad
        p.grad = 0.0


def _bits(xs: list[float]) -> list[bytes]:
    return [struct.pack("<d", x) for x in xs]


def measure_loss(loss: str, batch: int, rounds: int, steps: int, seed: int = 0) -> dict[str, Any]:
    """Train with each engine in turns, step by step; return the median step times and the checks."""
    points, labels = workloads.make_moons(POINTS, seed=seed)
    targets = targets_for(loss, labels)
    sizes = (2, 16, 16, 2) if loss == "cross-entropy" else workloads.LAYER_SIZES
    weights = workloads.initial_weights(sizes, seed=seed + 1)
    draw = random.Random(seed)
    batches = []
    for _ in range(1 + rounds * steps):
        picked = draw.sample(range(POINTS), batch)
        batches.append(([list(points[i]) for i in picked], [targets[i] for i in picked]))

    compiled_model, object_model = Net(engine.Value, weights), Net(engine.Value, weights)
    step = engine.compile(chainrule_loss(loss, compiled_model))
    objects = chainrule_loss(loss, object_model)
    MicrogradValue, micrograd_name = _micrograd()
    runs: dict[str, Callable[[list, list], float]] = {}

    def compiled(xb: list, yb: list) -> float:
        value = step(xb, yb)
        _sgd(compiled_model.parameters())
        return value

    def by_objects(xb: list, yb: list) -> float:
        value = objects(xb, yb)
        value.backward()
        _sgd(object_model.parameters())
        return value.data

    runs["chainrule, compiled"] = compiled
    runs["chainrule, objects"] = by_objects
    if MicrogradValue is not None:
        micrograd_model = Net(MicrogradValue, weights)

        def by_micrograd(xb: list, yb: list) -> float:
            value = micrograd_step_loss(MicrogradValue, loss, micrograd_model, xb, yb)
            value.backward()
            _sgd(micrograd_model.parameters())
            return value.data

        runs[micrograd_name] = by_micrograd

    times: dict[str, list[float]] = {name: [] for name in runs}
    first: dict[str, float] = {}
    names = list(runs)
    for k, (xb, yb) in enumerate(batches):
        for name in names if k % 2 == 0 else names[::-1]:
            gc.collect()
            start = time.perf_counter()
            value = runs[name](xb, yb)
            elapsed = time.perf_counter() - start
            if k == 0:
                first[name] = value  # the first step records the compiled graph: not timed
            else:
                times[name].append(elapsed)
    if _bits([p.data for p in compiled_model.parameters()]) != _bits([p.data for p in object_model.parameters()]):
        raise AssertionError(f"{loss}: the compiled step and backward() ended with different parameters")
    if MicrogradValue is not None:
        expected = first["chainrule, objects"]
        if not math.isclose(first[micrograd_name], expected, rel_tol=1e-9, abs_tol=1e-12):
            raise AssertionError(f"{loss}: micrograd's first loss {first[micrograd_name]!r} is not {expected!r}")
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    return {"loss": loss, "medians": medians, "micrograd": micrograd_name if MicrogradValue else None}


def measure(batch: int = 32, rounds: int = 4, steps: int = 8, losses: tuple[str, ...] = LOSSES) -> list[dict[str, Any]]:
    return [measure_loss(loss, batch, rounds, steps) for loss in losses]


def report(results: list[dict[str, Any]], batch: int) -> str:
    lines = [
        f"mini-batch SGD step, batch {batch} of {POINTS} two-moons points, targets as arguments; median step time",
        "| loss | chainrule, compiled | chainrule, objects | micrograd | compiled vs objects | compiled vs micrograd |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for r in results:
        m = r["medians"]
        ours, objects = m["chainrule, compiled"], m["chainrule, objects"]
        mg = m.get(r["micrograd"]) if r["micrograd"] else None
        mg_text = f"{mg * 1e3:.2f} ms" if mg is not None else "—"
        versus = f"{mg / ours:.1f}x" if mg is not None else "—"
        speedup = f"{objects / ours:.1f}x"
        cells = [r["loss"], f"{ours * 1e3:.2f} ms", f"{objects * 1e3:.2f} ms", mg_text, speedup, versus]
        lines.append("| " + " | ".join(cells) + " |")
        if mg is not None:
            verdicts.append(
                f"{r['loss']}: compiled at least {LIMIT:.0f}x faster than micrograd: {mg / ours:.1f}x — "
                f"{'ok' if mg / ours >= LIMIT else 'NOT MET'}"
            )
    if not verdicts:
        lines.append("micrograd is not installed (pip install micrograd==0.1.0): chainrule alone is reported.")
    return "\n".join(lines + verdicts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="points per step (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=4, help="timed rounds (default %(default)s)")
    parser.add_argument("--steps", type=int, default=8, help="steps per round (default %(default)s)")
    parser.add_argument("--loss", choices=LOSSES, action="append", help="only this loss (repeatable)")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= POINTS or args.rounds < 1 or args.steps < 1:
        parser.error(f"--batch must be from 1 to {POINTS}, --rounds and --steps at least 1")
    results = measure(args.batch, args.rounds, args.steps, tuple(args.loss or LOSSES))
    print(report(results, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
