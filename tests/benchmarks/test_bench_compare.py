"""benchmarks.compare: two checkouts in turns, one table of medians and ratios (nothing timed here)."""

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import compare

ROOT = Path(__file__).resolve().parents[2]


def test_it_refuses_a_folder_that_is_no_checkout(tmp_path, capsys):
    with pytest.raises(SystemExit):
        compare.main([str(tmp_path)])
    assert "is not a chainrule checkout" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare.main([str(ROOT), "--rounds", "0"])


def test_a_run_that_fails_names_its_checkout(tmp_path):
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "engine" / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    with pytest.raises(SystemExit, match=f"the run on {tmp_path} failed:(.|\n)*broken on purpose"):
        compare.probe(tmp_path)


@pytest.mark.slow
def test_one_round_of_a_checkout_against_itself_gives_every_figure(capsys, tmp_path):
    assert compare.main([str(ROOT), str(ROOT), "--rounds", "1", "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    for label in compare.FIGURES.values():
        line = next(line for line in out.splitlines() if line.startswith(label))
        old, new, ratio = (float(x) for x in line[len(label) :].split())
        assert old > 0 and new > 0 and ratio == pytest.approx(new / old, rel=1e-2)
    written = json.loads((tmp_path / "c.json").read_text())
    assert [row["figure"] for row in written["rows"]] == list(compare.FIGURES.values())
    assert written["rounds"] == 1 and written["old"] == written["new"]
