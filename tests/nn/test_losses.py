"""Every loss against its closed form, its closed-form gradient and central finite differences."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from engine import Value

finite = st.floats(-20.0, 20.0, allow_nan=False)


def leaves(xs):
    return [Value(x) for x in xs]


def central_difference(f, xs, i, h=1e-6):
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def check_against_finite_differences(loss_fn, xs, rel=1e-6, abs_=1e-8):
    vs = leaves(xs)
    loss = loss_fn(vs)
    loss.backward()
    on_floats = lambda ys: loss_fn(leaves(ys)).data
    for i, v in enumerate(vs):
        assert v.grad == pytest.approx(central_difference(on_floats, xs, i), rel=rel, abs=abs_), i


# ---------------------------------------------------------------- mean squared error


def test_mse_closed_form_and_gradient():
    p = leaves([1.0, 2.0, -1.0])
    t = [0.5, 2.0, 1.0]
    loss = nn.mse_loss(p, t)
    assert loss.data == pytest.approx((0.25 + 0.0 + 4.0) / 3, rel=1e-15)
    loss.backward()
    assert [v.grad for v in p] == pytest.approx([2 * 0.5 / 3, 0.0, 2 * -2.0 / 3], rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=5))
def test_mse_finite_differences(pairs):
    preds, targets = [p for p, _ in pairs], [t for _, t in pairs]
    check_against_finite_differences(lambda vs: nn.mse_loss(vs, targets), preds, abs_=1e-6)


def test_mse_targets_may_be_values_and_get_gradients():
    p, t = Value(3.0), Value(1.0)
    nn.mse_loss(p, t).backward()
    assert (p.grad, t.grad) == (4.0, -4.0)


# ---------------------------------------------------------------- hinge (max-margin)


def test_hinge_closed_form_and_gradient():
    scores = leaves([2.0, 0.5, -0.25, -3.0])
    labels = [1, 1, 1, -1]
    loss = nn.hinge_loss(scores, labels)
    # margins 1 - y*s: -1 (inactive), 0.5, 1.25, -2 (inactive)
    assert loss.data == pytest.approx((0.5 + 1.25) / 4, rel=1e-15)
    loss.backward()
    assert [s.grad for s in scores] == [0.0, -0.25, -0.25, 0.0]


def test_hinge_equals_micrograds_demo_expression():
    scores = leaves([0.3, -1.7, 0.9, 2.2, -0.1])
    labels = [1, -1, -1, 1, 1]
    terms = [(1 + -y * s).relu() for y, s in zip(labels, scores, strict=True)]
    expected = sum(terms) * (1.0 / len(terms))
    assert nn.hinge_loss(scores, labels).data == pytest.approx(expected.data, rel=1e-15)


def test_hinge_refuses_labels_other_than_plus_minus_one():
    with pytest.raises(ValueError, match=r"hinge_loss: label 1 is 0.0; labels must be -1 or \+1"):
        nn.hinge_loss([Value(1.0), Value(2.0)], [1, 0])


# ---------------------------------------------------------------- binary cross-entropy on logits


def bce_reference(z: float, y: float) -> float:
    """-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))) = max(z, 0) - y z + log1p(e**-|z|)."""
    return max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z)))


def test_bce_closed_form_and_gradient():
    zs = [-2.0, 0.0, 0.5, 3.0]
    ys = [0.0, 1.0, 0.0, 0.25]
    vs = leaves(zs)
    loss = nn.bce_with_logits(vs, ys)
    expected = sum(bce_reference(z, y) for z, y in zip(zs, ys, strict=True)) / 4
    assert loss.data == pytest.approx(expected, rel=1e-14)
    loss.backward()
    sigmoid = lambda z: 1.0 / (1.0 + math.exp(-z))
    assert [v.grad for v in vs] == pytest.approx([(sigmoid(z) - y) / 4 for z, y in zip(zs, ys, strict=True)], rel=1e-14)


@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_bce_gradient_at_zero_is_the_true_one(y):
    z = Value(0.0)
    nn.bce_with_logits(z, y).backward()
    assert z.grad == 0.5 - y


@pytest.mark.parametrize(
    "z, y, loss, grad",
    [
        (1000.0, 0.0, 1000.0, 1.0),
        (1000.0, 1.0, 0.0, 0.0),
        (-1000.0, 0.0, 0.0, 0.0),
        (-1000.0, 1.0, 1000.0, -1.0),
        (1e6, 0.0, 1e6, 1.0),
        (-1e300, 1.0, 1e300, -1.0),
    ],
)
def test_bce_extreme_logits_do_not_overflow(z, y, loss, grad):
    v = Value(z)
    out = nn.bce_with_logits(v, y)
    out.backward()
    assert out.data == loss
    assert v.grad == grad


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite.filter(lambda z: abs(z) > 1e-4), st.floats(0.0, 1.0)), min_size=1, max_size=4))
def test_bce_finite_differences_and_closed_form(pairs):
    zs, ys = [z for z, _ in pairs], [y for _, y in pairs]
    expected = sum(bce_reference(z, y) for z, y in pairs) / len(pairs)
    assert nn.bce_with_logits(leaves(zs), ys).data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    check_against_finite_differences(lambda vs: nn.bce_with_logits(vs, ys), zs)


def test_bce_against_pytorch():
    torch = pytest.importorskip("torch")
    zs = [-1000.0, -30.0, -1.5, 0.0, 2.0, 35.0, 1000.0]
    ys = [1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0]
    vs = leaves(zs)
    loss = nn.bce_with_logits(vs, ys)
    loss.backward()
    zt = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(ys, dtype=torch.float64))
    lt.backward()
    assert loss.data == pytest.approx(lt.item(), rel=1e-14)
    # sigmoid(z) - y cancels for confident logits: both agree to a rounding of the 1/n-sized terms
    assert [v.grad for v in vs] == pytest.approx(zt.grad.tolist(), rel=1e-12, abs=1e-16 / len(zs))


def test_bce_refuses_targets_outside_zero_one():
    with pytest.raises(ValueError, match=r"target 0 is -1.0; targets must be in \[0, 1\]"):
        nn.bce_with_logits([Value(0.5)], [-1])


# ---------------------------------------------------------------- softmax cross-entropy


def ce_reference(z: list[float], k: int) -> float:
    return math.log(sum(math.exp(zj) for zj in z)) - z[k]


def test_cross_entropy_closed_form_and_gradient():
    z = [1.0, 2.0, 0.5]
    vs = leaves(z)
    loss = nn.cross_entropy(vs, 1)
    assert loss.data == pytest.approx(ce_reference(z, 1), rel=1e-15)
    loss.backward()
    total = sum(math.exp(zj) for zj in z)
    softmax = [math.exp(zj) / total for zj in z]
    assert [v.grad for v in vs] == pytest.approx([softmax[0], softmax[1] - 1.0, softmax[2]], rel=1e-14)


def test_cross_entropy_of_a_batch_is_the_mean():
    batch = [[0.1, -0.2, 0.3], [2.0, 1.0, -1.0]]
    targets = [2, 0]
    loss = nn.cross_entropy([leaves(z) for z in batch], targets)
    expected = (ce_reference(batch[0], 2) + ce_reference(batch[1], 0)) / 2
    assert loss.data == pytest.approx(expected, rel=1e-15)


def test_cross_entropy_extreme_logits():
    vs = leaves([1000.0, -1000.0, 0.0])
    assert nn.cross_entropy(vs, 0).data == 0.0
    assert nn.cross_entropy(vs, 1).data == 2000.0
    loss = nn.cross_entropy(vs, 2)
    assert loss.data == 1000.0
    loss.backward()
    assert [v.grad for v in vs] == [1.0, 0.0, -1.0]


def test_cross_entropy_ignores_a_common_shift():
    base = [0.3, -1.2, 2.5, 0.0]
    shifted = [z + 700.0 for z in base]  # exp(700 + 2.5) would overflow without the shift
    assert nn.cross_entropy(leaves(shifted), 3).data == pytest.approx(ce_reference(base, 3), rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(finite, min_size=2, max_size=5), st.data())
def test_cross_entropy_finite_differences(z, data):
    k = data.draw(st.integers(0, len(z) - 1))
    assert nn.cross_entropy(leaves(z), k).data == pytest.approx(ce_reference(z, k), rel=1e-12, abs=1e-12)
    check_against_finite_differences(lambda vs: nn.cross_entropy(vs, k), z)


def test_cross_entropy_against_pytorch():
    torch = pytest.importorskip("torch")
    batch = [[500.0, -3.0, 1.0], [0.2, 0.1, -0.4], [-800.0, 800.0, 0.0]]
    targets = [1, 0, 2]
    vs = [leaves(z) for z in batch]
    loss = nn.cross_entropy(vs, targets)
    loss.backward()
    zt = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(targets))
    lt.backward()
    assert loss.data == pytest.approx(lt.item(), rel=1e-14)
    for row, grads in zip(vs, zt.grad.tolist(), strict=True):
        assert [v.grad for v in row] == pytest.approx(grads, rel=1e-12, abs=1e-300)


def test_cross_entropy_refuses_a_bad_class_index():
    with pytest.raises(ValueError, match=r"target 0 is 3; it must be a class index in 0..2"):
        nn.cross_entropy(leaves([1.0, 2.0, 3.0]), 3)
    with pytest.raises(ValueError, match=r"target 1 is True"):
        nn.cross_entropy([leaves([1.0, 2.0]), leaves([1.0, 2.0])], [0, True])


# ---------------------------------------------------------------- L2 penalty


def test_l2_penalty_closed_form_and_gradient():
    ps = leaves([1.0, -2.0, 0.5])
    penalty = nn.l2_penalty(ps, 1e-4)
    assert penalty.data == pytest.approx(1e-4 * (1.0 + 4.0 + 0.25), rel=1e-15)
    penalty.backward()
    assert [p.grad for p in ps] == pytest.approx([2e-4, -4e-4, 1e-4], rel=1e-15)


# ---------------------------------------------------------------- shared bad input


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.hinge_loss, nn.bce_with_logits])
def test_lengths_must_match(loss):
    with pytest.raises(ValueError, match="got 2 predictions but 3 targets"):
        loss(leaves([0.5, 0.5]), [1, 1, 1])


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.hinge_loss, nn.bce_with_logits, nn.cross_entropy])
def test_empty_input_is_refused(loss):
    with pytest.raises(ValueError, match="got no predictions"):
        loss([], [])


def test_a_non_numeric_prediction_is_named():
    with pytest.raises(TypeError, match=r"mse_loss: prediction 1 must be a number or a Value, got str 'x'"):
        nn.mse_loss([1.0, "x"], [1.0, 2.0])
