"""The demos as a user runs them: wall time of `python demos/NAME.py`, old checkout against new, in turns.

    python -m benchmarks.demo_times OLD_CHECKOUT [NEW_CHECKOUT] [--rounds 5] [--json docs/demo_times.json]

Each round runs every demo once on each checkout, as a fresh process (`python demos/NAME.py
--quiet --out TEMP`, pictures and animation included), old and new in alternating order, so that
a drift in a shared machine's speed falls on both alike. Reported per demo: the median wall time
over the rounds, the median CPU time of the process (user + system: less sensitive to other work
on the machine than the wall time) and the ratio new / old of the wall times. With `--json`, the
table is also written as JSON, which `python -m benchmarks.speed_page --demos` puts on the speed
page.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.compare import old_and_new_parser, report_header

HERE = Path(__file__).resolve().parent
DEMOS = ["moons", "spiral", "circles", "digits"]


def timed_demo(checkout: Path, name: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of the demo in `checkout`, as a fresh process."""
    script = checkout / "demos" / f"{name}.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # each checkout imports its own engine
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script), "--quiet", "--out", out], capture_output=True, text=True, env=env, cwd=out
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"demo_times: {name} on {checkout} failed:\n{done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(old: Path, new: Path, demos: list[str], rounds: int, log=print) -> list[dict]:
    """One row per demo: the medians of each side's wall and CPU times over `rounds` rounds taken in turns."""
    times: dict[tuple[str, str], list[tuple[float, float]]] = {(d, s): [] for d in demos for s in ("old", "new")}
    for r in range(rounds):
        for name in demos:
            order = [("old", old), ("new", new)] if r % 2 == 0 else [("new", new), ("old", old)]
            for side, checkout in order:
                times[name, side].append(timed_demo(checkout, name))
        log(f"  round {r + 1}/{rounds} done")
    rows = []
    for name in demos:
        (old_wall, old_cpu), (new_wall, new_cpu) = (
            (statistics.median(w for w, _ in times[name, s]), statistics.median(c for _, c in times[name, s]))
            for s in ("old", "new")
        )
        rows.append(
            {
                "demo": name,
                "old": old_wall,
                "new": new_wall,
                "ratio": new_wall / old_wall,
                "old_cpu": old_cpu,
                "new_cpu": new_cpu,
                "new_runs": [w for w, _ in times[name, "new"]],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    parser = old_and_new_parser(
        "python -m benchmarks.demo_times", description, "demos/", "one process per demo and checkout"
    )
    parser.add_argument("--demos", nargs="+", default=DEMOS, choices=DEMOS, help="which demos (default: all four)")
    args = parser.parse_args(argv)
    for checkout in (args.old, args.new):
        if not all((checkout / "demos" / f"{name}.py").is_file() for name in args.demos):
            parser.error(f"{checkout} is not a chainrule checkout with the demos {', '.join(args.demos)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    rows = measure(args.old.resolve(), args.new.resolve(), args.demos, args.rounds)
    print(
        f"\nmedians over {args.rounds} rounds (wall time, and CPU time in brackets), old = {args.old}, new = {args.new}"
    )
    for row in rows:
        print(
            f"{row['demo']:<8} old {row['old']:6.2f} s ({row['old_cpu']:5.2f} s)   "
            f"new {row['new']:6.2f} s ({row['new_cpu']:5.2f} s)   new/old {row['ratio']:.2f}"
        )
    if args.json:
        report = {
            **report_header(args),
            "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
