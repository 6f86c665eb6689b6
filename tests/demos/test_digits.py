"""demos/digits.py: a short run trains, scores and draws; its compiled step equals the uncompiled one bit
for bit, with the batch's images (and, once the losses take them, its labels) passed as arguments."""

import random

import pytest

pytest.importorskip("sklearn", reason="the digits demo needs scikit-learn (pip install -e '.[demos]')")
pytest.importorskip("matplotlib")

import engine  # noqa: E402
import nn  # noqa: E402
from demos import digits  # noqa: E402


@pytest.mark.slow
def test_short_run_learns_and_draws_every_picture(tmp_path, capsys):
    result = digits.main(["--steps", "60", "--out", str(tmp_path), "--quiet"])
    printed = capsys.readouterr().out
    assert result["steps"] == 60 and result["test_accuracy"] > 0.6  # chance is 0.1
    assert f"test accuracy {100 * result['test_accuracy']:.1f}% of 360" in printed
    names = {p.name for p in result["pictures"]}
    for stem in ("curves", "confusion", "mistakes", "weights"):
        assert {stem + ".png", stem + ".svg"} <= names
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_split_and_balanced_batches():
    X, y, X_test, y_test = digits.split(*digits.load(), seed=0)
    assert (len(X), len(X_test)) == (1437, 360) and all(len(x) == 64 and max(x) <= 1.0 for x in X)
    batch = next(digits.batches(y, 2, seed=0))
    assert [y[i] for i in batch] == [k for k in range(10) for _ in range(2)]


def train(compiled: bool, labels_from_batch, steps: int = 3):
    X, y, _, _ = digits.split(*digits.load(), seed=0)
    model = nn.MLP(64, [8, 10], seed=1)
    optimizer = nn.Adam(model.parameters(), lr=0.01)

    def loss_fn(images, labels):
        return nn.cross_entropy([model(x) for x in images], labels)

    step = engine.compile(loss_fn)
    rng = random.Random(5)
    losses = []
    for _ in range(steps):
        chosen = rng.sample(range(len(y)), 6)
        images, labels = [X[i] for i in chosen], labels_from_batch([y[i] for i in chosen])
        optimizer.zero_grad()
        if compiled:
            losses.append(step(images, labels))
        else:
            loss = loss_fn(images, labels)
            loss.backward()
            losses.append(loss.data)
        optimizer.step()
    return losses, [p.data for p in model.parameters()]


def test_compiled_with_images_and_labels_as_arguments_equals_uncompiled_bit_for_bit():
    assert train(True, list) == train(False, list)


@pytest.mark.slow
def test_the_demo_step_compiled_equals_uncompiled_bit_for_bit(tmp_path):
    a = digits.main(["--steps", "4", "--out", str(tmp_path / "a"), "--quiet"])
    b = digits.main(["--steps", "4", "--out", str(tmp_path / "b"), "--quiet", "--no-compile"])
    assert a["loss"] == b["loss"] and a["test_accuracy"] == b["test_accuracy"]
    assert (tmp_path / "a" / "weights.svg").read_bytes() == (tmp_path / "b" / "weights.svg").read_bytes()


def test_the_bundled_file_read_directly_is_scikit_learns_digits():
    """load() reads scikit-learn's digits file without importing scikit-learn: the same numbers as its loader."""
    datasets = pytest.importorskip("sklearn.datasets")
    rows = digits.bundled_rows()
    assert rows is not None, "the file scikit-learn bundles was not found where load() looks"
    theirs = datasets.load_digits()
    assert [row[:64] for row in rows] == theirs.data.astype(int).tolist()
    assert [row[64] for row in rows] == theirs.target.tolist()
    images, labels = digits.load()
    assert images == [[float(p) / 16.0 for p in row] for row in theirs.data] and labels == theirs.target.tolist()


def test_without_the_bundled_file_load_asks_scikit_learn(monkeypatch):
    pytest.importorskip("sklearn.datasets")
    monkeypatch.setattr(digits, "bundled_rows", lambda: None)
    images, labels = digits.load()
    assert len(images) == len(labels) == 1797 and all(len(row) == 64 for row in images)
