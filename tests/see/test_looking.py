"""Looking never changes what you look at: every viewing tool leaves the user's graph as it was.

explain, step_through (and predict mode), draw/to_dot(step=), the stepping page, quiz,
backprop_report and the command line compute what they show on their own copy of the gradients;
calling them any number of times, in any order, changes no .grad (None and -0.0 included), .data,
label or hook, and backward() afterwards gives what it gives on an untouched copy.
"""

from __future__ import annotations

import io
import math
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
import nn
from engine import Value
from engine.see.drawing import GraphTooLarge, to_dot
from engine.see.quiz import is_right
from engine.see.stepper_page import frames
from engine.see.viewed import viewed_pass
from tests.strategies import build_or_reject, expressions_with_inputs, reals

HAVE_DOT = shutil.which("dot") is not None


def exact(x):
    """x with -0.0 told from 0.0 and None from 0 (a NaN as itself)."""
    if type(x) is float:
        return ("float", math.copysign(1.0, x), "nan" if x != x else x)
    return (type(x).__name__, x)


def state(nodes):
    """Everything a viewing tool must leave alone, exactly (-0.0 told from 0.0, None from 0)."""
    return [(exact(n.grad), exact(n.data), n.label, dict(n._hooks or {}), n.parents, n.op) for n in nodes]


def numbers(nodes):
    """The gradients, data, labels and operations alone: to compare two copies of a graph."""
    return [entry[:3] + entry[5:] for entry in state(nodes)]


def lecture():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    L = a * b
    L.label = "L"
    return L, a, b


# ---------------------------------------------------------------- the bullets


def test_explain_twice_shows_the_same_and_changes_no_grad():
    L, a, b = lecture()
    first = engine.explain(L)
    second = engine.explain(L)
    assert first == second
    assert "a.grad = -3.0" in first
    assert (a.grad, b.grad, L.grad) == (0.0, 0.0, 0.0)


def test_step_through_changes_no_grad_and_its_page_shows_the_pass():
    L, a, b = lecture()
    L.backward()
    L.backward()
    assert a.grad == -6.0
    made = frames(L)
    assert "a.grad += b.data * L.grad = -3.0 * 1.0 = -3.0" in made[-1].caption
    assert a.grad == -6.0 and b.grad == 4.0 and L.grad == 1.0


def test_a_leaf_without_a_gradient_is_drawn_as_zero_and_kept_none():
    L, a, b = lecture()
    a.grad = None
    b.grad = 0.5
    made = frames(L)
    assert len(made) == 2
    assert a.grad is None and b.grad == 0.5
    text = engine.explain(L)
    assert "a.grad = -3.0" in text and "b.grad = 2.0" in text  # this pass's, from zero
    assert a.grad is None and b.grad == 0.5


def test_draw_step_and_quiz_still_change_nothing():
    L, a, b = lecture()
    a.grad = -0.0
    before = state([L, a, b])
    to_dot(L, step=1)
    engine.quiz(L, answers=["2", "-3"], file=io.StringIO())
    assert state([L, a, b]) == before


def test_a_hook_that_changes_the_graph_is_undone_even_when_it_raises():
    L, a, b = lecture()
    a.grad = None

    def meddle(g):
        b.data = 100.0
        b.label = "changed"
        b.grad = 7.0
        raise KeyboardInterrupt

    handle = L.register_hook(meddle)
    before = state([L, a, b])
    with pytest.raises(KeyboardInterrupt):
        engine.explain(L)
    assert state([L, a, b]) == before
    handle.remove()


def test_a_hook_that_removes_itself_is_put_back():
    L, a, b = lecture()
    handles = []
    handles.append(a.register_hook(lambda g: handles[0].remove()))
    before = state([L, a, b])
    live = engine.core.hooks.live_hooks[0]
    engine.explain(L)
    assert state([L, a, b]) == before
    assert engine.core.hooks.live_hooks[0] == live
    handles[0].remove()
    assert engine.core.hooks.live_hooks[0] == live - 1


def test_backprop_report_leaves_the_losss_own_values_alone():
    model = nn.MLP(2, [3, 1], "tanh", seed=1)
    target = Value(0.25, label="t")
    target.grad = None
    params = model.parameters()
    params[0].grad = -0.0
    params[1].grad = None
    before = state([target, *params])
    report = nn.backprop_report(model, [0.5, -1.0], nn.mse_loss, [target])
    assert report.agree
    assert state([target, *params]) == before


# ---------------------------------------------------------------- the property


VIEWS = ("explain", "frames", "to_dot_step", "quiz", "draw_backward")


def look(view, out, k):
    if view == "explain":
        engine.explain(out)
    elif view == "frames":
        frames(out, max_nodes=10_000)
    elif view == "to_dot_step":
        to_dot(out, step=k % (1 + len(engine.see.steps.BackwardSteps(out))))
    elif view == "quiz":
        engine.quiz(out, answers=["0", "1", ""], file=io.StringIO())
    elif view == "draw_backward":
        to_dot(out, backward=True)


starting_grads = st.one_of(st.none(), st.just(-0.0), st.just(0.0), reals(-3.0, 3.0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    expressions_with_inputs(max_inputs=3, max_steps=8),
    st.data(),
    st.lists(st.tuples(st.sampled_from(VIEWS), st.integers(0, 20)), min_size=1, max_size=6),
    st.booleans(),
)
def test_looking_changes_nothing_and_backward_then_agrees_with_an_untouched_copy(drawn, data, looks, hooked):
    expression, point = drawn
    inputs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    out, nodes = build_or_reject(expression, inputs)
    twin_inputs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    twin, twin_nodes = build_or_reject(expression, twin_inputs)
    graph = engine.topological_order(out)
    twin_graph = engine.topological_order(twin)
    starts = data.draw(st.lists(starting_grads, min_size=len(graph), max_size=len(graph)))
    for node, twin_node, g in zip(graph, twin_graph, starts, strict=True):
        node.grad = twin_node.grad = g
    if hooked:  # a hook that doubles one leaf's gradient
        inputs[0].register_hook(lambda g: g * 2.0)
        twin_inputs[0].register_hook(lambda g: g * 2.0)
    before = state(graph)
    for view, k in looks:
        try:
            look(view, out, k)
        except (ArithmeticError, ValueError):
            pass  # a pass the engine refuses (an overflowing gradient) must still change nothing
        assert state(graph) == before, view
    try:
        twin.backward()
    except (ArithmeticError, ValueError):
        with pytest.raises((ArithmeticError, ValueError)):
            out.backward()
        assert state(graph) == before
        return
    out.backward()
    assert numbers(graph) == numbers(twin_graph)
    # and what the tools show is what backward() gives from zero gradients, to the bit
    shown = viewed_pass(out).grads
    for node in twin_graph:
        node.grad = 0.0
    twin.backward()
    assert [exact(shown[n]) for n in graph] == [exact(n.grad) for n in twin_graph]


# ---------------------------------------------------------------- a float taken from a Value


def test_math_on_a_value_is_refused_naming_engines_function():
    x = Value(1.0, label="x")
    with pytest.raises(TypeError, match=r"engine\.tanh"):
        y = math.tanh(x) * x
        y.backward()
    with pytest.raises(TypeError, match=r"engine\.exp"):
        math.exp(x)


def test_float_of_a_value_still_reads_its_number_for_printing():
    x = Value(2.5, label="x")
    assert float(x) == 2.5 and type(float(x)) is float
    assert f"{float(x):.2f}" == "2.50"
    assert "%.1f" % x == "2.5"  # noqa: UP031 (printf-style formatting calls float() too)


# ---------------------------------------------------------------- explain's size


def test_explain_takes_one_example_through_the_readme_network():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.mse_loss([model([0.5, -1.0])], [1.0])
    assert len(engine.topological_order(loss)) <= 1000
    text = engine.explain(loss)
    assert "gradients of the inputs and parameters" in text


def test_explain_still_refuses_a_batch():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.mse_loss([model([0.1 * i, -1.0]) for i in range(4)], [1.0] * 4)
    with pytest.raises(GraphTooLarge, match="one example"):
        engine.explain(loss)


def test_the_command_line_draws_a_functions_graph_without_changing_it(tmp_path, monkeypatch, capsys):
    from engine.see.command import main

    (tmp_path / "looked_at.py").write_text(
        "from engine import Value\n"
        "a, b = Value(2.0, label='a'), Value(-3.0, label='b')\n"
        "a.grad, b.grad = None, -0.0\n"
        "L = a * b\n"
        "def loss():\n"
        "    return L\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import looked_at

    before = state([looked_at.L, looked_at.a, looked_at.b])
    assert main(["looked_at:loss", "--backward"]) == 0
    assert re.search(r"\{a\|data[\\ ]*2\.0\|grad[\\ ]*-3\.0\}", capsys.readouterr().out)
    assert main(["looked_at:loss", "--step", "1"]) == 0
    assert state([looked_at.L, looked_at.a, looked_at.b]) == before


def test_a_float_for_any_other_call_is_refused_and_the_graph_kept():
    x = Value(0.5, label="x")
    with pytest.raises(TypeError, match=r"list\(\.\.\.\) wants a float .* v\.data"):
        list(map(float, [x]))
    assert [float(v) for v in [x]] == [0.5]
    y = engine.tanh(x) * x  # the way that keeps the gradient
    y.backward()
    assert x.grad == pytest.approx(math.tanh(0.5) + 0.5 * (1 - math.tanh(0.5) ** 2), rel=1e-15)


# ---------------------------------------------------------------- the quiz teaches


def rounded_graph():
    x, y, w = Value(-3.0, label="x"), Value(0.500972, label="y"), Value(1.0, label="w")
    m = x * y
    m.label = "m"
    L = m * w
    L.label = "L"
    return L


def test_the_quiz_accepts_an_answer_to_the_digits_typed_and_says_so():
    result, text = quizzed(rounded_graph(), ["1", "-1.5", "0.5", "-2"])
    assert (result.right, result.asked) == (3, 4)  # -1.5 for -1.50292, 0.5 for 0.500972; -2 is not -3
    assert "rounded to the digits you type (-1.5 for -1.50292)" in text


def test_zero_is_not_right_for_a_tiny_share_the_prompt_shows():
    x = Value(3.74e-13, label="x")
    y = Value(1.0, label="y")
    L = x * y
    L.label = "L"
    result, text = quizzed(L, ["1", "0"])  # x.grad += y.data * L.grad = 1.0; y.grad += x.data * L.grad = 3.74e-13
    assert "x.data = 3.74e-13" in text
    assert (result.right, result.asked, result.missed) == (1, 2, ["*"])
    assert not is_right(0.0, 3.74e-13, "0") and is_right(0.0, 0.0, "0")


def test_the_prompt_shows_the_numbers_it_needs():
    o = (Value(2.0, label="x") * Value(-3.0, label="w") + Value(6.8813735870195432, label="b")).tanh()
    o.label = "o"
    result, text = quizzed(o, ["0.5", ""])
    assert "(1 - o.data**2) * o.grad  (o.data = 0.707107, o.grad = 1.0)  = ? 0.5" in text


def test_the_quiz_refuses_a_batch_with_a_hint_before_any_question():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.mse_loss([model([0.1 * i, -1.0]) for i in range(100)], [1.0] * 100)
    with pytest.raises(GraphTooLarge, match=r"quiz: the graph has more than max_nodes=1000 nodes.*one example"):
        engine.quiz(loss, answers=[], file=io.StringIO())
    one = nn.mse_loss([model([0.5, -1.0])], [1.0])
    assert engine.quiz(one, answers=[""], file=io.StringIO()).total > 0


QUIZ_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import engine, nn
from engine import Value
a, b = Value(2.0, label="a"), Value(-3.0, label="b")
L = a * b; L.label = "L"
if sys.argv[1] == "layer":
    model = nn.MLP(2, [2, 1], "tanh", seed=1)
    nn.layer_quiz(nn.backprop_report(model, [0.5, -1.0], nn.mse_loss, 0.25))
else:
    engine.quiz(L)
"""


def piped(tmp_path, which, data, errors="strict"):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "piped_quiz.py"
    script.write_text(QUIZ_SCRIPT.format(root=str(Path(__file__).resolve().parents[2])))
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": f"utf-8:{errors}"}
    return subprocess.run([sys.executable, str(script), which], input=data, capture_output=True, timeout=120, env=env)


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_bytes_that_are_not_utf8_give_one_line_not_a_traceback(tmp_path, errors):
    done = piped(tmp_path, "engine", b"-3\n\xff\xfe\n", errors)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
    out = done.stdout.decode()
    assert "standard input is not UTF-8 text (it has the byte 0xff); stopped" in out
    # strict decoding fails on the whole chunk read, so even the good line before is lost there
    assert ("score 1/1 (stopped after 1 of 2)" if errors == "surrogateescape" else "(stopped after") in out


def test_layer_quiz_echoes_piped_answers_as_the_quiz_does(tmp_path):
    done = piped(tmp_path, "layer", b"0.1\n\n")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "> 0.1\n" in out  # the answer, echoed after its prompt, as in a terminal
    done = piped(tmp_path, "layer", b"\xff\n")
    assert done.stderr == b"" and "not UTF-8 text" in done.stdout.decode()


def quizzed(v, answers):
    out = io.StringIO()
    return engine.quiz(v, answers=answers, file=out), out.getvalue()


def test_explain_shows_earlier_gradients_as_already_there():
    L, a, b = lecture()
    a.grad = None
    L.backward()  # a.grad -3.0 (from None), b.grad 2.0
    text = engine.explain(L)
    assert "gradients of the inputs and parameters: a.grad = -3.0, b.grad = 2.0" in text  # this pass, from zero
    assert "already there from earlier passes (backward() adds this pass to them): a.grad = -3.0, b.grad = 2.0" in text
    assert "already there" not in engine.explain(lecture()[0])  # nothing earlier: no such line
    fresh, a, _ = lecture()
    a.grad = None  # no gradient yet: backward() starts it from this pass, nothing is already there
    assert "already there" not in engine.explain(fresh)
