"""Gradient hooks: they see the gradient flowing into a node, may replace it, and can be removed."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build_or_reject, examples, expressions, reals

import engine
from engine import Value
from engine.core.hooks import live_hooks


@pytest.fixture(autouse=True)
def no_hook_left_behind():
    before = live_hooks[0]
    yield
    assert live_hooks[0] == before, "a test left a hook registered: the fast path would be lost"


def test_a_leaf_hook_sees_the_gradient_of_the_pass():
    x = Value(3.0)
    seen = []
    handle = x.register_hook(seen.append)
    (x * x).backward()
    assert seen == [6.0] and x.grad == 6.0
    handle.remove()


def test_an_intermediate_hook_sees_the_total_gradient_flowing_into_it():
    x = Value(0.5)
    h = x * 2.0
    y = h * h + h.tanh()  # dy/dh = 2h + 1 - tanh(h)^2
    seen = []
    with h.register_hook(seen.append):
        y.backward()
    assert seen == [pytest.approx(2 * 1.0 + 1 - math.tanh(1.0) ** 2, rel=1e-15)]


def clip(limit):
    return lambda g: max(-limit, min(limit, g))


def test_a_hook_can_clip_a_gradient_and_the_clipped_value_flows_on():
    x = Value(2.0)
    h = x**3  # dh/dx = 12
    y = h * 10.0  # dy/dh = 10, clipped to 1
    with h.register_hook(clip(1.0)):
        y.backward()
    assert h.grad == 1.0
    assert x.grad == 12.0  # the upstream leaf received 1 * 12, not 10 * 12


def test_a_hook_on_a_leaf_can_clip_its_gradient():
    w = Value(4.0)
    with w.register_hook(clip(0.5)):
        (w * w).backward()
    assert w.grad == 0.5


def test_hooks_run_in_the_order_they_were_added_and_none_keeps_the_gradient():
    x = Value(1.0)
    calls = []
    handles = [
        x.register_hook(lambda g: calls.append(("first", g))),
        x.register_hook(lambda g: calls.append(("double", g)) or g * 2),
        x.register_hook(lambda g: calls.append(("last", g))),
    ]
    (x * 5.0).backward()
    assert calls == [("first", 5.0), ("double", 5.0), ("last", 10.0)]
    assert x.grad == 10.0
    for handle in handles:
        handle.remove()


def test_a_removed_hook_no_longer_runs_and_removing_twice_is_harmless():
    x = Value(1.0)
    calls = []
    handle = x.register_hook(lambda g: calls.append(g) or 0.0)
    handle.remove()
    handle.remove()
    (x * 5.0).backward()
    assert calls == [] and x.grad == 5.0
    assert x._hooks is None


def test_a_hook_may_remove_itself_while_it_runs():
    x = Value(1.0)
    calls = []

    def once(g):
        calls.append(g)
        handle.remove()

    handle = x.register_hook(once)
    (x * 2.0).backward()
    (x * 2.0).backward()
    assert calls == [2.0]
    assert x.grad == 4.0


@given(expressions(max_inputs=3, max_steps=8), st.lists(reals(-2.0, 2.0), min_size=3, max_size=3))
@examples(30)
def test_a_hooked_leaf_accumulates_across_two_passes_exactly_like_an_unhooked_one(expression, point):
    point = point[: expression.n_inputs]
    plain = [Value(x) for x in point]
    hooked = [Value(x) for x in point]
    seen = [[] for _ in hooked]
    handles = [x.register_hook(seen[i].append) for i, x in enumerate(hooked)]
    for _ in range(2):
        build_or_reject(expression, plain)[0].backward()
        build_or_reject(expression, hooked)[0].backward()
    for handle in handles:
        handle.remove()
    # Each hook call saw one pass's total for its leaf, and the leaf kept the sum of the two passes.
    # Without a hook the shares are added one by one, so the two may differ in the last bit only.
    for x, y, calls in zip(hooked, plain, seen, strict=True):
        first, second = calls
        assert x.grad == 0.0 + first + second
        assert first == second  # the same graph twice: the same gradient twice
        assert x.grad == pytest.approx(y.grad, rel=1e-14, abs=1e-14)


def test_a_hook_sees_only_this_pass_even_when_the_leaf_already_had_a_gradient():
    x = Value(2.0)
    x.grad = 100.0
    seen = []
    with x.register_hook(lambda g: seen.append(g) or g * 0.5):
        (x * 3.0).backward()
    assert seen == [3.0]
    assert x.grad == 101.5  # the old gradient plus the hook's replacement


def test_hooks_see_value_gradients_under_create_graph():
    x = Value(1.5)
    seen = []
    with x.register_hook(lambda g: seen.append(type(g)) or g * 2):
        (x**3).backward(create_graph=True)
    assert seen == [Value]
    assert x.grad.data == 2 * 3 * 1.5**2


def test_hooks_run_under_engine_grad_but_grad_still_leaves_dot_grad_alone():
    x = Value(2.0)
    h = x * x
    with h.register_hook(clip(0.25)):
        (gx,) = engine.grad(h * 3.0, x)
    assert gx == 0.25 * 4.0
    assert x.grad == 0.0 and h.grad == 0.0


def test_the_fast_path_returns_once_every_hook_is_removed():
    x = Value(1.0)
    before = live_hooks[0]
    handle = x.register_hook(lambda g: None)
    assert live_hooks[0] == before + 1
    handle.remove()
    assert live_hooks[0] == before


def test_register_hook_refuses_a_non_function():
    with pytest.raises(TypeError, match="register_hook: expected a function"):
        Value(1.0).register_hook(3.0)


def test_a_label_and_a_hook_set_from_two_threads_at_once_both_stay():
    """A node keeps its label and hooks in one record; setting both at once from two threads must
    lose neither (a lost hook would silently leave a gradient unchanged)."""
    import sys
    import threading

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to meet the race
    failures = []
    handles = []
    try:
        for _ in range(200):
            v = Value(1.0)
            start = threading.Barrier(2)

            def labels(v=v, start=start):
                start.wait()
                for i in range(300):
                    v.label = f"x{i}"

            def hooks(v=v, start=start):
                start.wait()
                try:
                    for _ in range(300):
                        handles.append(v.register_hook(lambda g: g))
                except Exception as error:  # noqa: BLE001 (reported below)
                    failures.append(repr(error))

            threads = [threading.Thread(target=labels), threading.Thread(target=hooks)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if len(v._hooks or {}) != 300 or v.label != "x299":
                failures.append(f"{len(v._hooks or {})} hooks, label {v.label!r}")
    finally:
        sys.setswitchinterval(interval)
        for handle in handles:
            handle.remove()
    assert not failures, failures[:5]
