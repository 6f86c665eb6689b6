"""Targets are operands of the loss's graph: mini-batches passed to a compiled step train exactly.

A learner writes `step = engine.compile(lambda xb, yb: loss([model(x) for x in xb], yb))` and
calls it with a new batch every step. Each call must give the uncompiled numbers, bit for bit,
for every nn loss, with targets as ints, floats or Values; a bad target must be refused on the
call that passes it, with the uncompiled error.
"""

import math
import random
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from engine import Value


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


def batch_targets(loss, rng, n):
    if loss == "hinge":
        return [rng.choice([-1, 1]) for _ in range(n)]
    if loss == "bce":
        return [rng.choice([0, 1, 0.25, 0.5]) for _ in range(n)]
    if loss == "mse":
        return [rng.uniform(-1.0, 1.0) for _ in range(n)]
    return [rng.randrange(3) for _ in range(n)]


def loss_of(loss, outputs, targets):
    if loss == "hinge":
        return nn.hinge_loss(outputs, targets)
    if loss == "bce":
        return nn.bce_with_logits(outputs, targets)
    if loss == "mse":
        return nn.mse_loss(outputs, targets)
    return nn.cross_entropy(outputs, targets)


def train(loss, compiled, steps=8, batch=6, optimizer="sgd"):
    """Mini-batch training, inputs and targets passed to the step: losses and final parameters."""
    rng = random.Random(5)
    model = nn.MLP(2, [6, 3 if loss == "ce" else 1], seed=2)
    params = model.parameters()
    opt = nn.SGD(params, lr=0.2, momentum=0.5) if optimizer == "sgd" else nn.Adam(params, lr=0.05)

    def fn(xb, yb):
        return loss_of(loss, [model(x) for x in xb], yb) + nn.l2_penalty(params, 1e-3)

    step = engine.compile(fn)
    losses = []
    for _ in range(steps):
        xb = [[rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)] for _ in range(batch)]
        yb = batch_targets(loss, rng, batch)
        opt.zero_grad()
        if compiled:
            losses.append(step(xb, yb))
        else:
            value = fn(xb, yb)
            value.backward()
            losses.append(value.data)
        opt.step()
    return bits(losses), bits([p.data for p in params]), step


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("loss", ["hinge", "bce", "mse", "ce"])
def test_mini_batches_as_arguments_train_exactly_as_uncompiled(loss, optimizer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without a warning: nothing here is outside the arguments
        uncompiled = train(loss, False, optimizer=optimizer)
        compiled = train(loss, True, optimizer=optimizer)
    assert compiled[0] == uncompiled[0]
    assert compiled[1] == uncompiled[1]
    assert compiled[2].plan is not None  # replayed, not run uncompiled each call


@pytest.mark.parametrize("loss", ["hinge", "bce", "ce"])
def test_new_targets_are_used_by_the_replay(loss):
    """The targets of the second call, not the first's: negated hinge labels, flipped BCE targets."""
    w = Value(0.7)
    xs = [0.5, -1.5, 2.0]
    first = {"hinge": [1, -1, 1], "bce": [1, 0, 1], "ce": [0, 1, 2]}[loss]
    second = {"hinge": [-1, 1, -1], "bce": [0, 1, 0], "ce": [2, 0, 1]}[loss]

    def fn(xs, ys):
        if loss == "ce":
            return nn.cross_entropy([[w * x, w * x * x, -w] for x in xs], ys)
        return loss_of(loss, [w * x for x in xs], ys)

    step = engine.compile(fn)
    for ys in (first, second, first):
        w.grad = 0.0
        out = step(xs, ys)
        replay_grad = w.grad
        w.grad = 0.0
        expected = fn(xs, ys)
        expected.backward()
        assert bits([out, replay_grad]) == bits([expected.data, w.grad])


def test_cross_entropy_takes_one_int_class_index_as_an_argument():
    z = [Value(1.0), Value(2.0), Value(0.5)]
    step = engine.compile(lambda k: nn.cross_entropy(z, k))
    for k in (0, 2, 1, 0):
        for v in z:
            v.grad = 0.0
        out = step(k)
        got = [v.grad for v in z]
        for v in z:
            v.grad = 0.0
        expected = nn.cross_entropy(z, k)
        expected.backward()
        assert bits([out, *got]) == bits([expected.data, *[v.grad for v in z]])


@pytest.mark.parametrize("loss", ["hinge", "bce", "mse", "ce"])
def test_int_and_value_targets_build_the_same_graph(loss):
    def ops(targets):
        outputs = [[Value(0.5), Value(-0.25), Value(1.0)]] * 2 if loss == "ce" else [Value(0.5), Value(-0.25)]
        return [n.op for n in engine.topological_order(loss_of(loss, outputs, targets))]

    ints = batch_targets(loss, random.Random(1), 2)
    assert ops(ints) == ops([Value(y) for y in ints]) == ops([float(y) for y in ints])


@pytest.mark.parametrize(
    "loss, good, bad, message",
    [
        ("hinge", [1, -1], [1, 0], r"hinge_loss: label 1 is 0.0; labels must be -1 or \+1"),
        ("bce", [0, 1], [0, 1.5], r"bce_with_logits: target 1 is 1.5; targets must be in \[0, 1\]"),
        ("ce", [0, 2], [0, 3], r"cross_entropy: target 1 is 3; it must be a class index in 0..2"),
        ("ce", [0, 2], [0.5, 1], r"cross_entropy: target 0 is 0.5; it must be a class index in 0..2"),
        ("ce", [0, 2], [-1, 1], r"cross_entropy: target 0 is -1; it must be a class index in 0..2"),
    ],
)
def test_a_bad_target_is_refused_on_the_call_that_passes_it(loss, good, bad, message):
    w = Value(0.3)

    def fn(ys):
        outputs = [[w, w * 2.0, -w]] * 2 if loss == "ce" else [w, w * 2.0]
        return loss_of(loss, outputs, ys)

    with pytest.raises(ValueError, match=message):
        fn(bad)  # uncompiled
    step = engine.compile(fn)
    step(good)
    step(good)
    w.grad = 0.0
    with pytest.raises(ValueError, match=message):
        step(bad)  # the replay refuses it too, with the same error
    assert w.grad == 0.0
    step(good)  # and goes on with good targets


def test_the_l2_penalty_weight_may_be_an_argument():
    w = [Value(0.5), Value(-2.0)]
    step = engine.compile(lambda alpha: nn.l2_penalty(w, alpha))
    for alpha in (1e-4, 0.5, 3):
        for v in w:
            v.grad = 0.0
        assert step(alpha) == alpha * (0.25 + 4.0)
        assert [v.grad for v in w] == [2 * alpha * 0.5, 2 * alpha * -2.0]


# ---------------------------------------------------------------- gradients reaching Value targets


def test_hinge_and_bce_give_targets_their_gradient_as_pytorch_does():
    torch = pytest.importorskip("torch")
    s, y = [0.3, -1.7, 0.9], [1.0, -1.0, -1.0]
    sv, yv = [Value(x) for x in s], [Value(x) for x in y]
    nn.hinge_loss(sv, yv).backward()
    st_, yt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (s, y))
    torch.clamp(1 - yt * st_, min=0).mean().backward()
    assert [v.grad for v in sv + yv] == pytest.approx(st_.grad.tolist() + yt.grad.tolist(), rel=1e-15)

    z, t = [-2.0, 0.5, 3.0], [0.0, 0.25, 1.0]
    zv, tv = [Value(x) for x in z], [Value(x) for x in t]
    nn.bce_with_logits(zv, tv).backward()
    zt, tt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (z, t))
    torch.nn.functional.binary_cross_entropy_with_logits(zt, tt).backward()
    assert [v.grad for v in zv + tv] == pytest.approx(zt.grad.tolist() + tt.grad.tolist(), rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-20.0, 20.0), min_size=2, max_size=5), st.data())
def test_cross_entropy_with_a_value_class_index_matches_the_closed_form(z, data):
    k = data.draw(st.integers(0, len(z) - 1))
    vs, kv = [Value(x) for x in z], Value(k)
    loss = nn.cross_entropy(vs, kv)
    loss.backward()
    m = max(z)
    total = sum(math.exp(x - m) for x in z)
    assert loss.data == pytest.approx(math.log(total) + m - z[k], rel=1e-12, abs=1e-12)
    softmax = [math.exp(x - m) / total for x in z]
    assert [v.grad for v in vs] == pytest.approx([p - (j == k) for j, p in enumerate(softmax)], rel=1e-9, abs=1e-12)
    assert kv.grad == 0.0  # a class index has no gradient


def test_pick_derivatives_of_derivatives_follow_the_class():
    """create_graph: d2 loss / dz_j dz_k of cross-entropy is softmax's Jacobian, whatever k."""
    z = [0.2, -0.4, 1.1]
    for k in range(3):
        vs = [Value(x) for x in z]
        g = engine.grad(nn.cross_entropy(vs, Value(k)), vs, create_graph=True)
        h = engine.grad(g[k], vs)
        total = sum(math.exp(x) for x in z)
        p = [math.exp(x) / total for x in z]
        assert h == pytest.approx([p[k] * ((j == k) - p[j]) for j in range(3)], rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5.0, 5.0).filter(lambda s: abs(s) > 1e-3), st.floats(0.0, 1.0)), min_size=1, max_size=4
    )
)
def test_gradients_reaching_value_targets_match_central_differences(pairs):
    """d loss / d target for BCE and MSE (targets in [0, 1]), checked against central differences."""
    h = 1e-6
    for loss in (nn.bce_with_logits, nn.mse_loss):
        zs, ys = [z for z, _ in pairs], [y for _, y in pairs]
        targets = [Value(y) for y in ys]
        loss([Value(z) for z in zs], targets).backward()
        for i in range(len(ys)):
            if not h <= ys[i] <= 1.0 - h:
                continue  # a step outside [0, 1] would be refused
            up, down = list(ys), list(ys)
            up[i] += h
            down[i] -= h
            numeric = (loss(zs, up).data - loss(zs, down).data) / (2 * h)
            assert targets[i].grad == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_a_recording_reads_its_argument_stand_ins_as_one_set(monkeypatch):
    # Telling the graph's outside leaves from the arguments' stand-ins built set(stand-ins) once per
    # leaf: quadratic in the batch (a digits batch of 32 x 64 inputs spent 166 ms of a 650 ms
    # recording on it). The set is made once.
    from engine.replay import record

    made = []

    def counting_set(*items):
        made.append(1)
        return set(*items)

    monkeypatch.setattr(record, "set", counting_set, raising=False)
    model = nn.MLP(2, [4, 1], seed=3)
    step = engine.compile(lambda xb, yb: nn.mse_loss([model(x) for x in xb], yb))
    rng = random.Random(1)
    xb = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(40)]
    step(xb, [rng.uniform(-1.0, 1.0) for _ in range(40)])
    assert step.plan is not None and len(step.plan.leaves) > 100
    # the stand-ins once, once elsewhere in the recording, and once where the leaves Value(t) of the
    # targets passed in are swapped for their stand-ins
    assert len(made) <= 3


def test_numbers_passed_as_arguments_get_no_gradient_work():
    # A number passed in is a leaf of the graph, but its gradient goes nowhere: the replay neither
    # writes the kernel's shares to it nor adds them up, and the parameters' bits are unchanged.
    model = nn.MLP(3, [5, 1], seed=6)
    params = model.parameters()
    rng = random.Random(2)

    def fn(xb, yb, scale):
        return nn.mse_loss([model(x) * scale for x in xb], yb)

    step = engine.compile(fn, check_every=0)
    for _ in range(4):
        xb = [[rng.uniform(-2.0, 2.0) for _ in range(3)] for _ in range(12)]
        yb = [rng.uniform(-1.0, 1.0) for _ in range(12)]
        for p in params:
            p.grad = 0.0
        got = step(xb, yb, 1.5)
        got_grads = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        want = fn(xb, yb, 1.5)
        want.backward()
        assert bits([got, *got_grads]) == bits([want.data, *[p.grad for p in params]])
    plan = step.plan
    (kernel,) = plan.batches
    assert kernel.dropped  # the columns of inputs and targets, and the scale
    backward = kernel.source[kernel.source.index("def backward") :]
    assert "S[b + " not in backward  # every other leaf is a parameter, summed in the loop
    stand_ins = {id(v) for v in step.tape.arguments if v is not None}
    assert not [e.leaf for e in plan.leaf_edges if id(plan.leaves[e.leaf]) in stand_ins]
