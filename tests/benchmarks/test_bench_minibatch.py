"""benchmarks.minibatch runs end to end (tiny sizes, nothing timed here) and checks what it compares."""

import sys

import pytest

from benchmarks import minibatch

pytestmark = pytest.mark.usefixtures("settled_heap")  # the benchmarks collect garbage often: see conftest

try:
    import micrograd  # noqa: F401

    HAVE_MICROGRAD = True
except ImportError:
    HAVE_MICROGRAD = False


@pytest.mark.parametrize("loss", minibatch.LOSSES)
def test_each_loss_trains_the_same_compiled_and_by_objects_and_matches_micrograd(loss):
    result = minibatch.measure_loss(loss, batch=4, rounds=1, steps=2)  # raises if the engines disagree
    names = set(result["medians"])
    assert {"chainrule, compiled", "chainrule, objects"} <= names
    assert (len(names) == 3) == HAVE_MICROGRAD
    assert all(t > 0 for t in result["medians"].values())


@pytest.mark.skipif(not HAVE_MICROGRAD, reason="micrograd is not installed")
@pytest.mark.parametrize("loss", minibatch.LOSSES)
def test_micrograds_version_of_each_loss_is_the_same_number(loss):
    from micrograd.engine import Value as MicrogradValue

    import engine

    points, labels = minibatch.workloads.make_moons(12, seed=5)
    targets = minibatch.targets_for(loss, labels)
    sizes = (2, 4, 2) if loss == "cross-entropy" else (2, 4, 1)
    weights = minibatch.workloads.initial_weights(sizes, seed=2)
    ours = minibatch.chainrule_loss(loss, minibatch.Net(engine.Value, weights))(points, targets).data
    model = minibatch.Net(MicrogradValue, weights)
    theirs = minibatch.micrograd_step_loss(MicrogradValue, loss, model, points, targets)
    assert theirs.data == pytest.approx(ours, rel=1e-12)


def test_the_report_gives_a_verdict_per_loss(capsys):
    assert minibatch.main(["--batch", "3", "--rounds", "1", "--steps", "1", "--loss", "mse", "--loss", "hinge"]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["mse", "hinge"]
    if HAVE_MICROGRAD:
        assert text.count("faster than micrograd") == 2


def test_without_micrograd_it_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "micrograd", None)
    monkeypatch.setitem(sys.modules, "micrograd.engine", None)
    assert minibatch.main(["--batch", "2", "--rounds", "1", "--steps", "1", "--loss", "bce"]) == 0
    text = capsys.readouterr().out
    assert "micrograd is not installed" in text and "faster than micrograd" not in text


def test_bad_sizes_are_refused():
    with pytest.raises(SystemExit):
        minibatch.main(["--batch", "0"])
