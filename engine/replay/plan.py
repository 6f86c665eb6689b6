"""The plan: a recorded graph as groups of slots of floats, and its replay (forward and backward).

1. Repeated pieces become kernels (`pieces.py` finds them, `kernels.py` writes their loops); each
   distinct shape gets one generated forward loop and one backward loop over all its copies.
2. The rest of the graph (the sums and the penalty around the kernels) is grouped by depth and
   operation; each group runs as one `map` of the operation's float forward function and rule.
3. Gradients flow as one share per edge (or a running sum in a kernel's locals), added into each
   node and leaf *in the order backward() adds them*, so values and gradients equal the object
   engine's to the last bit.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable
from functools import reduce
from itertools import chain, repeat
from operator import add, attrgetter, itemgetter
from typing import Any

from ..core.value import Value
from .guards import Unsure
from .kernels import batch_code
from .pieces import Piece, find_pieces

_data = attrgetter("_data")
_grad = attrgetter("grad")
_pack = struct.Struct("<d").pack
_MINUS_ZERO = _pack(-0.0)
_Unsure = Unsure

# start + x0 + x1 + ..., added left to right in doubles as backward() adds shares. Up to Python
# 3.11 the built-in sum does exactly that, in C; from 3.12 it compensates rounding errors, which
# is more accurate but not the same number.
_sum = sum if sys.version_info < (3, 12) else lambda xs, start: reduce(add, xs, start)


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


# ---------------------------------------------------------------- the plan


class _NoGain(Exception):
    """The graph has too little repetition for a replay to beat building it again."""


class _Batch:
    """All copies of one repeated piece, run by one generated loop (see `kernels.py`)."""

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
        shared_slots = [slot[model.leaves[k]] for k in self.shared]
        column_slots = [[slot[p.leaves[k]] for p in pieces] for k in varying]
        self.layout = hash((model.signature, tuple(self.shared), tuple(shared_slots), tuple(map(tuple, column_slots))))
        self.get_shared = _gather(shared_slots)
        self.get_columns = [_gather(c) for c in column_slots]
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

    def __init__(self, loss: Value, outputs: list[Value], order: list[Value]) -> None:
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

        layout: list = [(b.start, b.layout) for b in batches]  # what a check compares: the wiring
        self.forward_steps = []
        self.backward_steps = []
        for key in keys:
            group = groups[key]
            operation = key[1]
            start, stop = slot[group[0]], slot[group[-1]] + 1
            operand_slots = [[slot[n.parents[i]] for n in group] for i in range(key[2])]
            layout.append((start, stop, operation, tuple(map(tuple, operand_slots))))
            getters = [_gather(c) for c in operand_slots]
            checked = not operation.propagates_non_finite
            self.forward_steps.append((start, stop, operation.forward, getters, checked))
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
        self.wiring = hash((tuple(layout), self.loss_slot, len(leaves), self.size))
        self.n_nodes = len(order)
        self.n_groups = len(keys) + len(batches)
        self.owned: list[tuple[int, int]] = []  # (leaf, its references from the recording alone)

    def run(self) -> tuple[float, list[float]]:
        """Forward and backward on the leaves' current numbers; the loss and the extra outputs.

        Raises _Unsure, before any gradient is touched, when the numbers leave the ground where
        a replay is known to equal backward(): a NaN or an infinity anywhere (an overflow, which
        the object engine reports, or a non-finite input, which a skipped copy would not
        propagate), an error in an operation, or a -0.0 gradient to add to.
        """
        leaves = self.leaves
        data = list(map(_data, leaves))
        total = sum(data)
        if total - total:  # a NaN or an infinity among the leaves (or a sum that overflowed)
            raise _Unsure("a leaf of the recorded graph is NaN or infinite")
        before = list(map(_grad, leaves))
        if None in before:  # `p.grad = None`: the object engine starts from -0.0 (the new share, to the bit)
            raise _Unsure("a gradient is None")
        try:
            grads = array("d", before).tobytes()
        except TypeError:  # a gradient that is a Value (from create_graph): let backward() add to it
            raise _Unsure("a gradient to add to is a Value") from None
        # A -0.0 gradient (or None) makes the sign of every zero share visible, which a replay does
        # not promise: a skipped +0.0 share, or a kernel's 0.0 where a rule gives -0.0 (found by the
        # fuzzer), would change the sign of a zero total.
        at = grads.find(_MINUS_ZERO)
        while at >= 0:
            if at % 8 == 0:
                raise _Unsure("a gradient to add to is -0.0")
            at = grads.find(_MINUS_ZERO, at + 1)
        values = [0.0] * self.size
        values[: len(leaves)] = data
        try:
            states = []
            for b in self.batches:  # over leaves only: they come first
                shared = b.get_shared(values)
                columns = [g(values) for g in b.get_columns]
                out, saved, exposed, check = b.forward(shared, b.count, *columns)
                if check - check:
                    raise _Unsure("a NaN or an infinity appeared while replaying the recorded graph")
                values[b.start : b.stop] = out
                for s, xs in zip(b.exposed_start, exposed, strict=True):
                    values[s : s + len(xs)] = xs
                states.append((out, saved, shared, columns))
            for start, stop, f, getters, checked in self.forward_steps:
                operands = [g(values) for g in getters]
                if checked:
                    for column in operands:
                        total = sum(column)
                        if total - total:
                            raise _Unsure("a NaN or an infinity appeared while replaying the recorded graph")
                values[start:stop] = map(f, *operands)
            loss = values[self.loss_slot]
            if loss - loss:
                raise _Unsure(f"the replayed loss is {loss!r}")

            shares = [0.0] * self.n_edges
            shares[0] = 1.0
            for start, stop, rule, getters, gather_in, first, last in self.backward_steps:
                operands = [g(values) for g in getters]
                shares[first:last] = chain.from_iterable(map(rule, gather_in(shares), values[start:stop], *operands))
            summed = []
            for b, gather_in, (out, saved, shared, columns) in zip(
                self.batches, self.batch_inputs, states, strict=True
            ):
                acc = [_sum(earlier(shares), before[i]) for i, earlier, _ in b.summed_leaves]
                sums = b.backward(
                    gather_in(shares)[::-1], out[::-1], saved[::-1], shared, acc, shares, b.bases,
                    *[c[::-1] for c in columns],
                )  # fmt: skip
                summed.append(sums)
        except ZeroDivisionError as e:  # the kernel's line stays in the chain of the error raised
            raise _Unsure("/: division by zero while replaying the recorded graph") from e
        except (ArithmeticError, ValueError) as e:
            raise _Unsure(f"{e} (while replaying the recorded graph)") from e
        new = []
        for b, sums in zip(self.batches, summed, strict=True):
            for (i, _, after), total in zip(b.summed_leaves, sums, strict=True):
                new.append((i, _sum(after(shares), total)))
        for i, gather in self.leaf_edges:
            new.append((i, _sum(gather(shares), before[i])))
        # nothing can fail from here on: the gradients are written
        for i, g in new:
            leaves[i].grad = g
        return loss, [values[s] for s in self.output_slots]
