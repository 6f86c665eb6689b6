"""engine.quiz: asks for every share of the backward pass, checks the answers, never changes a .grad;
answers from a list, a pipe and a real terminal (tmux), where Ctrl-C leaves cleanly."""

import io
import math
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import engine
from engine import Value
from engine.see.quiz import AnswerError, is_right, passive_steps, questions, read_answer

ROOT = Path(__file__).resolve().parents[2]

GRAPH = """
from engine import Value
a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
e = a * b; e.label = "e"
d = e + c; d.label = "d"
f = Value(-2.0, label="f")
L = d * f; L.label = "L"
"""


def lecture():
    space: dict = {}
    exec(GRAPH, space)
    return space["L"], [space[k] for k in "abcdefL"]


def neuron():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o, [x, w, b]


def run(v, answers):
    out = io.StringIO()
    return engine.quiz(v, answers=answers, file=out), out.getvalue()


def test_the_questions_are_the_shares_backward_adds():
    L, _ = lecture()
    asked = [q for step in passive_steps(L) for q in questions(step)]
    assert [q.ask for q in asked[:2]] == [
        "d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?",
        "f.grad += d.data * L.grad  (d.data = 4.0, L.grad = 1.0)  = ?",
    ]
    # closed forms: dL/dd = f, dL/df = d, dL/de = dL/dc = f, dL/da = f*b, dL/db = f*a
    assert [q.answer for q in asked] == [-2.0, 4.0, -2.0, -2.0, 6.0, -4.0]
    reference = [s.amount for step in lecture()[0].backward_steps() for s in step.shares]
    assert [q.answer for q in asked] == reference


def test_all_right_gives_full_marks_and_changes_no_grad():
    L, nodes = lecture()
    for i, n in enumerate(nodes):
        n.grad = 0.25 * (i + 1)  # gradients from an earlier pass, which the quiz must leave alone
    before = [n.grad for n in nodes]
    result, text = run(L, ["-2*1", "4", "-2", "1 * -2", "6.0", "2 * (-2)"])
    assert (result.right, result.asked, result.total, result.finished) == (6, 6, 6, True)
    assert result.missed == [] and "score 6/6" in text
    assert [n.grad for n in nodes] == before


def test_a_wrong_answer_shows_the_line_the_numbers_and_the_local_formula():
    L, nodes = lecture()
    result, text = run(L, ["-2", "4", "-2", "-2", "6", "4"])
    assert (result.right, result.asked, result.missed) == (5, 6, ["*"])
    assert "not quite (4.0): b.grad += a.data * e.grad = 2.0 * -2.0 = -4.0" in text
    assert "local derivative of e = a * b: de/db = a.data = 2.0" in text
    assert text.rstrip().endswith("score 5/6; missed: *")
    assert all(n.grad == 0.0 for n in nodes)


def test_tanh_formula_and_tolerance():
    o, leaves = neuron()
    asked = [q for step in passive_steps(o) for q in questions(step)]
    assert asked[0].ask == "v2.grad += (1 - o.data**2) * o.grad  (o.data = 0.707107, o.grad = 1.0)  = ?"
    assert asked[0].answer == pytest.approx(1 - math.tanh(2 * -3 + 6.8813735870195432) ** 2, rel=1e-15)
    # 0.5 (six digits) is right for 0.4999999999..., 0.49 is not; x gets w * 0.5 = -1.5
    result, text = run(o, ["0.5", "0.49", "0.5", "-1.5", "1"])
    assert result.right == 4 and result.missed == ["+"] and result.finished
    assert f"local derivative of {asked[1].step.name}" in text
    assert [leaf.grad for leaf in leaves] == [0.0, 0.0, 0.0]


def test_stops_on_an_empty_line_or_the_end_of_the_answers_with_the_grads_as_they_were():
    for answers in (["-2", ""], ["-2"]):
        L, nodes = lecture()
        nodes[0].grad = 3.0
        result, text = run(L, answers)
        assert (result.asked, result.right, result.finished) == (1, 1, False)
        assert "score 1/1 (stopped after 1 of 6)" in text
        assert [n.grad for n in nodes] == [3.0] + [0.0] * 6


def test_an_answer_it_cannot_read_is_asked_again_and_not_counted():
    L, _ = lecture()
    result, text = run(L, ["__import__('os').system('echo pwned')", "minus two", "-2", ""])
    assert (result.asked, result.right) == (1, 1)
    assert text.count("try again") == 2 and "pwned" not in text.replace("'echo pwned'", "")


@pytest.mark.parametrize(
    ("text", "number"),
    [("-2*1", -2.0), ("0.5 * (1 - 0.25)", 0.375), ("2^3", 8.0), ("1e-3", 0.001), ("\u22124", -4.0), ("+3", 3.0)],
)
def test_read_answer_reads_numbers_and_arithmetic(text, number):
    assert read_answer(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "(1).__class__",
        "abs(-2)",
        "x",
        "9**9**9**9",
        "1/0",
        "[1]",
        "'2'",
        "1 if 1 else 2",
        "2**0.5j",
    ],
)
def test_read_answer_refuses_everything_but_arithmetic(text):
    with pytest.raises(AnswerError):
        read_answer(text)


def test_is_right_tolerance():
    assert is_right(0.707, math.sqrt(0.5)) and not is_right(0.70, math.sqrt(0.5))
    assert is_right(0.0, 0.0) and is_right(1e-9, 0.0) and not is_right(0.0, 1e-9)
    assert is_right(math.inf, math.inf) and not is_right(1e308, math.inf) and is_right(math.nan, math.nan)


def test_the_shares_of_a_node_used_twice_and_of_an_unreached_branch():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    steps = passive_steps(y)
    assert [s.amount for s in steps[0].shares] == [3.0, 3.0]  # x gets 6 in all, in two shares
    result, _ = run(y, ["3", "2"])
    assert result.missed == ["*"] and x.grad == 0.0


def test_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="quiz: expected a Value"):
        engine.quiz(3.0)  # type: ignore[arg-type]


def script(tmp_path):
    path = tmp_path / "quiz_script.py"
    path.write_text(
        GRAPH
        + textwrap.dedent(
            """
            import engine
            a.grad = 7.0
            result = engine.quiz(L)
            print("GRADS", [v.grad for v in (a, b, c, d, e, f, L)], "RESULT", result.right, result.asked)
            """
        )
    )
    return path


@pytest.mark.slow
def test_answers_from_a_pipe(tmp_path):
    done = subprocess.run(
        [sys.executable, str(script(tmp_path))],
        input="-2*1\n4\n-2\n0\n6\n-4\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert (
        "c.grad += 1 * d.grad  (d.grad = -2.0)  = ? 0\n    not quite (0.0): c.grad += 1 * d.grad = 1.0 * -2.0 = -2.0"
        in done.stdout
    )
    assert "score 5/6; missed: +" in done.stdout
    assert "GRADS [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0] RESULT 5 6" in done.stdout


@pytest.mark.slow
def test_end_of_a_piped_input_stops_cleanly(tmp_path):
    done = subprocess.run(
        [sys.executable, str(script(tmp_path))],
        input="-2\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0 and done.stderr == ""
    assert "score 1/1 (stopped after 1 of 6)" in done.stdout and "GRADS [7.0, 0.0," in done.stdout


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """A script running in a real terminal: a detached tmux session that we type into and read."""

    def __init__(self, command: str) -> None:
        self.name = f"chainrule-quiz-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", command], check=True, timeout=30
        )

    def screen(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name, "-S", "-200"], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def type(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "--", *keys], check=True, timeout=30)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear in the terminal:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, timeout=30)


@pytest.mark.slow
@needs_tmux
@pytest.mark.parametrize("stop", ["C-c", "C-d", "Enter"])
def test_in_a_real_terminal_right_wrong_then_stop(tmp_path, stop):
    path = script(tmp_path)
    marker = tmp_path / "done"
    terminal = Terminal(f"cd {ROOT} && PYTHONPATH={ROOT} {sys.executable} {path}; echo EXIT $? > {marker}; sleep 30")
    try:
        terminal.wait_for("d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?")
        terminal.type("-2*1", "Enter")
        terminal.wait_for("f.grad += d.data * L.grad  (d.data = 4.0, L.grad = 1.0)  = ?")
        terminal.type("3", "Enter")
        screen = terminal.wait_for("e.grad += 1 * d.grad  (d.grad = -2.0)  = ?")
        assert "right: d.grad += f.data * L.grad = -2.0 * 1.0 = -2.0" in screen
        assert "not quite (3.0): f.grad += d.data * L.grad = 4.0 * 1.0 = 4.0" in screen
        assert "local derivative of L = d * f: dL/df = d.data = 4.0" in screen
        terminal.type(stop)
        screen = terminal.wait_for("GRADS")
        assert "score 1/2 (stopped after 2 of 6); missed: *" in screen
        assert "GRADS [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0] RESULT 1 2" in screen
        assert "Traceback" not in screen
        deadline = time.monotonic() + 30
        # the shell creates the file before it writes the line: wait for the line, not the file
        while not (marker.exists() and marker.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.read_text().strip() == "EXIT 0"
    finally:
        terminal.close()
