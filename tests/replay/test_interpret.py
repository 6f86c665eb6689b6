"""The plain interpreter of a plan: backward()'s numbers itself, and the reference that catches a changed line.

tests/conftest.py holds every replay the tests make to the interpreter (plan_reference.py);
here the interpreter is held to backward(), and a replay with one generated line changed is shown
to be caught.
"""

import dataclasses
import math
import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from plan_reference import checked_against_the_interpreter
from strategies import examples, expressions, reals

import engine
import engine.replay.pieces as pieces
from engine import Value
from engine.core.graph import topological_order
from engine.replay.interpret import interpret
from engine.replay.kernels import Kernel, compile_code
from engine.replay.plan import Plan
from engine.replay.play import replay
from engine.replay.steps import BackwardGroup, StraightRun


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


@examples(60)
@given(
    expression=expressions(max_inputs=3, max_steps=12),
    copies=st.integers(1, 4),
    point=st.lists(reals(-2.0, 2.0), min_size=12, max_size=12),
    small_pieces=st.booleans(),
)
def test_the_interpreter_gives_backwards_numbers(expression, copies, point, small_pieces):
    """A random DAG on several copies of its inputs (sharing the first), summed: the interpreter of
    its plan gives backward()'s loss and every leaf's gradient, to the bit (no generated code runs)."""
    shared = Value(point[0])
    rows = [[Value(x) for x in point[1 : expression.n_inputs]] for _ in range(copies)]
    saved = pieces.MIN_NODES
    pieces.MIN_NODES = 2 if small_pieces else saved
    try:
        try:
            outs = [expression.build([shared, *row])[0] for row in rows]
        except (ValueError, ArithmeticError):
            assume(False)
        loss = outs[0]
        for out in outs[1:]:
            loss = loss + out
        assume(math.isfinite(loss.data))
        plan = Plan.build(loss, [], topological_order(loss))
    finally:
        pieces.MIN_NODES = saved
    leaves = list(plan.leaves)
    for v in leaves:
        v.grad = 0.25  # a gradient to add to
    try:
        want = interpret(plan)
        loss.backward()
    except (ValueError, ArithmeticError):
        return
    assert bits([want.loss]) == bits([loss.data]), expression
    assert sorted(want.grads) == list(range(len(leaves)))
    assert bits([want.grads[i] for i in range(len(leaves))]) == bits([v.grad for v in leaves]), expression


# ---------------------------------------------------------------- the reference catches a changed line


def compiled_plan():
    """A plan with a kernel (two layers on 12 examples), a run of straight-line code (their sum) and
    a group step (a penalty's six squares)."""
    w = [Value(0.5), Value(-0.25), Value(0.75), Value(0.1), Value(-0.3), Value(0.2)]
    xs = [0.1 * i - 0.4 for i in range(12)]

    def fn():
        total = Value(0.0)
        for x in xs:
            h = (w[0] * x + w[1]).tanh()
            total = total + ((h * w[2] + w[3]).tanh() * w[4] + w[5] * x) ** 2
        penalty = [p * p for p in w]
        return total + sum(penalty, Value(0.0)) * 0.01

    step = engine.compile(fn, check_every=0)
    step()
    return step.plan, w


def changed(source: str, function) -> dict:
    """`source`, with its first line that writes a share or a gradient multiplied by 1 + 2**-52, run
    in a copy of `function`'s namespace."""
    lines = source.split("\n")
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("S[", "w0 = ", "g = 0.0 +")))
    lines[at] += " * 1.0000000000000002"
    return compile_code("\n".join(lines), "<a changed line>", dict(function.__globals__))


def mutations(plan):
    """The plan with one generated line changed: in its kernel, its straight-line code, its group step."""
    (batch,) = plan.batches
    namespace = changed(batch.source, batch.backward)
    kernel = Kernel(batch.forward, namespace["backward"], batch.source)
    yield "kernel", dataclasses.replace(plan, batches=(dataclasses.replace(batch, kernel=kernel),))
    runs = [s for s in plan.backward_steps if type(s) is StraightRun]
    assert runs, "no straight-line code in this plan"
    run = runs[0]
    run_ = dataclasses.replace(run, backward=changed(run.source, run.backward)["backward"])
    swap = lambda steps: tuple(run_ if s is run else s for s in steps)  # noqa: E731
    yield "straight-line code", dataclasses.replace(plan, backward_steps=swap(plan.backward_steps))
    groups = [s for s in plan.backward_steps if type(s) is BackwardGroup]
    if groups:
        group = groups[0]
        rule = group.rule
        group_ = dataclasses.replace(group, rule=lambda g, *rest: rule(g * 1.0000000000000002, *rest))
        swap = lambda steps: tuple(group_ if s is group else s for s in steps)  # noqa: E731
        yield "group step", dataclasses.replace(plan, backward_steps=swap(plan.backward_steps))


@pytest.mark.uninterpreted  # the replays are checked here, by hand
def test_a_changed_line_of_generated_code_is_caught_by_the_interpreter():
    plan, w = compiled_plan()
    checked = checked_against_the_interpreter(replay)
    for p in w:
        p.grad = 0.0
    checked(plan)  # the plan as generated matches
    found = []
    for where, mutated in mutations(plan):
        for p in w:
            p.grad = 0.0
        with pytest.raises(AssertionError, match="gradients"):
            checked(mutated)
        found.append(where)
    assert found == ["kernel", "straight-line code", "group step"]
