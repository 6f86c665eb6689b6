"""detect_anomaly(): a NaN or infinite gradient raises an error naming the operation and its line."""

import inspect
import math

import pytest

import engine
from engine import Value


def here() -> str:
    """'this file:the caller's next line', the place the next statement's nodes are made."""
    return f"{__file__}:{inspect.currentframe().f_back.f_lineno + 1}"


def test_an_infinite_gradient_names_the_operation_and_its_line():
    with engine.detect_anomaly():
        x = Value(0.0)
        where = here()
        root = x.sqrt()  # the slope of sqrt at 0 is infinite
        y = root * 2.0 + 1.0
        with pytest.raises(FloatingPointError) as caught:
            y.backward()
    message = str(caught.value)
    assert "'sqrt'" in message
    assert f"{where}: root = x.sqrt()" in message
    assert "gradient inf to its input 0 (data=0.0" in message


def test_a_nan_gradient_names_the_operation_that_made_it():
    with engine.detect_anomaly():
        x = Value(0.0, label="x")
        where = here()
        r = x.sqrt()
        y = r * 0.0  # 0 * inf = nan arrives at x through sqrt
        with pytest.raises(FloatingPointError, match=rf"'sqrt' created at {where}.*gradient nan"):
            y.backward()


def make_root_of(x):
    return x.sqrt()  # a line inside a helper function of the user's


def test_a_node_made_in_a_helper_points_into_the_helper():
    line = inspect.getsourcelines(make_root_of)[1] + 1
    with engine.detect_anomaly():
        y = make_root_of(Value(0.0)) + 1.0
        with pytest.raises(FloatingPointError, match=rf"{__file__}:{line}: return x.sqrt\(\)"):
            y.backward()


def test_a_labelled_node_is_named_by_its_label_too():
    with engine.detect_anomaly():
        r = Value(0.0).sqrt()
        r.label = "root"
        with pytest.raises(FloatingPointError, match="'sqrt' 'root' created at"):
            (r + 1.0).backward()


def test_without_anomaly_mode_the_infinite_gradient_goes_through_silently():
    x = Value(0.0)
    r = x.sqrt()
    (r * 2.0).backward()
    assert x.grad == math.inf
    assert r._origin is None  # nothing was recorded, nothing paid for


def test_a_backward_pass_outside_the_block_does_not_check():
    # As in PyTorch, the backward pass must run inside detect_anomaly() to be checked.
    with engine.detect_anomaly():
        x = Value(0.0)
        y = x.sqrt() + 1.0
    y.backward()
    assert x.grad == math.inf


def test_nodes_made_outside_are_reported_with_how_to_learn_their_line():
    x = Value(0.0)
    y = x.sqrt() + 1.0
    with engine.detect_anomaly(), pytest.raises(FloatingPointError, match=r"'sqrt' \(to learn which line made it"):
        y.backward()


def test_finite_gradients_pass_and_match_the_normal_pass():
    def build():
        a, b = Value(0.5), Value(-1.5)
        return a, b, (a * b).tanh() + a.exp() / (b * b)

    a, b, y = build()
    y.backward()
    with engine.detect_anomaly():
        a2, b2, y2 = build()
        y2.backward()
    assert (a2.grad, b2.grad) == (a.grad, b.grad)


def test_the_error_names_the_first_operation_not_every_one_downstream():
    # Only the node whose rule turned a finite gradient into a bad one is blamed.
    with engine.detect_anomaly():
        x = Value(0.0)
        where = here()
        r = x.sqrt()
        y = (r + 1.0).tanh() * 3.0
        with pytest.raises(FloatingPointError, match=rf"'sqrt' created at {where}"):
            y.backward()


def test_a_bad_seed_and_a_hook_that_makes_a_nan_are_caught():
    with engine.detect_anomaly():
        x = Value(1.0)
        y = x * 2.0
        with pytest.raises(FloatingPointError, match="seed gradient is nan"):
            y.backward(math.nan)
        with y.register_hook(lambda g: g * math.nan), pytest.raises(FloatingPointError, match="a hook on '\\*'"):
            y.backward()


def test_anomaly_mode_checks_create_graph_and_engine_grad():
    with engine.detect_anomaly():
        x = Value(0.0)
        where = here()
        r = x**0.5
        with pytest.raises(FloatingPointError, match=rf"'\*\*0.5' created at {where}"):
            (r * 1.0).backward(create_graph=True)
        with pytest.raises(FloatingPointError, match=rf"grad: backward of '\*\*0.5' created at {where}"):
            engine.grad(r * 1.0, x)


def test_detect_anomaly_works_as_a_decorator_and_restores_the_mode():
    @engine.detect_anomaly()
    def inside():
        assert engine.is_anomaly_enabled()
        return Value(1.0) * 2.0

    y = inside()
    assert y._origin is not None and "return Value(1.0) * 2.0" in y._origin
    assert not engine.is_anomaly_enabled()
    assert (Value(1.0) * 2.0)._origin is None


def test_a_recursive_detect_anomaly_function_switches_the_mode_off_on_the_way_out():
    @engine.detect_anomaly()
    def depth(n):
        assert engine.is_anomaly_enabled()
        return Value(1.0) if n == 0 else depth(n - 1) * 2.0

    assert depth(2).data == 4.0
    assert not engine.is_anomaly_enabled()
    assert (Value(1.0) * 2.0)._origin is None


def test_finite_gradients_that_add_up_to_inf_where_paths_meet_are_caught():
    # Each path gives u a finite gradient 1.5e308; their sum is inf, while every value stays finite.
    with engine.detect_anomaly():
        u = Value(1e-10, label="u")
        where = here()
        p = u * 1.5e308
        q = u * 1.5e308
        out = p + q
        assert math.isfinite(out.data)
        expected = rf"adding the gradient 1\.5e\+308 from '\*' created at {where}: p = u \* 1\.5e308 to the 1\.5e\+308"
        with pytest.raises(FloatingPointError, match=rf"^backward: {expected} its input 0 \(data=1e-10\) .*gives inf"):
            out.backward()
        with pytest.raises(OverflowError, match=r"^\+: "):  # Value gradients: their own + overflows
            out.backward(create_graph=True)
        with pytest.raises(FloatingPointError, match=rf"^grad: {expected}"):
            engine.grad(out, u)
    out.backward()  # without anomaly mode the sum goes through
    assert u.grad == math.inf
