"""demos/layers.py: runs from another folder, prints the layer view, writes its pictures, exits 1 on disagreement."""

import importlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nn import layerview

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "demos" / "layers.py"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def demo():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("demos.layers")


@pytest.mark.slow
@needs_dot
def test_runs_from_another_folder_prints_the_report_and_writes_the_pictures(tmp_path):
    done = run("--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = tmp_path / "out" / "layers"
    assert sorted(p.name for p in out.iterdir()) == ["batch.dot", "batch.svg", "one.dot", "one.svg"]
    for name in ("one.svg", "batch.svg"):
        root = ET.fromstring((out / name).read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "l3n0" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    text = done.stdout
    assert "1 example, loss" in text and "8 examples, loss" in text
    assert "delta(1) = (W(2)^T delta(2)) * f'(z(1))" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("layers: the textbook equations and the scalar graph agree on one point and a batch of 8")
    again = run("--seed", "3", "--quiet", "--out", "again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "batch.svg").read_bytes() == (out / "batch.svg").read_bytes()
    assert "layer 1:" not in again.stdout and again.stdout.strip().splitlines()[-1] == last


@pytest.mark.slow
def test_help_lists_the_options(tmp_path):
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for option in ("--seed", "--out", "--quiet", "--activation", "--loss", "--batch", "--hidden"):
        assert option in done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("loss", ["mse", "bce_with_logits", "cross_entropy"])
def test_every_loss_and_activation_agree(loss, tmp_path):
    result = demo().main(["--quiet", "--loss", loss, "--activation", "relu", "--out", str(tmp_path)])
    assert result["agree"] and result["max_rel_diff"] < 1e-12
    assert result["one"].examples == 1 and result["batch"].examples == 8


def test_a_wrong_textbook_derivative_exits_with_status_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(layerview.DERIVATIVES, "tanh", lambda z, a: 1.0 - z * z)
    with pytest.raises(SystemExit) as stopped:
        demo().main(["--quiet", "--out", str(tmp_path)])
    assert stopped.value.code == 1
    assert "DISAGREE" in capsys.readouterr().out


@pytest.mark.slow
def test_a_bad_batch_is_a_usage_error(tmp_path):
    done = run("--batch", "1", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "--batch must be at least 2" in done.stderr
