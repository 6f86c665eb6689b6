"""Toy 2-D datasets in pure Python, the same for the same seed on every run.

Each `make_*` returns `(X, y)`: X a list of [x0, x1] points (floats), y a list of int labels.
Classes are balanced (sizes differ by at most one) and the examples are shuffled.
Binary sets take `labels="pm1"` (y in {-1, +1}, for `hinge_loss`) or `labels="01"`
(y in {0, 1}, for `bce_with_logits`); `make_spirals` gives class indices 0..classes-1
(for `cross_entropy`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

Points = list[list[float]]
LABELS = {"pm1": (-1, 1), "01": (0, 1)}


def _count(n: int, what: str, who: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{who}: {what} must be an int >= {minimum}, got {n!r}")
    return n


def _noise(noise: float, who: str) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise < math.inf:
        raise ValueError(f"{who}: noise must be a number >= 0, got {noise!r}")
    return float(noise)


def _label_pair(labels: str, who: str) -> tuple[int, int]:
    if labels not in LABELS:
        raise ValueError(f"{who}: unknown labels {labels!r}; use 'pm1' for -1/+1 or '01' for 0/1")
    return LABELS[labels]


def _split(n: int, parts: int) -> list[int]:
    """n items in `parts` groups whose sizes differ by at most one."""
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def _finish(points: Points, y: list[int], noise: float, rng: random.Random) -> tuple[Points, list[int]]:
    """Add Gaussian noise with standard deviation `noise` to every coordinate, then shuffle."""
    noisy = [[x0 + rng.gauss(0.0, noise), x1 + rng.gauss(0.0, noise)] for x0, x1 in points]
    order = list(range(len(y)))
    rng.shuffle(order)
    return [noisy[i] for i in order], [y[i] for i in order]


def _arc(count: int, i: int) -> float:
    """The i-th of `count` angles spread evenly over [0, pi]."""
    return math.pi * i / (count - 1) if count > 1 else 0.0


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0, labels: str = "pm1") -> tuple[Points, list[int]]:
    """Two interleaving half circles: (cos t, sin t) for the first class, (1 - cos t, 0.5 - sin t) for the second."""
    _count(n, "n", "make_moons", 2)
    negative, positive = _label_pair(labels, "make_moons")
    rng = random.Random(seed)
    n_top, n_bottom = _split(n, 2)
    points = [[math.cos(_arc(n_top, i)), math.sin(_arc(n_top, i))] for i in range(n_top)]
    points += [[1.0 - math.cos(_arc(n_bottom, i)), 0.5 - math.sin(_arc(n_bottom, i))] for i in range(n_bottom)]
    return _finish(points, [negative] * n_top + [positive] * n_bottom, _noise(noise, "make_moons"), rng)


def make_circles(
    n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0, labels: str = "pm1"
) -> tuple[Points, list[int]]:
    """A circle of radius 1 (first class) around one of radius `factor` (second class)."""
    _count(n, "n", "make_circles", 2)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be a number in (0, 1), got {factor!r}")
    negative, positive = _label_pair(labels, "make_circles")
    rng = random.Random(seed)
    n_outer, n_inner = _split(n, 2)
    points = []
    for count, radius in ((n_outer, 1.0), (n_inner, float(factor))):
        for i in range(count):
            t = 2.0 * math.pi * i / count
            points.append([radius * math.cos(t), radius * math.sin(t)])
    return _finish(points, [negative] * n_outer + [positive] * n_inner, _noise(noise, "make_circles"), rng)


def make_xor(n: int = 100, noise: float = 0.0, seed: int = 0, labels: str = "pm1") -> tuple[Points, list[int]]:
    """Points in the four quadrants of [-1, 1]^2: the second class where x0 and x1 have different signs.

    Each point is at least 0.1 from both axes (before noise), so the classes are separable.
    """
    _count(n, "n", "make_xor", 2)
    negative, positive = _label_pair(labels, "make_xor")
    rng = random.Random(seed)
    same, different = _split(n, 2)
    quadrants = [(same, ((1, 1), (-1, -1)), negative), (different, ((1, -1), (-1, 1)), positive)]
    points, y = [], []
    for count, signs, label in quadrants:
        for i in range(count):
            s0, s1 = signs[i % 2]
            points.append([s0 * rng.uniform(0.1, 1.0), s1 * rng.uniform(0.1, 1.0)])
            y.append(label)
    return _finish(points, y, _noise(noise, "make_xor"), rng)


def make_spirals(
    n_per_class: int = 50, classes: int = 3, noise: float = 0.1, seed: int = 0
) -> tuple[Points, list[int]]:
    """`classes` spiral arms from the origin; y is the arm's index 0..classes-1.

    Point i of arm k (i = 1..n_per_class): radius r = i / n_per_class, angle 2*pi*k/classes + 4*r (plus noise on both
    coordinates, times r so the centre stays tidy).
    """
    _count(n_per_class, "n_per_class", "make_spirals")
    _count(classes, "classes", "make_spirals", 2)
    noise = _noise(noise, "make_spirals")
    rng = random.Random(seed)
    points, y = [], []
    for k in range(classes):
        for i in range(n_per_class):
            r = (i + 1) / n_per_class
            angle = 2.0 * math.pi * k / classes + 4.0 * r
            x0 = math.cos(angle) + rng.gauss(0.0, noise)
            x1 = math.sin(angle) + rng.gauss(0.0, noise)
            points.append([r * x0, r * x1])
            y.append(k)
    order = list(range(len(y)))
    rng.shuffle(order)
    return [points[i] for i in order], [y[i] for i in order]


def train_test_split(
    X: Sequence[Any], y: Sequence[Any], test_fraction: float = 0.25, seed: int = 0
) -> tuple[list, list, list, list]:
    """Split into (X_train, X_test, y_train, y_test), keeping each class's share in both parts.

    From each class, round(test_fraction * its size) examples, chosen at random, go to the test part.
    """
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} examples but y has {len(y)} labels")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"train_test_split: test_fraction must be a number in (0, 1), got {test_fraction!r}")
    rng = random.Random(seed)
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(y):
        by_class.setdefault(label, []).append(i)
    test = set()
    for indices in by_class.values():
        indices = indices[:]
        rng.shuffle(indices)
        test.update(indices[: round(test_fraction * len(indices))])
    train_idx = [i for i in range(len(y)) if i not in test]
    test_idx = [i for i in range(len(y)) if i in test]
    if not train_idx or not test_idx:
        raise ValueError(f"train_test_split: {len(y)} examples with test_fraction={test_fraction} leave an empty part")
    return [X[i] for i in train_idx], [X[i] for i in test_idx], [y[i] for i in train_idx], [y[i] for i in test_idx]
