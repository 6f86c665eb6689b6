"""benchmarks.recording: the first compiled call against the uncompiled call, round by round, and its page table."""

import json
from pathlib import Path

import pytest

from benchmarks import recording, speed_page

ROOT = Path(__file__).resolve().parents[2]


def test_each_depth_reports_medians_and_the_median_of_each_rounds_ratio(monkeypatch):
    rounds = iter([(1.0, 10.0, 40), (2.0, 8.0, 40), (4.0, 12.0, 40)])
    monkeypatch.setattr(recording, "one_round", lambda depth: next(rounds))
    (row,) = recording.measure([2], 3, log=lambda _: None)
    assert row["ratios"] == [10.0, 4.0, 3.0]
    assert (row["uncompiled"], row["first_call"], row["ratio"], row["nodes"]) == (2.0, 10.0, 4.0, 40)


def test_a_round_compiles_the_chain_and_checks_it_against_the_uncompiled_call():
    uncompiled, first, nodes = recording.one_round(12)
    assert uncompiled > 0 and first > 0
    assert nodes == recording.SEQUENCES * 12 * 6 + 3 + 1 + recording.SEQUENCES * 5  # steps, w u b, the sums


def test_a_chain_the_replay_got_wrong_stops_the_run(monkeypatch):
    calls = []

    def wrong(fn, params, xs):
        calls.append(fn)
        return (float(len(calls)), [0.0, 0.0, 0.0], 0.5)

    monkeypatch.setattr(recording, "_call", wrong)
    with pytest.raises(AssertionError, match="differs"):
        recording.one_round(5)


def test_the_json_goes_on_the_speed_page(tmp_path):
    out = tmp_path / "recording.json"
    assert recording.main(["--depths", "3", "6", "--rounds", "1", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert [r["depth"] for r in written["rows"]] == [3, 6] and written["sequences"] == recording.SEQUENCES
    report = json.loads((ROOT / "docs" / "speed.json").read_text())
    page = speed_page.render([report], ["docs/speed.json"], recorded=(written, str(out)))
    assert "## The recording: a deep RNN-style chain" in page
    first = written["rows"][0]
    assert f"| 3 | {first['nodes']:,} | " in page and f"| {first['ratio']:.1f}x |" in page
    assert "From depth 3 to 6" in page
    assert f"python -m benchmarks.recording --json {out}" in page
    assert f"python -m benchmarks.speed_page docs/speed.json --recording {out} > docs/speed.md" in page
