"""Old against new: the same workloads timed on two checkouts of chainrule, in turns, in one run.

    python -m benchmarks.compare OLD_CHECKOUT [NEW_CHECKOUT] [--rounds 5] [--json docs/compare.json]

Each round starts one fresh process per checkout, old and new in alternating order, so that a
drift in the machine's speed falls on both alike. Every process imports `engine` from its own
checkout and the workloads from this file's checkout (`benchmarks/workloads.py`, which use only
`engine.Value`'s public operations and `engine.compile`), so both sides build the very same
graphs. Reported: the median of each figure over the rounds, and the ratio new / old (below 1
is faster). Both sides must agree on every loss and final parameter, or the run stops.

The figures: the moons training step (objects, garbage collector on), the compiled 100-step
moons run with its recording, a compiled step on mini-batches of 20 passed as arguments (the
median step after the recording, checked against the object engine), the deep chain and the
wide sum (100,000 operations, forward and backward), and a 200,000-deep chain (that it works,
no recursion limit, and its time). With `--json`, the table is also written as JSON, which
`python -m benchmarks.speed_page --compare` puts on the speed page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import run

HERE = Path(__file__).resolve().parent
FIGURES = {
    "moons_step_ms": "moons training step, objects (ms)",
    "compiled_run_s": "compiled 100-step moons run, recording included (s)",
    "minibatch_step_ms": "compiled moons step, batches of 20 passed as arguments (ms)",
    "deep_chain_ms": "deep chain, 100,000 ops, forward + backward (ms)",
    "wide_sum_ms": "wide sum, 100,000 ops, forward + backward (ms)",
    "deep_200k_ms": "deep chain, 200,000 ops, forward + backward (ms)",
}

# The code each process runs: engine from its checkout (first on sys.path), workloads from ours.
PROBE = r"""
import gc, importlib.util, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import engine
spec = importlib.util.spec_from_file_location("workloads", sys.argv[2])
w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)
V = engine.Value
points, labels = w.make_moons(100)
init = w.initial_weights()

def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return statistics.median(times)

def train(compiled, steps):
    model = w.Model(V, init); params = model.parameters()
    step = engine.compile(lambda: w.loss(V, model, points, labels)) if compiled else None
    losses = []
    for _ in range(steps):
        for p in params: p.grad = 0.0
        if compiled:
            losses.append(float(step()))
        else:
            L = w.loss(V, model, points, labels); L.backward(); losses.append(L.data)
        for p in params: p.data -= 0.05 * p.grad
    return losses, [p.data for p in params]

def minibatches(compiled, steps, size=20):
    # the moons in batches of `size` passed as arguments (numbers), hinge loss + L2, as a learner writes it
    model = w.Model(V, init); params = model.parameters()
    def fn(xb, yb):
        scores = [model(x) for x in xb]
        hinge = sum((1 + -y * s).relu() for y, s in zip(yb, scores)) * (1.0 / len(scores))
        return hinge + w.L2_WEIGHT * sum(p * p for p in params)
    step = engine.compile(fn) if compiled else None
    losses, times = [], []
    for k in range(steps):
        i = (k * size) % len(points)
        xb, yb = [list(p) for p in points[i : i + size]], labels[i : i + size]
        for p in params: p.grad = 0.0
        start = time.perf_counter()
        if compiled:
            losses.append(float(step(xb, yb)))
        else:
            L = fn([[V(a) for a in x] for x in xb], [V(y) for y in yb]); L.backward(); losses.append(L.data)
        times.append(time.perf_counter() - start)
        for p in params: p.data -= 0.05 * p.grad
    return losses, statistics.median(times[1:])

out = {}
out["moons_step_ms"] = timed(lambda: train(False, 1), 5) * 1e3
start = time.perf_counter(); losses, final = train(True, 100); out["compiled_run_s"] = time.perf_counter() - start
check_losses, check_final = train(False, 3)
assert losses[:3] == check_losses, "compiled and object losses differ"
mb_losses, seconds = minibatches(True, 100); out["minibatch_step_ms"] = seconds * 1e3
assert mb_losses[:3] == minibatches(False, 3)[0], "compiled and object mini-batch losses differ"
out["deep_chain_ms"] = timed(lambda: w.forward_backward(w.deep_chain, V, 100_000), 3) * 1e3
out["wide_sum_ms"] = timed(lambda: w.forward_backward(w.wide_sum, V, 100_000), 3) * 1e3
out["deep_200k_ms"] = timed(lambda: w.forward_backward(w.deep_chain, V, 200_000), 1) * 1e3
out["final"] = final
print(json.dumps(out))
"""


def probe(checkout: Path) -> dict:
    """One fresh process on `checkout`: its figures (and the compiled run's final parameters)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(checkout), str(HERE / "workloads.py")],
        capture_output=True,
        text=True,
        cwd=checkout,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if done.returncode:
        raise SystemExit(f"compare: the run on {checkout} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(old: Path, new: Path, rounds: int, log=print) -> dict[str, tuple[float, float, float]]:
    """{figure: (old median, new median, new / old)} over `rounds` rounds taken in turns."""
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(rounds):
        order = [("old", old), ("new", new)] if r % 2 == 0 else [("new", new), ("old", old)]
        for side, checkout in order:
            runs[side].append(probe(checkout))
        log(f"  round {r + 1}/{rounds} done")
    finals = {json.dumps(run["final"]) for side in runs.values() for run in side}
    if len(finals) != 1:
        raise SystemExit("compare: the two checkouts end the compiled run with different parameters")
    table = {}
    for key in FIGURES:
        a = statistics.median(run[key] for run in runs["old"])
        b = statistics.median(run[key] for run in runs["new"])
        table[key] = (a, b, b / a)
    return table


def old_and_new_parser(prog: str, description: str, folder: str, per_round: str) -> argparse.ArgumentParser:
    """The options of a run that times two checkouts in turns: old [new], --rounds, --json, --old-name."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("old", type=Path, help=f"the older checkout (a folder with {folder} in it)")
    parser.add_argument("new", type=Path, nargs="?", default=HERE.parent, help="the newer one (default: this one)")
    parser.add_argument("--rounds", type=int, default=5, help=f"rounds, each {per_round} (default 5)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON to this file")
    parser.add_argument("--old-name", help="what to call the old checkout in the JSON (default: its git commit)")
    return parser


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    parser = old_and_new_parser("python -m benchmarks.compare", description, "engine/", "one process per checkout")
    args = parser.parse_args(argv)
    for checkout in (args.old, args.new):
        if not (checkout / "engine" / "__init__.py").is_file():
            parser.error(f"{checkout} is not a chainrule checkout (no engine/__init__.py)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    table = compare(args.old.resolve(), args.new.resolve(), args.rounds)
    print(f"\nmedians over {args.rounds} rounds, old = {args.old}, new = {args.new}")
    print(f"{'figure':<58} {'old':>10} {'new':>10} {'new/old':>8}")
    for key, (a, b, ratio) in table.items():
        print(f"{FIGURES[key]:<58} {a:>10.3f} {b:>10.3f} {ratio:>8.3f}")
    if args.json:
        report = {
            **report_header(args),
            "rows": [{"figure": FIGURES[k], "old": a, "new": b, "ratio": r} for k, (a, b, r) in table.items()],
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def report_header(args: argparse.Namespace) -> dict:
    """What a JSON report of two checkouts says first: their names, the rounds and the machine."""
    return {
        "old": args.old_name or commit(args.old),
        "new": commit(args.new),
        "rounds": args.rounds,
        "machine": f"{run.machine_description()}, {os.cpu_count()} cores",
    }


def commit(checkout: Path) -> str:
    """The checkout's git commit, short, or its folder's name when it is not a git checkout."""
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else checkout.name


if __name__ == "__main__":
    raise SystemExit(main())
