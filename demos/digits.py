"""Handwritten digits: an MLP learns scikit-learn's 8x8 digits with cross-entropy, mini-batches and Adam.

The 1,797 images (8x8 pixels, grey levels 0-16, read from a file shipped inside scikit-learn: no
download) are split into 1,437 for training and 360 for the test. An MLP 64-32-10 (relu, then ten
logits) trains on mini-batches of 2 images of each digit (20 images), drawn afresh every step, with
softmax cross-entropy and Adam. The step is compiled once and given each batch's images and
labels as arguments. It is then scored on the 360 test images.

    python demos/digits.py                # 400 steps, pictures in out/digits/
    python demos/digits.py --steps 100    # a short run
"""

from __future__ import annotations

import gzip
import importlib.util
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine
import nn
from demos import common, digit_pictures, grid, plots

TEST_IMAGES, CLASSES, HIDDEN = 360, 10, 32


def load() -> tuple[list[list[float]], list[int]]:
    """The 1,797 digits as 64 pixels in [0, 1] each, and their labels 0-9."""
    rows = bundled_rows()
    if rows is None:  # not where this scikit-learn keeps it: ask scikit-learn (a second or so to import)
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise SystemExit("digits: needs scikit-learn for its bundled digits (pip install -e '.[demos]')") from None
        digits = load_digits()
        rows = [[*row, target] for row, target in zip(digits.data, digits.target, strict=True)]
    return [[float(p) / 16.0 for p in row[:64]] for row in rows], [int(row[64]) for row in rows]


def bundled_rows() -> list[list[int]] | None:
    """scikit-learn's digits file read as it is (64 pixels 0-16 and the label a row), without importing
    scikit-learn; None where the installed scikit-learn keeps no such file."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    try:
        with gzip.open(path, "rt", encoding="ascii") as f:
            rows = [[int(float(x)) for x in line.split(",")] for line in f if line.strip()]
    except (OSError, ValueError):
        return None
    return rows if rows and all(len(row) == 65 for row in rows) else None


def split(images: list, labels: list[int], seed: int) -> tuple[list, list[int], list, list[int]]:
    """A shuffled split: TEST_IMAGES for the test, the rest for training."""
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    test, train = order[:TEST_IMAGES], order[TEST_IMAGES:]
    return [images[i] for i in train], [labels[i] for i in train], [images[i] for i in test], [labels[i] for i in test]


def batches(labels: Sequence[int], per_class: int, seed: int) -> Iterator[list[int]]:
    """Endless mini-batches of indices: `per_class` examples of each class, in class order, drawn at random."""
    rng = random.Random(seed)
    by_class = [[i for i, t in enumerate(labels) if t == k] for k in range(CLASSES)]
    while True:
        yield [i for members in by_class for i in rng.sample(members, per_class)]


def micrograd_estimate(model: nn.MLP, images: list, labels: list[int], steps: int) -> str | None:
    """micrograd's time for the same run, from one timed step of its engine on the same batch (or None).

    micrograd 0.1.0 has no exp or log, so its step uses the multiclass hinge loss (relu(1 + z_j - z_k)
    summed over the wrong classes), a graph of about the same size as cross-entropy's.
    """
    try:
        from micrograd.engine import Value as MValue
    except ImportError:
        return None
    weights = [[[MValue(w.data) for w in n.w] + [MValue(n.b.data)] for n in layer.neurons] for layer in model.layers]
    start = time.perf_counter()
    terms = []
    for x, k in zip(images, labels, strict=True):
        a: list = x
        for depth, layer in enumerate(weights):
            a = [sum((w * xi for w, xi in zip(row[:-1], a, strict=True)), row[-1]) for row in layer]
            if depth < len(weights) - 1:
                a = [v.relu() for v in a]
        terms += [(1 + a[j] - a[k]).relu() for j in range(CLASSES) if j != k]
    loss = sum(terms[1:], terms[0]) * (1.0 / len(images))
    loss.backward()
    seconds = time.perf_counter() - start
    return f"micrograd 0.1.0 would take about {seconds * steps:.0f} s for these {steps} steps ({seconds:.2f} s a step)"


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("digits", __doc__, steps=400, lr=0.01, seed=0, compiled=True)
    parser.add_argument(
        "--per-class", type=int, default=2, help="images of each digit in a mini-batch, 1 to 20 (default %(default)s)"
    )
    args = common.parse(parser, argv)
    if not 1 <= args.per_class <= 20:
        parser.error(f"--per-class must be from 1 to 20, got {args.per_class}")
    X, y, X_test, y_test = split(*load(), seed=args.seed)
    model = nn.MLP(64, [HIDDEN, CLASSES], seed=args.seed)
    optimizer = nn.Adam(model.parameters(), lr=args.lr)

    def loss_fn(images, labels):
        scores = [model(x) for x in images]  # forward: ten logits per image
        return nn.cross_entropy(scores, labels), scores

    draw = batches(y, args.per_class, args.seed)
    first = next(draw)
    step = engine.compile(loss_fn)  # images and labels are arguments: one recording serves every batch

    with common.Run("digits", args, model) as run:
        for k in run:
            chosen = first if k == 1 else next(draw)
            images, labels = [X[i] for i in chosen], [y[i] for i in chosen]
            optimizer.zero_grad()
            if not args.compiled:
                loss, scores = loss_fn(images, labels)  # forward: builds the graph of Values
                loss.backward()
                loss, scores = loss.data, nn.floats(scores)
            else:
                loss, scores = step(images, labels)  # forward + backward as floats, exactly as uncompiled
            optimizer.step()  # Adam
            run.log(loss, nn.accuracy(scores, labels))
    training = run.training
    assert training is not None
    test_outputs = grid.outputs_at(model, X_test)  # nn.outputs(model, X_test) to the bit, all images at once
    test_accuracy = nn.accuracy(test_outputs, y_test)
    predicted = [nn.predicted_class(o) for o in test_outputs]
    figures = {
        "curves": plots.plot_curves(training, "digits"),
        "confusion": digit_pictures.confusion(y_test, predicted, test_accuracy),
        "mistakes": digit_pictures.mistakes(X_test, y_test, predicted),
        "weights": digit_pictures.first_layer(model),
    }
    pictures = common.save_pictures("digits", args.out, figures)
    summary = common.report(
        "digits", training, pictures, test_accuracy=common.accuracy_metric("test", test_accuracy, len(y_test))
    )
    estimate = micrograd_estimate(model, [X[i] for i in first], [y[i] for i in first], args.steps)
    if estimate is not None:
        print(estimate)
    return summary


if __name__ == "__main__":
    common.script("digits", main)
