"""Cross-check against PyTorch in float64: every operation, kinks, seeds and random expression DAGs.

Skipped when torch is not installed.
"""

import math

import pytest
from hypothesis import given, note, reject
from hypothesis import strategies as st
from strategies import OPERATIONS, Expression, Operation, examples, expressions_with_inputs

from engine import Value

torch = pytest.importorskip("torch")

CLOSE = dict(rel=1e-9, abs=1e-12)


def tensors(point: list[float]) -> list:
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]


def torch_grad(t) -> float:
    """A leaf tensor's gradient as a float (None, for an unused leaf, is 0)."""
    return 0.0 if t.grad is None else t.grad.item()


def same(ours: float, theirs: float) -> bool:
    if math.isnan(theirs):
        return math.isnan(ours)
    return ours == pytest.approx(theirs, **CLOSE)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.name for op in OPERATIONS])
@examples(30)
@given(data=st.data())
def test_every_operation_matches_pytorch(operation: Operation, data):
    point = list(data.draw(operation.domain, label="point"))
    ours = [Value(x) for x in point]
    theirs = tensors(point)
    out, expected = operation.apply(*ours), operation.apply(*theirs)
    assert same(out.data, expected.item())
    out.backward()
    expected.backward()
    for v, t in zip(ours, theirs, strict=True):
        assert same(v.grad, torch_grad(t))


DEFINED_AT_ZERO = [op for op in OPERATIONS if op.arity == 1 and op.name not in ("log", "3 / a", "a ** -1", "a ** -2")]


@pytest.mark.parametrize("operation", DEFINED_AT_ZERO, ids=[op.name for op in DEFINED_AT_ZERO])
@pytest.mark.parametrize("x", [0.0, -0.0])
def test_every_unary_operation_at_zero_matches_pytorch(operation: Operation, x):
    """Kinks (relu, abs, leaky_relu) and the edges of sqrt and powers, exactly where PyTorch defines them."""
    a = Value(x)
    t = tensors([x])[0]
    out, expected = operation.apply(a), operation.apply(t)
    assert same(out.data, expected.item())
    out.backward()
    expected.backward()
    ours, theirs = a.grad, torch_grad(t)
    if math.copysign(1.0, x) < 0 and math.isinf(theirs):
        # sqrt'(-0.0): PyTorch's 1 / (2 * sqrt(-0.0)) is -inf by the sign of zero; ours is +inf, as at +0.0
        ours, theirs = abs(ours), abs(theirs)
    assert same(ours, theirs), f"at {x!r}: ours {a.grad!r}, PyTorch {torch_grad(t)!r}"


def test_value_exponent_edges_match_pytorch():
    cases = [(0.0, 2.0), (0.0, 0.5), (0.0, 0.0), (-2.0, 3.0), (-2.0, -2.0), (2.0, 0.0)]
    for base, exponent in cases:
        a, b = Value(base), Value(exponent)
        ta, tb = tensors([base, exponent])
        (a**b).backward()
        (ta**tb).backward()
        assert same(a.grad, torch_grad(ta)), (base, exponent, "d/da")
        assert same(b.grad, torch_grad(tb)), (base, exponent, "d/db")


@examples(60)
@given(x=st.floats(-3.0, 3.0), seed=st.floats(-5.0, 5.0))
def test_seed_matches_pytorch(x, seed):
    a, t = Value(x), tensors([x])[0]
    (a.tanh() * a).backward(grad=seed)
    (t.tanh() * t).backward(torch.tensor(seed, dtype=torch.float64))
    assert same(a.grad, torch_grad(t))


def check_dag(expression: Expression, point: list[float]) -> None:
    note(str(expression))
    ours = [Value(x) for x in point]
    try:
        out, nodes = expression.build(ours)
    except OverflowError:
        reject()
    if any(op in ("sin", "cos") and abs(nodes[args[0]].data) > 1e6 for op, args in expression.steps):
        # sin and cos of a large number turn the last-bit differences between two exp or pow
        # implementations into relative differences above 1e-8 (and, past 1e15, into any answer)
        reject()
    theirs = tensors(point)
    expected, _ = expression.build(theirs)
    assert same(out.data, expected.item())
    out.backward()
    expected.backward()
    for v, t in zip(ours, theirs, strict=True):
        g = torch_grad(t)
        if math.isinf(g) or abs(g) > 1e300:
            reject()  # both overflowed somewhere inside: nothing to compare
        scale = max(1.0, abs(out.data))
        assert v.grad == pytest.approx(g, rel=1e-8, abs=1e-10 * scale), f"ours {v.grad!r}, PyTorch {g!r}"


@examples(200)
@given(case=expressions_with_inputs())
def test_random_dags_match_pytorch(case):
    check_dag(*case)


@examples(50)
@given(case=expressions_with_inputs(max_inputs=2, max_steps=30))
def test_deeper_dags_match_pytorch(case):
    check_dag(*case)


def test_backward_twice_matches_pytorch_retain_graph():
    a, b = Value(1.5), Value(-0.5)
    ta, tb = tensors([1.5, -0.5])
    y = (a * b).sigmoid() + a * a
    ty = (ta * tb).sigmoid() + ta * ta
    y.backward()
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    assert same(a.grad, ta.grad.item()) and same(b.grad, tb.grad.item())
