"""From scalars to layers: the textbook backpropagation equations, checked on chainrule's scalar graph.

A small MLP (2-4-4-1 by default, tanh) takes one moons point, then a batch of them. For each,
the script prints the layer view of the backward pass (nn.backprop_report): per layer z, a,
f'(z) and delta = dL/dz read from the graph, beside the textbook recursion

    delta(L) = dL/da(L) * f'(z(L))     delta(l) = (W(l+1)^T delta(l+1)) * f'(z(l))
    dL/dW(l) = delta(l) a(l-1)^T       dL/db(l) = delta(l)

and writes a picture of the network (columns of neurons with z, a, delta; edges shaded by
|dL/dw|) as SVG and DOT text. It ends with the check that the textbook equations and the scalar
engine agree (exit status 1 if they do not). When PyTorch is installed it also compares the
batch's loss and gradients with model.to_torch().

    python demos/layers.py                          # pictures in out/layers/
    python demos/layers.py --activation relu --loss cross_entropy --batch 16
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from demos import common
from engine.see.drawing import DotNotFound
from nn.torch_bridge import INSTALL_HINT

LOSSES = {
    "hinge": nn.hinge_loss,
    "mse": nn.mse_loss,
    "bce_with_logits": nn.bce_with_logits,
    "cross_entropy": nn.cross_entropy,
}


TORCH_SKIPPED = f"PyTorch float64: comparison skipped, PyTorch is not installed: {INSTALL_HINT}"


def targets_for(loss: str, y: list[int]) -> list:
    """The moons labels (-1 or +1) as this loss wants them."""
    if loss == "hinge":
        return list(y)
    if loss == "mse":
        return [float(t) for t in y]
    if loss == "bce_with_logits":
        return [float((t + 1) // 2) for t in y]
    return [(t + 1) // 2 for t in y]  # cross_entropy: class indices 0 and 1


def torch_line(model: nn.MLP, X: list, targets: list, loss: str, report: nn.LayerReport) -> str | None:
    """One line comparing the batch's loss and gradients with PyTorch float64, or None without torch."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    module = model.to_torch()
    out = module(torch.tensor(X, dtype=torch.float64))
    t = torch.tensor(targets, dtype=torch.float64 if loss != "cross_entropy" else torch.int64)
    if loss == "hinge":
        value = torch.clamp(1 - t * out[:, 0], min=0).mean()
    elif loss == "mse":
        value = ((out[:, 0] - t) ** 2).mean()
    elif loss == "bce_with_logits":
        value = F.binary_cross_entropy_with_logits(out[:, 0], t)
    else:
        value = F.cross_entropy(out, t)
    value.backward()
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    worst = abs(value.item() - report.loss)
    for layer, linear in zip(report.layers, linears, strict=True):
        for ours, theirs in zip(layer.dW_graph, linear.weight.grad.tolist(), strict=True):
            worst = max(worst, *(abs(a - b) for a, b in zip(ours, theirs, strict=True)))
        worst = max(worst, *(abs(a - b) for a, b in zip(layer.db_graph, linear.bias.grad.tolist(), strict=True)))
    return (
        f"PyTorch float64 (model.to_torch()): loss {value.item():.12g}, "
        f"largest difference in loss and gradients {worst:.2g}"
    )


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("layers", __doc__, seed=0)
    parser.add_argument(
        "--activation",
        choices=["tanh", "relu", "sigmoid", "linear"],
        default="tanh",
        help="activation of the hidden layers (default %(default)s)",
    )
    parser.add_argument("--loss", choices=list(LOSSES), default="hinge", help="loss (default %(default)s)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[4, 4], help="hidden layer sizes (default 4 4)")
    parser.add_argument("--batch", type=int, default=8, help="examples in the batch (default %(default)s)")
    args = common.parse(parser, argv)
    if args.batch < 2:
        parser.error(f"--batch must be at least 2, got {args.batch}")
    if min(args.hidden) < 1:
        parser.error(f"--hidden sizes must be at least 1, got {args.hidden}")

    outputs = 2 if args.loss == "cross_entropy" else 1
    model = nn.MLP(2, [*args.hidden, outputs], args.activation, seed=args.seed)
    X, y = nn.make_moons(args.batch, noise=0.1, seed=args.seed)
    targets = targets_for(args.loss, y)
    loss = LOSSES[args.loss]
    one = nn.backprop_report(model, X[0], loss, targets[0])
    batch = nn.backprop_report(model, X, loss, targets)

    pictures = []
    missing_dot = None
    for name, report in (("one", one), ("batch", batch)):
        try:
            pictures.append(report.save(args.out / f"{name}.dot"))
            try:
                pictures.append(report.save(args.out / f"{name}.svg"))
            except DotNotFound as error:
                missing_dot = str(error)
        except OSError as error:
            raise SystemExit(f"layers: cannot write to {args.out}: {error.strerror or error}") from None
    if not args.quiet:
        print(f"one moons point x = {X[0]}, target {targets[0]}\n")
        print(one)
        print(f"\na batch of {args.batch} moons points\n")
        print(batch)
        print()
    if missing_dot:
        print(f"layers: no SVG pictures: {missing_dot}", file=sys.stderr)
    compared = torch_line(model, X, targets, args.loss, batch)
    print(compared or TORCH_SKIPPED)
    print(f"pictures in {args.out}: " + ", ".join(p.name for p in pictures))
    agree = one.agree and batch.agree
    worst = max(one.max_rel_diff, batch.max_rel_diff)
    checks = len(one.checks) + len(batch.checks)
    if agree:
        print(
            f"layers: the textbook equations and the scalar graph agree on one point and a batch of {args.batch}: "
            f"{checks} checks, largest relative difference {worst:.2g} (tolerance {one.tolerance:g})"
        )
    else:
        flagged = [c.equation for c in one.flagged + batch.flagged]
        print(f"layers: the textbook equations and the scalar graph DISAGREE: {'; '.join(flagged)}")
        raise SystemExit(1)
    return {"agree": agree, "max_rel_diff": worst, "one": one, "batch": batch, "pictures": pictures}


if __name__ == "__main__":
    main()
