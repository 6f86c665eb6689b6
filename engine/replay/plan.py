"""The plan: a recorded graph as groups of slots of floats, ready to replay (`play.py` replays it).

`Plan` is built by passes over the graph's nodes, each a function with one job:

1. `_check`: every extra output in the loss's graph;
2. `_take_pieces`: the repeated pieces (`pieces.py`), each shape's copies to be run by one
   generated forward loop and one backward loop (`kernels.py`); the nodes left over;
3. `_group`: the rest of the graph (the sums and the penalty around the kernels) grouped by
   depth and operation; each group runs as one `map` of the operation's float forward and rule;
4. `_slots`: a slot of floats for each leaf, each copy's top and each grouped node;
5. `_edges`: a share slot for each edge, contiguous per batch of copies and per group; each
   batch notes the leaves whose gradient no one reads (numbers passed in), to write no share to;
6. `_incoming`: where each node's shares come from, in the order backward() adds them;
7. `_sum_in_loops`: the shared leaves whose gradient a kernel sums in its locals;
8. `_expose`: slots of their own for extra outputs inside pieces;
9. `_steps`: each group's forward and backward step, and the wiring that a check compares;
   runs of small groups (a chain of sums) then become straight-line code (`straight.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

from ..core.value import Value
from .errors import Uncompiled
from .kernels import batch_code
from .pieces import Piece, find_pieces
from .play import _gather, _incoming_gather, replay
from .straight import straighten


class _Batch:
    """All copies of one repeated piece, run by one generated loop (see `kernels.py`)."""

    def __init__(
        self, pieces: list[Piece], slot: dict[Value, int], start: int, first_edge: int, unread: frozenset[Value]
    ) -> None:
        self.pieces: list[Piece] = pieces  # while the plan is built
        self.count = len(pieces)
        self.start, self.stop = start, start + len(pieces)
        self.first_edge = first_edge
        self.n_edges = len(pieces[0].edge_args())
        self.last_edge = first_edge + len(pieces) * self.n_edges
        model = pieces[0]
        by_leaf = list(zip(*[p.leaves for p in pieces], strict=True))  # leaf k of every copy (== is `is` for Values)
        self.shared = [k for k, leaves in enumerate(by_leaf) if leaves.count(leaves[0]) == len(leaves)]
        # leaves whose gradient no one reads (numbers passed in) in every copy: the loop writes no share to them
        self.dropped = [k for k, leaves in enumerate(by_leaf) if all(leaf in unread for leaf in leaves)]
        shared = set(self.shared)
        varying = [k for k in range(len(model.leaves)) if k not in shared]
        shared_slots = [slot[model.leaves[k]] for k in self.shared]
        column_slots = [[slot[p.leaves[k]] for p in pieces] for k in varying]
        self.layout = hash((model.signature, tuple(self.shared), tuple(shared_slots), tuple(map(tuple, column_slots))))
        self.get_shared = _gather(shared_slots)
        self.get_columns = [_gather(c) for c in column_slots]
        self.bases = [first_edge + i * self.n_edges for i in reversed(range(len(pieces)))]  # backward order
        self.summed: list[int] = []  # set by the plan: shared leaves whose gradient the loop sums
        self.summed_leaves: list[tuple[int, Any, Any]] = []  # (leaf, before-gather, after-gather; None: no share)
        self.exposed: list[int] = []  # inner nodes that are extra outputs
        self.exposed_start: list[int] = []
        self.forward: Any = None  # the generated loops, once made
        self.backward: Any = None
        self.source = ""  # the generated code of the kernel

    def generate(self, cache: dict[tuple, tuple]) -> None:
        key = (self.pieces[0].signature, *map(tuple, (self.shared, self.summed, self.exposed, self.dropped)))
        if key not in cache:
            cache[key] = batch_code(self.pieces[0], self.shared, self.summed, self.exposed, self.dropped)
        self.forward, self.backward, self.source = cache[key]


def _gather_some(indices: list[int]) -> Callable[[list], tuple] | None:
    """_gather(indices), or None for none: sum((), x) is x itself, so the replay skips the call."""
    return _gather(indices) if indices else None


# ---------------------------------------------------------------- the passes


def _check(outputs: list[Value], order: list[Value]) -> None:
    """Refuse an extra output outside the loss's graph (a graph with gradient hooks never gets here:
    `Compiled._record` refuses it before planning)."""
    if not outputs:
        return
    in_graph = set(order)
    for v in outputs:
        if v not in in_graph:
            raise ValueError(f"compile: the extra output {v!r} is not part of the loss's graph")


def _take_pieces(order: list[Value]) -> tuple[list[list[Piece]], dict[Value, Piece], list[Value]]:
    """The repeated pieces, each shape's copies together; each copy by its top; the nodes not inside a copy."""
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
    return copies, piece_of, [n for n in order if n not in hidden]


def _group(nodes: list[Value], piece_of: dict[Value, Piece]) -> tuple[list[Value], dict[tuple, list[Value]], list]:
    """The leaves, and the other nodes in groups keyed by (depth, operation, arity), the keys in order.

    Leaves stand at depth 0 and each copy's top at depth 1 (its piece reads only leaves).
    """
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
        raise Uncompiled(
            f"its {grouped:,} nodes outside repeated pieces fall into {len(keys):,} groups by depth and "
            "operation (a long chain?), and so few nodes per group replay no faster than backward()",
            always=True,
        )
    return leaves, groups, keys


def _slots(leaves: list[Value], copies: list[list[Piece]], groups: dict[tuple, list[Value]], keys: list) -> dict:
    """The slot of each value: the leaves first, then each batch's copies, then each group's nodes."""
    slot = {leaf: i for i, leaf in enumerate(leaves)}
    for ps in copies:
        for p in ps:
            slot[p.root] = len(slot)
    for key in keys:
        for node in groups[key]:
            slot[node] = len(slot)
    return slot


def _edges(
    copies: list[list[Piece]], slot: dict, groups: dict, keys: list, unread: frozenset[Value]
) -> tuple[list[_Batch], dict, int]:
    """The batches, the first share slot of each copy and grouped node, and the number of share slots.

    One share slot per edge, contiguous per batch and group; slot 0 holds the seed. unread: leaves
    whose gradient no one reads.
    """
    edge_base: dict[Value, int] = {}
    n_edges = 1
    batches = []
    for ps in copies:
        batches.append(_Batch(ps, slot, slot[ps[0].root], n_edges, unread))
        for p in ps:
            edge_base[p.root] = n_edges
            n_edges += batches[-1].n_edges
    for key in keys:
        for node in groups[key]:
            edge_base[node] = n_edges
            n_edges += key[2]
    return batches, edge_base, n_edges


def _incoming(loss: Value, nodes: list[Value], piece_of: dict, edge_base: dict) -> dict[Value, list[int]]:
    """The share slots each node's gradient adds up: consumers in reverse order, as backward() adds them."""
    incoming: dict[Value, list[int]] = {loss: [0]}
    args_of: dict[int, list[int]] = {}  # id(refs) -> edge_args(): copies of one shape share their refs
    for node in reversed(nodes):
        copy = piece_of.get(node)
        if copy is None:
            base = edge_base.get(node, 0)  # a leaf has no parents, so no edges
            for i, parent in enumerate(node.parents):
                incoming.setdefault(parent, []).append(base + i)
        else:
            args = args_of.get(id(copy.refs))
            if args is None:
                args = args_of[id(copy.refs)] = copy.edge_args()
            for leaf, edge in zip(map(copy.leaves.__getitem__, args), count(edge_base[node])):
                incoming.setdefault(leaf, []).append(edge)
    return incoming


def _sum_in_loops(batches: list[_Batch], incoming: dict[Value, list[int]], leaves: list[Value]) -> None:
    """Mark the shared leaves whose gradient a batch's loop sums in a local.

    A shared leaf's gradient is summed inside the loop when the loop's shares to it arrive in one
    run, and everything else it receives comes from outside any batch.
    """
    batch_edges_end = batches[-1].last_edge if batches else 1
    leaf_index = {leaf: i for i, leaf in enumerate(leaves)}
    summed_anywhere: set[Value] = set()
    for b in batches:
        lo, hi = b.first_edge, b.last_edge
        dropped = set(b.dropped)
        for k in b.shared:
            leaf = b.pieces[0].leaves[k]
            if k in dropped:
                continue
            ks = incoming.get(leaf, [])
            if ks and lo <= min(ks) and max(ks) < hi:  # every share from this batch (the usual case, in C)
                mine, from_other_batches = list(range(len(ks))), False
            else:
                mine = [i for i, e in enumerate(ks) if lo <= e < hi]
                from_other_batches = any(e < batch_edges_end and not lo <= e < hi for e in ks)
            if not mine or leaf in summed_anywhere or from_other_batches or len(mine) != mine[-1] - mine[0] + 1:
                continue
            b.summed.append(k)
            summed_anywhere.add(leaf)
            before, after = ks[: mine[0]], ks[mine[-1] + 1 :]
            b.summed_leaves.append((leaf_index[leaf], _gather_some(before), _gather_some(after)))


def _expose(batches: list[_Batch], outputs: list[Value], slot: dict) -> None:
    """Extra outputs inside pieces get slots of their own (after all others), which the loops fill."""
    keep = set(outputs)
    for b in batches:
        # inner nodes (top aside) that some copy returns as an extra output, in order
        found = {p.inner.index(v) for p in b.pieces for v in keep.intersection(p.inner[:-1])}
        for j in sorted(found):
            b.exposed.append(j)
            b.exposed_start.append(len(slot))
            for p in b.pieces:
                slot[p.inner[j]] = len(slot)


def _steps(groups: dict, keys: list, slot: dict, edge_base: dict, incoming: dict) -> tuple[list, list, list]:
    """Each group's forward step and backward step (in backward order), and each group's wiring."""
    layout: list = []
    forward_steps = []
    backward_steps = []
    for key in keys:
        group = groups[key]
        operation = key[1]
        start, stop = slot[group[0]], slot[group[-1]] + 1
        operand_slots = [[slot[n.parents[i]] for n in group] for i in range(key[2])]
        layout.append((start, stop, operation, tuple(map(tuple, operand_slots))))
        getters = [_gather(c) for c in operand_slots]
        checked = not operation.propagates_non_finite
        # a group of one node (a chain of sums, say) reads its operands and shares by index
        single = tuple(c[0] for c in operand_slots) if len(group) == 1 else None
        ins = incoming[group[0]] if single is not None else None
        forward_steps.append((start, stop, operation.forward, getters, checked, single))
        first = edge_base[group[0]]
        gather_in = _incoming_gather(group, incoming)
        last = first + len(group) * key[2]
        ins_ = None if ins is None else ins[0] if len(ins) == 1 else _gather(ins)  # a share's index, or a gather
        backward_steps.append((start, stop, operation.rule, getters, gather_in, first, last, single, ins_))
    backward_steps.reverse()
    return forward_steps, backward_steps, layout


# ---------------------------------------------------------------- the plan


class Plan:
    """The recorded graph as groups of slots of floats, ready to replay."""

    def __init__(
        self, loss: Value, outputs: list[Value], order: list[Value], unread: frozenset[Value] = frozenset()
    ) -> None:
        """unread: leaves whose gradient no one reads (the stand-ins of numbers passed in): the
        kernels write no share to them and no sum is made for them."""
        _check(outputs, order)
        copies, piece_of, nodes = _take_pieces(order)
        leaves, groups, keys = _group(nodes, piece_of)
        slot = _slots(leaves, copies, groups, keys)
        batches, edge_base, self.n_edges = _edges(copies, slot, groups, keys, unread)
        incoming = _incoming(loss, nodes, piece_of, edge_base)
        _sum_in_loops(batches, incoming, leaves)
        _expose(batches, outputs, slot)
        cache: dict[tuple, tuple] = {}
        for b in batches:
            b.generate(cache)
        self.batch_inputs = [_incoming_gather([p.root for p in b.pieces], incoming) for b in batches]
        for b in batches:
            b.pieces = []  # the plan keeps no node of the graph, only its leaves
        forward_steps, backward_steps, layout = _steps(groups, keys, slot, edge_base, incoming)
        # runs of small groups become straight-line code: a step is a tuple, or such code
        self.forward_steps, self.backward_steps, self.straight = straighten(
            keys, groups, slot, edge_base, incoming, forward_steps, backward_steps
        )
        summed = {i for b in batches for i, _, _ in b.summed_leaves}
        self.leaf_edges = [  # (leaf, the index of its one share, or a gather of its shares)
            (i, incoming[leaf][0] if len(incoming[leaf]) == 1 else _gather(incoming[leaf]))
            for i, leaf in enumerate(leaves)
            if leaf in incoming and i not in summed and leaf not in unread
        ]
        self.leaves = leaves  # the plan's only references to the graph's Values
        self.batches = batches
        self.size = len(slot)
        self.loss_slot = slot[loss]
        self.output_slots = [slot[v] for v in outputs]
        # what a check compares: the wiring
        self.wiring = hash(
            (tuple([(b.start, b.layout) for b in batches] + layout), self.loss_slot, len(leaves), self.size)
        )
        self.n_nodes = len(order)
        self.n_pieces = len(piece_of)
        self.n_kernels = len(copies)
        self.n_groups = len(keys) + len(batches)

    run = replay  # forward and backward on the leaves' current numbers (see `play.replay`)
