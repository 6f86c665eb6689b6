"""Repeated pieces of a recorded graph: the sub-graphs that one generated loop can run for all copies.

A network applied to 100 examples makes 100 copies of one sub-graph. Each copy reads only
leaves (the shared parameters, its own inputs and constants) and nothing outside it uses its
inner nodes: a *piece*. `find_pieces` finds them; `kernels.py` writes each shape's loops.

Cost: near-linear in the graph's nodes and edges, whatever its shape. A tree hash of every
node and its uses are O(nodes + edges). The first copy of a shape is found, as by the plain
search, by a walk from a candidate top while all such walks have listed fewer than WALKS times
the graph's nodes (mini-batches of small pieces never get further); then two passes (`_Below`,
O(nodes + edges), plus O(log nodes) for each further user of a node used more than once) say
whether each node's sub-graph is private and bound its size, and a walk is made only for a
first copy taken (its nodes are then taken: these walks list each node at most once). Further
copies are compared at C speed. Left: a sub-graph that is not private and whose size bounds lie
across MIN_NODES or MAX_NODES (shared inside in ways the bounds cannot see) is still walked, at
most MAX_NODES + 1 nodes and at most twice per shape, as the plain search did.
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate, chain, compress, pairwise, repeat
from operator import attrgetter, is_not

from ..core.graph import graph_order
from ..core.operation import Operation
from ..core.value import Value

_parents = attrgetter("parents")
_rule = attrgetter("_how.rule")  # Value._rule without the property's call

MIN_NODES = 8  # smaller repeated pieces stay with the rest of the graph
MAX_NODES = 5000  # larger ones would cost more to compile than they save
WALKS = 0.1  # walks from candidate tops may list this many times the graph's nodes before `_Below` takes over


class Piece:
    """One copy of a repeated sub-graph: its inner nodes (the top one last) and the leaves it reads.

    `refs[j]` says where inner node j's operands come from: inner node i (i >= 0) or leaf k
    (written ~k < 0), leaves numbered as first met. With the top's shape key it is the piece's
    signature: copies with equal signatures compute the same thing from their own leaves.
    """

    __slots__ = ("root", "inner", "leaves", "refs", "signature")

    def __init__(self, inner: list[Value], key: int) -> None:
        local = {n: j for j, n in enumerate(inner)}
        leaves: list[Value] = []
        number: dict[Value, int] = {}
        refs = []
        for node in inner:
            r = []
            for p in node.parents:
                j = local.get(p)
                if j is None:
                    if p._rule is not None:
                        raise LookupError("not a closed piece")  # an operand made outside the piece
                    j = number.get(p)
                    if j is None:
                        j = number[p] = ~len(leaves)
                        leaves.append(p)
                r.append(j)
            refs.append(tuple(r))
        self.root, self.inner, self.leaves, self.refs = inner[-1], inner, leaves, refs
        self.signature = (key, tuple(refs))

    @classmethod
    def copy_of(cls, model: Piece, shape: _Shape, inner: list[Value]) -> Piece | None:
        """`inner` as a copy of `model` (its inner nodes wired alike, over leaves of its own), else None.

        The same answer as comparing `Piece(inner, key)`'s signature with the model's, at C speed:
        the operands `inner` would have as a copy (its inner nodes, the leaves where the model
        first meets each leaf) compared by identity with the operands it has.
        """
        operands = list(chain.from_iterable(map(_parents, inner)))
        if len(inner) != len(model.inner) or len(operands) != len(shape.table):
            return None
        leaves = list(map(operands.__getitem__, shape.first_met))
        if any(map(is_not, map(_rule, leaves), repeat(None))) or len(set(leaves)) != len(leaves):
            return None  # an operand made outside the piece, or two of its leaves the same Value
        if list(map((inner + leaves).__getitem__, shape.table)) != operands:
            return None
        piece = cls.__new__(cls)
        piece.root, piece.inner, piece.leaves, piece.refs = inner[-1], inner, leaves, model.refs
        piece.signature = model.signature
        return piece

    def inside_uses(self) -> list[int]:
        """How many times the piece itself uses each of its inner nodes but the top."""
        counts = [0] * len(self.inner)
        for k in chain.from_iterable(self.refs):
            if k >= 0:
                counts[k] += 1
        return counts[:-1]

    def is_private(self, uses: Counter, inside: list[int] | None = None) -> bool:
        """True if nothing outside the piece uses its inner nodes (its top aside).

        `inside`: `inside_uses()`, when known (the same for every copy of a shape).
        """
        if inside is None:
            inside = self.inside_uses()
        return list(map(uses.__getitem__, self.inner[:-1])) == inside

    def edge_args(self) -> list[int]:
        """The leaf of each leaf operand, in the order backward() adds their shares."""
        return [~k for r in reversed(self.refs) for k in r if k < 0]


class _Shape:
    """A model piece's wiring as `Piece.copy_of` reads it: for each operand (all inner nodes' in
    a row) its index in inner + leaves, and where each leaf is first met; and its inside uses."""

    __slots__ = ("table", "first_met", "inside")

    def __init__(self, model: Piece) -> None:
        n = len(model.inner)
        flat = list(chain.from_iterable(model.refs))
        self.table = [k if k >= 0 else n + ~k for k in flat]
        first: dict[int, int] = {}
        for at, k in enumerate(flat):
            if k < 0:
                first.setdefault(~k, at)
        self.first_met = [first[k] for k in range(len(model.leaves))]
        self.inside = model.inside_uses()


def _sub_graph(root: Value, limit: int) -> list[Value]:
    """The inner nodes below `root` (leaves aside) in topological order, or more than `limit` of them."""
    return graph_order([root], stop=_is_leaf, limit=limit)


def _is_leaf(node: Value) -> bool:
    return node._how.rule is None  # node._rule, without the property's call


def _tree_hashes(order: list[Value]) -> dict[Value, int]:
    """A tree hash of each node: equal keys, equal unfolded shapes (operations and arities)."""
    shape_ids: dict[tuple, int] = {}
    key: dict[Value, int] = {}
    shape_id = shape_ids.setdefault
    for node in order:
        parents = node.parents
        n = len(parents)
        if not n:
            key[node] = -1
            continue
        how = node._how  # node.operation without the property's call, unless a label or hook is kept beside it
        operation = how if type(how) is Operation else node.operation
        if n == 2:
            a, b = parents
            key[node] = shape_id((operation, key[a], key[b]), len(shape_ids))
        elif n == 1:
            key[node] = shape_id((operation, key[parents[0]]), len(shape_ids))
        else:  # three or more inputs: every one is part of the shape
            key[node] = shape_id((operation, *[key[p] for p in parents]), len(shape_ids))
    return key


class _Below:
    """What each inner node's sub-graph (its inner nodes, leaves aside) is, found in two passes over
    `order` instead of a walk from each node: whether it is private, and bounds on its size.

    Private: nothing outside the sub-graph uses its inner nodes (the top aside). With the graph's
    uses turned around (a node points to its users, and a top-most node or a leaf user to an exit),
    the sub-graph below r is private exactly when r post-dominates every inner node below it (every
    way from the node to the exit passes through r). The immediate post-dominators form a tree,
    built top-down with each node's the lowest common ancestor of its users' (skew-binary jump
    pointers: O(log n) a query, O(1) a node). A use p -> u where u is not p's post-dominator goes
    around every r on the tree path from u up to (not including) p's post-dominator; marks of +1 at
    u and -1 there, summed over each sub-tree inputs first, leave 0 at exactly the private r. The
    sub-graph of a private r is its post-dominator sub-tree, whose size is summed in the same pass.

    Sizes of the others: at most the unfolded size (each inner node counted once per way up to r)
    and the inner nodes in r's span of `order` (from its earliest inner node below it to r); at
    least its post-dominator sub-tree, and 1 plus the sum of its inner operands' lower bounds when
    their spans are apart (their sub-graphs then share nothing), else 1 plus the largest. Exact on
    a tree laid out depth-first; a walk where the bounds do not tell whether the size lies between
    the limits.
    """

    __slots__ = ("order", "index", "inner", "private", "size", "least", "most", "low")

    def __init__(self, order: list[Value], uses: Counter) -> None:
        self.order = order
        self.index = index = {node: x for x, node in enumerate(order)}
        self.inner = inner = [node._how.rule is not None for node in order]
        up, summed = _post_dominators(order, index, inner, uses)
        n = len(order)
        self.private = private = [False] * n
        self.size = size = [1] * (n + 1)
        for x in compress(range(n), inner):  # inputs first: a node's sub-tree is summed when it is met
            s = summed[x]
            private[x] = not s
            q = up[x]
            summed[q] += s
            size[q] += size[x]
        self.least: list[int] = []  # the bounds, made when first needed

    def is_private(self, node: Value) -> bool:
        return self.private[self.index[node]]

    def count(self, node: Value, fewest: int, limit: int) -> int:
        """The number of inner nodes below `node` (itself included), or any number outside
        [fewest, limit] if it lies there, or any inside if it lies inside."""
        x = self.index[node]
        if self.private[x]:
            return self.size[x]
        if not self.least:
            self._bound(limit + 1)
        least, most = self.least[x], self.most[x]
        if most < fewest or least > limit or fewest <= least <= most <= limit:
            return least if most >= fewest else most
        return len(_sub_graph(node, limit))  # the bounds straddle a limit: count them

    def _bound(self, cap: int) -> None:
        """Bounds on every inner node's count, capped at `cap`: see the class's docstring."""
        order, index, inner, size = self.order, self.index, self.inner, self.size
        n = len(order)
        self.least = least = [1] * n
        self.most = most = [1] * n
        self.low = low = list(range(n))
        inner_before = list(accumulate(inner, initial=0))
        for x in compress(range(n), inner):
            operands = [index[p] for p in order[x].parents if p._how.rule is not None]
            if len(operands) == 2:  # most nodes: written out
                a, b = operands
                la, lb = low[a], low[b]
                first = low[x] = la if la < lb else lb
                together = most[a] + most[b]
                apart = a < lb or b < la  # spans apart: their sub-graphs share nothing
                fewest = least[a] + least[b] if apart else max(least[a], least[b])
            elif operands:
                first = low[x] = min([low[p] for p in operands])
                together = sum([most[p] for p in operands])
                fewest = _least_of(operands, least, low)
            else:
                continue
            most[x] = min(cap, inner_before[x + 1] - inner_before[first], 1 + together)
            least[x] = max(size[x], min(cap, 1 + fewest))


def _least_of(operands: list[int], least: list[int], low: list[int]) -> int:
    """A lower bound on the inner nodes below all `operands` together (their spans end at themselves)."""
    if len(operands) == 1:
        return least[operands[0]]
    distinct = sorted(set(operands), key=low.__getitem__)
    if all(low[b] > a for a, b in pairwise(distinct)):  # spans apart: nothing shared
        return sum(least[p] for p in distinct)
    return max(least[p] for p in distinct)


def _post_dominators(
    order: list[Value], index: dict[Value, int], inner: list[bool], uses: Counter
) -> tuple[list[int], list[int]]:
    """Each inner node's immediate post-dominator (n: the exit) and the marks `_Below` sums."""
    n = len(order)
    up = [n] * (n + 1)
    depth = [0] * (n + 1)
    jump = [n] * (n + 1)
    mark = [0] * (n + 1)
    users = [-1] * n  # the lowest common ancestor of the users seen so far (-1: none yet)
    for u in range(n - 1, -1, -1):  # users before their operands
        node = order[u]
        if inner[u]:
            q = users[u]
            if q < 0:
                q = n
            up[u] = q
            depth[u] = d = depth[q] + 1
            j = jump[q]
            jump[u] = jump[j] if d - 1 - depth[j] == depth[j] - depth[jump[j]] else q
            mark[q] -= uses[node]
            me = u
        else:
            me = n  # a leaf with operands uses them from outside every piece
        for p in node.parents:
            x = index[p]
            if not inner[x]:
                continue
            mark[me] += 1
            a = users[x]
            users[x] = me if a < 0 or a == me else _common(a, me, up, depth, jump)
    return up, mark


def _common(a: int, b: int, up: list[int], depth: list[int], jump: list[int]) -> int:
    """The lowest common ancestor of a and b in the post-dominator tree."""
    if depth[a] < depth[b]:
        a, b = b, a
    d = depth[b]
    while depth[a] > d:
        j = jump[a]
        a = j if depth[j] >= d else up[a]
    while a != b:
        ja, jb = jump[a], jump[b]
        if ja != jb:
            a, b = ja, jb
        else:
            a, b = up[a], up[b]
    return a


class _FirstCopies:
    """Whether the sub-graph below a node is a new shape's first copy: by a walk from the node (the
    plain way, cheap where pieces are small) while all walks have listed fewer than WALKS times the
    graph's nodes, then by `_Below` (where walks from every candidate top would cost depth x size)."""

    __slots__ = ("order", "uses", "below", "walked")

    def __init__(self, order: list[Value], uses: Counter) -> None:
        self.order, self.uses = order, uses
        self.below: _Below | None = None
        self.walked = 0

    def of(self, node: Value, key: int) -> Piece | int:
        """The sub-graph below `node` as a piece, or a miss: 2 if its size lies outside the limits
        (the shape is tried no more), 1 if something outside uses its inner nodes."""
        fewest = max(MIN_NODES, 2)  # a kernel saves at least one value
        if self.below is None and self.walked < WALKS * len(self.order):
            inner = _sub_graph(node, MAX_NODES)
            self.walked += len(inner)
            if not fewest <= len(inner) <= MAX_NODES:
                return 2
            piece = Piece(inner, key)
            return piece if piece.is_private(self.uses) else 1
        if self.below is None:
            self.below = _Below(self.order, self.uses)
        if not fewest <= self.below.count(node, fewest, MAX_NODES) <= MAX_NODES:
            return 2
        if not self.below.is_private(node):
            return 1
        return Piece(_sub_graph(node, MAX_NODES), key)


def find_pieces(order: list[Value]) -> list[Piece]:
    """Repeated private sub-graphs over leaves, in topological order of their roots.

    The first copy of each shape is found by a walk from its top (`_FirstCopies`). A private
    piece's inner nodes stand together in `order` (a depth-first order), so each further copy is
    read straight off the order and checked to have the same signature.
    """
    key = _tree_hashes(order)
    count = Counter(key.values())
    uses = Counter(chain.from_iterable(map(_parents, order)))
    first_copies = _FirstCopies(order, uses)

    inner_order = [n for n in order if n._how.rule is not None]  # n._rule, without the property's call
    pieces: list[Piece] = []
    models: dict[int, list[tuple[Piece, _Shape]]] = {}  # the first copy of each shape, by tree hash
    failed: dict[int, int] = {}
    i = len(inner_order) - 1
    while i >= 0:  # from the top of the graph down, so the largest pieces win
        node = inner_order[i]
        k = key[node]
        i -= 1
        if count[k] < 2 or failed.get(k, 0) >= 2:
            continue
        piece = None
        for first, shape in models.get(k, ()):  # a further copy of a shape already seen?
            candidate = Piece.copy_of(first, shape, inner_order[i + 2 - len(first.inner) : i + 2])
            if candidate is not None and candidate.is_private(uses, shape.inside):
                piece = candidate
                break
        if piece is None:  # a new shape (the same tree can share nodes differently)
            found = first_copies.of(node, k)
            if not isinstance(found, Piece):
                failed[k] = min(2, failed.get(k, 0) + found)
                continue
            piece = found
            models.setdefault(k, []).append((piece, _Shape(piece)))
        pieces.append(piece)
        i -= len(piece.inner) - 1  # its inner nodes are taken
    pieces.reverse()
    return pieces
