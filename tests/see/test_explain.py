"""explain(): the forward and backward passes as tables with the right numbers."""

import io
import math

import pytest

from engine import Value, explain
from engine.core.spelling import number


def neuron():
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {"x1": x1, "w1": w1, "x2": x2, "w2": w2, "b": b, "n": n, "o": o}


def rows(text: str, first_cell: str) -> list[list[str]]:
    """The table rows whose first or fourth column is `first_cell`, split into cells."""
    return [line.split() for line in text.splitlines() if first_cell in line.split()]


def test_explain_returns_the_text_and_prints_nothing_itself(capsys):
    nodes = neuron()
    text = explain(nodes["o"])
    assert capsys.readouterr().out == ""
    assert "forward pass" in text and "backward pass" in text


def test_backward_rows_carry_the_chain_rule_numbers():
    nodes = neuron()
    text = explain(nodes["o"], file=io.StringIO())
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    do_dn = 1.0 - math.tanh(n) ** 2
    # the row where x1 receives its share: input x1, formula w1.data, local -3, added -3 * do/dn
    (x1_row,) = [r for r in rows(text, "x1") if "w1.data" in r]
    assert x1_row[-4:] == ["w1.data", "-3.0", f"{-3.0 * do_dn:.6g}", f"{-3.0 * do_dn:.6g}"]
    (tanh_row,) = [r for r in text.splitlines() if "o = tanh(n)" in r]
    assert "(1 - o.data**2)" in tanh_row and f"{do_dn:.6g}" in tanh_row.split()
    assert nodes["x1"].grad == 0.0  # explaining changes no .grad
    assert f"w1.grad = {2.0 * do_dn:.6g}" in text


def test_forward_only_leaves_gradients_alone_and_lists_every_node():
    nodes = neuron()
    text = explain(nodes["o"], forward_only=True, file=io.StringIO())
    assert "backward" not in text
    assert all(v.grad == 0.0 for v in nodes.values())
    assert rows(text, "n")[0][-1] == f"{2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432:.6g}"
    for name in nodes:
        assert any(line.split()[:1] == [name] for line in text.splitlines()), name
    # unlabeled results get generated names in topological order: x1*w1 -> v1, x2*w2 -> v2, sum -> v3
    assert rows(text, "v1")[0][:4] == ["v1", "x1", "*", "w1"]
    assert rows(text, "v3")[0][:4] == ["v3", "v1", "+", "v2"]


def test_explain_shows_the_gradients_of_backward_and_leaves_every_grad_alone():
    a, b = neuron(), neuron()
    a["o"].backward()
    text = explain(b["o"], file=io.StringIO())
    assert all(v.grad == 0.0 for v in b.values())
    shown = text.splitlines()[-1].removeprefix("gradients of the inputs and parameters: ")
    assert shown == ", ".join(f"{k}.grad = {number(v.grad)}" for k, v in a.items() if not v.parents)


def test_explain_refuses_a_non_value():
    with pytest.raises(TypeError, match="explain: expected a Value"):
        explain(3.0)
