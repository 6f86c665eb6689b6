"""nn.metrics: a model's outputs as floats, its predicted class and its accuracy, as a user scores a model."""

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from engine import Value
from nn import metrics


def test_the_module_examples_run():
    assert doctest.testmod(metrics).failed == 0


def test_outputs_are_the_models_numbers_as_floats_and_record_no_graph():
    model = nn.MLP(2, [4, 3], "tanh", seed=3)
    X, _ = nn.make_moons(5, noise=0.1, seed=1)
    outs = nn.outputs(model, X)
    for x, out in zip(X, outs, strict=True):
        built = model(x)  # the same forward pass, with a graph
        assert out == [v.data for v in built]
        assert all(type(o) is float for o in out)
    one = nn.MLP(2, [1], seed=0)
    (single,) = nn.outputs(one, [[0.5, -0.25]])
    assert type(single) is float and single == one([0.5, -0.25]).data
    assert engine.is_grad_enabled()  # the no_grad() block is over


def test_floats_replaces_every_value_in_nested_lists():
    assert nn.floats([Value(1.5), [Value(-2.0), 3], (4,)]) == [1.5, [-2.0, 3.0], [4.0]]


@given(st.lists(st.tuples(st.floats(-5, 5, allow_nan=False), st.sampled_from([-1, 1])), min_size=1, max_size=30))
def test_binary_accuracy_counts_the_scores_on_the_labels_side_of_zero(pairs):
    scores, labels = [s for s, _ in pairs], [t for _, t in pairs]
    hits = sum((s > 0.0) == (t == 1) for s, t in pairs)
    assert nn.accuracy(scores, labels) == hits / len(pairs)
    assert nn.accuracy(scores, [(t + 1) // 2 for t in labels]) == hits / len(pairs)  # 0/1 labels too


def test_multiclass_accuracy_takes_the_largest_score_first_on_ties():
    assert [nn.predicted_class(o) for o in ([0.1, 2.0, -1.0], [3.0, 3.0, 1.0], [-1.0, -2.0, -0.5])] == [1, 0, 2]
    assert nn.accuracy([[0.1, 2.0, -1.0], [3.0, 3.0, 1.0], [-1.0, -2.0, -0.5]], [1, 1, 2]) == pytest.approx(2 / 3)


def test_the_class_margin_is_positive_exactly_where_that_class_wins():
    for out in ([0.1, 2.0, -1.0], [3.0, 1.0, 1.0], 0.7, -0.3):
        winner = nn.predicted_class(out)
        classes = len(out) if isinstance(out, list) else 2
        for k in range(classes):
            assert (metrics.class_margin(out, k) > 0.0) == (k == winner)


def test_labels_that_do_not_match_the_outputs_are_refused():
    with pytest.raises(ValueError):
        nn.accuracy([0.5, -0.5], [1])
