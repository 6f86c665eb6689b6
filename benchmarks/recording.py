"""The recording: a compiled function's first call against one uncompiled call, on a deep RNN-style chain.

    python -m benchmarks.recording [--depths 1000 2000 4000] [--rounds 3] [--json docs/recording.json]

The loss runs 4 sequences through h = tanh(w*h + u*x_t + b), `depth` steps each, and sums
(h_T - 1)^2; the x_t are passed as number arguments (4 x depth of them), so the graph has about
20 x depth nodes. Each round, in one process, times one uncompiled call (fn's forward and
backward()) and then the first call of a freshly compiled fn (the recording: fn run on the
tape, the plan, the pieces, the generated code, and the replay's own forward and backward). The
ratio is taken within each round and its median reported, so that a drift of a shared machine's
speed falls on both. Both must give the same loss and gradients to the bit, or the run stops.
Several depths in one run show how the first call grows with the graph: a recording in near-linear
time keeps the ratio flat. With `--json`, the table is also written as JSON, which
`python -m benchmarks.speed_page --recording` puts on the speed page.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/recording.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402
from benchmarks import run  # noqa: E402
from engine import Value  # noqa: E402

DEPTHS = [1000, 2000, 4000]
SEQUENCES = 4


def rnn_loss(depth: int, sequences: int = SEQUENCES) -> tuple[Callable[..., Value], list[Value], list[float]]:
    """fn(*xs), its parameters [w, u, b] and the xs: `sequences` chains `depth` deep."""
    rng = random.Random(depth)
    w, u, b = Value(0.5), Value(0.3), Value(0.1)
    xs = [rng.uniform(-1.0, 1.0) for _ in range(sequences * depth)]

    def fn(*xs: float) -> Value:
        total = Value(0.0)
        for s in range(sequences):
            h = Value(0.0)
            for x in xs[s * depth : (s + 1) * depth]:
                h = (w * h + u * x + b).tanh()
            total = total + (h - 1.0) ** 2
        return total

    return fn, [w, u, b], xs


def _call(fn: Callable[..., Any], params: list[Value], xs: list[float]) -> tuple[float, list[float], float]:
    """(loss, gradients, seconds) of one call: fn's forward and backward(), or a compiled fn's call."""
    for p in params:
        p.grad = 0.0
    start = time.perf_counter()
    loss = fn(*xs)
    if type(loss) is Value:  # the uncompiled forward: its backward is part of the call
        loss.backward()
        loss = loss.data
    seconds = time.perf_counter() - start
    return loss, [p.grad for p in params], seconds


def one_round(depth: int) -> tuple[float, float, int]:
    """(uncompiled seconds, first compiled call's seconds, nodes) for one fresh loss of this depth."""
    fn, params, xs = rnn_loss(depth)
    gc.collect()
    loss, grads, uncompiled = _call(fn, params, xs)
    gc.collect()
    step = engine.compile(fn)
    compiled_loss, compiled_grads, first = _call(step, params, xs)
    if (compiled_loss, compiled_grads) != (loss, grads):
        raise AssertionError(f"depth {depth}: the first compiled call differs from the uncompiled call")
    if step.uncompiled or step.plan is None:
        raise AssertionError(f"the deep chain ran uncompiled: {step.uncompiled}")
    return uncompiled, first, step.plan.n_nodes


def measure(depths: list[int], rounds: int, log: Callable[[str], None] = print) -> list[dict]:
    """One row per depth: median times, and the median of each round's ratio first call / uncompiled."""
    rows = []
    for depth in depths:
        uncompiled, first, ratios, nodes = [], [], [], 0
        for _ in range(rounds):
            u, f, nodes = one_round(depth)
            uncompiled.append(u)
            first.append(f)
            ratios.append(f / u)
        row: dict[str, Any] = {
            "depth": depth,
            "nodes": nodes,
            "uncompiled": statistics.median(uncompiled),
            "first_call": statistics.median(first),
            "ratio": statistics.median(ratios),
            "ratios": ratios,
        }
        log(
            f"depth {depth:>6,}  {nodes:>8,} nodes  uncompiled {row['uncompiled'] * 1e3:8.1f} ms  "
            f"first compiled call {row['first_call'] * 1e3:8.1f} ms  ratio {row['ratio']:5.1f}"
        )
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recording", description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=DEPTHS, help="chain depths (default: 1000 2000 4000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per depth; medians are reported (default 3)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.depths) < 1:
        parser.error("--rounds and every depth must be at least 1")
    rows = measure(args.depths, args.rounds)
    if args.json:
        report = {
            "machine": run.machine_description(),
            "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "rounds": args.rounds,
            "sequences": SEQUENCES,
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
