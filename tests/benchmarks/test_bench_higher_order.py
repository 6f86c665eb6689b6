"""benchmarks.higher_order compares like with like: its reference loop is backward() on floats."""

import pytest
from hypothesis import given
from strategies import build_or_reject, examples, expressions_with_inputs

from benchmarks import higher_order
from engine import Value

pytestmark = pytest.mark.usefixtures("settled_heap")  # the benchmarks collect garbage often: see conftest


@given(case=expressions_with_inputs())
@examples(100)
def test_the_reference_loop_gives_every_node_the_gradient_backward_gives(case):
    expression, point = case
    real_out, real_nodes = build_or_reject(expression, [Value(x) for x in point])
    ref_out, ref_nodes = build_or_reject(expression, [Value(x) for x in point])
    for _ in range(2):  # twice: non-leaf grads reset, leaf grads accumulate, in both
        real_out.backward(0.5)
        higher_order.reference_backward(ref_out, 0.5)
        assert [n.grad for n in ref_nodes] == [n.grad for n in real_nodes]


def test_the_benchmark_runs_restores_backward_and_reports_the_ratio():
    backward = Value.backward
    result = higher_order.measure(rounds=2, points=6, warmup=1)
    assert Value.backward is backward
    assert set(result["step"]) == set(result["backward"]) == {"real run_backward", "reference loop"}
    assert result["backward_ratio"] == pytest.approx(
        result["backward"]["real run_backward"] / result["backward"]["reference loop"]
    )
    text = higher_order.report(result)
    assert "ratio real / ref" in text and "limit" in text


def test_a_backward_that_disagrees_is_caught(monkeypatch):
    right = higher_order.reference_backward

    def wrong(root, grad=1.0):
        right(root, 2.0 * grad)

    monkeypatch.setattr(higher_order, "reference_backward", wrong)
    backward = Value.backward
    with pytest.raises(AssertionError, match="disagree"):
        higher_order.measure(rounds=2, points=6, warmup=0)  # a wrong step shows in the next loss
    assert Value.backward is backward
