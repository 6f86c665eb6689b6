"""Write the documentation's speed page from the benchmark's own JSON output.

    python -m benchmarks.run --json docs/speed.json
    python -m benchmarks.speed_page docs/speed.json > docs/speed.md

Each of `--compare`, `--demos` and `--recording` adds the table of another benchmark's JSON output
(`benchmarks.compare`, `benchmarks.demo_times`, `benchmarks.recording`), each run on its own.

Every figure on the page is read from the JSON files given, so the page and the run cannot
disagree. Each file is one run of `python -m benchmarks.run --json`: its machine, its table (every
workload the run measured, whatever they are) and the targets it checked. Given several runs, for
example one on a quiet machine and one on a shared one, the page puts their times side by side
first. The page names the command that regenerates it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/speed_page.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run  # noqa: E402

Report = dict[str, Any]

INTRO = """\
# Speed

`python -m benchmarks.run` times each workload on chainrule, on micrograd 0.1.0 (when it is
installed: `pip install micrograd==0.1.0`) and, where there is one, on the same computation written
by hand in plain floats ("hand-written floats", `benchmarks/floor.py`). All engines run the same
workload code (`benchmarks/workloads.py`) on the same data, in one process, one after the other,
so the ratios compare like with like: compare ratios across machines, not times. Times are medians
with Python's garbage collector on, as a user runs them; rows marked "GC off" switch it off during
each timed step, to show what the collector costs. Bytes per node is what the live graph holds
(tracemalloc) divided by its number of nodes. "speed vs micrograd" is micrograd's time divided by
this row's; "time vs floor" is this row's time divided by the hand-written floats'. The compiled
100-step run takes turns with the floor's (floor, compiled, floor, ...), and its "time vs floor" is
the median of each run's ratio to the floor runs just before and after it: on a shared machine whose
speed drifts by half within a minute, a ratio of two medians taken minutes apart is not a
measurement. The hand-written step skips the examples whose hinge is off and the units whose relu
is off; a replay cannot know that in advance, but it skips a copy of the network as soon as the
gradient reaching it is 0, and the work below a relu whose gradient is 0.

The two "lower bound" rows of the 100-step run (`benchmarks/bound.py`, timed in the same turns) are
the least any compiled run can take under `engine.compile`'s verification schedule, with nothing
counted for planning: every call at the floor's speed, plus fn's forward building the graph once
(the recording), plus fn run again on each verification call (calls 2, 3, 5, 9, 17, 33
and 65 of 100). "barest number" runs that forward on a one-slot class with Python operators and no
checks, the least any Python number type can cost; "chainrule's forwards" runs it on `Value` with the
graph, and backward(), as a verification call does (it compares gradients). The compiled row's
distance above them is planning (the graph's order, pieces, code), the replays' distance from the
floor, and per-call Python.

This page is generated: every figure on it comes from the JSON file(s) named below, written by the
benchmark itself. To measure again and regenerate it:

```bash
{commands}
```
"""


def is_quick(report: Report) -> bool:
    """True for a `--quick` run: tiny sizes and one repetition, a check that it works, not a measurement."""
    return report.get("sizes") == asdict(run.QUICK)


def machine(report: Report) -> str:
    """One line naming the machine and the Python that ran the benchmark."""
    cores = report.get("cores")
    parts = [report.get("machine", "an unnamed machine")]
    parts.append(f"{cores} cores" if cores else "cores not recorded")
    parts.append(f"Python {report.get('python', '?')} ({report.get('implementation', '?')})")
    return ", ".join(parts)


def load(report: Report) -> str:
    """How busy the machine was, from the load average the run recorded at its end."""
    averages, cores = report.get("load_average"), report.get("cores")
    if not averages:
        return "The run did not record the machine's load."
    one, five, _ = averages
    text = f"Load average at the end of the run: {one:g} (1 min), {five:g} (5 min)"
    if cores:
        state = "a busy machine, shared with other work" if five >= 0.5 * cores else "a quiet machine"
        text += f" on {cores} cores: {state}"
    return text + "."


def title(report: Report) -> str:
    cores = report.get("cores")
    kind = "quick check" if is_quick(report) else f"median of {report.get('repeat', '?')}"
    return f"{cores or '?'}-core {report.get('machine', 'machine').split(', ')[-1]} ({kind})"


def side_by_side(reports: list[Report]) -> list[str]:
    """The time of every (workload, engine) row in each run, one column per run."""
    keys: list[tuple[str, str]] = []
    for report in reports:
        for r in report["results"]:
            if (r["workload"], r["engine"]) not in keys:
                keys.append((r["workload"], r["engine"]))
    lines = [
        "| workload | engine | " + " | ".join(title(r) for r in reports) + " |",
        "|---|---|" + "---:|" * len(reports),
    ]
    previous = None
    for workload, engine in keys:
        cells = []
        for report in reports:
            row = next((r for r in report["results"] if (r["workload"], r["engine"]) == (workload, engine)), None)
            cells.append("" if row is None else run._time(row["seconds"]) if row["seconds"] else row["note"])
        name = workload if workload != previous else ""
        previous = workload
        lines.append(f"| {name} | {engine} | " + " | ".join(cells) + " |")
    return lines


def section(report: Report, path: str) -> list[str]:
    """One run: its machine, the command's table and the targets it checked."""
    losses = report.get("first_step_loss") or {}
    lines = [f"## {title(report)}", "", f"From `{path}`. Machine: {machine(report)}. {load(report)}", ""]
    if is_quick(report):
        lines += [
            "**These figures come from `python -m benchmarks.run --quick`: tiny sizes and one run each, a",
            "check that every workload works. They are not a measurement; run the benchmark without",
            "`--quick` for that.**",
            "",
        ]
    sizes = ", ".join(f"{k} {v:,}" for k, v in (report.get("sizes") or {}).items())
    lines.append(f"Median of {report.get('repeat', '?')} timed run(s) per row; sizes: {sizes}.")
    if losses:
        first = next(iter(losses.values()))
        lines.append(f"Every engine's first training step gave the same loss, {first:.12f}.")
    lines += ["", run.table(report), ""]
    checks = [] if is_quick(report) else run.targets(report)
    if checks:
        lines += ["The project's targets, checked by the same run:", ""] + [f"- {c}" for c in checks] + [""]
    for note in report.get("notes") or []:
        lines += [f"Note: {note}", ""]
    return lines


def old_against_new(report: Report, path: str) -> list[str]:
    """The table of `python -m benchmarks.compare --json`: each figure on two checkouts, in turns."""
    lines = [
        f"## Old against new: {report['old']} and {report['new']}",
        "",
        f"From `{path}`, written by `python -m benchmarks.compare`: both checkouts timed in turns, one fresh",
        f"process each per round, medians over {report['rounds']} rounds. Machine: {report['machine']}. A ratio",
        "below 1 means the new checkout is faster; on a shared machine, a ratio within about 10% of 1 is noise.",
        "",
        f"| figure | {report['old']} | {report['new']} | new / old |",
        "|---|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(f"| {row['figure']} | {row['old']:.3f} | {row['new']:.3f} | {row['ratio']:.2f} |")
    return lines + [""]


def busy(report: Report) -> str:
    """' (a busy machine, ...)' when the 5-minute load average was at least half the cores, else ''."""
    averages, cores = report.get("load_average"), report.get("cores")
    if not averages or not cores or averages[1] < 0.5 * cores:
        return ""
    return " (a busy machine, shared with other work: its wall times are longer than a quiet machine's)"


def demo_times(report: Report, path: str) -> list[str]:
    """The table of `python -m benchmarks.demo_times --json`: each demo's wall time on two checkouts, in turns."""
    lines = [
        f"## The demos from the command line: {report['old']} and {report['new']}",
        "",
        f"From `{path}`, written by `python -m benchmarks.demo_times`: `python demos/NAME.py --quiet` as a",
        "fresh process, pictures and animation included, both checkouts in turns, medians over",
        f"{report['rounds']} rounds. Machine: {report['machine']}; load average at the end of the run",
        f"{', '.join(f'{x:g}' for x in report.get('load_average') or [])}{busy(report)}. The CPU time (user + system)",
        "in brackets is less sensitive than the wall time to other work on a shared machine.",
        "",
        f"| demo | {report['old']} wall (CPU) | {report['new']} wall (CPU) | new / old |",
        "|---|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['demo']} | {row['old']:.2f} s ({row['old_cpu']:.2f} s) | "
            f"{row['new']:.2f} s ({row['new_cpu']:.2f} s) | {row['ratio']:.2f} |"
        )
    return lines + [""]


def recording(report: Report, path: str) -> list[str]:
    """The table of `python -m benchmarks.recording --json`: a deep chain's first compiled call at several depths."""
    rows = report["rows"]
    lines = [
        "## The recording: a deep RNN-style chain",
        "",
        f"From `{path}`, written by `python -m benchmarks.recording`: {report['sequences']} sequences through",
        "h = tanh(w*h + u*x_t + b), the x_t passed as number arguments, the loss the sum of (h_T - 1)^2. Each",
        "round times one uncompiled call (forward and backward()) and then the first call of a freshly",
        "compiled function (the recording: fn run on the tape, the plan, the repeated pieces, the generated",
        "code and the replay itself), in one process; the ratio is each round's, its median over",
        f"{report['rounds']} rounds. Machine: {report['machine']}, {report['cores']} cores; load average at the end",
        f"of the run {', '.join(f'{x:g}' for x in report.get('load_average') or [])}{busy(report)}.",
        "",
        "| depth | nodes | uncompiled call | first compiled call | first call / uncompiled |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['depth']:,} | {row['nodes']:,} | {run._time(row['uncompiled'])} | "
            f"{run._time(row['first_call'])} | {row['ratio']:.1f}x |"
        )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        lines += [
            "",
            f"From depth {small['depth']:,} to {large['depth']:,} ({large['nodes'] / small['nodes']:.1f}x the nodes), "
            f"the first compiled call took {large['first_call'] / small['first_call']:.1f}x as long "
            f"and the uncompiled call {large['uncompiled'] / small['uncompiled']:.1f}x.",
        ]
    return lines + [""]


def render(
    reports: list[Report],
    paths: list[str],
    compared: tuple[Report, str] | None = None,
    demos: tuple[Report, str] | None = None,
    recorded: tuple[Report, str] | None = None,
) -> str:
    """The whole page, from the runs and the paths they were read from (and old-against-new tables)."""
    files = " ".join(paths)
    extra = (
        (f" --compare {compared[1]}" if compared else "")
        + (f" --demos {demos[1]}" if demos else "")
        + (f" --recording {recorded[1]}" if recorded else "")
    )
    commands = "\n".join(
        [f".venv/bin/python -m benchmarks.run --json {p}" for p in paths]
        + ([f".venv/bin/python -m benchmarks.compare OLD_CHECKOUT --json {compared[1]}"] if compared else [])
        + ([f".venv/bin/python -m benchmarks.demo_times OLD_CHECKOUT --json {demos[1]}"] if demos else [])
        + ([f".venv/bin/python -m benchmarks.recording --json {recorded[1]}"] if recorded else [])
        + [f".venv/bin/python -m benchmarks.speed_page {files}{extra} > docs/speed.md"]
    )
    lines = INTRO.format(commands=commands).splitlines()
    lines.append("")
    if len(reports) > 1:
        lines += ["## Side by side", "", "The time of each row on each machine.", ""]
        lines += side_by_side(reports) + [""]
    else:
        lines += [
            f"Only one run exists: {machine(reports[0])}. There are no figures from another machine "
            "(a quiet one, say) to set beside it yet; give its JSON file as a second argument.",
            "",
        ]
    for report, path in zip(reports, paths, strict=True):
        lines += section(report, path)
    if compared:
        lines += old_against_new(*compared)
    if demos:
        lines += demo_times(*demos)
    if recorded:
        lines += recording(*recorded)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed_page", description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="+", help="result files written by python -m benchmarks.run --json PATH")
    parser.add_argument("--compare", help="a file written by python -m benchmarks.compare --json PATH")
    parser.add_argument("--demos", help="a file written by python -m benchmarks.demo_times --json PATH")
    parser.add_argument("--recording", help="a file written by python -m benchmarks.recording --json PATH")
    args = parser.parse_args(argv)

    def read(path: str) -> Report:
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as error:
            parser.error(f"cannot read {path}: {error}")

    reports = [read(path) for path in args.json]
    compared = (read(args.compare), args.compare) if args.compare else None
    demos = (read(args.demos), args.demos) if args.demos else None
    recorded = (read(args.recording), args.recording) if args.recording else None
    sys.stdout.write(render(reports, args.json, compared, demos, recorded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
