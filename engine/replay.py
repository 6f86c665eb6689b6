"""Compiled replay: record a graph once, then rerun its forward and backward passes on floats.

A training loop rebuilds the same graph every step with new numbers in it. `compile(fn)` runs
`fn` once with real `Value`s, records the graph, and turns it into a plan of floats:

1. Repeated pieces become kernels. A network applied to 100 examples makes 100 copies of one
   sub-graph, each reading only leaves (parameters, inputs, constants) and used only through
   its top node (`engine.kernels` finds them). Each distinct shape gets one generated kernel: a
   forward loop and a backward loop over all its copies, straight-line code on local variables,
   with the shared parameters' gradients summed in locals as a hand-written step would.
2. The rest of the graph (the sums and the penalty around the kernels) is grouped by depth and
   operation; each group runs as one `map` of the operation's float forward function and rule
   (the ones stored beside each other in `engine.value`).
3. Gradients flow as one share per edge (or a running sum in a kernel's locals), added into each
   node and leaf *in the order backward() adds them*, so values and gradients equal the object
   engine's to the last bit.

What a recorded graph cannot see: Python control flow in `fn` that depends on the data (an `if`
on `v.data`, Python's `max` of Values) is frozen at recording time, as with a traced function
in PyTorch. Comparisons of Values while recording are reported with a warning; `check_every=N`
records again every N calls and raises `GraphChanged` if the graph is different; a call with
another number of inputs, a parameter that its owner has replaced, or a gradient hook on a leaf
raises instead of replaying a graph that no longer matches. Under `detect_anomaly()` a call
runs uncompiled, so that a NaN is traced to the line that made it. A graph with too little
repetition to gain anything (a long chain) runs uncompiled too, and its repr says why.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import reduce
from itertools import chain, repeat
from numbers import Real
from operator import add, attrgetter, itemgetter
from typing import Any

from . import value as _value
from .backward import topological_order
from .hooks import live_hooks
from .kernels import Piece, batch_code, find_pieces
from .mode import is_anomaly_enabled, is_grad_enabled
from .value import Value

_data = attrgetter("data")

# start + x0 + x1 + ..., added left to right in doubles as backward() adds shares. Up to Python
# 3.11 the built-in sum does exactly that, in C; from 3.12 it compensates rounding errors, which
# is more accurate but not the same number.
_sum = sum if sys.version_info < (3, 12) else lambda xs, start: reduce(add, xs, start)


class GraphChanged(RuntimeError):
    """The function now builds a different graph from the one recorded."""


class CompileWarning(UserWarning):
    """Recording saw something a replay cannot follow (a comparison of Values)."""


# ---------------------------------------------------------------- arguments


def _flatten(obj: Any, out: list) -> list:
    """Values and numbers of a nested list/tuple structure, depth first."""
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _flatten(item, out)
    else:
        out.append(obj)
    return out


def _rebuild(obj: Any, values: Iterator[Any]) -> Any:
    """The nested structure of `obj` with its leaves taken in turn from `values`."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([_rebuild(item, values) for item in obj])
    return next(values)


def _as_leaves(obj: Any) -> Any:
    """The argument structure with every number turned into a fresh leaf Value."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([_as_leaves(item) for item in obj])
    if isinstance(obj, Value):
        return obj
    if isinstance(obj, Real) and not isinstance(obj, bool):
        return Value(obj)
    raise TypeError(f"compile: arguments must be Values, numbers or lists of them, got {type(obj).__name__}")


def _backward(loss: Value, outputs: list[Value]) -> tuple[float, list[float]]:
    """loss.backward(), then the loss and the extra outputs as floats."""
    loss.backward()
    return loss.data, [v.data for v in outputs]


def _incoming_gather(nodes: list[Value], incoming: dict[Value, list[int]]) -> Callable[[list], list]:
    """A function shares -> each node's gradient: its incoming shares summed in arrival order."""
    ins = [incoming[n] for n in nodes]
    if all(len(k) == 1 for k in ins):
        gather = _gather([k[0] for k in ins])
        return lambda shares: list(map(add, repeat(0.0), gather(shares)))
    gathers = [_gather(k) for k in ins]
    return lambda shares: [_sum(g(shares), 0.0) for g in gathers]


def _gather(indices: list[int]) -> Callable[[list], tuple]:
    """A fast function list -> tuple of the items at `indices` (a tuple even for one or none)."""
    if not indices:
        return lambda xs: ()
    if len(indices) == 1:
        i = indices[0]
        return lambda xs: (xs[i],)
    return itemgetter(*indices)


@contextmanager
def _counting_comparisons() -> Iterator[list[int]]:
    """Count comparisons of Values (<, <=, >, >=) made while the block runs: [count]."""
    count = [0]
    saved = {name: getattr(Value, name) for name in ("__lt__", "__le__", "__gt__", "__ge__")}

    def counted(method: Callable) -> Callable:
        def compare(self: Value, other: Any) -> bool:
            count[0] += 1
            return method(self, other)

        return compare

    for name, method in saved.items():
        setattr(Value, name, counted(method))
    try:
        yield count
    finally:
        for name, method in saved.items():
            setattr(Value, name, method)


# ---------------------------------------------------------------- the plan


class _NoGain(Exception):
    """The graph has too little repetition for a replay to beat building it again."""


class _Batch:
    """All copies of one repeated piece, run by one generated loop (see `engine.kernels`)."""

    def __init__(self, pieces: list[Piece], slot: dict[Value, int], start: int, first_edge: int) -> None:
        self.pieces: list[Piece] = pieces  # while the plan is built
        self.count = len(pieces)
        self.start, self.stop = start, start + len(pieces)
        self.first_edge = first_edge
        self.n_edges = len(pieces[0].edge_args())
        self.last_edge = first_edge + len(pieces) * self.n_edges
        model = pieces[0]
        self.shared = [k for k, leaf in enumerate(model.leaves) if all(p.leaves[k] is leaf for p in pieces)]
        shared = set(self.shared)
        varying = [k for k in range(len(model.leaves)) if k not in shared]
        self.get_shared = _gather([slot[model.leaves[k]] for k in self.shared])
        self.get_columns = [_gather([slot[p.leaves[k]] for p in pieces]) for k in varying]
        self.bases = [first_edge + i * self.n_edges for i in reversed(range(len(pieces)))]  # backward order
        self.summed: list[int] = []  # set by the plan: shared leaves whose gradient the loop sums
        self.summed_leaves: list[tuple[int, Callable, Callable]] = []  # (leaf, before-gather, after-gather)
        self.exposed: list[int] = []  # inner nodes that are extra outputs
        self.exposed_start: list[int] = []
        self.forward: Any = None  # the generated loops, once made
        self.backward: Any = None
        self.source = ""  # the generated code of the kernel

    def generate(self, cache: dict[tuple, tuple]) -> None:
        key = (self.pieces[0].signature, tuple(self.shared), tuple(self.summed), tuple(self.exposed))
        if key not in cache:
            cache[key] = batch_code(self.pieces[0], self.shared, self.summed, self.exposed)
        self.forward, self.backward, self.source = cache[key]


class _Plan:
    """The recorded graph as groups of slots of floats, ready to replay."""

    def __init__(self, loss: Value, outputs: list[Value], inputs: list[Value]) -> None:
        order = topological_order(loss)
        hooked = [n for n in order if n._hooks]
        if hooked:
            raise ValueError(
                f"compile: the graph has {len(hooked)} node(s) with gradient hooks, which a replay cannot run"
            )
        in_graph = set(order)
        for v in outputs:
            if v not in in_graph:
                raise ValueError(f"compile: the extra output {v!r} is not part of the loss's graph")

        # repeated pieces: each shape's copies become one batch, standing at depth 1 (over leaves)
        by_shape: dict[tuple, list[Piece]] = {}
        hidden: set[Value] = set()
        for piece in find_pieces(order):
            by_shape.setdefault(piece.signature, []).append(piece)
            hidden.update(piece.inner[:-1])
        copies = [ps for ps in by_shape.values() if len(ps) >= 2]
        for ps in by_shape.values():
            if len(ps) < 2:  # a shape seen once: its nodes stay in the plan
                hidden.difference_update(ps[0].inner)
        piece_of = {p.root: p for ps in copies for p in ps}
        nodes = [n for n in order if n not in hidden]
        self.n_pieces = len(piece_of)
        self.n_kernels = len(copies)

        # depth of each other node, then groups keyed by (depth, rule); leaves are depth 0
        depth: dict[Value, int] = {}
        groups: dict[tuple, list[Value]] = {}
        leaves = []
        for node in nodes:
            if node._rule is None:
                depth[node] = 0
                leaves.append(node)
            elif node in piece_of:
                depth[node] = 1
            else:
                d = 1 + max(depth[p] for p in node.parents)
                depth[node] = d
                groups.setdefault((d, node.operation, len(node.parents)), []).append(node)
        keys = sorted(groups, key=lambda k: k[0])  # stable: first appearance within a depth
        grouped = sum(map(len, groups.values()))
        if len(keys) > 1000 and 4 * len(keys) > grouped:
            raise _NoGain(
                f"its {grouped:,} nodes outside repeated pieces fall into {len(keys):,} groups by depth and "
                "operation (a long chain?), and so few nodes per group replay no faster than backward()"
            )

        slot = {leaf: i for i, leaf in enumerate(leaves)}
        for ps in copies:
            for p in ps:
                slot[p.root] = len(slot)
        for key in keys:
            for node in groups[key]:
                slot[node] = len(slot)
        self.leaves = leaves  # the plan's only references to the graph's Values

        # one share slot per edge, contiguous per group and batch; slot 0 holds the seed
        edge_base: dict[Value, int] = {}
        n_edges = 1
        batches = []
        for ps in copies:
            batches.append(_Batch(ps, slot, slot[ps[0].root], n_edges))
            for p in ps:
                edge_base[p.root] = n_edges
                n_edges += batches[-1].n_edges
        for key in keys:
            for node in groups[key]:
                edge_base[node] = n_edges
                n_edges += key[2]
        self.n_edges = n_edges

        # shares reach each node in the order backward() adds them: consumers in reverse order
        incoming: dict[Value, list[int]] = {loss: [0]}
        for node in reversed(nodes):
            copy = piece_of.get(node)
            if copy is None:
                base = edge_base.get(node, 0)  # a leaf has no parents, so no edges
                for i, parent in enumerate(node.parents):
                    incoming.setdefault(parent, []).append(base + i)
            else:
                base = edge_base[node]
                for i, k in enumerate(copy.edge_args()):
                    incoming.setdefault(copy.leaves[k], []).append(base + i)

        # a shared leaf's gradient is summed inside the loop when the loop's shares to it arrive in
        # one run, and everything else it receives comes from outside any batch
        batch_edges_end = batches[-1].last_edge if batches else 1
        leaf_index = {leaf: i for i, leaf in enumerate(leaves)}
        summed_anywhere: set[Value] = set()
        for b in batches:
            lo, hi = b.first_edge, b.last_edge
            for k in b.shared:
                leaf = b.pieces[0].leaves[k]
                ks = incoming.get(leaf, [])
                mine = [i for i, e in enumerate(ks) if lo <= e < hi]
                from_other_batches = any(e < batch_edges_end and not lo <= e < hi for e in ks)
                if not mine or leaf in summed_anywhere or from_other_batches or len(mine) != mine[-1] - mine[0] + 1:
                    continue
                b.summed.append(k)
                summed_anywhere.add(leaf)
                before, after = ks[: mine[0]], ks[mine[-1] + 1 :]
                b.summed_leaves.append((leaf_index[leaf], _gather(before), _gather(after)))
        keep = set(outputs)
        for b in batches:  # extra outputs inside pieces get slots of their own
            for j in range(len(b.pieces[0].inner) - 1):
                if any(p.inner[j] in keep for p in b.pieces):
                    b.exposed.append(j)
                    b.exposed_start.append(len(slot))
                    for p in b.pieces:
                        slot[p.inner[j]] = len(slot)
        cache: dict[tuple, tuple] = {}
        for b in batches:
            b.generate(cache)
        self.batch_inputs = [_incoming_gather([p.root for p in b.pieces], incoming) for b in batches]
        for b in batches:
            b.pieces = []  # the plan keeps no node of the graph, only its leaves
        self.batches = batches
        self.size = len(slot)

        self.forward_steps = []
        self.backward_steps = []
        for key in keys:
            group = groups[key]
            operation = key[1]
            start, stop = slot[group[0]], slot[group[-1]] + 1
            getters = [_gather([slot[n.parents[i]] for n in group]) for i in range(key[2])]
            self.forward_steps.append((start, stop, operation.forward, getters))
            first = edge_base[group[0]]
            self.backward_steps.append(
                (
                    start,
                    stop,
                    operation.rule,
                    getters,
                    _incoming_gather(group, incoming),
                    first,
                    first + len(group) * key[2],
                )
            )
        self.backward_steps.reverse()
        summed = {i for b in batches for i, _, _ in b.summed_leaves}
        self.leaf_edges = [
            (i, _gather(incoming[leaf])) for i, leaf in enumerate(leaves) if leaf in incoming and i not in summed
        ]
        self.loss_slot = slot[loss]
        self.output_slots = [slot[v] for v in outputs]
        self.input_slots = [slot.get(v) for v in inputs]
        self.n_nodes = len(order)
        self.n_groups = len(keys) + len(batches)
        self.fingerprint = hash(tuple(map(attrgetter("op"), order)))
        self.owned: list[int] = []  # leaves that something outside the plan held after recording

    def run(self, inputs: list[float] | None) -> tuple[float, list[float]]:
        values = [0.0] * self.size
        values[: len(self.leaves)] = map(_data, self.leaves)
        if inputs is not None:
            for s, x in zip(self.input_slots, inputs, strict=True):
                if s is not None:
                    values[s] = x
        try:
            states = []
            for b in self.batches:  # over leaves only: they come first
                shared = b.get_shared(values)
                columns = [g(values) for g in b.get_columns]
                out, saved, exposed = b.forward(shared, b.count, *columns)
                values[b.start : b.stop] = out
                for s, xs in zip(b.exposed_start, exposed, strict=True):
                    values[s : s + len(xs)] = xs
                states.append((out, saved, shared, columns))
            for start, stop, f, getters in self.forward_steps:
                values[start:stop] = map(f, *[g(values) for g in getters])
        except ZeroDivisionError:
            raise ZeroDivisionError("/: division by zero while replaying the recorded graph") from None
        loss = values[self.loss_slot]
        if loss - loss:  # inf or nan: a float overflowed somewhere the object engine would have raised
            raise OverflowError(f"compile: the replayed loss is {loss!r}; call the function uncompiled to see where")

        shares = [0.0] * self.n_edges
        shares[0] = 1.0
        for start, stop, rule, getters, gather_in, first, last in self.backward_steps:
            operands = [g(values) for g in getters]
            shares[first:last] = chain.from_iterable(map(rule, gather_in(shares), values[start:stop], *operands))
        leaves = self.leaves
        for b, gather_in, (out, saved, shared, columns) in zip(self.batches, self.batch_inputs, states, strict=True):
            acc = [_sum(before(shares), leaves[i].grad) for i, before, _ in b.summed_leaves]
            sums = b.backward(
                gather_in(shares)[::-1], out[::-1], saved[::-1], shared, acc, shares, b.bases,
                *[c[::-1] for c in columns],
            )  # fmt: skip
            for (i, _, after), total in zip(b.summed_leaves, sums, strict=True):
                leaves[i].grad = _sum(after(shares), total)
        for i, gather in self.leaf_edges:
            leaf = leaves[i]
            leaf.grad = _sum(gather(shares), leaf.grad)
        return loss, [values[s] for s in self.output_slots]

    def lend_inputs(self, given: list[Any]) -> list[tuple[Value, Value, Any]]:
        """Put each given input Value's gradient into the recorded leaf it stands for."""
        lent = []
        for s, x in zip(self.input_slots, given, strict=True):
            if s is not None and isinstance(x, Value) and x is not self.leaves[s]:
                leaf = self.leaves[s]
                lent.append((leaf, x, leaf.grad))
                leaf.grad = x.grad
        return lent

    def return_inputs(self, lent: list[tuple[Value, Value, Any]]) -> None:
        """Hand the gradients back to the given Values; the recorded leaves get theirs back."""
        for leaf, x, grad in lent:
            x.grad, leaf.grad = leaf.grad, grad

    def note_owners(self) -> None:
        """Remember which leaves something else holds (parameters, inputs given as Values)."""
        leaves = self.leaves  # counted as leaves[i]: one reference from the list, one from the call
        self.owned = [i for i in range(len(leaves)) if sys.getrefcount(leaves[i]) > 2]

    def check_owners(self) -> None:
        """Raise if a leaf that had an owner is now held by the plan alone: its owner replaced it."""
        leaves = self.leaves
        for i in self.owned:
            if sys.getrefcount(leaves[i]) <= 2:
                leaf = leaves[i]
                name = f"{leaf.label!r} " if leaf.label else ""
                raise GraphChanged(
                    f"compile: the recorded graph reads the leaf {name}(data={leaf.data!r}), which nothing else holds "
                    "any more: its model or optimizer replaced it with a new Value. Compile the function again."
                )


class Compiled:
    """A function whose graph was recorded on its first call and is replayed on later ones.

    Calling it returns the loss as a float (and the extra outputs as floats, in the same
    nested shape, when `fn` returned `(loss, extras)`) and adds d loss / d leaf into the
    `.grad` of every leaf of the graph, exactly as `loss.backward()` would.
    """

    def __init__(self, fn: Callable[..., Any], check_every: int = 0) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function that builds a loss, got {type(fn).__name__}")
        if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"compile: check_every must be an int >= 0, got {check_every!r}")
        self.fn = fn
        self.check_every = check_every
        self.calls = 0
        self.plan: _Plan | None = None
        self._n_inputs = 0
        self._extras_shape: Any = None
        self.uncompiled = ""  # why `fn` runs uncompiled, when the recording found nothing to gain

    def _results(self, result: Any) -> tuple[Value, Any, list[Value]]:
        """fn's return value as (loss, extras as returned, extras flattened), checked."""
        loss, extras = result if isinstance(result, tuple) else (result, None)
        if not isinstance(loss, Value):
            raise TypeError(f"compile: the function must return a Value (the loss), got {type(loss).__name__}")
        outputs = _flatten(extras, []) if extras is not None else []
        if not all(isinstance(v, Value) for v in outputs):
            raise TypeError("compile: the extra outputs must be Values or lists of Values")
        return loss, extras, outputs

    def _record(self, args: tuple) -> tuple[float, list[float]]:
        leaf_args = _as_leaves(list(args))
        with _counting_comparisons() as compared:
            loss, extras, outputs = self._results(self.fn(*leaf_args))
        if compared[0]:
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'the function')} compared Values while it was recorded "
                "(as in `if v > 0` or max(values)); the replay keeps the branches taken this time",
                CompileWarning,
                stacklevel=3,
            )
        old = self.plan
        try:
            plan = _Plan(loss, outputs, _flatten(leaf_args, []))
        except _NoGain as reason:
            self.uncompiled = str(reason)
            self._extras_shape = extras
            return _backward(loss, outputs)
        if old is not None and (old.n_nodes, old.fingerprint) != (plan.n_nodes, plan.fingerprint):
            raise GraphChanged(
                f"compile: the function now builds a graph of {plan.n_nodes} nodes, different from the "
                f"{old.n_nodes} recorded: its Python control flow depends on the data. Compile it again, "
                "or keep the branch inside the graph (relu, abs)."
            )
        self.plan = plan
        self._n_inputs = len(plan.input_slots)
        self._extras_shape = extras
        return plan.run(None)  # its numbers are the graph's: the same operations on the same data

    def _uncompiled(self, args: tuple) -> tuple[float, list[float]]:
        """Build the graph and call backward(), as if `fn` were not compiled."""
        loss, _, outputs = self._results(self.fn(*_as_leaves(list(args))))
        return _backward(loss, outputs)

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if not is_grad_enabled():
            raise RuntimeError("compile: called inside no_grad(), where no graph is built to record or replay")
        if self.uncompiled or (is_anomaly_enabled() and self.plan is not None):
            # a replay checks nothing: let backward() find the NaN and name the line that made it
            loss, outs = self._uncompiled(args)
        elif self.plan is None or (self.check_every and self.calls % self.check_every == 0):
            loss, outs = self._record(args)  # the graph is freed on return
            if self.plan is not None and hasattr(sys, "getrefcount"):
                self.plan.note_owners()
        else:
            flat = _flatten(list(args), [])
            if len(flat) != self._n_inputs:
                raise ValueError(
                    f"compile: recorded with {self._n_inputs} input(s), called with {len(flat)}; "
                    "compile a new function for a different shape"
                )
            self.plan.check_owners()
            if live_hooks[0] and any(leaf._hooks for leaf in self.plan.leaves):
                raise ValueError("compile: a leaf of the recorded graph has a gradient hook, which a replay cannot run")
            inputs = [x.data if isinstance(x, Value) else _value._number(x, "compile input") for x in flat]
            # a Value given in place of the recorded one gets the gradient: lend it the recorded leaf
            lent = self.plan.lend_inputs(flat)
            try:
                loss, outs = self.plan.run(inputs or None)
            finally:
                self.plan.return_inputs(lent)
        if self._extras_shape is None:
            return loss
        return loss, _rebuild(self._extras_shape, iter(outs))

    @property
    def code(self) -> str:
        """The Python source of the generated kernels (one forward and one backward loop per shape)."""
        name = getattr(self.fn, "__name__", "fn")
        if self.uncompiled:
            return f"# {name} runs uncompiled, since {self.uncompiled}\n"
        if self.plan is None:
            return f"# {name} is not recorded yet: call it once\n"
        kernels: list[str] = []
        seen: set[str] = set()
        for b in self.plan.batches:
            if b.source not in seen:
                seen.add(b.source)
                kernels.append(f"# kernel {len(kernels) + 1}: {b.count} copies\n{b.source}")
        if not kernels:
            return f"# {name}: no repeated pieces, so no kernel; its groups run as maps of each operation\n"
        return "\n\n".join(kernels)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "fn")
        if self.uncompiled:
            return f"Compiled({name}: runs uncompiled, since {self.uncompiled})"
        if self.plan is None:
            return f"Compiled({name}, not recorded yet)"
        p = self.plan
        return (
            f"Compiled({name}: {p.n_nodes} nodes, {p.n_pieces} repeated pieces in {p.n_kernels} kernel(s), "
            f"{p.n_groups} groups, {len(p.leaves)} leaves)"
        )


def compile(fn: Callable[..., Any], *, check_every: int = 0) -> Compiled:  # noqa: A001
    """Record `fn`'s graph on its first call; replay it (forward and backward) on later calls.

    `fn(*args)` must return the loss `Value`, or `(loss, extras)` with extras Values (or nested
    lists of them) to read back as floats. Arguments are Values or numbers (or lists of them);
    numbers become fresh leaves, so data can change between calls. Each call returns the loss
    (and extras) as floats and adds d loss / d leaf into every leaf's `.grad`, like backward().
    """
    return Compiled(fn, check_every=check_every)
