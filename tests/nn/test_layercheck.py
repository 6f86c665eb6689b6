"""Layer checks: delta for a chosen neuron, predicted from the next layer's delta and the weights,
checked against backprop_report's delta read from the graph."""

import io
import math

import pytest

import nn


def report(activation="tanh"):
    net = nn.MLP(2, [3, 2, 1], activation, seed=4)
    return net, nn.backprop_report(net, [0.5, -1.0], nn.mse_loss, 1.0)


def test_the_question_gives_what_the_recursion_needs_and_the_graphs_delta():
    net, r = report()
    q = nn.layer_question(r, 1, 2)
    layers = r.data["layers"]
    assert q.weights == tuple(row[2] for row in layers[1]["W"]) and len(q.weights) == 2
    assert q.next_delta == tuple(layers[1]["delta_graph"][0])
    # by hand: the recursion from the given numbers, with tanh' = 1 - a**2
    a = layers[0]["a"][0][2]
    by_hand = sum(w * d for w, d in zip(q.weights, q.next_delta, strict=True)) * (1 - a * a)
    assert q.fprime == pytest.approx(1 - a * a, rel=1e-15)
    assert q.answer == pytest.approx(by_hand, rel=1e-12, abs=1e-15) and q.answer == layers[0]["delta_graph"][0][2]
    assert q.check(repr(by_hand)) and q.check(f"({q.weights[0]})*({q.next_delta[0]})*{q.fprime} + 0") is (
        math.isclose(q.weights[0] * q.next_delta[0] * q.fprime, q.answer, rel_tol=1e-3, abs_tol=1e-6)
    )
    assert not q.check(q.answer + 0.01 + abs(q.answer))
    assert "W(2)[:, 2] = [" in q.ask() and q.ask().endswith("= ?")


def test_last_layer_uses_dL_da():
    _, r = report()
    q = nn.layer_question(r, 3, 0)
    last = r.data["layers"][2]
    assert q.last and q.next_delta == (last["dL_da"][0][0],) and q.answer == last["delta_graph"][0][0]
    assert q.check(str(last["dL_da"][0][0] * last["fprime"][0][0]))


def test_layer_quiz_scores_and_names_the_layers_missed():
    _, r = report("relu")
    layers = r.data["layers"]
    truths = [layers[n - 1]["delta_graph"][0][j] for n in (3, 2, 1) for j in range(len(layers[n - 1]["b"]))]
    answers = [repr(t) for t in truths]
    answers[1] = repr(truths[1] + 1.0)  # one wrong, in layer 2
    out = io.StringIO()
    result = nn.layer_quiz(r, answers=answers, file=out)
    assert (result.right, result.asked, result.finished, result.missed) == (5, 6, True, ["layer 2"])
    assert "not quite: delta(2)[0] = (" in out.getvalue() and "score 5/6; missed: layer 2" in out.getvalue()


def test_bad_choices_are_refused_by_name():
    _, r = report()
    with pytest.raises(ValueError, match="layer must be from 1 to 3"):
        nn.layer_question(r, 0, 0)
    with pytest.raises(ValueError, match="layer 2 has neurons 0 to 1"):
        nn.layer_question(r, 2, 5)
