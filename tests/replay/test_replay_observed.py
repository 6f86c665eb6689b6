"""engine.compile guards what fn actually ran and did: data behind properties, base classes,
static and class methods and sets; writes to leaves' `.grad` inside fn; verification calls that
compare gradients and run fn as the caller would; numbers passed as arguments that stay numbers.

Each test runs a compiled function and its uncompiled twin side by side (two models built from
the same seed) and compares the loss and every gradient to the bit, call after call.
"""

import struct
import warnings

import engine
import nn
from engine import CompileWarning, Value


def bits(x):
    return struct.pack("<d", x) if isinstance(x, float) else repr(x)


def twins(build, calls, change=None, args=None):
    """Call build()'s compiled fn and its uncompiled twin `calls` times; change(k) between calls.

    build() -> (fn, params). Returns the calls' (loss, grads) pairs, compiled and uncompiled."""
    fn_c, params_c = build()
    fn_u, params_u = build()
    step = engine.compile(fn_c)
    got, want = [], []
    for k in range(calls):
        if change is not None:
            change(k)
        a = args(k) if args is not None else ()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            loss_c = step(*a)
        loss_c = loss_c[0] if isinstance(loss_c, tuple) else loss_c
        out = fn_u(*a)
        loss_u = out[0] if isinstance(out, tuple) else out
        loss_u.backward()
        got.append((bits(loss_c), [bits(p.grad) for p in params_c]))
        want.append((bits(loss_u.data), [bits(p.grad) for p in params_u]))
    return got, want


def test_zero_grad_inside_fn_trains_as_uncompiled():
    X, y = nn.make_moons(10, noise=0.1, seed=1)

    def build():
        model = nn.MLP(2, [4, 1], seed=0)

        def loss_fn():
            model.zero_grad()
            return nn.hinge_loss([model(x) for x in X], y)

        return loss_fn, model.parameters()

    got, want = twins(build, 8)
    assert got == want


def test_grad_none_and_grad_written_inside_fn():
    def build():
        w = Value(0.5)

        def loss_fn():
            w.grad = None
            return (w * 3.0).tanh() * (w * 3.0).tanh()

        return loss_fn, [w]

    got, want = twins(build, 6)
    assert got == want


def test_a_gradient_penalty_inside_fn():
    def build():
        w = Value(0.7)

        def loss_fn(x):
            out = (w * x).tanh()
            (g,) = engine.grad(out, [x], create_graph=True)
            return out + (g * g - 1.0) ** 2

        return loss_fn, [w]

    got, want = twins(build, 6, args=lambda k: (Value(0.1 * k + 0.2),))
    assert got == want


def test_grad_scaled_or_data_clipped_inside_fn_runs_uncompiled_loudly():
    def scaled():
        w = Value(0.5)

        def loss_fn():
            w.grad *= 0.5
            return (w * 3.0).tanh()

        return loss_fn, [w]

    def clipped():
        w = Value(0.5)

        def loss_fn():
            w.data = min(max(w.data, -0.4), 0.4)
            return (w * 3.0).tanh()

        return loss_fn, [w]

    for build, line in ((scaled, "w.grad *= 0.5"), (clipped, "w.data = min")):
        fn, _ = build()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine.compile(fn)()
        assert any(line in str(w.message) and "uncompiled" in str(w.message) for w in caught), caught
        got, want = twins(build, 5)
        assert got == want


SCHEDULE = {"w": 1.0}


class Holder:
    @property
    def k(self):
        return SCHEDULE["w"]


def test_data_read_through_a_property():
    holder = Holder()

    def build():
        w = Value(0.5)
        return (lambda: (w * holder.k).tanh()), [w]

    def change(k):
        SCHEDULE["w"] = 1.0 + (k >= 4)

    got, want = twins(build, 8, change)
    assert got == want


class Base:
    scale = 1.0


class Derived(Base):
    pass


def test_data_in_a_base_class():
    d = Derived()

    def build():
        w = Value(0.5)
        return (lambda: (w * d.scale).tanh()), [w]

    def change(k):
        Base.scale = 1.0 + (k >= 4)

    try:
        got, want = twins(build, 8, change)
    finally:
        Base.scale = 1.0
    assert got == want


FACTOR = [1.0]


class Helpers:
    @staticmethod
    def static():
        return FACTOR[0]

    @classmethod
    def klass(cls):
        return FACTOR[0] * 2.0


class MoreHelpers(Helpers):
    pass


def test_globals_read_in_static_class_and_inherited_methods():
    helpers = MoreHelpers()

    def build():
        w = Value(0.5)
        return (lambda: w * helpers.static() + w * MoreHelpers.klass()), [w]

    def change(k):
        FACTOR[0] = 1.0 + k

    try:
        got, want = twins(build, 6, change)
    finally:
        FACTOR[0] = 1.0
    assert got == want


SKIP = {1}


def test_a_module_level_set_changed_in_place():
    def build():
        w = Value(0.5)

        def loss_fn():
            return sum(((w * float(i)).tanh() for i in range(4) if i not in SKIP), Value(0.0))

        return loss_fn, [w]

    def change(k):
        if k == 3:
            SKIP.add(2)

    try:
        got, want = twins(build, 6, change)
    finally:
        SKIP.discard(2)
    assert got == want


def test_a_change_after_call_513_is_not_silent():
    holder = Holder()

    def build():
        w = Value(0.5)
        return (lambda: (w * holder.k).tanh()), [w]

    def change(k):
        SCHEDULE["w"] = 1.0 + (k >= 600)

    try:
        got, want = twins(build, 620, change)
    finally:
        SCHEDULE["w"] = 1.0
    assert got == want


def test_micrograd_loss_with_the_batch_as_arguments():
    X, y = nn.make_moons(12, noise=0.1, seed=2)
    yb_all = [1.0 if t > 0 else -1.0 for t in y]
    Xb_all = [[float(a) for a in row] for row in X]

    def build():
        model = nn.MLP(2, [6, 1], seed=0)

        def loss(Xb, yb):
            inputs = [list(map(Value, xrow)) for xrow in Xb]
            scores = list(map(model, inputs))
            losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]  # noqa: B905 (as micrograd writes it)
            data_loss = sum(losses) * (1.0 / len(losses))
            alpha = 1e-4
            reg_loss = alpha * sum(p * p for p in model.parameters())
            total_loss = data_loss + reg_loss
            accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]  # noqa: B905 (as micrograd writes it)
            return total_loss, sum(accuracy) / len(accuracy)

        return loss, model.parameters()

    def batch(k):
        i = (k * 4) % 12
        return [Xb_all[i : i + 4]], [yb_all[i : i + 4]]

    got, want = twins(build, 10, args=lambda k: (*batch(k)[0], *batch(k)[1]))
    assert got == want


def test_numbers_passed_as_arguments_stay_numbers():
    seen = []

    def fn(x, row):
        seen.append((isinstance(x, float), isinstance(x * 2.0, float), round(x, 3) == round(float(x), 3)))
        w = Value(0.5)
        return w * Value(x) + sum(map(Value, row), Value(0.0)) * (x * 2.0)

    step = engine.compile(fn)
    for k in range(4):
        x, row = 0.25 * k + 0.125, [1.5 * k, -0.5]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            got = step(x, row)
        assert bits(got) == bits(fn(x, row).data)
    assert all(all(s) for s in seen)


def test_micrograd_demo_loss_trains_bit_for_bit_as_uncompiled():
    # demo.ipynb's loss() with its batch passed in, and its optimization loop
    X, y = nn.make_moons(16, noise=0.1, seed=4)
    Xs = [[float(a) for a in row] for row in X]
    ys = [1 if t > 0 else -1 for t in y]

    def train(compiled):
        model = nn.MLP(2, [8, 8, 1], seed=1)

        def loss(Xb, yb):
            inputs = [list(map(Value, xrow)) for xrow in Xb]
            scores = list(map(model, inputs))
            losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]  # noqa: B905
            data_loss = sum(losses) * (1.0 / len(losses))
            reg_loss = 1e-4 * sum(p * p for p in model.parameters())
            accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]  # noqa: B905
            return data_loss + reg_loss, sum(accuracy) / len(accuracy)

        step = engine.compile(loss)
        seen = []
        for k in range(20):
            i = (k * 8) % 16
            Xb, yb = Xs[i : i + 8], ys[i : i + 8]
            if compiled:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", CompileWarning)
                    model.zero_grad()
                    total, acc = step(Xb, yb)
            else:
                out, acc = loss(Xb, yb)
                model.zero_grad()
                out.backward()
                total = out.data
            for p in model.parameters():
                p.data -= (1.0 - 0.9 * k / 20) * p.grad
            seen.append((bits(total), acc))
        return seen, [bits(p.data) for p in model.parameters()]

    assert train(True) == train(False)


def test_what_python_learns_of_a_number_argument_is_guarded():
    # a branch on x.is_integer(), x > 0, round(x) or hash(x): a new number that reads otherwise runs uncompiled
    w = Value(0.5)

    def fn(x, n):
        scale = 2.0 if x.is_integer() else 1.0
        scale += 1.0 if x > 0 else 0.0
        scale += {1: 0.5}.get(round(x), 0.0) + (n.bit_length() * 0.25)
        return (w * Value(x.real * scale) + Value(n)).tanh()

    step = engine.compile(fn)
    for x, n in [(1.5, 3), (2.0, 3), (-0.5, 8), (1.25, 3), (0.75, 1)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            got = step(x, n)
        assert bits(got) == bits(fn(x, n).data), (x, n)


def test_a_grad_written_inside_fn_to_a_parameter_passed_as_an_argument():
    def build():
        w = Value(0.5)

        def fn(p):  # p is w, passed in: the write must reach w
            p.grad = 0.0
            return (w * p * 3.0).tanh()

        return fn, [w]

    fn_c, (w_c,) = build()
    fn_u, (w_u,) = build()
    step = engine.compile(fn_c)
    for _ in range(5):
        got = step(w_c)
        loss = fn_u(w_u)
        loss.backward()
        assert (bits(got), bits(w_c.grad)) == (bits(loss.data), bits(w_u.grad))
