"""The benchmark command runs end to end (tiny sizes, nothing timed here) and prints its table."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import run

pytestmark = pytest.mark.usefixtures("settled_heap")  # the benchmarks collect garbage often: see conftest

ROOT = Path(__file__).resolve().parents[2]

try:
    import micrograd  # noqa: F401

    HAVE_MICROGRAD = True
except ImportError:
    HAVE_MICROGRAD = False


def run_cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH="")
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ")]


@pytest.mark.slow
def test_quick_run_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    text = run_cli("-m", "benchmarks.run", "--quick", "--json", str(out))
    rows = table_rows(text)
    assert rows[0].startswith("| workload | engine | nodes | time |")
    names = [cells.split("|")[1].strip() for cells in rows[1:]]
    workloads = [n for n in names if n]
    assert workloads == [
        "training step",
        "training step, GC off",
        "training, 3 steps",
        "deep chain, 1,500 ops",
        "wide sum, 1,000 ops",
        "learner's loop (demo.ipynb)",
        "digits step (64-4-10, batch 2)",
        "digits step (64-4-10, batch 2), nn",
        "digits step (64-4-10, batch 2), nn, GC off",
    ]
    assert any("| chainrule |" in r for r in rows) and any("| hand-written floats |" in r for r in rows)
    assert any("| chainrule, compiled |" in r for r in rows)
    assert "at most 200 bytes per node (allocated; asked for)" in text
    assert "the digits step with nn, GC on, at most 1.3x the same step with the GC off" in text
    assert "training, 3 steps compiled at most 2x the hand-written floats" in text

    report = json.loads(out.read_text())
    by_key = {(r["workload"], r["engine"]): r for r in report["results"]}
    ours = by_key["training step", "chainrule"]
    assert ours["nodes"] > 1000 and ours["seconds"] > 0 and ours["bytes_per_node"] > 0
    # the allocator hands out whole 16-byte size classes: never less than what was asked for
    assert ours["bytes_per_node"] >= ours["requested_bytes_per_node"] > 0
    digits = by_key["digits step (64-4-10, batch 2)", "chainrule, compiled"]
    assert digits["nodes"] > 1000 and digits["seconds"] > 0 and "recording" in digits["note"]
    assert by_key["deep chain, 1,500 ops", "chainrule"]["nodes"] == 1_503  # the chain, its start and two constants
    if HAVE_MICROGRAD:
        name = next(e for _, e in by_key if e.startswith("micrograd"))
        assert by_key["training step", name]["nodes"] == ours["nodes"]  # the very same graph
        assert "learner's loop at least 10x faster than micrograd" in text
        loop = by_key["learner's loop (demo.ipynb)", "chainrule"]
        assert by_key["learner's loop (demo.ipynb)", name]["nodes"] == loop["nodes"] > 1000
        assert "fails: RecursionError at depth 1,500" in by_key["deep chain, 1,500 ops", name]["note"]
        assert "training step at least 5x faster than micrograd" in text
        assert "compiled (recording included) at least 30x faster than micrograd" in text
        losses = report["first_step_loss"]
        assert max(losses.values()) - min(losses.values()) < 1e-9  # same data, same graph, same loss


@pytest.mark.slow
def test_runs_as_a_script_too():
    text = run_cli("benchmarks/run.py", "--quick", "--no-million")
    assert any(r.startswith("| training step | chainrule |") for r in table_rows(text))


def test_without_micrograd_it_says_so_and_reports_chainrule_alone(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "micrograd", None)  # makes `import micrograd...` fail
    monkeypatch.setitem(sys.modules, "micrograd.engine", None)
    assert run.main(["--quick"]) == 0
    text = capsys.readouterr().out
    assert "micrograd is not installed" in text
    rows = table_rows(text)
    assert rows and not any("micrograd 0" in r for r in rows)
    assert any(r.startswith("| training step | chainrule |") for r in rows)
    assert "faster than micrograd" not in text


def test_bad_repeat_is_refused():
    with pytest.raises(SystemExit):
        run.main(["--repeat", "0"])


def test_the_compiled_run_takes_turns_with_the_floor_and_is_judged_by_its_turns():
    sizes = run.Sizes(**{**run.asdict(run.QUICK), "steps": 2})
    engine = next(e for e in run.available_engines()[0] if e.name == "chainrule")
    (compiled, bare, own, floor_run), final = run._compiled_and_floor_in_turns(engine, sizes, 3)
    assert len(compiled.times) == 3 and len(floor_run.times) == 4 and len(final) > 0
    around = [(a + b) / 2 for a, b in zip(floor_run.times[:-1], floor_run.times[1:], strict=True)]
    for row in (compiled, bare, own):
        assert row.vs_floor == [t / f for t, f in zip(row.times, around, strict=True)]
    # each bound is its turn's floor run plus forwards, never less than the floor
    assert (bare.engine, own.engine) == (run.BOUND_BARE, run.BOUND_OWN)
    assert all(t > f for row in (bare, own) for t, f in zip(row.times, around, strict=True))
    assert "calls 2" in bare.note and "planning free" in own.note
    # the target and the table use the median of the turns, not a ratio of medians
    report = {
        "sizes": run.asdict(sizes),
        "results": [
            {"workload": "training step", "engine": "chainrule", "bytes_per_node": 1, "requested_bytes_per_node": 1},
            {"workload": "training, 2 steps", "engine": run.COMPILED, "seconds": 9.0, "vs_floor": [1.5, 1.9, 5.0]},
            {"workload": "training, 2 steps", "engine": run.BOUND_BARE, "seconds": 2.0, "vs_floor": [1.2, 1.6, 1.7]},
            {"workload": "training, 2 steps", "engine": run.BOUND_OWN, "seconds": 3.0, "vs_floor": [2.4, 2.5, 2.9]},
            {"workload": "training, 2 steps", "engine": run.FLOOR, "seconds": 1.0},
        ],
    }
    line = next(c for c in run.targets(report) if "hand-written floats" in c)
    assert "1.9x (median of 3 turns: 1.50, 1.90, 5.00);" in line and line.endswith("— met")
    assert "planning free (benchmarks/bound.py): 1.6x with the barest number's forward, 2.5x with chainrule's" in line
