"""chainrule's engine: scalar reverse-mode automatic differentiation.

>>> from engine import Value
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> c = a * b
>>> c.backward()
>>> a.grad, b.grad
(-3.0, 2.0)
"""

from .calculus.functional import derivative, grad, grad_fn, hessian, jacobian, value_and_grad
from .calculus.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .collector import pause_gc
from .core.graph import topological_order
from .core.mode import detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad
from .core.operation import Operation, operation
from .core.ops import cos, exp, leaky_relu, log, relu, sigmoid, sin, sqrt, tanh
from .core.value import Value
from .replay import Compiled, CompileWarning, GraphChanged, compile
from .see.drawing import draw, to_dot
from .see.explain import explain
from .see.notebook import Stepper, step_through
from .see.quiz import QuizResult, quiz

__all__ = [
    "Value",
    "Operation",
    "operation",
    "compile",
    "Compiled",
    "CompileWarning",
    "GraphChanged",
    "explain",
    "draw",
    "to_dot",
    "step_through",
    "Stepper",
    "quiz",
    "QuizResult",
    "topological_order",
    "grad",
    "derivative",
    "grad_fn",
    "value_and_grad",
    "hessian",
    "jacobian",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "no_grad",
    "pause_gc",
    "enable_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
]
