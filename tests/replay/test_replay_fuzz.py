"""A differential fuzzer for engine.compile: random small training programs, compiled and not.

Each program has parameters, data passed as arguments (numbers or Values, fresh or kept, some
aliased to each other or to a parameter) and data read from a closure, and a per-example term
built from random operations: arithmetic, activations, leaky_relu with odd slopes, detach(),
no_grad(), constants, and branches on `.data`. The data includes NaN, infinities, huge and tiny
numbers and -0.0. Between calls the program takes optimizer steps, mutates the closure data,
replaces a parameter, makes fresh argument Values, aliases them, sets -0.0 gradients or
changes the number of examples.

Every compiled call must give the uncompiled call's loss and gradients to the bit, or raise
what the uncompiled call raises, or be loud: raise GraphChanged or a ValueError about the
arguments' shape, or warn (CompileWarning) that the replay keeps something it cannot follow.

A short run is part of the suite. A long hunt, by hand:

    CHAINRULE_FUZZ=long python -m pytest -q tests/replay/test_replay_fuzz.py
"""

import collections
import math
import os
import struct
import types
import warnings
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
import engine.replay.pieces as pieces
import engine.replay.straight as straight
import nn
from engine import CompileWarning, GraphChanged, Value
from engine.replay.arguments import as_given

LONG = os.environ.get("CHAINRULE_FUZZ") == "long"
STATS = Counter()  # what the calls did: compared equal, both raised, refused, warned
FUZZ = settings(
    max_examples=3000 if LONG else 60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.0, 1e-300, 1e200, -1e200, 1e308, math.inf, -math.inf, math.nan]
numbers = st.one_of(st.floats(-3.0, 3.0, allow_nan=False), st.sampled_from(ODD))
tame = st.floats(-2.0, 2.0, allow_nan=False)

BINARY = ["+", "-", "*", "/"]
UNARY = ["tanh", "relu", "sigmoid", "exp", "abs", "neg", "log", "sqrt", "sin", "square", "cube"]


def instructions(n_inputs: int):
    """One step of the per-example term: it reads earlier nodes by (wrapped) index."""
    node = st.integers(0, 50)
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(BINARY), node, node),
        st.tuples(st.just("un"), st.sampled_from(UNARY), node),
        st.tuples(st.just("leaky"), st.sampled_from([0.01, 0.0, -0.0, -2.0, math.inf]), node),
        st.tuples(st.just("detach"), node),
        st.tuples(st.just("nograd"), st.sampled_from(BINARY + UNARY), node, node),
        st.tuples(st.just("branch"), node, st.sampled_from(UNARY), st.sampled_from(UNARY)),
        st.tuples(st.just("const"), numbers),
    )


def apply(op, a, b=None):
    if op in BINARY:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b
    if op == "neg":
        return -a
    if op == "square":
        return a**2
    if op == "cube":
        return a**3.0
    if op == "abs":
        return abs(a)
    if type(a) is Value:
        return getattr(a, op)()
    return getattr(engine, op)(a)


def read_data(a):
    """A branch's number: the only place the program reads `.data` (the recording sees it in the code)."""
    return a.data if type(a) is Value else a


def term(program, params, x, extra, decide):
    nodes = [*params, x, extra]
    for ins in program:
        kind = ins[0]
        pick = lambda i: nodes[i % len(nodes)]  # noqa: E731
        if kind == "bin":
            nodes.append(apply(ins[1], pick(ins[2]), pick(ins[3])))
        elif kind == "un":
            nodes.append(apply(ins[1], pick(ins[2])))
        elif kind == "leaky":
            nodes.append(engine.leaky_relu(pick(ins[2]), ins[1]))
        elif kind == "detach":
            a = pick(ins[1])
            nodes.append(a.detach() if type(a) is Value else a)
        elif kind == "nograd":
            with engine.no_grad():
                nodes.append(apply(ins[1], pick(ins[2]), pick(ins[3])))
        elif kind == "branch":
            a = pick(ins[1])
            nodes.append(apply(ins[2] if decide(a) > 0 else ins[3], a))
        else:
            nodes.append(ins[1])
    return nodes[-1]


class World:
    """One copy of the program's state: its parameters, its closure data, its argument Values."""

    def __init__(self, prog, compiled: bool, decide) -> None:
        self.params = [Value(v) for v in prog["params"]]
        self.batch = list(prog["closure"])
        self.kept = [Value(v) for v in prog["args"]]  # argument Values kept from call to call
        program, use_closure = prog["program"], prog["use_closure"]
        world = self
        self.decide = decide  # read_data when the program branches, else None: fn's code then reads no .data

        def fn(xs, extra):
            # a number passed in stays a number: Value(x) makes it a leaf, as in micrograd's demo
            extra = extra if isinstance(extra, Value) else Value(extra)
            total = extra * 0.5
            for x in xs:
                x = x if isinstance(x, Value) else Value(x)
                total = total + term(program, world.params, x, extra, world.decide)
            if use_closure:
                for x in world.batch:
                    total = total + term(program, world.params, x, extra, world.decide)
            return total

        self.fn = fn
        self.step = engine.compile(fn, check_every=prog["check_every"]) if compiled else None


# Functions of a world, not its methods: the recording reads the code of the methods of objects
# that fn reaches, and these read `.data`.


def arguments(w: World, call):
    xs = [w.kept[i % len(w.kept)] if isinstance(i, int) else i[1] for i in call["xs"]]
    alias = call["extra"]
    extra = w.params[0] if alias == "param" else xs[0] if alias == "x0" and xs else w.kept[-1]
    return xs, extra


def leaves(w: World, args):
    xs, extra = args
    return w.params + [v for v in [*xs, extra] if type(v) is Value]


def call_world(w: World, args):
    if w.step is not None:
        return w.step(*args)
    loss = w.fn(*as_given(args))
    loss.backward()
    return loss.data


def bits(x):
    return struct.pack("<d", x) if type(x) is float else ("not a float", repr(x))


def action(prog_len: int):
    return st.one_of(
        st.tuples(st.just("sgd"), tame),
        st.just(("zero",)),
        st.just(("minus zero",)),
        st.tuples(st.just("data"), st.integers(0, 5), numbers),
        st.tuples(st.just("replace"), st.integers(0, 2), tame),
        st.tuples(
            st.just("fresh"),
        ),
        st.tuples(st.just("set"), st.integers(0, 5), numbers),
    )


def calls():
    place = st.one_of(st.integers(0, 3), st.tuples(st.just("n"), numbers))
    return st.fixed_dictionaries(
        {"xs": st.lists(place, min_size=1, max_size=4), "extra": st.sampled_from(["kept", "param", "x0"])}
    )


@FUZZ
@given(
    prog=st.fixed_dictionaries(
        {
            "params": st.lists(tame, min_size=1, max_size=3),
            "closure": st.lists(numbers, min_size=0, max_size=3),
            "args": st.lists(numbers, min_size=1, max_size=3),
            "program": st.lists(instructions(4), min_size=1, max_size=7),
            "use_closure": st.booleans(),
            "check_every": st.sampled_from([0, 1, 2, 3, 1000]),
            "small_pieces": st.booleans(),
            "group_steps": st.booleans(),  # small groups run by the group steps, not as straight-line code
        }
    ),
    first=calls(),
    steps=st.lists(st.tuples(st.lists(action(7), max_size=3), st.one_of(st.none(), calls())), min_size=1, max_size=5),
)
def test_compiled_calls_equal_uncompiled_calls(prog, first, steps):
    saved = pieces.MIN_NODES, straight.MAX_NODES, straight.MIN_RUN
    if prog["small_pieces"]:
        pieces.MIN_NODES = 2
    if prog["group_steps"]:
        straight.MAX_NODES = 0
    else:
        straight.MIN_RUN = 1  # every run of small groups as straight code
    try:
        run_program(prog, first, steps)
    finally:
        pieces.MIN_NODES, straight.MAX_NODES, straight.MIN_RUN = saved


def run_program(prog, first, steps):
    decide = read_data if any(ins[0] == "branch" for ins in prog["program"]) else None
    worlds = [World(prog, True, decide), World(prog, False, decide)]
    call = first
    for k, (actions, new_call) in enumerate([([], None), *steps]):
        call = new_call or call
        for act in actions:
            for w in worlds:
                act_on(w, act)
        args = [arguments(w, call) for w in worlds]
        outcome = []
        for w, a in zip(worlds, args, strict=True):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                try:
                    result = call_world(w, a)
                    error = None
                except (ArithmeticError, ValueError, GraphChanged) as e:
                    result, error = None, e
            grads = [v.grad for v in leaves(w, a)]
            outcome.append((result, error, grads, [m for m in seen if issubclass(m.category, CompileWarning)]))
        (got, got_error, got_grads, warned), (want, want_error, want_grads, _) = outcome
        where = f"call {k}: {call}"
        if any("keeps" in str(m.message) or "uncompiled" in str(m.message) for m in warned):
            STATS["warned"] += 1
            return  # loud: the replay said it may not follow this function
        if got_error is not None:
            if isinstance(got_error, GraphChanged) or "compile a new function" in str(got_error):
                STATS["refused"] += 1
                return  # loud
            STATS["both raised"] += 1
            assert want_error is not None and type(got_error) is type(want_error), (where, got_error, want_error)
            return
        assert want_error is None, (where, "the compiled call returned", got, "where backward() raised", want_error)
        assert bits(got) == bits(want), (where, got, want)
        assert [bits(g) for g in got_grads] == [bits(g) for g in want_grads], (where, got_grads, want_grads)
        STATS["equal"] += 1
        STATS["equal, non-finite"] += not all(map(math.isfinite, [got, *got_grads]))


def act_on(w: World, act) -> None:
    kind = act[0]
    if kind == "sgd":
        for p in w.params:
            if type(p.grad) is float and math.isfinite(p.grad) and abs(p.grad) < 1e6:
                p.data -= act[1] * p.grad
    elif kind == "zero":
        for v in w.params + w.kept:
            v.grad = 0.0
    elif kind == "minus zero":
        for v in w.params + w.kept:
            v.grad = -0.0
    elif kind == "data":
        if w.batch:
            w.batch[act[1] % len(w.batch)] = act[2]
    elif kind == "replace":
        w.params[act[1] % len(w.params)] = Value(act[2])
    elif kind == "fresh":
        w.kept = [Value(v.data) for v in w.kept]
    elif kind == "set":
        w.kept[act[1] % len(w.kept)].data = act[2]


# ---------------------------------------------------------------- what users write: nn models, losses, mini-batches
#
# A model from nn and one of nn's losses, trained on mini-batches. The batch (inputs and
# targets, floats or ints) comes in as arguments, or sits in a module attribute, a class
# attribute, a defaultdict, an OrderedDict or a list subclass. fn may divide its loss by
# float(loss) or branch on a comparison, bool() or round() of it; between calls the program
# takes optimizer steps, zeroes gradients, or sets some to None, and draws a new batch.

LOSSES = ["mse", "hinge", "bce", "cross_entropy"]
PLACES = ["args", "module", "class", "defaultdict", "ordereddict", "list subclass"]
READS = [None, "normalize", "compare", "bool", "round"]
CENSUS = os.environ.get("CHAINRULE_FUZZ_CENSUS") == "1"  # count the failures by kind instead of stopping
FOUND: Counter = Counter()


class Batch(list):
    """A list subclass, as a user's dataset class might be."""


def batch_of(draw, loss: str, n_in: int, n_classes: int, size: int):
    X = [[draw(tame) for _ in range(n_in)] for _ in range(size)]
    if loss == "mse":
        y = [draw(st.one_of(tame, st.integers(-2, 2))) for _ in range(size)]
    elif loss == "hinge":
        y = [draw(st.sampled_from([-1, 1, -1.0, 1.0])) for _ in range(size)]
    elif loss == "bce":
        y = [draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0, 1]))) for _ in range(size)]
    else:
        y = [draw(st.integers(0, n_classes - 1)) for _ in range(size)]
    return X, y


@st.composite
def nn_programs(draw):
    loss = draw(st.sampled_from(LOSSES))
    n_in = draw(st.integers(1, 3))
    n_classes = draw(st.integers(2, 3))
    size = draw(st.integers(1, 4))
    calls = []
    for _ in range(draw(st.integers(2, 6))):
        actions = draw(st.lists(st.sampled_from(["sgd", "zero", "none", "none some"]), max_size=2))
        resize = draw(st.integers(1, 4)) if draw(st.integers(0, 5)) == 0 else size
        calls.append((actions, batch_of(draw, loss, n_in, n_classes, resize)))
    return {
        "loss": loss,
        "n_in": n_in,
        "hidden": draw(st.lists(st.integers(1, 3), max_size=2)),
        "out": n_classes if loss == "cross_entropy" else 1,
        "activation": draw(st.sampled_from(["relu", "tanh", "sigmoid"])),
        "seed": draw(st.integers(0, 5)),
        "place": draw(st.sampled_from(PLACES)),
        "read": draw(st.sampled_from(READS)),
        "check_every": draw(st.sampled_from([0, 1000])),
        "first": batch_of(draw, loss, n_in, n_classes, size),
        "calls": calls,
    }


class NNWorld:
    """The program's state, once compiled and once not: a model, an optimizer, the data holders."""

    def __init__(self, prog, compiled: bool) -> None:
        self.model = nn.MLP(
            prog["n_in"], [*prog["hidden"], prog["out"]], activation=prog["activation"], seed=prog["seed"]
        )
        self.optimizer = nn.SGD(self.model.parameters(), lr=0.1)
        self.place = place = prog["place"]
        self.holder = types.ModuleType("batchdata") if place == "module" else type("Config", (), {})
        self.box: Any = collections.defaultdict(list) if place == "defaultdict" else collections.OrderedDict()
        self.listed = Batch()
        model, holder, box, listed, loss_name, read = (
            self.model,
            self.holder,
            self.box,
            self.listed,
            prog["loss"],
            prog["read"],
        )

        def loss_on(X, y):
            outputs = [model(x) for x in X]
            if loss_name == "mse":
                loss = nn.mse_loss(outputs, y)
            elif loss_name == "hinge":
                loss = nn.hinge_loss(outputs, y)
            elif loss_name == "bce":
                loss = nn.bce_with_logits(outputs, y)
            else:
                loss = nn.cross_entropy(outputs, y)
            if read == "normalize":
                return loss / float(loss)
            if read == "compare":
                return loss * 2.0 if loss > 0.5 else loss.tanh()
            if read == "bool":
                return loss * 3.0 if outputs[0] else loss
            if read == "round":
                return loss * float(round(loss.data))
            return loss

        if place == "args":
            fn = loss_on
        elif place in ("module", "class"):
            fn = lambda: loss_on(holder.X, holder.y)  # noqa: E731
        elif place in ("defaultdict", "ordereddict"):
            fn = lambda: loss_on(box["X"], box["y"])  # noqa: E731
        else:
            fn = lambda: loss_on(listed[0], listed[1])  # noqa: E731
        self.fn = fn
        self.step = engine.compile(fn, check_every=prog["check_every"]) if compiled else None

    def put(self, X, y):
        """Place a batch where fn reads it; return the arguments of the call."""
        if self.place == "args":
            return (X, y)
        if self.place in ("module", "class"):
            self.holder.X, self.holder.y = X, y
        elif self.place in ("defaultdict", "ordereddict"):
            self.box["X"], self.box["y"] = X, y
        else:
            self.listed[:] = [X, y]
        return ()

    def call(self, args):
        if self.step is not None:
            return self.step(*args)
        for p in self.model.parameters():  # PyTorch's meaning of None: the gradient starts from the new share
            if p.grad is None:
                p.grad = -0.0  # -0.0 + share == share, to the bit
        loss = self.fn(*args)
        loss.backward()
        return loss.data

    def act(self, action):
        params = self.model.parameters()
        if action == "sgd" and all(type(p.grad) is float and math.isfinite(p.grad) for p in params):
            self.optimizer.step()
        elif action == "zero":
            self.optimizer.zero_grad()
        elif action == "none":
            for p in params:
                p.grad = None
        elif action == "none some":
            params[0].grad = None


def kind_of(prog) -> str:
    return f"{prog['loss']} loss, data in {prog['place']}, read {prog['read']}"


@FUZZ
@given(prog=nn_programs())
def test_nn_programs_compiled_equal_uncompiled(prog):
    STATS["nn: programs"] += 1
    worlds = [NNWorld(prog, True), NNWorld(prog, False)]
    for k, (actions, (X, y)) in enumerate([([], prog["first"]), *prog["calls"]]):
        for w in worlds:
            for action in actions:
                w.act(action)
        outcome = []
        for w in worlds:
            args = w.put(X, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CompileWarning)
                try:
                    result, error = w.call(args), None
                except (ArithmeticError, ValueError, TypeError, GraphChanged) as e:
                    result, error = None, e
            outcome.append((result, error, [p.grad for p in w.model.parameters()]))
        (got, got_error, got_grads), (want, want_error, want_grads) = outcome
        if isinstance(got_error, GraphChanged) or "compile a new function" in str(got_error):
            STATS["nn: refused"] += 1
            return  # loud
        problem = None
        if got_error is not None or want_error is not None:
            if type(got_error) is not type(want_error):
                problem = f"compiled: {got_error!r}; uncompiled: {want_error!r}"
        elif bits(got) != bits(want):
            problem = f"loss {got!r} compiled, {want!r} uncompiled"
        elif [bits(g) if g is not None else None for g in got_grads] != [
            bits(g) if g is not None else None for g in want_grads
        ]:
            problem = "the gradients differ"
        if problem is None:
            STATS["nn: equal" if got_error is None else "nn: both raised"] += 1
            if got_error is not None:
                return
            continue
        if CENSUS:
            nones = any(a in ("none", "none some") for actions, _ in prog["calls"] for a in actions)
            for kind in ("all", f"loss {prog['loss']}", f"data in {prog['place']}", f"read {prog['read']}"):
                FOUND[kind] += 1
            FOUND["with p.grad = None" if nones else "without p.grad = None"] += 1
            return
        raise AssertionError(f"call {k} of a program with {kind_of(prog)}: {problem}")


def teardown_module() -> None:
    print("\nfuzzed calls:", dict(STATS))  # shown with pytest -s
    if FOUND:
        print("programs failing, by feature (each failing program counts once per feature it has):")
        for kind, n in FOUND.most_common():
            print(f"  {n:5d}  {kind}")
