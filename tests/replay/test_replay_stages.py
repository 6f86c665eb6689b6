"""The stages of a compiled call (engine/replay/run.py dispatches): every way to the uncompiled path
goes through one exception and one function, and every warning names the caller's line."""

import math
import warnings

import pytest

import engine
import engine.replay.uncompiled as way_out
from engine import CompileWarning, Value
from engine.replay.errors import Uncompiled


def caught_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, CompileWarning)]


def test_every_compile_warning_names_the_line_that_called():
    w = Value(0.5)
    table = {"scale": 1.0}

    def reads_a_number(x):
        y = x * w
        return y * 2.0 if y.data > 0 else y * 3.0  # a choice made on a number: a read, guarded

    def reads_outside(x):
        return (x * w).tanh() * table["scale"]

    def writes_data(x):
        w.data = 0.5  # a write a replay cannot make again: fn runs uncompiled
        return x * w

    for fn, first, second, change in [
        (reads_a_number, 1.0, -1.0, None),
        (reads_outside, 1.0, 1.0, lambda: table.update(scale=2.0)),
        (writes_data, 1.0, 1.0, None),
    ]:
        step = engine.compile(fn, check_every=0)
        here = caught_warnings(lambda: step(Value(first)))  # noqa: B023
        if change is not None:
            change()
        here += caught_warnings(lambda: step(Value(second)))  # noqa: B023
        assert here, fn.__name__
        assert {w.filename for w in here} == {__file__}, (fn.__name__, [(w.filename, str(w.message)) for w in here])


def test_every_way_out_is_one_exception_taken_by_one_function(monkeypatch):
    taken = []
    fall_back = way_out.fall_back

    def counting(fn, args, why):
        assert isinstance(why, Uncompiled) and why.reason
        taken.append(why.reason)
        return fall_back(fn, args, why)

    monkeypatch.setattr(way_out, "fall_back", counting)
    w = Value(0.5)

    def fn(x):
        y = (x * w).exp()
        return y * 2.0 if y > 1.0 else y  # a comparison: guarded as what it gave

    step = engine.compile(fn, check_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        step(Value(1.0))  # recorded
        step(Value(1.5))  # replayed
        assert not taken
        step(Value(-1.0))  # the read y.data > 1.0 would now read False
        assert len(taken) == 1 and ">" in taken[0]
        with pytest.raises(OverflowError):
            step(Value(1e6))  # exp overflows in the replay: uncompiled, which raises the engine's error
        assert len(taken) == 2
        step(Value(math.inf))  # a leaf that is not finite
        assert len(taken) == 3
