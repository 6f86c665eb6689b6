"""Toy datasets: determinism, balance, label forms, geometry, and train_test_split."""

import math
import random
from collections import Counter

import pytest

import nn

BINARY = [
    lambda **kw: nn.make_moons(**kw),
    lambda **kw: nn.make_circles(**kw),
    lambda **kw: nn.make_xor(**kw),
]


@pytest.mark.parametrize("make", BINARY)
@pytest.mark.parametrize("n", [2, 7, 100])
def test_binary_sets_are_balanced_with_plus_minus_one_labels(make, n):
    X, y = make(n=n, seed=1)
    assert len(X) == len(y) == n
    assert all(len(x) == 2 and all(isinstance(c, float) for c in x) for x in X)
    counts = Counter(y)
    assert set(counts) == {-1, 1}
    assert abs(counts[-1] - counts[1]) <= n % 2


@pytest.mark.parametrize("make", BINARY)
def test_zero_one_labels_mark_the_same_points(make):
    X_pm, y_pm = make(n=50, seed=4)
    X_01, y_01 = make(n=50, seed=4, labels="01")
    assert X_pm == X_01
    assert y_01 == [(label + 1) // 2 for label in y_pm]


@pytest.mark.parametrize("make", BINARY + [lambda **kw: nn.make_spirals(n_per_class=20, seed=kw["seed"])])
def test_same_seed_same_data_and_another_seed_other_data(make):
    assert make(seed=3) == make(seed=3)
    assert make(seed=3)[0] != make(seed=4)[0]


def test_the_global_random_state_is_left_alone():
    before = random.getstate()
    nn.make_moons(seed=1)
    nn.make_spirals(seed=1)
    nn.train_test_split(*nn.make_xor(seed=1))
    assert random.getstate() == before


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = nn.make_moons(n=40, noise=0.0, seed=0)
    for (x0, x1), label in zip(X, y, strict=True):
        if label == -1:  # upper moon: unit circle around (0, 0), upper half
            assert math.hypot(x0, x1) == pytest.approx(1.0) and x1 >= -1e-12
        else:  # lower moon: unit circle around (1, 0.5), lower half
            assert math.hypot(x0 - 1.0, x1 - 0.5) == pytest.approx(1.0) and x1 <= 0.5 + 1e-12


def test_moons_noise_has_the_requested_spread():
    clean, _ = nn.make_moons(n=2000, noise=0.0, seed=0)
    noisy, _ = nn.make_moons(n=2000, noise=0.1, seed=0)
    # Gaussian noise of standard deviation 0.1 per coordinate moves a point about 0.08 off the
    # curve on average (E|N(0, 0.1)| across it); the distance to the nearest clean point shows it
    nearest = [min(math.dist(p, q) for q in clean[::5]) for p in noisy[:200]]
    assert 0.03 < sum(nearest) / len(nearest) < 0.2


def test_circles_without_noise_have_the_two_radii():
    X, y = nn.make_circles(n=30, noise=0.0, factor=0.3, seed=0)
    for x, label in zip(X, y, strict=True):
        assert math.hypot(*x) == pytest.approx(1.0 if label == -1 else 0.3)


def test_xor_without_noise_follows_the_sign_rule():
    X, y = nn.make_xor(n=200, noise=0.0, seed=2)
    for (x0, x1), label in zip(X, y, strict=True):
        assert abs(x0) >= 0.1 and abs(x1) >= 0.1
        assert label == (1 if x0 * x1 < 0 else -1)
    quadrants = Counter((x0 > 0, x1 > 0) for x0, x1 in X)
    assert len(quadrants) == 4 and min(quadrants.values()) == 50


def test_spirals_have_balanced_arms_from_the_centre():
    X, y = nn.make_spirals(n_per_class=30, classes=4, noise=0.0, seed=0)
    assert len(X) == 120
    assert Counter(y) == {0: 30, 1: 30, 2: 30, 3: 30}
    radii = sorted(math.hypot(*x) for x, label in zip(X, y, strict=True) if label == 2)
    assert radii == pytest.approx([(i + 1) / 30 for i in range(30)])
    # arm k starts at angle 2*pi*k/classes + 4/30 (its innermost point)
    x0, x1 = min((x for x, label in zip(X, y, strict=True) if label == 1), key=lambda p: math.hypot(*p))
    assert math.atan2(x1, x0) == pytest.approx(2 * math.pi / 4 + 4 / 30)


def test_train_test_split_is_a_stratified_partition():
    X, y = nn.make_moons(n=100, seed=0)
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_fraction=0.2, seed=1)
    assert len(X_test) == len(y_test) == 20 and len(X_train) == len(y_train) == 80
    assert Counter(y_test) == {-1: 10, 1: 10}
    pairs = sorted(zip(map(tuple, X), y, strict=True))
    assert sorted(zip(map(tuple, X_train + X_test), y_train + y_test, strict=True)) == pairs
    assert nn.train_test_split(X, y, 0.2, seed=1) == (X_train, X_test, y_train, y_test)
    assert nn.train_test_split(X, y, 0.2, seed=2)[1] != X_test


def test_train_test_split_keeps_spiral_classes_in_proportion():
    X, y = nn.make_spirals(n_per_class=40, classes=3, seed=0)
    _, _, y_train, y_test = nn.train_test_split(X, y, test_fraction=0.25, seed=0)
    assert Counter(y_test) == {0: 10, 1: 10, 2: 10}
    assert Counter(y_train) == {0: 30, 1: 30, 2: 30}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"make_moons: unknown labels 'bool'; use 'pm1' for -1/\+1 or '01' for 0/1"):
        nn.make_moons(labels="bool")
    with pytest.raises(ValueError, match="make_circles: noise must be a number >= 0, got -0.1"):
        nn.make_circles(noise=-0.1)
    with pytest.raises(ValueError, match="make_circles: factor must be a number in"):
        nn.make_circles(factor=1.0)
    with pytest.raises(ValueError, match="make_xor: n must be an int >= 2, got 1"):
        nn.make_xor(n=1)
    with pytest.raises(ValueError, match="make_spirals: classes must be an int >= 2"):
        nn.make_spirals(classes=1)
    with pytest.raises(ValueError, match="X has 3 examples but y has 2 labels"):
        nn.train_test_split([[0.0]] * 3, [1, 2])
    with pytest.raises(ValueError, match="test_fraction must be a number in"):
        nn.train_test_split([[0.0]] * 3, [1, 1, 1], test_fraction=1.0)
    with pytest.raises(ValueError, match="leave an empty part"):
        nn.train_test_split([[0.0]] * 2, [1, 1], test_fraction=0.1)
