"""The classifier and learner's-loop workloads compute what they claim, on every engine alike."""

import math

import pytest

from benchmarks import classifier, learner, workloads
from engine import Value


def softmax(z):
    m = max(z)
    e = [math.exp(x - m) for x in z]
    return [x / sum(e) for x in e]


def test_shared_cross_entropy_gradient_is_softmax_minus_target():
    class Identity:
        def __call__(self, x):
            return x

    z = [Value(v) for v in (0.3, -1.2, 2.0, 0.5)]
    k = 2
    loss = classifier.shared_loss(
        Value, classifier.value_exp, classifier.value_log, Identity(), [z], [classifier.one_hot(k, 4)]
    )
    loss.backward()
    p = softmax([v.data for v in z])
    assert loss.data == pytest.approx(-math.log(p[k]), rel=1e-12)
    for j, v in enumerate(z):
        assert v.grad == pytest.approx(p[j] - (j == k), abs=1e-12)


def test_micrograd_exp_and_log_have_their_closed_form_derivatives():
    mg = pytest.importorskip("micrograd.engine")
    x = mg.Value(0.7)
    y = classifier.micrograd_log(classifier.micrograd_exp(x) * 3.0)  # log(3 e**x) = x + log 3
    y.backward()
    assert y.data == pytest.approx(0.7 + math.log(3.0), rel=1e-12)
    assert x.grad == pytest.approx(1.0, rel=1e-12)


def test_the_shared_step_gives_the_same_losses_on_micrograd_and_compiled():
    mg = pytest.importorskip("micrograd.engine")
    xs, ys = classifier.make_digits(n=12)
    batches = classifier.batches(xs, ys, 4)
    shape = (64, 5, 10)
    ours = classifier.SharedStep(Value, classifier.value_exp, classifier.value_log, batches, sizes=shape)
    theirs = classifier.SharedStep(mg.Value, classifier.micrograd_exp, classifier.micrograd_log, batches, sizes=shape)
    compiled = classifier.SharedStep(Value, classifier.value_exp, classifier.value_log, batches, True, shape)
    compiled.record()
    a = [ours.step() for _ in range(4)]
    assert [theirs.step() for _ in range(4)] == pytest.approx(a, rel=1e-12)
    assert [compiled.step() for _ in range(4)] == a  # the replay: the same bits
    assert [p.data for p in compiled.params] == [p.data for p in ours.params]


def test_the_nn_step_learns_and_keeps_its_last_graph():
    xs, ys = classifier.make_digits(n=40)
    step = classifier.NNStep(classifier.batches(xs, ys, 10), (64, 6, 10))
    losses = [step.step() for _ in range(12)]
    assert losses[-1] < losses[0]
    assert step.loss is not None and workloads.graph_nodes(step.loss, lambda v: v.parents) > 1000
    step.close()
    assert step.loss is None


def test_the_learner_loop_matches_micrograd_step_for_step():
    mg = pytest.importorskip("micrograd.nn")
    from nn import MLP

    points, labels = workloads.make_moons(10)
    ours = learner.Session(Value, MLP, points, labels)
    theirs = learner.Session(mg.Value, mg.MLP, points, labels)
    a = [ours.step() for _ in range(3)]
    assert [theirs.step() for _ in range(3)] == pytest.approx(a, rel=1e-12)
    assert a[0] == pytest.approx(
        workloads.loss(Value, workloads.Model(Value, workloads.initial_weights()), points, labels).data
    )
