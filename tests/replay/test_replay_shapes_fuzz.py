"""A differential fuzzer of user-code shapes for engine.compile: where fn's outside data lives,
and what fn does besides returning a loss.

Each program's loss reads numbers from one to three places of the kinds a user's code has:
a property, a descriptor, a base class attribute, a static method, a class method, closures of
closures (a cell changed in place, a cell rebound by `nonlocal`), a set of examples to skip, a dict
view, a dataclass, a functools.partial, a generator and another module; it may call a helper
that writes the parameters' `.grad` (zero them, set them to None, scale them) or clips their
`.data`; it takes its numbers as arguments and uses them as `Value(x)`, as an operand, through
arithmetic on numbers, or in a branch. Between calls the program changes the data of a random
place, and takes an SGD step.

Every compiled call must give the uncompiled call's loss and every gradient to the bit (a
CompileWarning is allowed: the call then runs uncompiled, or is recorded again). A short run is
part of the suite; a long hunt, by hand:

    CHAINRULE_FUZZ=long python -m pytest -q tests/replay/test_replay_shapes_fuzz.py
"""

import dataclasses
import functools
import os
import struct
import sys
import types
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import CompileWarning, Value

LONG = os.environ.get("CHAINRULE_FUZZ") == "long"
FUZZ = settings(max_examples=3000 if LONG else 40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- the places data lives

STORE = {"v": 1.0}


class WithProperty:
    @property
    def k(self):
        return STORE["v"]


BOX = [1.0]


class Box:
    def __get__(self, obj, cls=None):
        return BOX[0]


class WithDescriptor:
    k = Box()


class Base:
    scale = 1.0


class Child(Base):
    pass


STATIC = [1.0]


class Statics:
    @staticmethod
    def get():
        return STATIC[0]


class Klass:
    factor = 1.0

    @classmethod
    def get(cls):
        return cls.factor


class SubKlass(Klass):
    pass


def _outer():
    cell = [1.0]
    value = 1.0

    def mid():
        def inner():
            return cell[0]

        return inner

    def rebound():
        return value

    def rebind(x):
        nonlocal value
        value = x

    return mid, cell, rebound, rebind


MID, CELL, REBOUND, REBIND = _outer()
SKIP: set = set()
WEIGHTS = {"a": 1.0, "b": 0.5}


@dataclasses.dataclass
class Config:
    scale: float = 1.0


CONFIG = Config()
PBOX = [1.0]


def _boxed(box, extra):
    return box[0] * extra


PARTIAL = functools.partial(_boxed, PBOX)
GLIST = [1.0, 0.25]


def _generated():
    yield from GLIST


OTHER = types.ModuleType("chainrule_shapes_other")
exec("VALUE = 1.0\ndef get():\n    return VALUE\n", OTHER.__dict__)
sys.modules[OTHER.__name__] = OTHER
HOLDER, DESCRIBED, CHILD = WithProperty(), WithDescriptor(), Child()

# (read it, change it): each read is a function of this module, as a user's helper would be
PLACES = {
    "property": (lambda: HOLDER.k, lambda x: STORE.__setitem__("v", x)),
    "descriptor": (lambda: DESCRIBED.k, lambda x: BOX.__setitem__(0, x)),
    "base class": (lambda: CHILD.scale, lambda x: setattr(Base, "scale", x)),
    "static method": (lambda: Statics.get(), lambda x: STATIC.__setitem__(0, x)),
    "class method": (lambda: SubKlass.get(), lambda x: setattr(Klass, "factor", x)),
    "closure of closure": (lambda: MID()(), lambda x: CELL.__setitem__(0, x)),
    "nonlocal": (lambda: REBOUND(), REBIND),
    "set": (lambda: 2.0 if 1 in SKIP else 1.0, lambda x: SKIP.add(1) if x > 1.0 else SKIP.discard(1)),
    "dict view": (lambda: sum(WEIGHTS.values()), lambda x: WEIGHTS.__setitem__("a", x)),
    "dataclass": (lambda: CONFIG.scale, lambda x: setattr(CONFIG, "scale", x)),
    "partial": (lambda: PARTIAL(1.0), lambda x: PBOX.__setitem__(0, x)),
    "generator": (lambda: sum(_generated()), lambda x: GLIST.__setitem__(0, x)),
    "other module": (lambda: OTHER.get(), lambda x: setattr(OTHER, "VALUE", x)),
}


def reset():
    for _, change in PLACES.values():
        change(1.0)
    WEIGHTS["b"] = 0.5
    GLIST[1] = 0.25


# ---------------------------------------------------------------- what fn does besides


def zero(params):
    for p in params:
        p.grad = 0.0


def to_none(params):
    for p in params:
        p.grad = None


def halve(params):
    for p in params:
        p.grad *= 0.5


def clip(params):
    for p in params:
        p.data = max(min(p.data, 0.5), -0.5)


HELPERS = {"zero": zero, "none": to_none, "halve": halve, "clip": clip}

# ---------------------------------------------------------------- programs


def build(prog):
    params = [Value(v) for v in prog["params"]]
    reads = [PLACES[name][0] for name in prog["places"]]
    helper = HELPERS.get(prog["helper"])
    use = prog["use"]

    def fn(xs):
        if helper is not None:
            helper(params)
        scale = 1.0
        for read in reads:
            scale = scale * read()
        total = Value(0.0)
        for i, x in enumerate(xs):
            p = params[i % len(params)]
            if use == "Value(x)":  # a number passed in, as micrograd's demo takes it
                v = p * Value(x)
            elif use == "operand":
                v = p * x
            elif use == "arithmetic":
                v = p * Value(x * 2.0 - 0.5) + abs(x) / 4.0
            else:  # a branch on the number
                v = p * Value(x) if x > 0.25 else p * Value(round(x, 1))
            total = total + (v * scale).tanh() + p * p * 0.01
        return total

    return fn, params


def bits(x):
    return struct.pack("<d", x) if type(x) is float else repr(x)


value = st.sampled_from([0.5, 1.0, 1.5, 2.0, -1.0, 0.0, -0.0, 3.0])
programs = st.fixed_dictionaries(
    {
        "params": st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=1, max_size=3),
        "places": st.lists(st.sampled_from(sorted(PLACES)), min_size=1, max_size=3),
        "helper": st.sampled_from(["", "", "zero", "none", "halve", "clip"]),
        "use": st.sampled_from(["Value(x)", "operand", "arithmetic", "branch"]),
        "calls": st.lists(
            st.tuples(
                st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=2, max_size=2),
                st.one_of(st.none(), st.tuples(st.sampled_from(sorted(PLACES)), value)),
            ),
            min_size=2,
            max_size=12,
        ),
    }
)


@FUZZ
@given(programs)
def test_compiled_calls_equal_uncompiled_calls_whatever_shape_fn_has(prog):
    reset()
    try:
        fn_c, params_c = build(prog)
        fn_u, params_u = build(prog)
        step = engine.compile(fn_c, check_every=prog["calls"][0][0][0] > 0 and 1000 or 7)
        for k, (xs, change) in enumerate(prog["calls"]):
            if change is not None:
                PLACES[change[0]][1](change[1])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CompileWarning)
                got = step(xs)
            loss = fn_u(xs)
            loss.backward()
            assert bits(got) == bits(loss.data), (k, got, loss.data)
            assert [bits(p.grad) for p in params_c] == [bits(p.grad) for p in params_u], k
            for ps in (params_c, params_u):  # an SGD step, the same in both
                for p in ps:
                    if p.grad is not None:
                        p.data = p.data - 0.1 * p.grad
    finally:
        reset()
