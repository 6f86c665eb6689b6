"""`p.grad = None`, PyTorch's default `zero_grad`, means "no gradient yet"; a failed backward changes nothing.

backward() (and every other pass that adds to `.grad`) starts a None gradient from its share,
optimizers skip a parameter whose gradient is None, and a backward that raises half-way gives
every `.grad` of the graph back what it had.
"""

import struct

import pytest

import engine
import nn
from engine import Value


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


def moons_loss(model, X, y):
    return nn.hinge_loss([model(x) for x in X], y) + nn.l2_penalty(model.parameters(), 1e-4)


def gradients_after(setup):
    X, y = nn.make_moons(12, noise=0.1, seed=4)
    model = nn.MLP(2, [4, 4, 1], seed=1)
    setup(model)
    moons_loss(model, X, y).backward()
    return [p.grad for p in model.parameters()]


@pytest.mark.parametrize("set_to_none", [True, False])
def test_backward_starts_a_none_gradient_from_its_share(set_to_none):
    fresh = gradients_after(lambda m: m.zero_grad())
    got = gradients_after(lambda m: m.zero_grad(set_to_none=set_to_none))
    assert bits(got) == bits(fresh)


def test_set_to_none_sets_none_on_modules_and_optimizers():
    model = nn.MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.grad = 1.0
    model.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())  # the default stays 0.0
    optimizer.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())


def test_a_none_gradient_becomes_the_share_itself_to_the_last_bit_as_in_pytorch():
    torch = pytest.importorskip("torch")
    x = Value(3.0)
    x.grad = None
    (x * -0.0).backward()
    xt = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (xt * -0.0).backward()
    assert bits([x.grad]) == bits([xt.grad.item()]) == bits([-0.0])  # 0.0 + -0.0 would be +0.0


@pytest.mark.parametrize("path", ["backward", "create_graph", "hooked", "anomaly", "steps", "chain rule"])
def test_every_pass_that_adds_to_grad_takes_none(path):
    a, b = Value(2.0), Value(-3.0)
    out = a * b + a
    a.grad = b.grad = None
    if path == "backward":
        out.backward()
    elif path == "create_graph":
        out.backward(create_graph=True)
    elif path == "hooked":
        with a.register_hook(lambda g: g * 2.0):
            out.backward()
    elif path == "anomaly":
        with engine.detect_anomaly():
            out.backward()
    elif path == "steps":
        for _ in out.backward_steps():
            pass
    else:
        out.grad = 1.0
        for node in reversed(engine.topological_order(out)):
            node.apply_chain_rule()
    expected = {"hooked": (2.0 * (-3.0 + 1.0), 2.0)}.get(path, (-3.0 + 1.0, 2.0))
    assert (float(a.grad), float(b.grad)) == expected


def test_apply_chain_rule_on_a_node_without_a_gradient_passes_nothing_on():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    c.grad = None
    c.apply_chain_rule()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_a_graph_picture_shows_a_none_gradient():
    a = Value(2.0, label="a")
    a.grad = None
    assert "None" in engine.to_dot(a * 3.0)


# ---------------------------------------------------------------- optimizers skip a None gradient, as PyTorch's


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_optimizers_skip_parameters_whose_gradient_is_none_as_pytorch_does(kind):
    torch = pytest.importorskip("torch")
    start = [0.5, -1.5, 2.0]
    ours = [Value(x) for x in start]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    if kind == "sgd":
        opt = nn.SGD(ours, lr=0.1, momentum=0.9, weight_decay=0.01)
        ref = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, weight_decay=0.01)
    else:
        opt = nn.AdamW(ours, lr=0.1, weight_decay=0.01)
        ref = torch.optim.AdamW(theirs, lr=0.1, weight_decay=0.01)
    for k in range(6):
        opt.zero_grad(set_to_none=True)
        ref.zero_grad(set_to_none=True)
        used = [i for i in range(3) if (i + k) % 3 != 0]  # each parameter sits out every third step
        loss = sum((ours[i] * ours[i] * (i + 1.0) for i in used), Value(0.0))
        loss.backward()
        torch_loss = sum(theirs[i] * theirs[i] * (i + 1.0) for i in used)
        torch_loss.backward()
        assert [p.grad is None for p in ours] == [p.grad is None for p in theirs]
        opt.step()
        ref.step()
        assert [p.data for p in ours] == pytest.approx([p.item() for p in theirs], rel=1e-12)


# ---------------------------------------------------------------- a backward that fails changes no .grad


def chain_of_17():
    """A graph of 17 nodes with a leaf gradient of a wrong type in the middle of the leaves."""
    xs = [Value(float(i + 1), label=f"x{i}") for i in range(9)]
    total = xs[0]
    for x in xs[1:]:
        total = total * 0.5 + x
    return xs, total


def snapshot(root):
    return [(n, n.grad) for n in engine.topological_order(root)]


def assert_unchanged(saved):
    for node, g in saved:
        assert node.grad is g or node.grad == g, node


def test_a_gradient_of_a_wrong_type_mid_graph_raises_naming_it_and_changes_nothing():
    xs, total = chain_of_17()
    for i, x in enumerate(xs):
        x.grad = float(i)
    xs[4].grad = "oops"
    total.grad = 7.0
    saved = snapshot(total)
    with pytest.raises(TypeError, match=r"backward: cannot add a gradient to the .grad of 'leaf' 'x4'.*str 'oops'"):
        total.backward()
    assert_unchanged(saved)


def test_a_hook_that_raises_changes_no_gradient():
    xs, total = chain_of_17()
    for x in xs:
        x.grad = 1.0
    saved = snapshot(total)

    def broken(g):
        raise RuntimeError("hook failed")

    with xs[6].register_hook(broken), pytest.raises(RuntimeError, match="hook failed"):
        total.backward()
    assert_unchanged(saved)


def test_a_rule_that_raises_on_floats_changes_no_gradient():
    fragile = engine.operation("fragile", lambda x: 2.0 * x)(lambda g, out, a: (g / (a - 3.0),))
    xs, total = chain_of_17()
    for x in xs:
        x.grad = 0.25
    out = fragile(xs[2]) + total
    saved = snapshot(out)
    with pytest.raises(ZeroDivisionError):
        out.backward()  # the fast path: floats, no hooks
    assert_unchanged(saved)


def test_one_chain_rule_step_that_fails_adds_to_no_input():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    c.grad = 1.0
    a.grad, b.grad = 10.0, [1]
    with pytest.raises(TypeError, match="apply_chain_rule: cannot add a gradient"):
        c.apply_chain_rule()
    assert (a.grad, b.grad) == (10.0, [1])


def test_a_compiled_step_takes_none_gradients():
    X, y = nn.make_moons(10, noise=0.1, seed=2)
    model = nn.MLP(2, [4, 1], seed=3)
    step = engine.compile(lambda: moons_loss(model, X, y))
    for _ in range(3):
        model.zero_grad()
        step()
        reference = [p.grad for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        step()
        assert bits([p.grad for p in model.parameters()]) == bits(reference)
