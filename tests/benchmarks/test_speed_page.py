"""The speed page is the benchmark's own output: generated from the JSON committed beside it."""

import copy
import json
import subprocess
import sys
from pathlib import Path

from benchmarks import speed_page

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "speed.md"
DATA = ROOT / "docs" / "speed.json"


def report() -> dict:
    return json.loads(DATA.read_text())


def regenerate_command() -> list[str]:
    """The page's own command that writes it, as arguments (without the `> docs/speed.md`)."""
    line = next(x for x in PAGE.read_text().splitlines() if x.startswith(".venv/bin/python -m benchmarks.speed_page "))
    assert line.endswith(" > docs/speed.md")
    return line.removesuffix(" > docs/speed.md").split()[1:]


def test_the_page_in_the_repo_is_what_the_generator_makes_from_the_committed_json():
    args = regenerate_command()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == PAGE.read_text(), f"the page is stale; regenerate it: python {' '.join(args)} > docs/speed.md"


def test_an_old_against_new_table_comes_from_the_compare_json(tmp_path):
    compared = {
        "old": "384d097",
        "new": "abc1234",
        "rounds": 5,
        "machine": "Linux x86_64, AMD EPYC, 2 cores",
        "rows": [{"figure": "moons training step, objects (ms)", "old": 80.0, "new": 60.0, "ratio": 0.75}],
    }
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(compared))
    page = speed_page.render([report()], ["docs/speed.json"], (compared, str(path)))
    assert "## Old against new: 384d097 and abc1234" in page
    assert "| moons training step, objects (ms) | 80.000 | 60.000 | 0.75 |" in page
    assert f"python -m benchmarks.compare OLD_CHECKOUT --json {path}" in page
    assert f"python -m benchmarks.speed_page docs/speed.json --compare {path} > docs/speed.md" in page


def test_the_page_names_the_machine_and_the_command_that_regenerates_it():
    data = report()
    page = PAGE.read_text()
    assert f"Python {data['python']}" in page and data["machine"] in page and f"{data['cores']} cores" in page
    assert "python -m benchmarks.speed_page docs/speed.json" in page
    assert "python -m benchmarks.run --json docs/speed.json" in page


def test_every_workload_of_the_run_is_on_the_page_even_one_the_generator_never_heard_of():
    data = report()
    data["results"].append(
        {
            "workload": "a new workload",
            "engine": "chainrule",
            "nodes": 12,
            "times": [0.5],
            "seconds": 0.5,
            "mean": 0.5,
            "bytes_per_node": 100.0,
            "note": "",
        }
    )
    page = speed_page.render([data], ["new.json"])
    for r in data["results"]:
        assert f"| {r['workload']} |" in page or r["workload"] == "", r["workload"]
    assert "| a new workload | chainrule | 12 | 500.0 ms |" in page


def test_a_quick_run_is_labelled_as_a_check_not_a_measurement():
    data = report()
    data["sizes"] = dict(speed_page.asdict(speed_page.run.QUICK))
    assert "They are not a measurement" in speed_page.render([data], ["q.json"])
    data["sizes"]["points"] = 100
    assert "They are not a measurement" not in speed_page.render([data], ["full.json"])


def test_two_runs_are_put_side_by_side_each_named_by_its_machine():
    shared, quiet = report(), copy.deepcopy(report())
    quiet["cores"], quiet["load_average"] = 16, [0.1, 0.1, 0.1]
    for r in quiet["results"]:
        if r["seconds"]:
            r["seconds"] = r["seconds"] / 2
    page = speed_page.render([shared, quiet], ["shared.json", "quiet.json"])
    assert "## Side by side" in page and "Only one run exists" not in page
    header = next(line for line in page.splitlines() if line.startswith("| workload | engine | 2-core"))
    assert "16-core" in header
    assert "a quiet machine" in page and "python -m benchmarks.speed_page shared.json quiet.json" in page


def test_the_demos_wall_times_come_from_the_demo_times_json(tmp_path):
    timed = {
        "old": "68a0b5d",
        "new": "abc1234",
        "rounds": 5,
        "machine": "Linux x86_64, AMD EPYC, 2 cores",
        "load_average": [1.5, 1.25, 1.0],
        "cores": 2,
        "rows": [{"demo": "moons", "old": 34.0, "new": 3.5, "ratio": 3.5 / 34.0, "old_cpu": 30.0, "new_cpu": 3.0}],
    }
    path = tmp_path / "demo_times.json"
    path.write_text(json.dumps(timed))
    page = speed_page.render([report()], ["docs/speed.json"], demos=(timed, str(path)))
    assert "## The demos from the command line: 68a0b5d and abc1234" in page
    assert "| moons | 34.00 s (30.00 s) | 3.50 s (3.00 s) | 0.10 |" in page
    words = " ".join(page.split())
    assert "Machine: Linux x86_64, AMD EPYC, 2 cores; load average at the end of the run 1.5, 1.25, 1 (a busy" in words
    timed["load_average"] = [0.1, 0.1, 0.1]
    assert "(a busy" not in speed_page.render([report()], ["docs/speed.json"], demos=(timed, str(path)))
    assert f"python -m benchmarks.demo_times OLD_CHECKOUT --json {path}" in page
    assert f"python -m benchmarks.speed_page docs/speed.json --demos {path} > docs/speed.md" in page
