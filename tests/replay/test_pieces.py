"""find_pieces: the same repeated pieces as the plain search (a walk from every candidate top), in
a number of node visits that grows with the graph, not with its depth times its size."""

from collections import Counter
from itertools import chain

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

import engine.replay.pieces as pieces
from engine import Value
from engine.core.graph import graph_order, topological_order

# ---------------------------------------------------------------- the plain search, as the reference


def inner_below(root, limit=None):
    """The inner nodes below root (root included), by a walk that stops at leaves."""
    return graph_order([root], stop=lambda n: n.operation is None, limit=limit)


def reference_pieces(order, fewest, most):
    """find_pieces as it was first written: a bounded walk from every candidate top."""
    shape_ids, key = {}, {}
    for node in order:
        shape = (node.operation, *[key[p] for p in node.parents])
        key[node] = shape_ids.setdefault(shape, len(shape_ids)) if node.parents else -1
    count = Counter(key.values())
    uses = Counter(chain.from_iterable(n.parents for n in order))
    inner_order = [n for n in order if n.operation is not None]
    found, models, failed = [], {}, {}
    i = len(inner_order) - 1
    while i >= 0:
        node, k = inner_order[i], key[inner_order[i]]
        i -= 1
        if count[k] < 2 or failed.get(k, 0) >= 2:
            continue
        piece = None
        for first, shape in models.get(k, ()):
            candidate = pieces.Piece.copy_of(first, shape, inner_order[i + 2 - len(first.inner) : i + 2])
            if candidate is not None and candidate.is_private(uses, shape.inside):
                piece = candidate
                break
        if piece is None:
            inner = inner_below(node, most)
            if not max(fewest, 2) <= len(inner) <= most:
                failed[k] = 2
                continue
            piece = pieces.Piece(inner, k)
            shape = pieces._Shape(piece)
            if not piece.is_private(uses, shape.inside):
                failed[k] = failed.get(k, 0) + 1
                continue
            models.setdefault(k, []).append((piece, shape))
        found.append(piece)
        i -= len(piece.inner) - 1
    found.reverse()
    return found


def described(found):
    """What the replay reads of each piece: top, inner nodes, leaves, signature (by node identity)."""
    return [(id(p.root), [id(n) for n in p.inner], [id(n) for n in p.leaves], p.signature) for p in found]


def with_limits(fewest, most, walks, fn, *args):
    saved = pieces.MIN_NODES, pieces.MAX_NODES, pieces.WALKS
    pieces.MIN_NODES, pieces.MAX_NODES, pieces.WALKS = fewest, most, walks
    try:
        return fn(*args)
    finally:
        pieces.MIN_NODES, pieces.MAX_NODES, pieces.WALKS = saved


# ---------------------------------------------------------------- graphs of the shapes that matter

OPS = ["+", "*", "-", "tanh", "relu", "**2"]


def apply(op, a, b):
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if op == "-":
        return a - b
    if op == "tanh":
        return a.tanh()
    if op == "relu":
        return a.relu()
    return a**2


steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50)), min_size=2, max_size=8)


def run_template(template, inputs, seen):
    """The template's operations over `inputs` (each operand an earlier result or an input); every result."""
    env = list(inputs)
    for op, a, b in template:
        try:
            env.append(apply(op, env[a % len(env)], env[b % len(env)]))
        except OverflowError:  # a chain of squares: the graph's shape is what matters, not its numbers
            reject()
    seen.extend(env[len(inputs) :])
    return env[-1]


@st.composite
def graphs(draw):
    """A loss over mini-batch copies of a template, chains of it (RNN-like), shared operands and
    inner nodes also used outside their piece."""
    params = [Value(0.5 + j) for j in range(draw(st.integers(1, 3)))]
    template = draw(steps)
    arity = draw(st.integers(1, 3))
    made, outputs = [], []
    for kind in draw(
        st.lists(st.sampled_from(["copies", "copies", "chain", "shared", "outside"]), min_size=1, max_size=6)
    ):
        if kind == "copies":  # a mini-batch: the template on each example's own inputs
            for _ in range(draw(st.integers(2, 6))):
                xs = [Value(0.1) for _ in range(arity)]
                outputs.append(run_template(template, params + xs, made))
        elif kind == "chain":  # h = template(h, x_t, params) for a few sequences
            for _ in range(draw(st.integers(1, 4))):
                h = Value(0.0)
                for _ in range(draw(st.integers(1, 12))):
                    h = run_template(template, [h, Value(0.2)] + params, made)
                outputs.append(h)
        elif kind == "shared" and made:  # copies that read one inner node made before
            shared = made[draw(st.integers(0, len(made) - 1))]
            for _ in range(draw(st.integers(2, 4))):
                outputs.append(run_template(template, [shared, Value(0.3)] + params, made))
        elif kind == "outside" and made:  # an inner node of some copy used by the loss too
            outputs.append(made[draw(st.integers(0, len(made) - 1))])
    if not outputs:
        outputs.append(params[0] * 2.0)
    loss = outputs[0]
    for v in outputs[1:]:
        loss = loss + v
    return loss


@settings(max_examples=300, deadline=None)
@given(
    graphs(),
    st.sampled_from([(2, 0), (2, 5), (2, 30), (8, 5000), (2, 5000), (3, 12)]),
    st.sampled_from([0, 0.1, 1]),  # no walks (every first copy by `_Below`), a few, the default
)
def test_the_same_pieces_as_the_plain_search(loss, limits, walks):
    order = topological_order(loss)
    fewest, most = limits
    expected = described(reference_pieces(order, fewest, most))
    assert described(with_limits(fewest, most, walks, pieces.find_pieces, order)) == expected


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_what_the_two_passes_say_of_each_sub_graph_is_what_a_walk_finds(loss):
    order = topological_order(loss)
    uses = Counter(chain.from_iterable(n.parents for n in order))
    below = pieces._Below(order, uses)
    below._bound(len(order) + 1)  # uncapped
    for x, node in enumerate(order):
        if node.operation is None:
            continue
        inner = inner_below(node)
        inside = Counter(p for n in inner for p in n.parents)
        private = all(uses[n] == inside[n] for n in inner[:-1])
        assert below.private[x] == private
        if private:
            assert below.size[x] == len(inner)
        assert below.least[x] <= len(inner) <= below.most[x]
        for fewest, most in [(2, 5), (8, 30), (3, len(inner)), (len(inner), 5000), (len(inner) + 1, 5000)]:
            found = pieces._Below(order, uses).count(node, fewest, most)
            assert (fewest <= found <= most) == (fewest <= len(inner) <= most)


def rnn_loss(depth, sequences=4, every_step=False):
    """h = tanh(w*h + u*x_t + b) along each sequence; the loss sums (h_T - 1)^2, or every (h_t - 1)^2."""
    w, u, b = Value(0.5), Value(0.3), Value(0.1)
    total = Value(0.0)
    for _ in range(sequences):
        h = Value(0.0)
        for t in range(depth):
            h = (w * h + u * Value(t / depth) + b).tanh()
            if every_step:
                total = total + (h - 1.0) ** 2
        total = total + (h - 1.0) ** 2
    return total


def mlp_batch(copies):
    ws = [Value(0.1 * j) for j in range(12)]
    total = Value(0.0)
    for c in range(copies):
        x1, x2 = Value(c), Value(-c)
        hidden = [(ws[2 * j] * x1 + ws[2 * j + 1] * x2).tanh() for j in range(4)]
        out = sum((ws[8 + j] * h for j, h in enumerate(hidden)), Value(0.0))
        total = total + (out - 1.0) ** 2
    return total


@pytest.mark.parametrize(
    "make",
    [lambda: rnn_loss(1500), lambda: rnn_loss(1200, every_step=True), lambda: mlp_batch(400)],
    ids=["deep chain", "deep chain with a loss at every step", "mini-batch of networks"],
)
def test_the_nodes_walked_grow_with_the_graph_not_its_depth(make, monkeypatch):
    """The plain search walked up to MAX_NODES nodes from each of thousands of tops (a 1,500-deep
    chain: about 10 million); now the walks from candidate tops list about WALKS times the graph's
    nodes, and then those of the pieces taken."""
    order = topological_order(make())  # built here, not when the tests are collected
    walked = []

    def counted(*args, **kwargs):
        nodes = graph_order(*args, **kwargs)
        walked.append(len(nodes))
        return nodes

    monkeypatch.setattr(pieces, "graph_order", counted)
    pieces.find_pieces(order)
    assert sum(walked) <= 2 * len(order) + pieces.MAX_NODES


@pytest.mark.slow  # the plain search, the reference, walks each deep chain in quadratic time
@pytest.mark.parametrize("walks", [0, 1])
@pytest.mark.parametrize(
    "make",
    [lambda: rnn_loss(1100), lambda: rnn_loss(300, every_step=True), lambda: mlp_batch(50)],
    ids=["deep chain", "deep chain with a loss at every step", "mini-batch of networks"],
)
def test_deep_and_repeated_graphs_get_the_plain_searchs_pieces(make, walks):
    order = topological_order(make())
    expected = described(reference_pieces(order, pieces.MIN_NODES, pieces.MAX_NODES))
    found = with_limits(pieces.MIN_NODES, pieces.MAX_NODES, walks, pieces.find_pieces, order)
    assert described(found) == expected
