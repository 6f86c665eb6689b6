"""SGD and Adam: single steps against hand-computed numbers, schedules, PyTorch, bad input."""

import math

import pytest

import nn
from engine import Value


def param(data: float, grad: float) -> Value:
    p = Value(data)
    p.grad = grad
    return p


# ---------------------------------------------------------------- SGD


def test_plain_sgd_step():
    p = param(1.0, 0.5)
    nn.SGD([p], lr=0.1).step()
    assert p.data == pytest.approx(0.95, rel=1e-15)


def test_sgd_with_momentum_two_steps_by_hand():
    p = param(1.0, 0.5)
    opt = nn.SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = 0.5; p = 1 - 0.1 * 0.5
    assert p.data == pytest.approx(0.95, rel=1e-15)
    p.grad = 0.5
    opt.step()  # v = 0.9 * 0.5 + 0.5 = 0.95; p = 0.95 - 0.095
    assert p.data == pytest.approx(0.855, rel=1e-15)
    p.grad = -1.0
    opt.step()  # v = 0.9 * 0.95 - 1 = -0.145; p = 0.855 + 0.0145
    assert p.data == pytest.approx(0.8695, rel=1e-14)


def test_sgd_weight_decay_adds_to_the_gradient():
    p = param(2.0, 0.5)
    nn.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1).step()  # g = 0.5 + 0.1 * 2 = 0.7
    assert p.data == pytest.approx(2.0 - 0.07, rel=1e-15)


# ---------------------------------------------------------------- Adam


def test_adam_first_step_moves_by_about_lr():
    p = param(1.0, 0.5)
    nn.Adam([p], lr=0.1).step()
    # m_hat = 0.5, v_hat = 0.25: p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert p.data == pytest.approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-15)


def test_adam_two_steps_by_hand():
    p = param(1.0, 0.5)
    opt = nn.Adam([p], lr=0.1)
    opt.step()
    p.grad = -0.25
    opt.step()
    # m = 0.9 * 0.05 - 0.1 * 0.25 = 0.02           m_hat = 0.02 / 0.19 = 0.105263157...
    # v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225   v_hat = 0.00031225 / 0.001999 = 0.156203101...
    # step = 0.1 * 0.105263157 / (0.395225381 + 1e-8) = 0.0266337033 (worked out to 30 digits)
    after_first = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert p.data == pytest.approx(after_first - 0.0266337033, abs=1e-10)


def test_adam_decoupled_weight_decay_shrinks_the_weight_first():
    p = param(2.0, 0.0)
    nn.Adam([p], lr=0.1, weight_decay=0.5).step()  # p *= 1 - 0.1 * 0.5; zero gradient moves nothing else
    assert p.data == pytest.approx(1.9, rel=1e-15)
    q = param(2.0, 1.0)
    nn.AdamW([q], lr=0.1, weight_decay=0.5).step()  # 1.9 - 0.1 * 1 / (1 + 1e-8)
    assert q.data == pytest.approx(1.9 - 0.1 / (1.0 + 1e-8), rel=1e-15)


@pytest.mark.parametrize(
    "ours, theirs, options",
    [
        (nn.SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
        (nn.Adam, "AdamW", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
        (nn.Adam, "AdamW", {"lr": 0.003, "weight_decay": 0.0}),
    ],
)
def test_several_steps_against_pytorch(ours, theirs, options):
    torch = pytest.importorskip("torch")
    start = [0.5, -1.5, 2.0]
    grads = [[0.1, -0.2, 0.3], [-0.4, 0.0, 0.25], [1.0, -1.0, 0.5], [0.05, 0.3, -0.7]]
    ps = [Value(x) for x in start]
    opt = ours(ps, **options)
    pt = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt_t = getattr(torch.optim, theirs)([pt], **options)
    for g in grads:
        for p, gi in zip(ps, g, strict=True):
            p.grad = gi
        opt.step()
        pt.grad = torch.tensor(g, dtype=torch.float64)
        opt_t.step()
        assert [p.data for p in ps] == pytest.approx(pt.tolist(), rel=1e-13, abs=1e-15)


# ---------------------------------------------------------------- learning-rate schedules


def test_a_schedule_is_called_with_the_step_index():
    seen = []
    p = param(0.0, 1.0)

    def lr(k):
        seen.append(k)
        return 0.5

    opt = nn.SGD([p], lr=lr)
    for _ in range(3):
        opt.step()
    assert seen == [0, 1, 2]
    assert p.data == -1.5
    assert opt.steps == 3


def test_adam_asks_a_schedule_once_per_step_and_uses_its_rate():
    seen = []

    def lr(k):
        seen.append(k)
        return [0.1, 0.01][k]

    p, q = param(1.0, 0.5), param(1.0, 0.5)
    opt = nn.Adam([p], lr=lr)
    fixed = nn.Adam([q], lr=0.1)
    opt.step()
    fixed.step()
    assert p.data == q.data
    p.grad = q.grad = -0.25
    opt.step()
    assert seen == [0, 1]
    # the second step moved by 0.01 / 0.1 of what lr=0.1 moves it (same m and v)
    moved = q.data
    fixed.step()
    assert (p.data - moved) == pytest.approx((q.data - moved) * 0.1, rel=1e-12)


def test_linear_decay_is_micrograds_schedule():
    lr = nn.linear_decay(1.0, 0.1, 100)
    assert lr(0) == 1.0
    assert lr(100) == pytest.approx(0.1, rel=1e-15)
    for k in range(100):
        assert lr(k) == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-15)


def test_schedule_drives_the_update():
    p = param(0.0, 1.0)
    opt = nn.SGD([p], lr=nn.linear_decay(1.0, 0.5, 2))
    opt.step()
    opt.step()
    assert p.data == pytest.approx(-(1.0 + 0.75), rel=1e-15)


def test_zero_grad_clears_the_optimizers_parameters():
    ps = [param(1.0, 3.0), param(2.0, -1.0)]
    nn.Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


def test_value_gradients_from_create_graph_are_used_by_their_data():
    x = Value(3.0)
    (x * x).backward(create_graph=True)
    nn.SGD([x], lr=0.1).step()
    assert x.data == pytest.approx(3.0 - 0.6, rel=1e-15)


# ---------------------------------------------------------------- bad input


def test_bad_optimizer_arguments_are_named():
    p = Value(1.0)
    with pytest.raises(ValueError, match="empty list of parameters"):
        nn.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 is a float, not a Value"):
        nn.SGD([p, 2.0], lr=0.1)
    with pytest.raises(ValueError, match="listed twice"):
        nn.Adam([p, p])
    with pytest.raises(ValueError, match=r"SGD: lr must be a number in \[0.0, inf\), got -1"):
        nn.SGD([p], lr=-1)
    with pytest.raises(ValueError, match=r"lr must be a number in \[0.0, inf\), got inf"):
        nn.Adam([p], lr=math.inf)
    with pytest.raises(ValueError, match="momentum"):
        nn.SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="beta2"):
        nn.Adam([p], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        nn.Adam([p], eps=0.0)


def test_a_schedule_giving_a_bad_rate_is_caught_before_any_change():
    p = param(1.0, 1.0)
    opt = nn.SGD([p], lr=lambda k: math.nan)
    with pytest.raises(ValueError, match="lr at step 0"):
        opt.step()
    assert p.data == 1.0 and opt.steps == 0
