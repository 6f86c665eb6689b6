"""benchmarks.demo_times: both checkouts in turns, medians per demo, and its JSON for the speed page."""

import json
from pathlib import Path

import pytest

from benchmarks import demo_times

ROOT = Path(__file__).resolve().parents[2]


def test_rounds_alternate_which_checkout_goes_first_and_report_medians(monkeypatch, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    calls = []
    times = {("old", "moons"): iter([10.0, 30.0, 20.0]), ("new", "moons"): iter([2.0, 1.0, 3.0])}

    def fake(checkout, name):
        side = checkout.name
        calls.append(side)
        wall = next(times[side, name])
        return wall, wall / 2

    monkeypatch.setattr(demo_times, "timed_demo", fake)
    (row,) = demo_times.measure(old, new, ["moons"], 3, log=lambda _: None)
    assert calls == ["old", "new", "new", "old", "old", "new"]
    assert (row["old"], row["new"], row["old_cpu"], row["new_cpu"]) == (20.0, 2.0, 10.0, 1.0)
    assert row["ratio"] == pytest.approx(0.1) and row["new_runs"] == [2.0, 1.0, 3.0]


def test_the_json_names_the_machine_and_each_demo(monkeypatch, tmp_path):
    monkeypatch.setattr(demo_times, "timed_demo", lambda checkout, name: (1.0, 0.5))
    out = tmp_path / "times.json"
    assert demo_times.main([str(ROOT), str(ROOT), "--rounds", "1", "--demos", "moons", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["rounds"] == 1 and "cores" in written["machine"] and len(written["load_average"]) == 3
    assert [r["demo"] for r in written["rows"]] == ["moons"]


def test_a_folder_without_the_demos_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        demo_times.main([str(tmp_path)])


def test_a_demo_that_fails_stops_the_run_naming_it(tmp_path):
    (tmp_path / "demos").mkdir()
    (tmp_path / "demos" / "moons.py").write_text("raise SystemExit('broken on purpose')\n")
    with pytest.raises(SystemExit, match="moons on .* failed:\nbroken on purpose"):
        demo_times.timed_demo(tmp_path, "moons")
