"""What a newcomer hits in the first hour: each test here failed before its fix.

Pictures never change what they draw, text at the REPL shows as text, bad assignments and bad
command lines end in one clear line, edge cases behave as in PyTorch, and the demos say when
something went wrong.
"""

from __future__ import annotations

import shutil

import pytest

from engine import Value, to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


def neuron() -> tuple[Value, list[Value]]:
    """The README's neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    return (x1 * w1 + x2 * w2 + b).tanh(), [x1, x2, w1, w2, b]


# ---------------------------------------------------------------- a picture never changes what it draws


@pytest.mark.parametrize("step", [0, 1, 3, 5])
def test_to_dot_with_a_step_leaves_every_gradient_as_it_was(step):
    o, leaves = neuron()
    o.backward()
    expected = [leaf.grad for leaf in leaves]
    o2, leaves2 = neuron()
    o2.backward()
    to_dot(o2, step=step)
    assert [leaf.grad for leaf in leaves2] == expected  # the steps drawn left no trace
    o.backward()
    o2.backward()  # and a later backward() accumulates from the same place
    assert [leaf.grad for leaf in leaves2] == [leaf.grad for leaf in leaves]


def test_to_dot_with_a_step_still_shows_that_steps_gradients():
    o, (x1, *_) = neuron()
    text = to_dot(o, step=len(o.backward_steps()))
    assert "-1.5" in text  # x1's gradient after the last step, drawn
    assert x1.grad == 0.0  # and not left behind


@needs_dot
def test_draw_with_a_step_leaves_every_gradient_as_it_was():
    pytest.importorskip("graphviz")
    from engine import draw

    o, leaves = neuron()
    draw(o, step=len(o.backward_steps()))
    o.backward()
    assert leaves[0].grad == pytest.approx(-1.5)


# ---------------------------------------------------------------- assignments and comparisons, checked at once


@pytest.mark.parametrize("bad", [3, None, b"x", ["x"]])
def test_assigning_a_label_that_is_not_a_str_is_refused_at_once(bad):
    v = Value(1.0, label="x")
    with pytest.raises(TypeError, match=r"label must be a str"):
        v.label = bad
    assert v.label == "x"  # what it had is kept


def test_a_label_can_still_be_set_and_results_start_unlabeled():
    a = Value(2.0)
    b = a * 3
    assert b.label == ""
    b.label = "b"
    assert b.label == "b" and "label='b'" in repr(b)


def test_assigning_data_that_is_not_a_number_is_refused_at_once():
    v = Value(1.0)
    with pytest.raises(TypeError, match=r"real number"):
        v.data = "x"  # type: ignore[assignment]


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
@pytest.mark.parametrize("other", ["x", None, [1.0]])
def test_ordering_a_value_against_a_non_number_names_the_operation(op, other):
    import operator

    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    with pytest.raises(TypeError) as caught:
        compare(Value(1.0), other)
    message = str(caught.value)
    assert message.startswith(f"{op}: ") and "Value" in message and type(other).__name__ in message
    assert "float" not in message  # not Python's message about the data inside


def test_ordering_against_numbers_and_values_still_works():
    a = Value(1.0)
    assert a < 2 and a <= 1.0 and a > Value(0.5) and a >= -3 and 0 < a and not (a > 1)


# ---------------------------------------------------------------- edge cases, as PyTorch has them


def test_square_root_as_a_power_at_minus_zero_matches_pytorch():
    """PyTorch's x ** 0.5 is its sqrt: sqrt(-0.0) = -0.0, with the slope -inf of that sign."""
    for make in (lambda x: x**0.5, lambda x: x.sqrt()):
        x = Value(-0.0)
        y = make(x)
        y.backward()
        assert str(y.data) == "-0.0" and x.grad == float("-inf")
        x = Value(0.0)
        y = make(x)
        y.backward()
        assert str(y.data) == "0.0" and x.grad == float("inf")


def test_powers_at_minus_zero_match_pytorch_to_the_sign():
    torch = pytest.importorskip("torch")
    for n in (0.5, 1.5, 0.25, 2.5, 3.0, 2.0):
        x, t = Value(-0.0), torch.tensor(-0.0, dtype=torch.float64, requires_grad=True)
        y, u = x**n, t**n
        y.backward()
        u.backward()
        assert str(y.data) == str(u.item()), n
        # a zero gradient's sign is lost in accumulation (a leaf's .grad starts at 0.0, PyTorch's at None)
        assert str(x.grad) == str(t.grad.item()) or x.grad == t.grad.item() == 0.0, n
    # and the second derivative of x ** 1.5, through x ** 0.5
    from engine import grad

    x, t = Value(-0.0), torch.tensor(-0.0, dtype=torch.float64, requires_grad=True)
    (g,) = grad(x**1.5, [x], create_graph=True)
    g.backward()
    (gt,) = torch.autograd.grad(t**1.5, t, create_graph=True)
    gt.backward()
    assert str(g.data) == str(gt.item()) and x.grad == t.grad.item()


def test_backward_of_a_loss_built_under_no_grad_raises_as_in_pytorch():
    from engine import no_grad
    from nn import MLP, mse_loss

    model = MLP(2, [3, 1])
    with no_grad():
        loss = mse_loss([model([1.0, 2.0])], [0.5])
    with pytest.raises(RuntimeError, match=r"no_grad\(\)"):
        loss.backward()
    with pytest.raises(RuntimeError, match=r"no_grad\(\)"):
        loss.backward_steps()
    assert all(p.grad == 0.0 for p in model.parameters())
    mse_loss([model([1.0, 2.0])], [0.5]).backward()  # outside it, training works
    assert any(p.grad != 0.0 for p in model.parameters())


def test_a_leaf_the_user_made_still_has_a_backward():
    x = Value(3.0)
    x.backward()
    assert x.grad == 1.0


def test_no_grad_in_another_asyncio_task_does_not_stop_this_one_recording():
    import asyncio

    from engine import is_grad_enabled, no_grad

    async def evaluating(inside: asyncio.Event, done: asyncio.Event) -> None:
        with no_grad():
            inside.set()
            await done.wait()  # sits inside no_grad() while the other task trains

    async def training(inside: asyncio.Event, done: asyncio.Event) -> tuple[float, bool]:
        await inside.wait()
        x = Value(2.0)
        y = x * x
        enabled = is_grad_enabled()
        y.backward()
        done.set()
        return x.grad, enabled

    async def main() -> tuple[float, bool]:
        inside, done = asyncio.Event(), asyncio.Event()
        _, result = await asyncio.gather(evaluating(inside, done), training(inside, done))
        return result

    assert asyncio.run(main()) == (4.0, True)


def test_a_task_started_inside_no_grad_records_nothing_while_the_block_is_open():
    import asyncio

    from engine import is_grad_enabled, no_grad

    async def child(after: asyncio.Event) -> tuple[bool, bool]:
        during = is_grad_enabled() or bool((Value(1.0) * 2).parents)
        await after.wait()
        later = is_grad_enabled() and bool((Value(1.0) * 2).parents)
        return during, later

    async def main() -> tuple[bool, bool]:
        after = asyncio.Event()
        with no_grad():
            task = asyncio.create_task(child(after))
            await asyncio.sleep(0)
        after.set()  # the block that switched recording off has ended
        return await task

    assert asyncio.run(main()) == (False, True)


# ---------------------------------------------------------------- explain names every leaf for what it is


def forward_rows(text: str) -> dict[str, str]:
    """{node: what made it} from explain's forward table."""
    table = text.split("\n\n")[0].splitlines()[3:]
    return {line.split()[0]: line.split()[1] for line in table}


def test_explain_calls_an_unlabeled_leaf_the_user_made_an_input_and_a_number_a_constant():
    import io

    from engine import explain

    x = Value(2.0)  # made by the user, no label: it gets a gradient
    y = x * 3.0 + 1
    text = explain(y, file=io.StringIO())
    rows = forward_rows(text)
    assert [rows[name] for name in ("v1", "v2", "v4")] == ["input", "constant", "constant"]
    assert "v1.grad = 3.0" in text.splitlines()[-1] and "v2.grad" not in text.splitlines()[-1]


def test_explain_calls_model_parameters_parameters():
    import io

    from engine import explain
    from nn import MLP, Neuron

    model = MLP(2, [2, 1], seed=0)
    rows = forward_rows(explain(model([1.0, 2.0]), forward_only=True, file=io.StringIO()))
    assert rows["layers.0.neurons.0.w.0"] == rows["layers.1.neurons.0.b"] == "parameter"
    assert rows["x0"] == "input"
    neuron = Neuron(2, "tanh", seed=0)  # a lone neuron's bias is just `b`: say which are parameters
    rows = forward_rows(explain(neuron([1.0, 2.0]), forward_only=True, file=io.StringIO(), parameters=neuron))
    assert rows["b"] == rows["w.0"] == "parameter" and rows["x1"] == "input"


def test_a_picture_colours_an_unlabeled_leaf_the_user_made_as_an_input():
    from engine.see.drawing import ROLE_COLOURS

    x = Value(2.0)
    text = to_dot(2 * x)
    constant, leaf = [line for line in text.splitlines() if line.lstrip().startswith(("n0 [", "n1 ["))]  # 2, x
    assert ROLE_COLOURS["constant"] in constant and ROLE_COLOURS["input"] in leaf


def test_explain_at_the_repl_shows_its_tables_once_and_unescaped():
    import code
    import contextlib
    import io

    console = code.InteractiveConsole({})
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        console.push("from engine import Value, explain")
        console.push("x = Value(2.0, label='x')")
        console.push("explain((x * x).tanh())")  # the REPL prints the repr of what a line returns
    text = shown.getvalue()
    assert text.count("forward pass (inputs first)") == 1
    assert "\\n" not in text and not text.lstrip().startswith("'")
    assert "tanh(v1)" in text


def test_explain_returns_text_that_still_works_as_a_str_and_goes_to_a_file_when_asked():
    import io

    from engine import explain

    out = io.StringIO()
    text = explain(Value(2.0, label="x") * 3.0, file=out)
    assert isinstance(text, str) and out.getvalue() == text + "\n"
    assert repr(text) == str(text) and text.splitlines()[0] == "forward pass (inputs first)"


def test_explain_refuses_a_graph_too_large_to_read_as_draw_does():
    from engine import explain
    from engine.see.drawing import GraphTooLarge

    xs = [Value(float(i)) for i in range(600)]
    total = sum(x * x for x in xs)  # about 1,800 nodes: a batch loss is far larger
    with pytest.raises(GraphTooLarge, match=r"explain: the graph has more than max_nodes=1000 nodes"):
        explain(total)
    assert all(x.grad == 0.0 for x in xs)  # refused before anything ran
    assert "forward pass" in explain(total, max_nodes=2000, forward_only=True)


# ---------------------------------------------------------------- the layer picture


def column_order(svg: str) -> dict[str, list[str]]:
    """{column: node ids from top to bottom} read off a rendered layer picture."""
    import re

    tops: dict[str, list[tuple[float, str]]] = {}
    for title, body in re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>(.*?)</g>', svg, re.S):
        points = re.search(r'points="([^"]+)"', body)
        assert points, title
        top = min(float(p.split(",")[1]) for p in points.group(1).split())
        column = title.split("n")[0] if title.startswith("l") else title[0]
        tops.setdefault(column, []).append((top, title))
    return {column: [t for _, t in sorted(nodes)] for column, nodes in tops.items()}


@needs_dot
@pytest.mark.parametrize(
    "sizes, seed, examples",
    [([3, 1], 1, 1), ([4, 4, 1], 1, 4), ([8, 6, 3], 3, 1), ([5, 7, 2], 0, 2), ([4, 4, 1], 0, 8)],
)
def test_layer_picture_draws_each_layers_neurons_in_order_top_to_bottom(sizes, seed, examples):
    import nn
    from engine.see.drawing import render

    points = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.5], [0.0, 1.0], [0.2, 0.1], [-1, -1], [2, 0], [0, 2]][:examples]
    if sizes[-1] == 1:
        report = nn.backprop_report(nn.MLP(2, sizes, "tanh", seed=seed), points, nn.mse_loss, [1.0] * examples)
    else:
        model = nn.MLP(2, sizes, "tanh", seed=seed)
        report = nn.backprop_report(model, points, nn.cross_entropy, [1] * examples)
    columns = column_order(render(report.to_dot()).decode())
    assert columns["x"] == ["x0", "x1"]
    for li, size in enumerate(sizes, start=1):
        assert columns[f"l{li}"] == [f"l{li}n{k}" for k in range(size)]


def test_layer_picture_names_a_neuron_by_its_place_in_its_layer_not_like_a_number():
    import re

    import nn

    report = nn.backprop_report(nn.MLP(2, [3, 1], seed=1), [0.5, -1.0], nn.mse_loss, 1.0)
    dot = report.to_dot()
    assert not re.search(r"neuron \d+\.\d+", dot)  # "neuron 1.0" read like the number 1.0
    assert dot.count("<td>neuron 0</td>") == 2 and "<td>neuron 2</td>" in dot  # one box per neuron, in its layer
    assert 'label="layer 1: relu"' in dot and "layer 1, neuron 2: b = " in dot


# ---------------------------------------------------------------- the stepper page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def wide_graph() -> Value:
    """A chain long enough that, drawn full size left to right, its output is off a 1000-pixel screen."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(12):
        y = (y * 1.1).tanh()
    y.label = "out"
    return y


@pytest.mark.slow
@needs_dot
@needs_browser
def test_stepper_page_starts_fitted_to_width_with_the_output_in_view(tmp_path):
    from devtools import Page

    from engine.see.stepper_page import write_stepper

    page = write_stepper(wide_graph(), tmp_path / "steps.html")
    with Page(CHROMIUM, page.resolve().as_uri(), tmp_path / "profile") as browser:
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.wait_for("document.body && document.body.dataset.status === 'ready'")
        assert browser.evaluate("document.getElementById('fit').checked") is True
        # the output's record is the last node drawn: its right edge is inside the viewer
        inside = browser.evaluate(
            "(() => { const view = document.getElementById('view').getBoundingClientRect();"
            " const nodes = [...document.querySelectorAll('#view g.node')]"
            "   .filter(g => g.querySelector('title').textContent.match(/^n\\d+$/));"
            " const out = nodes[nodes.length - 1].getBoundingClientRect();"
            " return [out.right <= view.right + 1, out.left >= view.left - 1, view.width > 0]; })()"
        )
        assert inside == [True, True, True]


@needs_dot
def test_stepper_page_has_a_legend_for_its_red_and_orange():
    import re

    from engine.see.drawing import CURRENT, RECEIVING
    from engine.see.stepper_page import stepper_html

    page = stepper_html(wide_graph())
    legend = re.search(r'<p id="legend".*?</p>', page, re.S)
    assert legend, "no legend"
    text = legend.group(0)
    assert CURRENT in text and RECEIVING in text
    assert "this step" in text and "adds to" in text


@needs_dot
def test_stepper_save_replaces_the_page_atomically_keeping_its_permissions(tmp_path):
    import os
    import stat

    from engine import step_through

    page = tmp_path / "steps.html"
    page.write_text("the good page from before")
    page.chmod(0o640)
    before = page.stat().st_ino
    assert step_through(wide_graph()).save(page) == page
    assert page.stat().st_ino != before  # a new file renamed over the old one, not rewritten in place
    assert stat.S_IMODE(page.stat().st_mode) == 0o640
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert os.listdir(tmp_path) == ["steps.html"]  # no temporary file left beside it


@needs_dot
def test_stepper_save_that_fails_half_way_leaves_the_old_page(tmp_path, monkeypatch):
    import errno
    import os

    from engine import step_through

    stepper = step_through(wide_graph())
    page = tmp_path / "steps.html"
    page.write_text("the good page from before")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        stepper.save(page)
    assert page.read_text() == "the good page from before" and os.listdir(tmp_path) == ["steps.html"]


# ---------------------------------------------------------------- the draw command


def command(*args: str, cwd=None):
    """`python -m engine ...` as a user types it, in a fresh process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def one_line(done) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


def suggested(message: str) -> list[str]:
    """The command a hint suggests, as arguments after `python -m engine`."""
    import re
    import shlex

    found = re.search(r": (python -m engine .*?)(?: \(see --help\))?$", message)
    assert found, message
    return shlex.split(found.group(1))[3:]


@needs_dot
@pytest.mark.parametrize(
    "args",
    [
        ["-x*2", "x=3", "-o", "neg.svg"],  # argparse reads -x*2 as an option
        ["--", "-x*2", "x=3", "-o", "neg.svg"],  # the hint as it was: -o after -- is read as an input
        ["-o", "neg.svg", "--backward", "-(x*2)", "x=3"],
    ],
)
def test_the_hint_for_an_expression_starting_with_minus_is_a_command_that_works(args, tmp_path):
    message = one_line(command(*args, cwd=tmp_path))
    assert "'--'" in message
    done = command(*suggested(message), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "neg.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_a_file_name_before_the_function_gets_the_module_name_to_use(tmp_path):
    (tmp_path / "my_file.py").write_text(
        "from engine import Value\n\ndef loss():\n    return Value(2.0, label='x') * 3\n"
    )
    message = one_line(command("my_file.py:loss", cwd=tmp_path))
    assert "my_file:loss" in message and ".py" in message
    assert command(*suggested_module(message), cwd=tmp_path).returncode == 0


def suggested_module(message: str) -> list[str]:
    import re

    return [re.search(r"not its file: (\S+)", message).group(1)]


@pytest.mark.parametrize("label, named", [("x" * 20_000, r"20,000 characters"), ("a\0b", r"NUL")])
def test_a_label_graphviz_cannot_read_is_one_line(label, named, tmp_path):
    (tmp_path / "labels.py").write_text(
        f"from engine import Value\n\ndef f():\n    return Value(2.0, label={label!r}) * 3\n"
    )
    import re

    for output in ([], ["-o", "g.svg"], ["-o", "g.html"]):
        assert re.search(named, one_line(command("labels:f", *output, cwd=tmp_path)))
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".py" and p.name != "__pycache__") == []


@needs_dot
def test_whatever_else_dot_refuses_is_one_line_too(capsys, monkeypatch, tmp_path):
    from engine.see import command as draw_command

    monkeypatch.setattr(draw_command, "check_labels", lambda v: None)  # as if a label slipped through
    (tmp_path / "labels.py").write_text(
        "from engine import Value\n\ndef f():\n    return Value(2.0, label='x' * 20000) * 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert draw_command.main(["labels:f", "-o", str(tmp_path / "g.svg")], prog="draw") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "dot -Tsvg failed" in err and "nothing drawn" in err


def test_step_with_an_html_page_is_refused_not_ignored(tmp_path):
    message = one_line(command("x*2", "x=3", "--step", "1", "-o", "steps.html", cwd=tmp_path))
    assert "--step" in message and "steps.html#step=1" in message
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the demos and the benchmark say what happened


def run_module(*args: str, cwd=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd or root, env=env, timeout=600
    )


@pytest.mark.slow
def test_spiral_with_a_learning_rate_far_too_large_says_it_learnt_nothing(tmp_path):
    done = run_module("demos/spiral.py", "--lr", "10", "--steps", "40", "--quiet", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr  # the run finished; its pictures are there to look at
    assert "train accuracy 33.3%" in done.stdout
    hint = done.stderr.strip().splitlines()[-1]
    assert "chance" in hint and "--lr" in hint and "10.0" in hint


def test_the_chance_hint_speaks_only_when_the_model_learnt_nothing():
    import argparse

    from demos.common import chance_hint

    args = argparse.Namespace(lr=10.0)
    three = [0, 1, 2] * 50
    assert chance_hint("spiral", 1 / 3, three, args) is not None
    assert chance_hint("spiral", 0.36, three, args) is not None
    assert chance_hint("spiral", 0.9, three, args) is None
    skewed = [0] * 80 + [1] * 20  # guessing 0 every time gives 80%
    assert chance_hint("moons", 0.8, skewed, args) is not None and chance_hint("moons", 0.97, skewed, args) is None


def test_newton_from_a_start_too_large_is_one_plain_line(tmp_path):
    done = run_module("demos/newton.py", "--x0", "1e300", "--out", str(tmp_path))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("newton: ") and "too large for a float" in line
    assert "(34," not in line and "Numerical result out of range" not in line


@pytest.mark.slow
def test_the_quick_benchmark_judges_no_targets(tmp_path):
    done = run_module("-m", "benchmarks.run", "--quick", "--no-million")
    assert done.returncode == 0, done.stderr
    assert "NOT met" not in done.stdout and "— met" not in done.stdout
    assert "targets not judged" in done.stdout and "without --quick" in done.stdout
    assert "bytes per node" in done.stdout and "— not judged (--quick)" in done.stdout


# ---------------------------------------------------------------- micrograd's own signatures


def test_the_lectures_value_constructor_makes_the_same_leaf():
    x = Value(2.0, (), "", "x")  # micrograd's Value(data, _children, _op, label)
    assert (x.data, x.label, x.parents, x.op, x.grad) == (2.0, "x", (), "", 0.0)
    assert Value(2.0, ()).label == "" and Value(2.0, set(), "").label == ""
    y = x * Value(3.0, (), "", "w")
    y.backward()
    assert x.grad == 3.0


def test_the_lectures_constructor_for_an_operations_result_names_the_replacement():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match=r"engine\.operation"):
        Value(3.0, (a, b), "+")
    with pytest.raises(TypeError, match=r"engine\.operation"):
        Value(3.0, (), "+")
    with pytest.raises(TypeError, match=r"label must be a str"):
        Value(3.0, 7)  # neither a label nor micrograd's children
    with pytest.raises(TypeError, match=r"_children, _op, label"):
        Value(3.0, (), "", "x", "extra")


@pytest.mark.parametrize("nonlin, activation", [(False, "linear"), (True, "relu")])
def test_micrograd_nonlin_switch_means_what_it_means_there(nonlin, activation):
    from nn import Layer, Neuron

    neuron = Neuron(2, nonlin=nonlin, seed=0)
    same = Neuron(2, activation, seed=0)
    assert neuron.activation == activation
    for x in ([1.0, -2.0], [-3.0, 0.5]):
        assert neuron(x).data == same(x).data
    layer = Layer(2, 3, nonlin=nonlin, seed=0)
    assert [n.activation for n in layer.neurons] == [activation] * 3
    out = Neuron(2, nonlin=False, seed=0)([-5.0, -5.0])  # linear: can go below 0, where relu could not
    relu = Neuron(2, nonlin=True, seed=0)([-5.0, -5.0])
    assert out.data == min(out.data, relu.data) and relu.data >= 0.0


def test_nonlin_and_an_activation_together_are_refused():
    from nn import Neuron

    with pytest.raises(ValueError, match=r"not both"):
        Neuron(2, "tanh", nonlin=False)
    with pytest.raises(TypeError, match=r"nonlin"):
        Neuron(2, nonlin="no")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the tour notebook

DOCS = [
    "seeing.md",
    "nn.md",
    "compile.md",
    "higher-order.md",
    "user-ops.md",
    "layers.md",
    "errors.md",
    "speed.md",
    "design.md",
]


def tour_cells() -> list[dict]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "demos" / "tour.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_tour_says_the_stepper_changes_no_gradient_and_resets_none():
    cells = tour_cells()
    (k,) = [i for i, c in enumerate(cells) if "engine.step_through(L)" in "".join(c["source"])]
    code, text = "".join(cells[k]["source"]), " ".join("".join(cells[k - 1]["source"]).split())
    assert "leaf.grad = 0.0" not in code  # looking changes nothing, so there is nothing to reset
    assert "changes no `.grad`" in text and "reset them" not in text


def test_the_tour_ends_with_where_to_go_next_and_its_command_works(tmp_path):
    import re
    import shlex
    from pathlib import Path

    last = "".join(tour_cells()[-1]["source"])
    assert last.startswith("## Where next")
    assert "nn.backprop_report" in last and 'report.save("net.svg")' in last
    for page in DOCS:
        assert f"(../docs/{page})" in last, page
    demos = Path(__file__).resolve().parents[2] / "demos"
    for script in re.findall(r"(\w+\.py)", last):
        assert (demos / script).exists(), script
    (cli,) = re.findall(r"`(python -m engine [^`]+)`", last)
    if shutil.which("dot"):
        done = command(*shlex.split(cli)[3:], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "steps.html").read_text().startswith("<!DOCTYPE html>")


# ---------------------------------------------------------------- install paths


def test_the_layers_demo_says_when_it_skipped_the_pytorch_comparison(monkeypatch, capsys, tmp_path):
    import sys

    from demos import layers

    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    layers.main(["--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "comparison skipped, PyTorch is not installed" in out and "download.pytorch.org/whl/cpu" in out


def test_the_layers_demo_compares_with_pytorch_when_it_is_there(capsys, tmp_path):
    pytest.importorskip("torch")
    from demos import layers

    layers.main(["--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "PyTorch float64 (model.to_torch())" in out and "skipped" not in out
