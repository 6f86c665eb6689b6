"""The floor: micrograd's demo training step written by hand in plain floats, with no graph.

The same MLP (2 inputs, two relu hidden layers, one linear output), the same hinge loss
mean(relu(1 - y * score)) + 1e-4 * sum(p * p) and the same SGD update as
`workloads.training_step`, one example at a time: a forward pass, then the backward pass
worked out by hand,

    d loss / d score      = -y / n            when 1 - y * score > 0, else 0
    d loss / d a          = d loss / d h      where the pre-activation a > 0, else 0
    d loss / d w[j][k]    = sum over examples of (d loss / d a[j]) * input[k]
    d loss / d p (L2)     = 2e-4 * p

Care taken for speed: dot products with `sum(map(mul, ...))`, examples whose hinge is flat
and units whose relu is off skip their backward work, and no per-example lists are kept.
This is the time an object-per-node engine cannot beat: it is the bar for a compiled replay.
"""

from __future__ import annotations

from itertools import repeat
from operator import add, mul

from .workloads import L2_WEIGHT

Layers = list[tuple[list[list[float]], list[float]]]


def copy_layers(layers: Layers) -> Layers:
    """A deep copy of [(weights[out][in], biases[out]), ...]."""
    return [([list(row) for row in ws], list(bs)) for ws, bs in layers]


def flat_parameters(layers: Layers) -> list[float]:
    """All parameters in the order `workloads.Model.parameters()` lists them: each row, then its bias."""
    flat = []
    for ws, bs in layers:
        for row, b in zip(ws, bs, strict=True):
            flat.extend(row)
            flat.append(b)
    return flat


def loss_and_grads(layers: Layers, points: list[tuple[float, float]], labels: list[float]) -> tuple[float, Layers]:
    """The loss and d loss / d every parameter, in the same nested shape as `layers`."""
    (w1, b1), (w2, b2), (w3, b3) = layers
    if any(len(row) != 2 for row in w1) or len(w3) != 1:
        raise ValueError("floor: written for 2 inputs and 1 output, got a different first or last layer")
    out_row, out_bias = w3[0], b3[0]
    n_hidden2 = len(w2)
    g1 = [[0.0, 0.0] for _ in w1]
    gb1 = [0.0] * len(w1)
    g2 = [[0.0] * len(row) for row in w2]
    gb2 = [0.0] * n_hidden2
    g3 = [0.0] * len(out_row)
    gb3 = 0.0
    w1_pairs = [(r[0], r[1], b) for r, b in zip(w1, b1, strict=True)]
    w2_rows = list(zip(w2, b2, strict=True))
    columns2 = list(zip(*w2, strict=True))  # w2 transposed, for d loss / d h1
    scale = 1.0 / len(points)
    hinge_sum = 0.0

    for (x0, x1), y in zip(points, labels, strict=True):
        # forward: b + w0*x0 + w1*x1 + ..., the order the engine adds them in
        a1 = [b + r0 * x0 + r1 * x1 for r0, r1, b in w1_pairs]
        h1 = [a if a > 0.0 else 0.0 for a in a1]
        a2 = [sum(map(mul, row, h1), b) for row, b in w2_rows]
        h2 = [a if a > 0.0 else 0.0 for a in a2]
        margin = 1.0 - y * sum(map(mul, out_row, h2), out_bias)
        if margin <= 0.0:
            continue  # relu of the hinge is off: this example adds nothing to the gradient
        hinge_sum += margin

        # backward
        g_score = -y * scale
        gb3 += g_score
        g3 = list(map(add, g3, map(mul, h2, repeat(g_score))))
        d2 = [g_score * w if a > 0.0 else 0.0 for w, a in zip(out_row, a2, strict=True)]
        for j in range(n_hidden2):
            d = d2[j]
            if d:
                gb2[j] += d
                g2[j] = list(map(add, g2[j], map(mul, h1, repeat(d))))
        for k, a in enumerate(a1):
            if a > 0.0:
                d = sum(map(mul, columns2[k], d2))
                gb1[k] += d
                row = g1[k]
                row[0] += d * x0
                row[1] += d * x1

    loss = hinge_sum * scale + L2_WEIGHT * sum(p * p for p in flat_parameters(layers))
    l2 = 2.0 * L2_WEIGHT
    grads = [(g1, gb1), (g2, gb2), ([g3], [gb3])]
    for (ws, bs), (gws, gbs) in zip(layers, grads, strict=True):
        for row, grow in zip(ws, gws, strict=True):
            grow[:] = map(add, grow, map(mul, row, repeat(l2)))
        gbs[:] = map(add, gbs, map(mul, bs, repeat(l2)))
    return loss, grads


def training_step(layers: Layers, points, labels, learning_rate: float = 0.1) -> float:
    """One SGD step on `layers` in place (p -= learning_rate * grad). Returns the loss before it."""
    loss, grads = loss_and_grads(layers, points, labels)
    for (ws, bs), (gws, gbs) in zip(layers, grads, strict=True):
        for row, grow in zip(ws, gws, strict=True):
            row[:] = [p - learning_rate * g for p, g in zip(row, grow, strict=True)]
        bs[:] = [p - learning_rate * g for p, g in zip(bs, gbs, strict=True)]
    return loss
