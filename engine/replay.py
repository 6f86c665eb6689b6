"""Compiled replay: record a graph once, then rerun its forward and backward passes on floats.

A training loop rebuilds the same graph every step with new numbers in it. `compile(fn)` runs
`fn` once with real `Value`s, records the graph, and turns it into a plan of floats:

1. Repeated pieces become kernels. A network applied to 100 examples makes 100 copies of one
   sub-graph, each reading only leaves (parameters, inputs, constants) and used only through
   its top node. Each distinct shape of such a piece is written once as two generated Python
   functions (its forward pass, and its backward rule: recompute, then one line per chain-rule
   step), so the copies run as straight-line code on local variables.
2. The rest of the graph (the sums and the penalty around the kernels) is grouped by depth and
   operation; each group runs as one `map` of the operation's float forward function and rule
   (the ones stored beside each other in `engine.value`).
3. Gradients flow as one share per edge, added into each node and leaf *in the order
   backward() adds them*, so values and gradients equal the object engine's to the last bit.

What a recorded graph cannot see: Python control flow in `fn` that depends on the data (an `if`
on `v.data`, Python's `max` of Values) is frozen at recording time, as with a traced function
in PyTorch. Comparisons of Values while recording are reported with a warning; `check_every=N`
records again every N calls and raises `GraphChanged` if the graph is different; a call with
another number of inputs, or a parameter that its owner has replaced, raises instead of
replaying a graph that no longer matches.
"""

from __future__ import annotations

import builtins
import math
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import reduce
from itertools import chain, repeat
from numbers import Real
from operator import add, attrgetter, itemgetter
from typing import Any

from . import value as _value
from .backward import topological_order
from .value import Value

_data = attrgetter("data")

MIN_KERNEL_NODES = 8  # smaller repeated pieces stay in the grouped plan
MAX_KERNEL_NODES = 5000  # larger ones would cost more to compile than they save


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


def _rebuild(obj: Any, values: Iterable) -> Any:
    """The nested structure of `obj` with its leaves taken in turn from `values`."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_rebuild(item, values) for item in obj)
    return next(values)


def _as_leaves(obj: Any) -> Any:
    """The argument structure with every number turned into a fresh leaf Value."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_as_leaves(item) for item in obj)
    if isinstance(obj, Value):
        return obj
    if isinstance(obj, Real) and not isinstance(obj, bool):
        return Value(obj)
    raise TypeError(f"compile: arguments must be Values, numbers or lists of them, got {type(obj).__name__}")


def _gather(indices: list[int]) -> Callable[[list], tuple]:
    """A fast function list -> tuple of the items at `indices` (a tuple even for one)."""
    if len(indices) == 1:
        i = indices[0]
        return lambda xs: (xs[i],)
    return itemgetter(*indices)


# ---------------------------------------------------------------- kernels: repeated pieces as code

# rule -> (forward expression or None for a call of rule.forward, share expressions or None for a
# call of the rule, whether a zero incoming gradient gives zero shares for any finite inputs).
# Each expression is the rule's own arithmetic, operation for operation, so results are identical.
_TEMPLATES: dict[Callable, tuple[str | None, tuple[str, ...] | None, bool]] = {
    _value._add_rule: ("{a} + {b}", ("{g}", "{g}"), True),
    _value._sub_rule: ("{a} - {b}", ("{g}", "-{g}"), True),
    _value._mul_rule: ("{a} * {b}", ("{g} * {b}", "{g} * {a}"), True),
    _value._neg_rule: ("-{a}", ("-{g}",), True),
    _value._relu_rule: ("({a} if {a} > 0.0 else 0.0)", ("({g} if {a} > 0.0 else 0.0)",), True),
    _value._tanh_rule: ("tanh({a})", ("{g} * (1.0 - {o} * {o})",), True),
    _value._abs_rule: ("abs({a})", ("({g} if {a} > 0.0 else -{g} if {a} < 0.0 else 0.0)",), True),
    _value._exp_rule: (None, ("{g} * {o}",), True),
    _value._sigmoid_rule: (None, ("{g} * {o} * (1.0 - {o})",), True),
    _value._log_rule: (None, ("{g} / {a}",), True),
    _value._div_rule: ("{a} / {b}", None, True),
    _value._sin_rule: (None, None, True),
    _value._cos_rule: (None, None, True),
}


class _Piece:
    """One copy of a repeated sub-graph: its top node, its inner nodes and the leaves it reads.

    `refs[j]` says where inner node j's operands come from: inner node i (i >= 0) or leaf k
    (written ~k < 0). With the root's shape key, it is the piece's signature: copies with
    equal signatures compute the same thing from their own leaves.
    """

    __slots__ = ("root", "inner", "leaves", "refs", "signature")

    def __init__(self, root: Value, key: int, limit: int) -> None:
        inner: list[Value] = []
        leaves: list[Value] = []
        refs: list[tuple[int, ...]] = []
        index: dict[Value, int] = {}
        path = [root]
        seen = {root}
        while path and len(inner) <= limit:  # the depth-first walk of topological_order, leaves aside
            node = path[-1]
            for p in node.parents:
                if p not in seen:
                    seen.add(p)
                    if p._rule is None:
                        index[p] = ~len(leaves)
                        leaves.append(p)
                    else:
                        path.append(p)
                        break
            else:
                path.pop()
                index[node] = len(inner)
                inner.append(node)
                refs.append(tuple([index[p] for p in node.parents]))
        self.root, self.inner, self.leaves, self.refs = root, inner, leaves, refs
        self.signature = (key, tuple(refs))

    def is_private(self, uses: dict[Value, int]) -> bool:
        """True if nothing outside the piece uses its inner nodes (its root aside)."""
        inside = Counter(k for r in self.refs for k in r if k >= 0)
        inner = self.inner
        return all(uses[inner[j]] == inside[j] for j in range(len(inner) - 1))

    def edge_args(self) -> list[int]:
        """The leaf of each leaf operand, in the order backward() adds their shares."""
        return [~k for r in reversed(self.refs) for k in r if k < 0]


def _kernel(piece: _Piece) -> Callable:
    """Generate the backward rule (with its `.forward`) of every piece shaped like `piece`."""
    names: dict[str, Any] = {"tanh": math.tanh, "_inf_check": None}
    args = [f"a{k}" for k in range(len(piece.leaves))]
    node_names = [f"n{j}" for j in range(len(piece.inner))]
    zero_safe = True

    def operand(k: int) -> str:
        return node_names[k] if k >= 0 else args[~k]

    rules = [n._rule for n in piece.inner]
    forward_lines = []
    for j, rule in enumerate(rules):
        ops = [operand(k) for k in piece.refs[j]]
        template = _TEMPLATES.get(rule)
        zero_safe = zero_safe and template is not None and template[2]
        if template and template[0]:
            expr = template[0].format(a=ops[0], b=ops[-1])
        else:
            names[f"F{j}"] = rule.forward
            expr = f"F{j}({', '.join(ops)})"
        forward_lines.append(f"    {node_names[j]} = {expr}")

    # backward: inner nodes in reverse; a node's gradient is the sum of its shares in arrival order
    grad_of: dict[int, str] = {len(piece.inner) - 1: "g"}
    backward_lines = []
    edges = []
    for j in reversed(range(len(piece.inner))):
        rule, operands = rules[j], piece.refs[j]
        ops = [operand(k) for k in operands]
        g = grad_of[j]
        template = _TEMPLATES.get(rule)
        if template and template[1]:
            shares = [s.format(a=ops[0], b=ops[-1], g=g, o=node_names[j]) for s in template[1]]
        else:
            names[f"R{j}"] = rule
            temps = [f"s{j}_{i}" for i in range(len(ops))]
            backward_lines.append(f"    {', '.join(temps)}, = R{j}({g}, {node_names[j]}, {', '.join(ops)})")
            shares = temps
        for k, share in zip(operands, shares, strict=True):
            if k < 0:
                edge = f"e{len(edges)}"
                edges.append(edge)
                backward_lines.append(f"    {edge} = {share}")
            elif k in grad_of:
                backward_lines.append(f"    {grad_of[k]} = {grad_of[k]} + {share}")
            else:
                grad_of[k] = f"g{k}"
                backward_lines.append(f"    g{k} = {share}")
        if zero_safe and j == len(piece.inner) - 1 and not edges and len(grad_of) == 2:
            # the top passed nothing on (a relu that is off, as in a hinge loss): all shares are zero
            backward_lines.append(f"    if {grad_of[operands[0]]} == 0.0:\n        return ZEROS")

    arglist = ", ".join(args)
    lines = [f"def forward({arglist}):", *forward_lines, f"    return {node_names[-1]}", ""]
    lines.append(f"def rule(g, out, {arglist}):")
    if zero_safe:  # every share would be +-0.0, which changes no sum: skip the piece
        names["ZEROS"] = (0.0,) * len(edges)
        lines.append("    if g == 0.0:\n        return ZEROS")
    lines += forward_lines[:-1]
    lines.append(f"    {node_names[-1]} = out")
    lines += backward_lines
    lines.append(f"    return ({', '.join(edges)}{',' if len(edges) == 1 else ''})")
    exec(builtins.compile("\n".join(lines), f"<compiled piece of {len(piece.inner)} nodes>", "exec"), names)  # noqa: S102
    rule = names["rule"]
    rule.forward = names["forward"]
    return rule


def _find_pieces(order: list[Value], keep: set[Value]) -> list[_Piece]:
    """Repeated private sub-graphs over leaves, largest first; `keep` nodes must stay visible."""
    shape_ids: dict[tuple, int] = {}
    key: dict[Value, int] = {}
    count: dict[int, int] = {}
    uses: dict[Value, int] = dict.fromkeys(keep, 1)
    for node in order:  # a tree hash of each node: equal keys, equal unfolded shapes
        parents = node.parents
        if not parents:
            key[node] = -1
            continue
        k = shape_ids.setdefault((node._rule, *[key[p] for p in parents]), len(shape_ids))
        key[node] = k
        count[k] = count.get(k, 0) + 1
        for p in parents:
            uses[p] = uses.get(p, 0) + 1

    pieces: list[_Piece] = []
    taken: set[Value] = set()
    failed: dict[int, int] = {}
    for node in reversed(order):  # the top of the graph first, so the largest pieces win
        k = key[node]
        if k < 0 or count[k] < 2 or node in taken or failed.get(k, 0) >= 2:
            continue
        piece = _Piece(node, k, MAX_KERNEL_NODES)
        if not MIN_KERNEL_NODES <= len(piece.inner) <= MAX_KERNEL_NODES:
            failed[k] = 2
        elif not piece.is_private(uses) or any(n in taken for n in piece.inner):
            failed[k] = failed.get(k, 0) + 1
        else:
            pieces.append(piece)
            taken.update(piece.inner)
    return pieces


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

        # repeated pieces collapse into one node each, whose operands are the leaves they read
        kernels: dict[tuple, Callable] = {}
        rule_of: dict[Value, Callable] = {}
        args_of: dict[Value, tuple] = {}
        edges_of: dict[Value, tuple] = {}
        hidden: set[Value] = set()
        for piece in _find_pieces(order, set(outputs)):
            if piece.signature not in kernels:
                kernels[piece.signature] = _kernel(piece)
            root = piece.root
            rule_of[root] = kernels[piece.signature]
            args_of[root] = tuple(piece.leaves)
            edges_of[root] = tuple([piece.leaves[k] for k in piece.edge_args()])
            hidden.update(piece.inner[:-1])
        nodes = [n for n in order if n not in hidden]
        self.n_kernels = len(kernels)
        self.n_pieces = len(rule_of)

        # depth of each node, then groups keyed by (depth, rule); leaves are depth 0
        depth: dict[Value, int] = {}
        groups: dict[tuple, list[Value]] = {}
        leaves = []
        for node in nodes:
            if node._rule is None:
                depth[node] = 0
                leaves.append(node)
                continue
            rule = rule_of.get(node, node._rule)
            operands = args_of.get(node, node.parents)
            d = 1 + max(depth[p] for p in operands)
            depth[node] = d
            groups.setdefault((d, rule, len(operands)), []).append(node)
        keys = sorted(groups, key=lambda k: k[0])  # stable: first appearance within a depth

        slot = {leaf: i for i, leaf in enumerate(leaves)}
        for key in keys:
            for node in groups[key]:
                slot[node] = len(slot)
        self.size = len(slot)
        self.leaves = leaves  # the plan's only references to the graph's Values

        # one share slot per edge, contiguous per group; slot 0 holds the seed
        edge: dict[tuple[Value, int], int] = {}
        n_edges = 1
        for key in keys:
            for node in groups[key]:
                for i in range(len(edges_of.get(node, node.parents))):
                    edge[node, i] = n_edges
                    n_edges += 1
        self.n_edges = n_edges

        # shares reach each node in the order backward() adds them: consumers in reverse order
        incoming: dict[Value, list[int]] = {loss: [0]}
        for node in reversed(nodes):
            for i, p in enumerate(edges_of.get(node, node.parents)):
                incoming.setdefault(p, []).append(edge[node, i])

        self.forward_steps = []
        self.backward_steps = []
        for key in keys:
            group = groups[key]
            rule = key[1]
            start, stop = slot[group[0]], slot[group[-1]] + 1
            getters = [_gather([slot[args_of.get(n, n.parents)[i]] for n in group]) for i in range(key[2])]
            self.forward_steps.append((start, stop, rule.forward, getters))
            ins = [incoming[n] for n in group]
            single = all(len(k) == 1 for k in ins)
            gather_in = _gather([k[0] for k in ins]) if single else ins
            first = edge[group[0], 0]
            last = first + len(group) * len(edges_of.get(group[0], group[0].parents))
            self.backward_steps.append((start, stop, rule, getters, single, gather_in, first, last))
        self.backward_steps.reverse()
        self.leaf_edges = [(i, _gather(incoming[leaf])) for i, leaf in enumerate(leaves) if leaf in incoming]
        self.loss_slot = slot[loss]
        self.output_slots = [slot[v] for v in outputs]
        self.input_slots = [slot.get(v) for v in inputs]
        self.n_nodes = len(order)
        self.n_groups = len(keys)
        self.fingerprint = hash(tuple((n.op, len(n.parents)) for n in order))
        self.owned: list[int] = []  # leaves that something outside the plan held after recording

    def run(self, inputs: list[float] | None) -> tuple[float, list[float]]:
        values = [0.0] * self.size
        values[: len(self.leaves)] = map(_data, self.leaves)
        if inputs is not None:
            for s, x in zip(self.input_slots, inputs, strict=True):
                if s is not None:
                    values[s] = x
        try:
            for start, stop, f, getters in self.forward_steps:
                values[start:stop] = map(f, *[g(values) for g in getters])
        except ZeroDivisionError:
            raise ZeroDivisionError("/: division by zero while replaying the recorded graph") from None
        loss = values[self.loss_slot]
        if loss - loss:  # inf or nan: a float overflowed somewhere the object engine would have raised
            raise OverflowError(f"compile: the replayed loss is {loss!r}; call the function uncompiled to see where")

        shares = [0.0] * self.n_edges
        shares[0] = 1.0
        for start, stop, rule, getters, single, gather_in, first, last in self.backward_steps:
            if single:
                grads = list(map(add, repeat(0.0), gather_in(shares)))
            else:
                grads = [reduce(add, [shares[k] for k in ks], 0.0) for ks in gather_in]
            operands = [g(values) for g in getters]
            shares[first:last] = chain.from_iterable(map(rule, grads, values[start:stop], *operands))
        leaves = self.leaves
        for i, gather in self.leaf_edges:
            leaf = leaves[i]
            leaf.grad = reduce(add, gather(shares), leaf.grad)
        return loss, [values[s] for s in self.output_slots]

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

    def _record(self, args: tuple) -> tuple[float, list[float]]:
        leaf_args = _as_leaves(list(args))
        with _counting_comparisons() as compared:
            result = self.fn(*leaf_args)
        loss, extras = result if isinstance(result, tuple) else (result, None)
        if not isinstance(loss, Value):
            raise TypeError(f"compile: the function must return a Value (the loss), got {type(loss).__name__}")
        outputs = _flatten(extras, []) if extras is not None else []
        if not all(isinstance(v, Value) for v in outputs):
            raise TypeError("compile: the extra outputs must be Values or lists of Values")
        if compared[0]:
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'the function')} compared Values while it was recorded "
                "(as in `if v > 0` or max(values)); the replay keeps the branches taken this time",
                CompileWarning,
                stacklevel=3,
            )
        old = self.plan
        plan = _Plan(loss, outputs, _flatten(leaf_args, []))
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

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.plan is None or (self.check_every and self.calls % self.check_every == 0):
            loss, outs = self._record(args)  # the graph is freed on return
            if hasattr(sys, "getrefcount"):
                self.plan.note_owners()
        else:
            flat = _flatten(list(args), [])
            if len(flat) != self._n_inputs:
                raise ValueError(
                    f"compile: recorded with {self._n_inputs} input(s), called with {len(flat)}; "
                    "compile a new function for a different shape"
                )
            self.plan.check_owners()
            inputs = [x.data if isinstance(x, Value) else _value._number(x, "compile input") for x in flat]
            loss, outs = self.plan.run(inputs or None)
        if self._extras_shape is None:
            return loss
        return loss, _rebuild(self._extras_shape, iter(outs))

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "fn")
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
