"""Time the workloads on chainrule, on micrograd (when installed) and on the hand-written floor.

This file is 640 lines because it is one report: each workload's runner, its row in the table and
its target sit together, so a reader checks a figure against the code that measured it in one place.

    python -m benchmarks.run                 # the full benchmark, median of 5 runs each
    python -m benchmarks.run --quick         # tiny sizes, one run: checks that everything works
    python -m benchmarks.run --repeat 9 --json results.json

Every engine runs the same workload code (`benchmarks.workloads`) on the same data in the same
process, one after the other, so the ratios compare like with like. Times are wall-clock medians
with Python's cyclic garbage collector enabled, as a user runs them. The rows marked "GC off" show
what the collector costs: there it is switched off during each timed step, and the previous step's
garbage is collected before the step starts, outside the timing. Memory per node is what the live
graph (after forward and backward) holds, divided by its number of nodes, two ways: the bytes
the objects ask for (tracemalloc's count, the sum of sys.getsizeof) and, the figure reported
and checked, the bytes the allocator hands out for them. CPython's small-object allocator serves
each request from a size class that is a multiple of 16 bytes (a 24-byte float takes 32, a
56-byte tuple 64), so that is what a graph adds to the process's memory.

Two workloads keep the previous step's graph alive while the next one is built, as a learner's
loop does, and take turns between the engines (a few steps each, the first of each turn not
timed) so that a drift of a shared machine falls on all alike: micrograd's demo notebook loop
with only the engine swapped (`benchmarks.learner`), and a digits-size classifier step
(`benchmarks.classifier`, 64 inputs, 10 classes, mini-batches of 32).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import bound, classifier, floor, learner, workloads  # noqa: E402

# ---------------------------------------------------------------- engines


@dataclass
class Engine:
    """A Value class to run the workloads on, and how to walk its graph."""

    name: str
    Value: type
    parents_of: Callable[[Any], Any]


def available_engines() -> tuple[list[Engine], str]:
    """chainrule always; micrograd when it is installed. Also a note saying what is missing."""
    from engine import Value

    engines = [Engine("chainrule", Value, lambda v: v.parents)]
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        return engines, "micrograd is not installed (pip install micrograd==0.1.0): chainrule alone is reported."
    try:
        from importlib.metadata import version

        name = f"micrograd {version('micrograd')}"
    except Exception:
        name = "micrograd"
    engines.append(Engine(name, MicrogradValue, lambda v: v._prev))
    return engines, ""


FLOOR = "hand-written floats"


# ---------------------------------------------------------------- sizes


@dataclass
class Sizes:
    points: int = 100
    chain: int = 100_000
    wide: int = 100_000
    million: int = 1_000_000  # 0 to skip
    steps: int = 100  # the whole training run, recording included for engine.compile
    hidden: int = 32  # the classifier's hidden layer (64-hidden-10)
    batch: int = 32  # the classifier's mini-batch
    rounds: int = 2  # turns of each engine on the interleaved workloads
    turn: int = 3  # steps in a turn (the first is not timed: no previous graph of its own yet)


QUICK = Sizes(points=8, chain=1_500, wide=1_000, million=0, steps=3, hidden=4, batch=2, rounds=1, turn=2)


# ---------------------------------------------------------------- results


@dataclass
class Result:
    workload: str
    engine: str
    nodes: int | None = None
    times: list[float] = field(default_factory=list)
    bytes_per_node: float | None = None  # what the allocator hands out (size classes of 16 bytes)
    requested_bytes_per_node: float | None = None  # what the objects ask for (tracemalloc)
    note: str = ""
    # each timed run against the floor's runs just before and after it (a whole run taking turns with
    # the floor): this machine's speed drifts by half over a minute, and a ratio of medians taken
    # minutes apart drifts with it
    vs_floor: list[float] = field(default_factory=list)
    first_calls: list[float] = field(default_factory=list)  # a compiled run's first call, the recording

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.times) if self.times else None


def _timed(fn: Callable[[], Any], repeat: int, gc_on: bool = True) -> list[float]:
    """Wall-clock seconds of `repeat` calls of fn; with gc_on=False the collector is off while timing."""
    times = []
    for _ in range(repeat):
        if not gc_on:
            gc.collect()
            gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def _live_bytes(build: Callable[[], Any]) -> tuple[int, int]:
    """Bytes still allocated after build() returns, while its result is kept alive.

    Returns (allocated, requested): the bytes the small-object allocator hands out for them
    (each request of at most 512 bytes rounded up to a multiple of 16, pymalloc's size classes;
    larger ones as asked) and the bytes asked for (tracemalloc's own total).
    """
    gc.collect()
    tracemalloc.start()
    try:
        keep = build()
        gc.collect()
        requested, _ = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    del keep
    allocated = sum(-(-t.size // 16) * 16 if t.size <= 512 else t.size for t in snapshot.traces)
    del snapshot
    gc.collect()
    return allocated, requested


# ---------------------------------------------------------------- (a) the training step

TRAINING = "training step"
TRAINING_GC_OFF = "training step, GC off"
LEARNING_RATE = 0.05


def _training(engine: Engine, sizes: Sizes, repeat: int, gc_on: bool) -> tuple[Result, float]:
    """Warm up with one step (its loss is returned, to compare engines), then time `repeat` steps."""
    V = engine.Value
    points, labels = workloads.make_moons(sizes.points)
    init = workloads.initial_weights()
    result = Result(TRAINING if gc_on else TRAINING_GC_OFF, engine.name)

    graph = workloads.loss(V, workloads.Model(V, init), points, labels)
    result.nodes = workloads.graph_nodes(graph, engine.parents_of)
    del graph

    model = workloads.Model(V, init)
    first_loss = workloads.training_step(V, model, points, labels, LEARNING_RATE)
    result.times = _timed(lambda: workloads.training_step(V, model, points, labels, LEARNING_RATE), repeat, gc_on)
    gc.collect()

    if gc_on:

        def build():
            model = workloads.Model(V, init)
            total = workloads.loss(V, model, points, labels)
            total.backward()
            return model, total

        allocated, requested = _live_bytes(build)
        result.bytes_per_node = allocated / result.nodes
        result.requested_bytes_per_node = requested / result.nodes
    return result, first_loss


def _training_floor(sizes: Sizes, repeat: int) -> tuple[Result, float]:
    points, labels = workloads.make_moons(sizes.points)
    layers = floor.copy_layers(workloads.initial_weights())
    result = Result(TRAINING, FLOOR, note="no graph")
    first_loss = floor.training_step(layers, points, labels, LEARNING_RATE)
    result.times = _timed(lambda: floor.training_step(layers, points, labels, LEARNING_RATE), repeat)
    return result, first_loss


# ---------------------------------------------------------------- (d) a whole training run

COMPILED = "chainrule, compiled"


def _training_run_name(sizes: Sizes) -> str:
    return f"training, {sizes.steps} steps"


def _training_run(kind: str, engine: Engine | None, sizes: Sizes, repeat: int) -> tuple[Result, list[float]]:
    """`sizes.steps` SGD steps from the same start, timed whole; returns the final parameters too.

    kind is "objects" (build the graph and call backward() every step), "compiled" (engine.compile
    records the first step's graph and replays it; recording and compiling are inside the timing)
    or "floor" (the hand-written floats).
    """
    points, labels = workloads.make_moons(sizes.points)
    init = workloads.initial_weights()
    final: list[float] = []
    first_calls: list[float] = []  # the compiled run's first call: the recording

    if kind == "floor":

        def train():
            layers = floor.copy_layers(init)
            for _ in range(sizes.steps):
                floor.training_step(layers, points, labels, LEARNING_RATE)
            final[:] = floor.flat_parameters(layers)

    else:
        V = engine.Value

        def train():
            model = workloads.Model(V, init)
            params = model.parameters()
            if kind == "compiled":
                from engine import compile

                step = compile(lambda: workloads.loss(V, model, points, labels))
            for i in range(sizes.steps):
                for p in params:
                    p.grad = 0.0
                if kind == "compiled":
                    start = time.perf_counter()
                    step()
                    if not i:
                        first_calls.append(time.perf_counter() - start)
                else:
                    workloads.loss(V, model, points, labels).backward()
                for p in params:
                    p.data -= LEARNING_RATE * p.grad
            final[:] = [p.data for p in params]

    name = {"floor": FLOOR, "compiled": COMPILED}.get(kind, engine.name if engine else "")
    result = Result(_training_run_name(sizes), name)
    result.times = _timed(train, repeat)
    result.first_calls = first_calls
    gc.collect()
    return result, final


BOUND_BARE = "lower bound, barest number"
BOUND_OWN = "lower bound, chainrule's forwards"


def _compiled_and_floor_in_turns(engine: Engine, sizes: Sizes, repeat: int) -> tuple[list[Result], list[float]]:
    """The compiled whole run and the floor's, taking turns (floor, compiled, floor, ..., floor),
    and in each turn the terms of `bound.lower_bound`. Returns the rows (compiled, its two lower
    bounds, the floor; each but the floor also as ratios to the mean of the floor runs on either
    side of it) and the compiled run's final parameters."""
    points, labels = workloads.make_moons(sizes.points)
    floor_runs = [_training_run("floor", None, sizes, 1)[0]]
    compiled_runs: list[Result] = []
    forwards: list[tuple[float, ...]] = []  # each turn's (graph, graph + backward(), bare) forward
    final: list[float] = []
    for _ in range(repeat):
        result, final = _training_run("compiled", engine, sizes, 1)
        compiled_runs.append(result)
        forwards.append(tuple(_timed(f, 1, gc_on=False)[0] for f in bound.forwards(engine.Value, points, labels)))
        floor_runs.append(_training_run("floor", None, sizes, 1)[0])
    compiled, floor_result = compiled_runs[0], floor_runs[0]
    compiled.times = [r.times[0] for r in compiled_runs]
    firsts = [t for r in compiled_runs for t in r.first_calls]
    compiled.note = f"the first call (the recording): median {_time(statistics.median(firsts))} of {len(firsts)} runs"
    floor_result.times = [r.times[0] for r in floor_runs]
    around = [(a + b) / 2 for a, b in zip(floor_result.times[:-1], floor_result.times[1:], strict=True)]
    compiled.vs_floor = [t / f for t, f in zip(compiled.times, around, strict=True)]

    calls = bound.verification_calls(sizes.steps)
    graph, own, bare = (statistics.median(x) for x in zip(*forwards, strict=True))
    rows = [compiled]
    what = {BOUND_BARE: "fn's forward", BOUND_OWN: "fn's forward and backward()"}
    for name, which, forward in [(BOUND_BARE, 2, bare), (BOUND_OWN, 1, own)]:
        least = Result(_training_run_name(sizes), name)
        least.times = [bound.lower_bound(f, t[0], t[which], len(calls)) for f, t in zip(around, forwards, strict=True)]
        least.vs_floor = [t / f for t, f in zip(least.times, around, strict=True)]
        least.note = (
            f"planning free: the floor's run + fn's forward building the graph ({_time(graph)}) + "
            f"{len(calls)} verification calls (calls {', '.join(map(str, calls))}) x {what[name]} "
            f"({_time(forward)} a call)"
        )
        rows.append(least)
    return [*rows, floor_result], final


# ---------------------------------------------------------------- (b) deep chain, (c) wide sum


def _deepest_working_chain(engine: Engine, failing: int) -> int:
    """The longest chain whose backward works, by bisection below a length that failed."""
    works, fails = 0, failing
    while fails - works > 1:
        mid = (works + fails) // 2
        try:
            workloads.forward_backward(workloads.deep_chain, engine.Value, mid)
            works = mid
        except RecursionError:
            fails = mid
    gc.collect()
    return works


def _graph_workload(name: str, build, n: int, engine: Engine, repeat: int, memory: bool = True) -> Result:
    V = engine.Value
    result = Result(name, engine.name)
    try:
        root = workloads.forward_backward(build, V, n)
    except RecursionError:
        gc.collect()
        depth = _deepest_working_chain(engine, n) if build is workloads.deep_chain else None
        deepest = f" (deepest chain that works: {depth:,})" if depth is not None else ""
        result.note = f"fails: RecursionError at depth {n:,}{deepest}"
        return result
    result.nodes = workloads.graph_nodes(root, engine.parents_of)
    del root

    def run():
        workloads.forward_backward(build, V, n)  # the graph is freed on return, inside the timing

    result.times = _timed(run, repeat)
    gc.collect()
    if memory:
        allocated, requested = _live_bytes(lambda: workloads.forward_backward(build, V, n))
        result.bytes_per_node = allocated / result.nodes
        result.requested_bytes_per_node = requested / result.nodes
    return result


# ---------------------------------------------------------------- (e) the learner's loop, (f) a digits-size classifier

LEARNER = "learner's loop (demo.ipynb)"
GC_OFF = ", GC off"


def _digits_name(sizes: Sizes) -> str:
    return f"digits step (64-{sizes.hidden}-10, batch {sizes.batch})"


def _take_turns(sessions: list[tuple[Result, Any, bool]], sizes: Sizes) -> dict[str, list[float]]:
    """Each session runs `sizes.turn` steps in turn, `sizes.rounds` times; returns each one's losses.

    A session keeps its last graph alive between its steps and drops it at the end of its turn.
    The first step of a turn is not timed (its previous graph was dropped). A session marked
    GC off runs each step with the collector off, after collecting outside the timing.
    """
    losses: dict[str, list[float]] = {}
    for _ in range(sizes.rounds):
        for result, session, gc_on in sessions:
            for i in range(sizes.turn):
                if not gc_on:
                    gc.collect()
                    gc.disable()
                try:
                    start = time.perf_counter()
                    loss = session.step()
                    elapsed = time.perf_counter() - start
                finally:
                    gc.enable()
                if i:
                    result.times.append(elapsed)
                losses.setdefault(result.engine + result.workload, []).append(loss)
            session.close()
            gc.collect()
    return losses


def _agree(losses: dict[str, list[float]], what: str, tolerance: float = 1e-9) -> None:
    runs = list(losses.values())
    for other in runs[1:]:
        if any(abs(a - b) > tolerance * max(1.0, abs(a)) for a, b in zip(runs[0], other, strict=True)):
            raise AssertionError(f"{what}: the engines disagree on the losses: {losses}")


def _learner_loop(engines: list[Engine], sizes: Sizes) -> list[Result]:
    """micrograd's notebook loop on each engine (with its own MLP), taking turns."""
    points, labels = workloads.make_moons(sizes.points)
    sessions = []
    for engine in engines:
        if engine.name == "chainrule":
            from nn import MLP
        else:
            from micrograd.nn import MLP  # type: ignore[no-redef]
        session = learner.Session(engine.Value, MLP, points, labels)
        result = Result(LEARNER, engine.name, note="numpy data" if type(session.X) is not list else "")
        session.step()
        result.nodes = workloads.graph_nodes(session.total_loss, engine.parents_of)
        session = learner.Session(engine.Value, MLP, points, labels)  # start again, the same for all
        sessions.append((result, session, True))
    _agree(_take_turns(sessions, sizes), LEARNER)
    return [result for result, _, _ in sessions]


def _digits(engines: list[Engine], sizes: Sizes) -> list[Result]:
    """The classifier step: shared code on each engine and compiled, then nn's with the GC on and off."""
    from engine import Value

    xs, ys = classifier.make_digits()
    batches = classifier.batches(xs, ys, sizes.batch)
    shape = (64, sizes.hidden, 10)
    name = _digits_name(sizes)
    made: list[tuple[Result, Any, bool]] = []
    for engine in engines:
        if engine.name == "chainrule":
            exp, log = classifier.value_exp, classifier.value_log
        else:
            exp, log = classifier.micrograd_exp, classifier.micrograd_log
        made.append(
            (Result(name, engine.name), classifier.SharedStep(engine.Value, exp, log, batches, sizes=shape), True)
        )
    compiled = classifier.SharedStep(Value, classifier.value_exp, classifier.value_log, batches, True, shape)
    made.insert(1, (Result(name, COMPILED), compiled, True))
    nn_name = f"{name}, nn"
    made.append((Result(nn_name, "chainrule"), classifier.NNStep(batches, shape), True))
    made.append((Result(nn_name + GC_OFF, "chainrule"), classifier.NNStep(batches, shape), False))

    probe = classifier.SharedStep(Value, classifier.value_exp, classifier.value_log, batches, sizes=shape)
    probe.step()
    nodes = workloads.graph_nodes(probe.loss, lambda v: v.parents)
    nn_probe = classifier.NNStep(batches, shape)
    nn_probe.step()
    nn_nodes = workloads.graph_nodes(nn_probe.loss, lambda v: v.parents)
    del probe, nn_probe
    for result, _, _ in made:
        result.nodes = nn_nodes if result.workload.startswith(nn_name) else nodes

    start = time.perf_counter()
    compiled.record()
    made[1][0].note = f"recording {time.perf_counter() - start:.2f} s, not in the time"
    losses = _take_turns(made, sizes)
    shared = {k: v for k, v in losses.items() if not k.endswith(", nn") and not k.endswith(GC_OFF)}
    _agree(shared, name)
    _agree({k: v for k, v in losses.items() if k not in shared}, nn_name)
    return [result for result, _, _ in made]


# ---------------------------------------------------------------- the whole run


def run(sizes: Sizes, repeat: int, log: Callable[[str], None] = print) -> dict:
    """Run every workload on every engine; return the results and a description of the run."""
    engines, missing = available_engines()
    if missing:
        log(missing)
    results: list[Result] = []
    first_losses = {}

    def add(result: Result) -> None:
        results.append(result)
        shown = f"{result.seconds:.4f} s" if result.times else result.note
        log(f"  {result.workload:<28} {result.engine:<20} {shown}")

    for engine in engines:
        result, first_losses[engine.name] = _training(engine, sizes, repeat, gc_on=True)
        add(result)
    result, first_losses[FLOOR] = _training_floor(sizes, repeat)
    add(result)
    for engine in engines:
        add(_training(engine, sizes, repeat, gc_on=False)[0])
    reference = first_losses["chainrule"]
    loss_gap = max(abs(loss - reference) for loss in first_losses.values())
    if loss_gap > 1e-9:
        raise AssertionError(f"the engines disagree on the first step's loss: {first_losses}")

    # (d) the whole run: compiled, objects and micrograd once each (micrograd takes a minute), the floor
    (compiled, *bounds, floor_run), compiled_final = _compiled_and_floor_in_turns(engines[0], sizes, repeat)
    add(compiled)
    for result in bounds:
        add(result)
    plain, plain_final = _training_run("objects", engines[0], sizes, 1)
    add(plain)
    if compiled_final != plain_final:
        raise AssertionError("the compiled run's final parameters differ from the object engine's")
    for engine in engines[1:]:
        add(_training_run("objects", engine, sizes, 1)[0])
    add(floor_run)

    chain = f"deep chain, {sizes.chain:,} ops"
    wide = f"wide sum, {sizes.wide:,} ops"
    for engine in engines:
        add(_graph_workload(chain, workloads.deep_chain, sizes.chain, engine, repeat))
    for engine in engines:
        add(_graph_workload(wide, workloads.wide_sum, sizes.wide, engine, repeat))
    for result in _learner_loop(engines, sizes):
        add(result)
    for result in _digits(engines, sizes):
        add(result)

    if sizes.million:
        million = f"deep chain, {sizes.million:,} ops"
        add(_graph_workload(million, workloads.deep_chain, sizes.million, engines[0], min(repeat, 3), memory=False))

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": machine_description(),
        "cores": os.cpu_count(),
        "load_average": _load_average(),
        "repeat": repeat,
        "gc_threshold": gc.get_threshold(),
        "first_step_loss": first_losses,
        "sizes": asdict(sizes),
        "notes": [missing] if missing else [],
        "results": [asdict(r) | {"seconds": r.seconds, "mean": r.mean} for r in results],
    }


def _load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages at the end of the run: how busy the machine was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def machine_description() -> str:
    """The operating system, the architecture and the processor's name: 'Linux x86_64, AMD EPYC'."""
    return f"{platform.system()} {platform.machine()}, {_cpu_name()}"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------- the table


def _time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 100 else f"{x:.1f}x"


def table(report: dict) -> str:
    """The results as a markdown table, with ratios to micrograd and to the floor in the same run."""
    rows = report["results"]
    by_key = {(r["workload"], r["engine"]): r for r in rows}
    micrograd = next((r["engine"] for r in rows if r["engine"].startswith("micrograd")), None)
    lines = [
        "| workload | engine | nodes | time | per node | bytes/node (asked) | speed vs micrograd | time vs floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    previous = None
    for r in rows:
        name = r["workload"] if r["workload"] != previous else ""
        previous = r["workload"]
        if r["seconds"] is None:
            lines.append(f"| {name} | {r['engine']} | | {r['note']} | | | | |")
            continue
        seconds = r["seconds"]
        nodes = f"{r['nodes']:,}" if r["nodes"] else "—"
        per_node = f"{seconds / r['nodes'] * 1e6:.2f} µs" if r["nodes"] else "—"
        memory = "—"
        if r["bytes_per_node"]:
            asked = r.get("requested_bytes_per_node")  # older reports have the allocated figure only
            memory = f"{r['bytes_per_node']:.0f}" + (f" ({asked:.0f})" if asked else "")
        versus = ""
        mg = by_key.get((r["workload"], micrograd))
        if mg is not None:
            versus = _ratio(mg["seconds"] / seconds) if mg["seconds"] else "micrograd fails"
        floor_row = by_key.get((r["workload"], FLOOR)) or (
            by_key.get((TRAINING, FLOOR)) if r["workload"] == TRAINING_GC_OFF else None
        )
        if r["workload"].endswith(", nn") and mg is None:
            versus = ""  # nn's graph is not the shared one: compared with its GC-off row in the targets
        versus_floor = _ratio(_vs_floor(r, floor_row)) if floor_row else ""
        cells = [name, r["engine"], nodes, _time(seconds), per_node, memory, versus, versus_floor]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {r['workload']}, {r['engine']}: {r['note']}" for r in rows if r["seconds"] is not None and r["note"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def _vs_floor(row: dict, floor_row: dict) -> float:
    """The row's time over the floor's: the median of its turn-by-turn ratios when it took turns with the floor."""
    turns = row.get("vs_floor")  # older reports have none
    return statistics.median(turns) if turns else row["seconds"] / floor_row["seconds"]


def targets(report: dict) -> list[str]:
    """The project's speed targets, checked against this run."""
    by_key = {(r["workload"], r["engine"]): r for r in report["results"]}
    ours = by_key[(TRAINING, "chainrule")]
    checks = []
    mg = next((r for (w, e), r in by_key.items() if w == TRAINING and e.startswith("micrograd")), None)
    if mg is not None:
        speed = mg["seconds"] / ours["seconds"]
        checks.append(f"training step at least 5x faster than micrograd: {_ratio(speed)} — {_verdict(speed >= 5)}")
    per_node, asked = ours["bytes_per_node"], ours["requested_bytes_per_node"]
    checks.append(
        f"at most 200 bytes per node (allocated; asked for): {per_node:.0f}; {asked:.0f} — "
        f"{_verdict(per_node <= 200)}; {_verdict(asked <= 200)}"
    )
    loop = by_key.get((LEARNER, "chainrule"))
    mg_loop = next((r for (w, e), r in by_key.items() if w == LEARNER and e.startswith("micrograd")), None)
    if loop is not None and mg_loop is not None:
        speed = mg_loop["seconds"] / loop["seconds"]
        checks.append(
            f"the learner's loop at least 10x faster than micrograd: {_ratio(speed)} — {_verdict(speed >= 10)}"
        )
    digits = next((r for (w, e), r in by_key.items() if w.endswith(", nn")), None)
    digits_off = next((r for (w, e), r in by_key.items() if w.endswith(", nn" + GC_OFF)), None)
    if digits is not None and digits_off is not None:
        slower = digits["seconds"] / digits_off["seconds"]
        checks.append(
            f"the digits step with nn, GC on, at most 1.3x the same step with the GC off: {slower:.2f}x — "
            f"{_verdict(slower <= 1.3)}"
        )
    run_name = f"training, {report['sizes']['steps']} steps"
    compiled = by_key.get((run_name, COMPILED))
    floor_run = by_key.get((run_name, FLOOR))
    mg_run = next((r for (w, e), r in by_key.items() if w == run_name and e.startswith("micrograd")), None)
    if compiled is not None and mg_run is not None:
        speed = mg_run["seconds"] / compiled["seconds"]
        checks.append(
            f"{run_name} compiled (recording included) at least 30x faster than micrograd: "
            f"{_ratio(speed)} — {_verdict(speed >= 30)}"
        )
    if compiled is not None and floor_run is not None:
        slower = _vs_floor(compiled, floor_run)
        turns = compiled.get("vs_floor") or []
        shown = f" (median of {len(turns)} turns: {', '.join(f'{x:.2f}' for x in turns)})" if turns else ""
        least = [by_key.get((run_name, name)) for name in (BOUND_BARE, BOUND_OWN)]
        bounds = (
            "; the least a compiled run can take, planning free (benchmarks/bound.py): "
            f"{_ratio(_vs_floor(least[0], floor_run))} with the barest number's forward, "
            f"{_ratio(_vs_floor(least[1], floor_run))} with chainrule's"
            if all(least)
            else ""
        )
        checks.append(
            f"{run_name} compiled at most 2x the hand-written floats: {_ratio(slower)}{shown}{bounds} — "
            f"{_verdict(slower <= 2)}"
        )
    million = by_key.get((f"deep chain, {report['sizes']['million']:,} ops", "chainrule"))
    if million is not None and million["seconds"] is not None:
        s = million["seconds"]
        checks.append(f"1,000,000-op chain forward + backward under 15 s: {s:.2f} s — {_verdict(s < 15)}")
    return checks


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed runs each; the median is reported (default 5; 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one run: a check that it all works")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--no-million", action="store_true", help="skip the 1,000,000-op chain")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else 1 if args.quick else 5
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = replace(QUICK) if args.quick else Sizes()
    if args.no_million:
        sizes.million = 0

    print(f"Benchmarking (median of {repeat}, garbage collector on unless marked) ...", flush=True)
    report = run(sizes, repeat, log=lambda s: print(s, flush=True))
    print()
    print(
        f"Python {report['python']} ({report['implementation']}), {report['machine']}; "
        f"median of {repeat} run(s); first-step loss on every engine {report['first_step_loss']['chainrule']:.12f}"
    )
    print()
    print(table(report))
    print()
    if args.quick:  # tiny sizes, one run: the times say nothing about the targets
        print("targets not judged: --quick runs tiny sizes once, to check that everything works; run without --quick")
    for line in targets(report):
        if args.quick:
            line = line.rsplit(" — ", 1)[0] + " — not judged (--quick)"
        print(f"- {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
