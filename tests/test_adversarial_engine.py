"""The engine under attack: threads, backward passes that fail, NaN/inf/-0.0, huge ints, extreme losses.

Each test here reproduces a way the engine broke its own promises (or a neighbour of one).
"""

from __future__ import annotations

import sys
import threading

import engine
from engine import Value, no_grad
from engine.value import _mode

# ---------------------------------------------------------------- grad mode is per thread


def _run_threads(*targets):
    """Run each target in its own thread; re-raise the first failure in the caller."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 (handed to the main thread)
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def _records() -> bool:
    a = Value(1.0)
    y = a * 2.0
    return not y.is_leaf() and y.parents[0] is a


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            inside.set()
            assert done.wait(10)
            seen["a_leaf"] = (Value(1.0) * 2.0).is_leaf()

    def b():
        assert inside.wait(10)
        w = Value(3.0)
        loss = w * w
        seen["b_enabled"] = engine.is_grad_enabled()
        loss.backward()
        seen["b_grad"] = w.grad
        done.set()

    _run_threads(a, b)
    assert seen == {"a_leaf": True, "b_enabled": True, "b_grad": 6.0}


def test_interleaved_no_grad_blocks_in_two_threads_restore_recording_everywhere():
    # A enters, B enters, A leaves, B leaves: the order that left recording off for good.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            a_in.set()
            assert b_in.wait(10)
        seen["a_after"] = engine.is_grad_enabled() and _records()
        a_out.set()

    def b():
        assert a_in.wait(10)
        with no_grad():
            b_in.set()
            assert a_out.wait(10)
            seen["b_inside"] = engine.is_grad_enabled()
        seen["b_after"] = engine.is_grad_enabled() and _records()

    _run_threads(a, b)
    assert seen == {"a_after": True, "b_inside": False, "b_after": True}
    assert engine.is_grad_enabled() and _records()
    assert _mode[0] == 1  # the fast path is back


def test_enable_grad_in_one_thread_does_not_turn_recording_on_in_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            inside.set()
            assert done.wait(10)
            seen["a_leaf"] = (Value(1.0) + 1.0).is_leaf()
            seen["a_enabled"] = engine.is_grad_enabled()

    def b():
        assert inside.wait(10)
        with no_grad(), engine.enable_grad():
            seen["b_records"] = _records()
        done.set()

    _run_threads(a, b)
    assert seen == {"a_leaf": True, "a_enabled": False, "b_records": True}
    assert _mode[0] == 1


def test_a_new_thread_starts_with_recording_on_even_inside_no_grad():
    seen = {}
    with no_grad():
        _run_threads(lambda: seen.setdefault("records", _records()))
        assert (Value(1.0) * 2.0).is_leaf()
    assert seen == {"records": True}


def test_one_decorated_recursive_function_used_by_two_threads_at_once():
    barrier = threading.Barrier(2)

    @no_grad()
    def depth(n):
        assert not engine.is_grad_enabled()
        if n == 3:
            barrier.wait(10)  # both threads are three levels deep in the same object
        return 0 if n == 0 else 1 + depth(n - 1)

    results = []

    def call():
        results.append(depth(6))
        results.append(engine.is_grad_enabled() and _records())

    _run_threads(call, call)
    assert results == [6, True, 6, True]
    assert _mode[0] == 1


def test_one_no_grad_object_shared_by_two_threads_with_interleaved_blocks():
    switch = no_grad()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.enable_grad():
            with switch:
                a_in.set()
                assert b_in.wait(10)
            seen["a_after"] = engine.is_grad_enabled()
            a_out.set()

    def b():
        assert a_in.wait(10)
        with no_grad():
            with switch:
                b_in.set()
                assert a_out.wait(10)
            seen["b_after"] = engine.is_grad_enabled()  # still inside b's own no_grad()

    _run_threads(a, b)
    assert seen == {"a_after": True, "b_after": False}
    assert engine.is_grad_enabled() and _mode[0] == 1


def test_interleaved_detect_anomaly_blocks_in_two_threads_switch_it_off_at_the_end():
    # Anomaly mode is process-wide, as in PyTorch, but interleaved blocks must not leave it on.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.detect_anomaly():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()

    def b():
        assert a_in.wait(10)
        with engine.detect_anomaly():
            b_in.set()
            assert a_out.wait(10)
            seen["b_inside"] = engine.is_anomaly_enabled()

    _run_threads(a, b)
    assert seen == {"b_inside": True}
    assert not engine.is_anomaly_enabled()
    assert (Value(1.0) * 2.0)._origin is None and _mode[0] == 1


def test_detect_anomaly_is_process_wide_and_no_grad_stays_per_thread_under_it():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.detect_anomaly(), no_grad():
            inside.set()
            assert done.wait(10)

    def b():
        assert inside.wait(10)
        y = Value(2.0) * 3.0
        seen["anomaly"] = engine.is_anomaly_enabled()
        seen["origin"] = y._origin is not None and "Value(2.0) * 3.0" in y._origin
        seen["records"] = not y.is_leaf()
        done.set()

    _run_threads(a, b)
    assert seen == {"anomaly": True, "origin": True, "records": True}
    assert not engine.is_anomaly_enabled() and _mode[0] == 1


def test_training_in_one_thread_while_another_toggles_no_grad_gives_every_step_its_gradient():
    stop = threading.Event()
    wrong = []

    def toggler():
        while not stop.is_set():
            with no_grad():
                Value(1.0) * 2.0

    def trainer():
        try:
            for _ in range(300):
                w = Value(0.5)
                loss = (w * 3.0 - 1.0) ** 2
                loss.backward()
                if w.grad != 2 * (0.5 * 3.0 - 1.0) * 3.0:
                    wrong.append(w.grad)
        finally:
            stop.set()

    _run_threads(toggler, trainer)
    assert wrong == []
    assert _mode[0] == 1


def test_backward_on_separate_graphs_in_threads_with_hooks_added_and_removed():
    # The hook counter decides the fast path: it must not lose counts to a race.
    barrier = threading.Barrier(2)
    grads = {}

    def worker(k):
        def run():
            barrier.wait(10)
            for _ in range(2000):
                x = Value(float(k + 1))
                with x.register_hook(lambda g: g * 2.0):
                    (x * x).backward()
                if x.grad != 4.0 * (k + 1):
                    grads.setdefault(k, x.grad)
            y = Value(1.0)
            y.register_hook(lambda g: g * 10.0)
            (y * 1.0).backward()
            grads.setdefault(f"hooked{k}", y.grad)

        return run

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to give a race its chance
    try:
        _run_threads(worker(0), worker(1))
    finally:
        sys.setswitchinterval(interval)
    assert grads == {"hooked0": 10.0, "hooked1": 10.0}
