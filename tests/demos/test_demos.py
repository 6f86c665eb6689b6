"""The demos in demos/: each runs end to end, writes readable pictures, reaches its accuracy, repeats itself exactly.

Smoke runs go through a subprocess, as a user would type them (from another folder, to check
the scripts find their imports); the full training runs are imported and called in-process
to read their numbers.
"""

import argparse
import errno
import gc
import importlib
import io
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRAINED = ["moons", "circles", "spiral", "regression"]
ANIMATED = ["moons", "circles", "spiral"]  # they write training.gif unless given --no-animation
PICTURES = {
    "moons": ["boundary.png", "boundary.svg", "curves.png", "curves.svg", "training.gif"],
    "circles": ["boundary.png", "boundary.svg", "curves.png", "curves.svg", "training.gif"],
    "spiral": ["boundary.png", "boundary.svg", "curves.png", "curves.svg", "training.gif"],
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
    elif path.suffix == ".gif":
        assert data.startswith(b"GIF89a") and len(data) > 2000, path
    elif path.suffix == ".html":
        text = data.decode()
        assert text.startswith("<!DOCTYPE html>") and text.count("<svg") >= 4, path  # start + 3 steps
    elif path.suffix == ".dot":
        assert data.decode().lstrip().startswith("digraph"), path


# ---------------------------------------------------------------- every demo runs


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PICTURES))
def test_help_lists_the_common_options(name, tmp_path):
    done = run(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for option in ["--out", "--quiet"] + (["--steps", "--seed", "--lr", "--no-compile"] if name in TRAINED else []):
        assert option in done.stdout, option
    assert not (tmp_path / "out").exists()  # asking for help writes nothing


@pytest.mark.slow
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
        optimizer = nn.SGD(model.parameters(), lr=0.1)
        with common.Run("bar", argparse.Namespace(steps=3, quiet=quiet, compiled=False), model) as run:
            for _ in run:
                optimizer.zero_grad()
                loss, scores = loss_fn()
                loss.backward()
                optimizer.step()
                run.log(loss.data, nn.accuracy(nn.floats(scores), y))
        training = run.training
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


@pytest.mark.slow
def test_compiled_replay_and_rebuilt_graphs_give_the_same_numbers(tmp_path, heap):
    moons = demo("moons")
    compiled = moons.main(["--quiet", "--steps", "4", "--out", str(tmp_path / "a")])
    rebuilt = moons.main(["--quiet", "--steps", "4", "--no-compile", "--out", str(tmp_path / "b")])
    assert rebuilt["mode"] == "graph of Values"
    for key in ("loss", "train_accuracy", "test_accuracy"):
        assert compiled[key] == rebuilt[key], key
    for picture in ("boundary.svg", "curves.svg"):
        assert (tmp_path / "a" / picture).read_bytes() == (tmp_path / "b" / picture).read_bytes()


@pytest.mark.slow
def test_mini_batches_compiled_reach_the_same_parameters_bit_for_bit(tmp_path, heap):
    """--batch: each step's points and labels are the compiled step's arguments, replayed exactly."""
    moons = demo("moons")
    options = ["--quiet", "--steps", "12", "--batch", "10"]
    compiled = moons.main([*options, "--out", str(tmp_path / "a")])
    rebuilt = moons.main([*options, "--no-compile", "--out", str(tmp_path / "b")])
    assert (compiled["mode"], rebuilt["mode"]) == ("compiled replay", "graph of Values")
    bits = lambda xs: [struct.pack("<d", x) for x in xs]  # noqa: E731
    assert bits(compiled["parameters"]) == bits(rebuilt["parameters"])
    assert compiled["loss"] == rebuilt["loss"]
    full = moons.main(["--quiet", "--steps", "12", "--out", str(tmp_path / "c")])
    assert bits(full["parameters"]) != bits(compiled["parameters"])  # the batches made a difference


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


@pytest.mark.slow
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
        ("moons", ["--batch", "0"], "--batch"),
        ("moons", ["--batch", "101"], "--batch"),
    ],
)
@pytest.mark.slow
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


# ---------------------------------------------------------------- the loop is in the demo's own file


def training_calls(monkeypatch) -> list[tuple[str, str]]:
    """Record (what, the file of the code that called it) for every zero_grad, backward, compiled step and update."""
    import nn
    from engine import Value
    from engine.replay.run import Compiled

    seen: list[tuple[str, str]] = []

    def spy(owner, attribute, what):
        original = getattr(owner, attribute)

        def recorded(*args, **kwargs):
            seen.append((what, sys._getframe(1).f_code.co_filename))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, recorded)

    spy(nn.optim.Optimizer, "zero_grad", "zero_grad")
    spy(nn.SGD, "step", "update")
    spy(nn.Adam, "step", "update")
    spy(Value, "backward", "backward")
    spy(Compiled, "__call__", "compiled step")
    return seen


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "graph of Values"])
@pytest.mark.parametrize("name", TRAINED)
def test_each_training_demo_runs_zero_grad_backward_and_update_itself_every_step(
    name, compiled, tmp_path, monkeypatch, heap
):
    """The loop a reader sees is the loop that runs: in the demo's own file (not in demos.common),
    each step starts from zero gradients, then runs backward (or the compiled step that does the
    same), then updates the parameters."""
    seen = training_calls(monkeypatch)
    monkeypatch.setattr(
        demo("common"), "render", lambda figure: {".png": b"", ".svg": b""}
    )  # the loop, not the pictures
    steps = 3
    options = ["--quiet", "--steps", str(steps), "--out", str(tmp_path)] + ([] if compiled else ["--no-compile"])
    options += ["--no-animation"] if name in ANIMATED else []
    demo(name).main(options)
    script = str(ROOT / "demos" / f"{name}.py")
    assert not [what for what, where in seen if where == str(ROOT / "demos" / "common.py")]
    by_the_demo = [what for what, where in seen if where == script]
    backward = "compiled step" if compiled else "backward"
    assert by_the_demo == ["zero_grad", backward, "update"] * steps, by_the_demo


# ---------------------------------------------------------------- failures end in one line


def one_line_failure(done: subprocess.CompletedProcess, status: int) -> str:
    """The single line a failed run printed on stderr (it must be exactly one, and no traceback)."""
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def previous_run(out: Path, name: str) -> dict[str, bytes]:
    """Pictures a previous run left in `out`: they must survive a run that fails."""
    out.mkdir(parents=True)
    old = {picture: f"previous {picture}".encode() for picture in PICTURES[name]}
    for picture, data in old.items():
        (out / picture).write_bytes(data)
    return old


def unchanged(out: Path, old: dict[str, bytes]) -> bool:
    return {p.name: p.read_bytes() for p in out.iterdir()} == old


DIVERGING = [
    ("spiral", ["--lr", "1e20"]),
    ("spiral", ["--lr", "1e20", "--no-compile"]),
    ("regression", ["--lr", "1e140"]),
    ("regression", ["--lr", "1e140", "--no-compile"]),
    ("regression", ["--lr", "1e300"]),
    ("moons", ["--lr", "1e20"]),
    ("moons", ["--lr", "1e308", "--no-compile"]),
    ("circles", ["--lr", "1e20"]),
    ("circles", ["--lr", "1e300"]),
    ("circles", ["--lr", "1e308", "--no-compile"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args"), DIVERGING)
def test_a_diverging_run_stops_with_one_line_naming_the_step_and_draws_nothing(name, args, tmp_path):
    out = tmp_path / "out"
    old = previous_run(out, name)
    done = run(name, *args, "--steps", "30", "--quiet", "--out", str(out), cwd=tmp_path)
    line = one_line_failure(done, 1)
    assert re.match(rf"{name}: step \d+ of 30: ", line), line
    assert "--lr" in line  # says what to try
    assert unchanged(out, old)


@pytest.mark.parametrize(
    ("name", "args", "names"),
    [
        ("spiral", ["--lr", "inf"], "--lr"),
        ("moons", ["--lr", "-1e20"], "--lr"),
        ("regression", ["--lr", "0"], "--lr"),
        ("circles", ["--lr", "1e400"], "--lr"),
        ("moons", ["--steps", "100000000000000000000"], "--steps"),
        ("regression", ["--steps", "1000000000"], "--steps"),
        ("newton", ["--steps", "1000000000"], "--steps"),
        ("moons", ["--seed", "-1"], "--seed"),
        ("spiral", ["--seed", str(2**32)], "--seed"),
        ("newton", ["--x0", "nan"], "--x0"),
        ("newton", ["--x0", "inf"], "--x0"),
        ("newton", ["--x0", "-inf"], "--x0"),
        ("graph", ["--x", "nan"], "--x"),
        ("graph", ["--w", "inf"], "--w"),
        ("graph", ["--b", "-inf"], "--b"),
    ],
)
@pytest.mark.slow
def test_bad_numbers_are_refused_in_one_line(name, args, names, tmp_path):
    done = run(name, *args, "--quiet", cwd=tmp_path)
    line = one_line_failure(done, 2)
    assert line.startswith(f"python demos/{name}.py: error:") and names in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "args", "says"),
    [
        ("newton", ["--x0", "1e100"], "too large"),
        ("newton", ["--x0=-1e78"], "too large"),
        ("newton", ["--x0", "1e100", "--steps", "3"], "too large"),  # without --quiet: the table's first row
        pytest.param("graph", ["--x", "1e308", "--w", "10"], "too large", marks=needs_dot),
        pytest.param("graph", ["--x", "1e300", "--w=-1e300"], "too large", marks=needs_dot),
    ],
)
def test_numbers_that_overflow_are_reported_in_one_line_and_draw_nothing(name, args, says, tmp_path):
    out = tmp_path / "out"
    old = previous_run(out, name)
    done = run(name, *args, "--quiet", "--out", str(out), cwd=tmp_path)
    line = one_line_failure(done, 1)
    assert line.startswith(f"{name}: ") and says in line, line
    assert unchanged(out, old)


@pytest.mark.slow
def test_newton_from_nan_never_calls_it_a_flat_point(tmp_path):
    done = run("newton", "--x0", "nan", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode != 0 and "flat point" not in done.stdout + done.stderr


@pytest.mark.slow
def test_newton_stopped_by_steps_far_from_the_minimum_does_not_call_it_one(tmp_path):
    done = run("newton", "--x0", "1e70", "--quiet", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "a minimum" not in done.stdout and "not yet where f'(x) = 0" in done.stdout


# ---------------------------------------------------------------- pictures are written whole or not at all


class FullDisk:
    """`os` as engine.files sees it, whose write() puts some bytes on disk and then runs out of space."""

    def __init__(self, error: BaseException, after: int):
        self.error, self.calls, self.after = error, 0, after

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data):
        self.calls += 1
        if self.calls > self.after:
            os.write(fd, bytes(data[: len(data) // 2]))
            raise self.error
        return os.write(fd, data)


ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
WRITE_FAILURES = [
    *[("newton", error, which) for error in (ENOSPC, KeyboardInterrupt()) for which in ("first", "second", "last")],
    ("moons", ENOSPC, "second"),
    pytest.param("graph", ENOSPC, "last", marks=needs_dot),
    pytest.param("graph", KeyboardInterrupt(), "first", marks=needs_dot),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "error", "which"), WRITE_FAILURES)  # which: the picture during which it fails
def test_a_disk_that_fills_mid_write_leaves_the_previous_pictures_and_no_temp_file(
    name, error, which, tmp_path, monkeypatch, heap, capsys
):
    files = importlib.import_module("engine.files")  # the one writer, which the demos' pictures go through
    after = {"first": 0, "second": 1, "last": len(PICTURES[name]) - 1}[which]
    out = tmp_path / "out"
    old = previous_run(out, name)
    monkeypatch.setattr(files, "os", FullDisk(error, after))
    steps = ["--steps", "2"] if name in TRAINED else []
    with pytest.raises(KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else SystemExit) as stopped:
        demo(name).main([*steps, "--quiet", "--out", str(out)])
    if isinstance(error, OSError):
        message = str(stopped.value.code)
        assert "\n" not in message and "No space left on device" in message and str(out) in message, message
    assert unchanged(out, old)  # no truncated picture under a final name, no temp file beside them
    monkeypatch.undo()
    demo(name).main([*steps, "--quiet", "--out", str(out)])  # with space again, every picture is replaced
    for picture in PICTURES[name]:
        check_picture(out / picture)
    assert sorted(p.name for p in out.iterdir()) == sorted(PICTURES[name])


def test_new_pictures_get_the_usual_permissions(tmp_path, heap):
    out = tmp_path / "out"
    umask = os.umask(0)
    os.umask(umask)
    demo("newton").main(["--quiet", "--out", str(out)])
    for picture in PICTURES["newton"]:
        assert (out / picture).stat().st_mode & 0o777 == 0o666 & ~umask, picture


# ---------------------------------------------------------------- Ctrl-C


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
@pytest.mark.parametrize("args", [[], ["--no-compile"]])
def test_ctrl_c_during_training_ends_with_one_line_and_status_130(args, tmp_path):
    out = tmp_path / "out"
    script = ROOT / "demos" / "regression.py"
    command = [sys.executable, str(script), "--steps", "900000", "--quiet", "--out", str(out), *args]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even if we ignore it
    )
    try:
        deadline = time.monotonic() + 120
        while not out.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the folder is made once the options are read, just before training starts
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    line = one_line_failure(done, 130)
    assert re.fullmatch(r"regression: interrupted at step \d+ of 900000; no pictures written", line), line
    assert list(out.iterdir()) == []


def test_the_loop_shown_in_the_readme_is_the_one_moons_runs():
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("From `demos/moons.py`", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    source = [line.strip() for line in (ROOT / "demos" / "moons.py").read_text().splitlines()]
    lines = [line.strip() for line in shown.splitlines()]
    start = source.index(lines[0])
    assert source[start : start + len(lines)] == lines
