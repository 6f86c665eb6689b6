"""chainrule's neural-network library, built on the public API of `engine`.

>>> import nn
>>> model = nn.MLP(2, [16, 16, 1], seed=0)   # relu, relu, linear
>>> model.num_parameters()
337
>>> X, y = nn.make_moons(100, noise=0.1, seed=0)  # y in {-1, +1}
>>> loss = nn.hinge_loss([model(x) for x in X], y) + nn.l2_penalty(model.parameters(), 1e-4)
>>> optimizer = nn.SGD(model.parameters(), lr=nn.linear_decay(1.0, 0.1, 100))
>>> optimizer.zero_grad(); loss.backward(); optimizer.step()
"""

from .datasets import make_circles, make_moons, make_spirals, make_xor, train_test_split
from .layercheck import LayerQuestion, layer_question, layer_quiz
from .layers import ACTIVATIONS, MLP, Layer, Neuron
from .layerview import LayerReport, LayerTrace, backprop_report, trace_layers
from .losses import bce_with_logits, cross_entropy, hinge_loss, l2_penalty, mse_loss
from .metrics import accuracy, floats, outputs, predicted_class
from .module import LoadError, Module, SaveError
from .optim import SGD, Adam, AdamW, Optimizer, linear_decay

__all__ = [
    "layer_question",
    "layer_quiz",
    "LayerQuestion",
    "Module",
    "LoadError",
    "SaveError",
    "Neuron",
    "Layer",
    "MLP",
    "ACTIVATIONS",
    "backprop_report",
    "trace_layers",
    "LayerReport",
    "LayerTrace",
    "mse_loss",
    "hinge_loss",
    "bce_with_logits",
    "cross_entropy",
    "l2_penalty",
    "accuracy",
    "outputs",
    "floats",
    "predicted_class",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "linear_decay",
    "make_moons",
    "make_circles",
    "make_xor",
    "make_spirals",
    "train_test_split",
]
