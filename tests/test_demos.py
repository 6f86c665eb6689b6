"""The demos in demos/: each runs end to end, writes readable pictures, reaches its accuracy, repeats itself exactly.

Smoke runs go through a subprocess, as a user would type them (from another folder, to check
the scripts find their imports); the full training runs are imported and called in-process
to read their numbers.
"""

import gc
import importlib
import io
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRAINED = ["moons", "circles", "spiral", "regression"]
PICTURES = {
    "moons": ["boundary.png", "boundary.svg", "curves.png", "curves.svg"],
    "circles": ["boundary.png", "boundary.svg", "curves.png", "curves.svg"],
    "spiral": ["boundary.png", "boundary.svg", "curves.png", "curves.svg"],
    "regression": ["fit.png", "fit.svg", "curves.png", "curves.svg"],
    "newton": ["newton.png", "newton.svg", "tanh_derivatives.png", "tanh_derivatives.svg"],
    "graph": ["neuron.svg", "neuron.dot", "backward.html"],
}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def run(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = ROOT / "demos" / f"{name}.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def demo(name: str):
    """The demo's module, imported in this process (its main(argv) returns the summary's numbers)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"demos.{name}")


@pytest.fixture
def heap():
    """The demos freeze the heap before training; give this process its collector back afterwards."""
    yield
    gc.unfreeze()


def check_picture(path: Path) -> None:
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data.startswith(PNG_SIGNATURE), path
        assert len(data) > 2000, path  # more than an empty canvas
    elif path.suffix == ".svg":
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", path
        assert len(list(root.iter())) > 20, path
    elif path.suffix == ".html":
        text = data.decode()
        assert text.startswith("<!DOCTYPE html>") and text.count("<svg") >= 4, path  # start + 3 steps
    elif path.suffix == ".dot":
        assert data.decode().lstrip().startswith("digraph"), path


# ---------------------------------------------------------------- every demo runs


@pytest.mark.parametrize("name", [pytest.param(n, marks=needs_dot) if n == "graph" else n for n in PICTURES])
def test_demo_runs_end_to_end_and_writes_its_pictures(name, tmp_path):
    out = tmp_path / "pictures" / name  # two levels that do not exist yet
    steps = ["--steps", "3"] if name in TRAINED else []
    done = run(name, *steps, "--quiet", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(PICTURES[name])
    for picture in PICTURES[name]:
        check_picture(out / picture)
    assert f"pictures in {out}" in done.stdout  # the summary says where they are
    if name in TRAINED:
        assert "3 steps in" in done.stdout and "ms per step" in done.stdout
        assert "final loss" in done.stdout


@pytest.mark.parametrize("name", list(PICTURES))
def test_help_lists_the_common_options(name, tmp_path):
    done = run(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for option in ["--out", "--quiet"] + (["--steps", "--seed", "--lr", "--no-compile"] if name in TRAINED else []):
        assert option in done.stdout, option
    assert not (tmp_path / "out").exists()  # asking for help writes nothing


def test_pictures_go_to_out_slash_demo_under_the_current_folder_by_default(tmp_path):
    done = run("newton", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "newton").iterdir()) == sorted(PICTURES["newton"])


def test_progress_bar_shows_loss_and_accuracy_on_a_terminal(monkeypatch, heap):
    common = demo("common")
    import nn

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    X, y = nn.make_moons(10, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)

    def loss_fn():
        scores = [model(x) for x in X]
        return nn.hinge_loss(scores, y), scores

    for quiet in (False, True):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        training = common.train("bar", loss_fn, nn.SGD(model.parameters(), lr=0.1), 3, y, quiet=quiet)
        shown = terminal.getvalue()
        assert training.steps == 3 and len(training.accuracies) == 3
        if quiet:
            assert shown == ""
        else:
            assert "bar" in shown and "3/3" in shown and "loss=" in shown and "acc=" in shown


# ---------------------------------------------------------------- what they reach


@pytest.mark.slow
def test_moons_default_run_learns_every_training_point_and_97_percent_of_new_ones(tmp_path, heap):
    result = demo("moons").main(["--quiet", "--out", str(tmp_path)])
    assert result["steps"] == 100
    assert result["train_accuracy"] == 1.0
    assert result["test_accuracy"] >= 0.97
    assert result["loss"] < 0.05


@pytest.mark.slow
def test_spiral_default_run_reaches_95_percent_training_accuracy(tmp_path, heap):
    result = demo("spiral").main(["--quiet", "--out", str(tmp_path)])
    assert result["train_accuracy"] >= 0.95
    assert result["test_accuracy"] >= 0.85


def test_compiled_replay_and_rebuilt_graphs_give_the_same_numbers(tmp_path, heap):
    moons = demo("moons")
    compiled = moons.main(["--quiet", "--steps", "4", "--out", str(tmp_path / "a")])
    rebuilt = moons.main(["--quiet", "--steps", "4", "--no-compile", "--out", str(tmp_path / "b")])
    assert rebuilt["mode"] == "graph of Values"
    for key in ("loss", "train_accuracy", "test_accuracy"):
        assert compiled[key] == rebuilt[key], key
    for picture in ("boundary.svg", "curves.svg"):
        assert (tmp_path / "a" / picture).read_bytes() == (tmp_path / "b" / picture).read_bytes()


def test_newton_reaches_one_within_1e_12_in_at_most_8_steps(tmp_path, capsys):
    result = demo("newton").main(["--out", str(tmp_path)])
    assert result["xs"][0] == 2.0
    assert abs(result["x"] - 1.0) <= 1e-12
    assert result["steps"] <= 8
    errors = [abs(x - 1.0) for x in result["xs"]]
    assert all(b < a for a, b in zip(errors[:-1], errors[1:], strict=True)), errors  # closer every step
    printed = capsys.readouterr().out.splitlines()
    assert len([line for line in printed if line.split()[:1] == [str(result["steps"])]]) == 1  # each step printed
    assert f"after {result['steps']} steps" in printed[-3]


def test_tanh_derivatives_by_nesting_match_the_closed_forms():
    from engine import derivative, tanh

    x, t = 0.3, math.tanh(0.3)
    closed = [t, 1 - t**2, -2 * t * (1 - t**2), -2 * (1 - t**2) * (1 - 3 * t**2), 8 * t * (1 - t**2) * (2 - 3 * t**2)]
    for n, expected in enumerate(closed):
        assert derivative(tanh, n)(x) == pytest.approx(expected, rel=1e-12, abs=1e-15), n


# ---------------------------------------------------------------- same seed, same run


def test_same_seed_gives_the_same_numbers_and_byte_identical_pictures(tmp_path):
    runs = {}
    for folder, seed in (("first", "5"), ("second", "5"), ("other", "6")):
        done = run("moons", "--quiet", "--steps", "3", "--seed", seed, "--out", str(tmp_path / folder), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        runs[folder] = done.stdout.splitlines()[1]  # "final loss ..., train accuracy ..., test accuracy ..."
    assert runs["first"] == runs["second"]
    assert runs["other"] != runs["first"]
    for picture in PICTURES["moons"]:
        first, second = (tmp_path / f / picture for f in ("first", "second"))
        assert first.read_bytes() == second.read_bytes(), picture
    assert (tmp_path / "first" / "boundary.svg").read_bytes() != (tmp_path / "other" / "boundary.svg").read_bytes()


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("name", "args", "names"),
    [
        ("moons", ["--steps", "-5"], "--steps"),
        ("moons", ["--steps", "0"], "--steps"),
        ("spiral", ["--steps", "many"], "--steps"),
        ("circles", ["--lr", "-0.1"], "--lr"),
        ("regression", ["--lr", "nan"], "--lr"),
        ("moons", ["--out", "{file}/pictures"], "--out"),
        ("newton", ["--out", "{file}"], "--out"),
        ("graph", ["--out", "{file}/sub/dir"], "--out"),
        ("newton", ["--steps", "-1"], "--steps"),
        ("moons", ["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_arguments_give_a_one_line_error_and_no_traceback(name, args, names, tmp_path):
    regular_file = tmp_path / "a-file"
    regular_file.write_text("not a folder")
    done = run(name, *[a.replace("{file}", str(regular_file)) for a in args], cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0] == done.stderr.strip().splitlines()[-1]
    assert errors[0].startswith(f"python demos/{name}.py: error:") and names in errors[0]
    assert done.stdout == ""
    assert not (tmp_path / "out").exists()
