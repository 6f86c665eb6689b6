"""`@no_grad()` and `@enable_grad()` on generator and async functions behave as PyTorch's do.

The mode applies while the decorated body runs (each time it is resumed), and the caller's
own mode is back between two yields. Each case is run with chainrule and with PyTorch in
float64, and the gradients must agree.
"""

import asyncio

import pytest

import engine
from engine import Value

torch = pytest.importorskip("torch")


class Chainrule:
    no_grad, enable_grad, is_enabled = engine.no_grad, engine.enable_grad, staticmethod(engine.is_grad_enabled)

    @staticmethod
    def leaf(x):
        return Value(x)

    @staticmethod
    def grad_of(loss, w):
        loss.backward()
        return w.grad


class Torch:
    no_grad, enable_grad, is_enabled = torch.no_grad, torch.enable_grad, staticmethod(torch.is_grad_enabled)

    @staticmethod
    def leaf(x):
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    @staticmethod
    def grad_of(loss, w):
        loss.backward()
        return w.grad.item()


def frozen_features(lib):
    """A generator of features meant to be constants: decorated with no_grad."""

    @lib.no_grad()
    def features(w, xs):
        for x in xs:
            yield w * x  # no graph: a constant as far as backward is concerned

    w = lib.leaf(2.1)
    loss = w * 2.0
    for f in features(w, [1.0, 3.0]):
        loss = loss + f * w  # the caller records between yields: d/dw gets f for each
    return lib.grad_of(loss, w)


def recording_inside_no_grad(lib):
    """An enable_grad generator driven from inside a no_grad block still records its body."""

    @lib.enable_grad()
    def terms(w):
        yield w * w
        yield w * 3.0

    w = lib.leaf(0.7)
    with lib.no_grad():
        parts = list(terms(w))
        modes = lib.is_enabled()
    loss = parts[0] + parts[1]
    return lib.grad_of(loss, w), modes


def modes_seen(lib):
    """Which mode the body and the caller see, step by step."""

    @lib.no_grad()
    def body():
        seen = [lib.is_enabled()]
        received = yield seen[-1]
        seen.append((received, lib.is_enabled()))
        yield seen[-1]
        return seen

    gen = body()
    trace = [next(gen), lib.is_enabled()]
    trace.append(gen.send("x"))
    trace.append(lib.is_enabled())
    with pytest.raises(StopIteration) as done:
        next(gen)
    trace.append(done.value.value)
    return trace


def test_no_grad_on_a_generator_keeps_its_results_out_of_the_graph():
    ours, theirs = frozen_features(Chainrule), frozen_features(Torch)
    assert ours == pytest.approx(theirs, rel=1e-15)
    assert ours == pytest.approx(2.0 + 2.1 * 1.0 + 2.1 * 3.0, rel=1e-15)  # 10.4, not 2 + 2 * 2.1 * 4 = 18.8


def test_enable_grad_on_a_generator_records_inside_no_grad():
    ours, theirs = recording_inside_no_grad(Chainrule), recording_inside_no_grad(Torch)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-15) == 2 * 0.7 + 3.0
    assert ours[1] is theirs[1] is False


def test_the_mode_applies_while_the_body_runs_and_the_caller_gets_its_own_back():
    assert modes_seen(Chainrule) == modes_seen(Torch) == [False, True, ("x", False), True, [False, ("x", False)]]


def test_throw_and_close_run_the_body_in_its_mode():
    seen = []

    @engine.no_grad()
    def body():
        try:
            yield 1
        except KeyError:
            seen.append(("caught", engine.is_grad_enabled()))
            yield 2
        finally:
            seen.append(("finally", engine.is_grad_enabled()))

    gen = body()
    next(gen)
    assert gen.throw(KeyError("k")) == 2
    assert engine.is_grad_enabled()
    gen.close()
    assert engine.is_grad_enabled()
    assert seen == [("caught", False), ("finally", False)]


def test_a_decorated_generator_keeps_its_name_and_return_value():
    @engine.no_grad()
    def numbers():
        """Doc."""
        yield 1
        return "done"

    def drive():
        return (yield from numbers())

    assert numbers.__name__ == "numbers" and numbers.__doc__ == "Doc."
    gen = drive()
    assert next(gen) == 1
    with pytest.raises(StopIteration) as done:
        next(gen)
    assert done.value.value == "done"


def test_no_grad_on_an_async_function_applies_to_its_body_only():
    w = Value(1.5)
    seen = []

    @engine.no_grad()
    async def frozen():
        await asyncio.sleep(0)
        seen.append(engine.is_grad_enabled())
        return w * 2.0

    async def other():
        await asyncio.sleep(0)
        seen.append(engine.is_grad_enabled())  # another task on the same thread: recording
        return w * 3.0

    async def main():
        return await asyncio.gather(frozen(), other())

    a, b = asyncio.run(main())
    assert sorted(seen) == [False, True]
    assert a.is_leaf() and not b.is_leaf()
    assert engine.is_grad_enabled()
