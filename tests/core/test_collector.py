"""engine.pause_gc and nn's use of it: no automatic collection while a graph is built, the process
left as it was found (collector state, thresholds, frozen objects, also after an exception), and
real reference cycles still collected."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

import engine
from engine import Value, collector, pause_gc
from nn import MLP
from nn.losses import cross_entropy, hinge_loss


class Node:
    """A user object that can sit in a reference cycle and be watched with a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def make_cycle() -> weakref.ref:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def fresh_collector_state(monkeypatch):
    """Each test starts as a fresh process would: nothing seen frozen yet."""
    monkeypatch.setattr(collector, "_frozen", [0])
    monkeypatch.setattr(collector, "_waited", [0])


def state() -> tuple:
    return gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that start while the test runs (automatic or not)."""
    started: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


@pytest.fixture
def low_threshold() -> Iterator[None]:
    """Collections every few allocations, so a build of a few hundred nodes would start many."""
    old = gc.get_threshold()
    gc.set_threshold(5, 2, 2)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def test_pause_gc_turns_automatic_collection_off_inside_and_back_on_after():
    before = state()
    assert before[0], "the test suite runs with the collector on"
    with pause_gc():
        assert not gc.isenabled()
        with pause_gc():  # nested: still off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert state() == before


def test_pause_gc_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with pause_gc():
            pass
        assert not gc.isenabled()
        model = MLP(2, [3, 1], seed=0)
        model([1.0, 2.0])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pause_gc_restores_the_collector_when_the_block_raises():
    before = state()
    with pytest.raises(ZeroDivisionError):
        with pause_gc():
            _ = Value(1.0) / 0.0
    assert state() == before


def test_nn_calls_that_raise_half_way_leave_the_collector_as_found():
    before = state()
    model = MLP(3, [4, 2], seed=0)
    with pytest.raises(TypeError):
        model([1.0, 2.0, "three"])
    with pytest.raises(ValueError):
        cross_entropy([[Value(1.0), Value(2.0)]], [5])
    with pytest.raises(ValueError):
        hinge_loss([Value(1.0)], [0])
    assert state() == before


def test_pause_gc_leaves_user_frozen_objects_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with pause_gc():
            MLP(2, [3, 1], seed=0)([0.5, -0.5])
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_with_a_frozen_heap_the_freeze_count_is_not_walked_on_every_exit(monkeypatch):
    # gc.get_freeze_count() walks every frozen object: a program that froze its heap (as the demos
    # do) would pay that on every model call.
    asked = []
    real = gc.get_freeze_count

    def counting() -> int:
        asked.append(1)
        return real()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    gc.collect()
    gc.freeze()
    try:
        frozen = real()
        assert frozen > 1000
        model = MLP(2, [4, 1], seed=0)
        for i in range(50):
            model([0.1 * i, 0.2])  # about 60 objects each: 3,000 in all, far fewer than are frozen
        assert len(asked) <= 2
        assert real() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_pause_gc_never_leaves_objects_frozen():
    assert gc.get_freeze_count() == 0
    for _ in range(3):
        with pause_gc():
            keep = [Value(float(i)) * 2.0 for i in range(2000)]
        assert gc.get_freeze_count() == 0
    assert len(keep) == 2000


def test_pause_gc_in_two_threads_ends_with_the_collector_on():
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with pause_gc():
                barrier.wait(timeout=10)
                _ = [Value(1.0) + 1.0 for _ in range(100)]
                barrier.wait(timeout=10)
        except BaseException as e:  # pragma: no cover (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gc.isenabled()
    assert collector._open[0] == 0


def test_a_model_call_starts_no_collection_while_it_builds(low_threshold, collections):
    model = MLP(8, [16, 16, 4], seed=0)
    x = [0.1 * i for i in range(8)]
    model(x)
    collections.clear()
    out = model(x)  # about 700 nodes: at a threshold of 5, about 280 collections if unpaused
    assert len(out) == 4
    # the younger generations are collected on entry (generation 1), and at most one full
    # collection may run on exit (the budget); none starts while the graph is built
    assert collections.count(0) == 0
    assert len(collections) <= 2


def test_losses_start_no_collection_while_they_build(low_threshold, collections):
    logits = [[Value(0.1 * (i + j)) for j in range(5)] for i in range(20)]
    collections.clear()
    loss = cross_entropy(logits, [i % 5 for i in range(20)])
    assert loss.data > 0.0
    assert len(collections) <= 2


def test_a_compiled_recording_starts_no_collection_and_leaves_the_collector_as_found(low_threshold, collections):
    w = [Value(0.5), Value(-0.25)]
    made: list = []

    def fn():
        made.append(make_cycle())  # a cycle of the user's, made while the recording runs
        return sum(((w[0] * i + w[1]).tanh() * w[1] for i in range(40)), Value(0.0))

    step = engine.compile(fn)
    collections.clear()
    step()  # the recording: about 200 nodes, and the plan's thousands of objects
    # unpaused, a threshold of 5 starts hundreds of collections; paused, only the few objects
    # made around the recording (the arguments' structure, the result) may start one
    assert len(collections) <= 4, len(collections)
    assert gc.isenabled() and collector._open[0] == 0 and gc.get_freeze_count() == 0
    gc.collect()
    assert made[0]() is None  # the cycle made inside is still found by a full collection
    gc.disable()
    try:
        engine.compile(fn)()
        assert not gc.isenabled()  # a collector the user turned off stays off
    finally:
        gc.enable()


def test_cycles_made_before_a_block_are_not_swept_away_unwalked():
    # Young garbage cycles of the user's, made just before a model call, are collected by the
    # call's entry; only what the block itself made skips the younger generations.
    model = MLP(2, [4, 1], seed=0)
    gc.collect()
    watched = [make_cycle() for _ in range(50)]  # 100 objects: below the threshold, still young
    model([0.5, 0.25])
    assert all(ref() is None for ref in watched), "the cycles made before the model call were not collected"


def test_cycles_made_inside_a_block_are_collected_by_the_next_full_collection():
    with pause_gc():
        watched = [make_cycle() for _ in range(50)]
    assert any(ref() is not None for ref in watched)  # moved, unwalked, to the oldest generation
    gc.collect()
    assert all(ref() is None for ref in watched)


def test_cycles_made_inside_blocks_are_collected_without_an_explicit_collect(monkeypatch):
    # The budget: once blocks have moved that many objects unwalked, an exit collects everything.
    monkeypatch.setattr(collector, "MINIMUM_BUDGET", 1000)
    monkeypatch.setattr(collector, "BUDGET_FACTOR", 0)
    monkeypatch.setattr(collector, "_budget", [0])
    monkeypatch.setattr(collector, "_moved", [0])
    with pause_gc():
        pass  # the first exit collects and sets the budget
    watched = []
    for _ in range(20):
        with pause_gc():
            watched.append(make_cycle())
            _ = [Value(1.0) * 2.0 for _ in range(100)]
    assert all(ref() is None for ref in watched[:10])


def test_a_training_loop_with_nn_collects_user_cycles_as_it_goes(low_threshold):
    model = MLP(2, [4, 1], seed=0)
    watched = []
    loss = None
    for step in range(20):
        watched.append(make_cycle())  # the user's own garbage, made each step
        scores = [model([0.1 * step, 0.2]), model([0.3, -0.1 * step])]
        loss = hinge_loss(scores, [1, -1])
        model.zero_grad()
        loss.backward()
    assert sum(ref() is not None for ref in watched) <= 2


def test_pause_gc_is_exported():
    assert engine.pause_gc is pause_gc
    assert "pause_gc" in engine.__all__
