"""The `Value` node: a float, its gradient, the Values it was made from and what made it.

A `Value` holds a float (`data`), its gradient (`grad`), the Values it was made from
(`parents`) and the `Operation` that made it (`engine.core.operation`). A node stores its
operation by reference: no closure per node, so no reference cycle and no allocation.
The operators (`a * b`, `a.tanh()`) are set on Value by `engine.core.ops`, where every
built-in operation is defined, its forward and its derivative side by side.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable
from numbers import Real
from typing import Any, ClassVar, Protocol, Union

from . import anomaly
from .changes import changed as _changed
from .changes import note as _note_change
from .changes import read as _read_changed
from .conversion import dropped_gradient, float_by_name
from .hooks import add_hook
from .micrograd_form import micrograd_leaf
from .mode import _blocks, _mode, count_recordings
from .mode import thread_mode as _thread_mode

Number = Union[int, float]  # noqa: UP007 (a runtime alias that must work on 3.10)
Operand = Union["Value", int, float]  # noqa: UP007
Rule = Callable[..., tuple[Any, ...]]

_innermost_block = _blocks.get  # this context's innermost no_grad() or enable_grad() block (mode.py)


class OperationLike(Protocol):
    """What the engine reads of the operation that made a node: engine.core.operation.Operation.

    Value stands below Operation (an operation makes Values), so it names the operation's
    interface here instead of importing the class.
    """

    name: str
    rule: Rule
    forward: Callable[..., float]
    zero_safe: bool
    trusted: bool
    arity: int
    spelling: str | None
    propagates_non_finite: bool

    def formula(self) -> tuple[str, ...] | None: ...
    def kernel_rule(self) -> tuple[tuple[str, ...], dict[str, tuple[str, Callable]]] | None: ...
    def kernel_forward(self) -> tuple[str, dict[str, tuple[str, Callable]]] | None: ...


_new = object.__new__

NO_GRAD = "made inside no_grad()"  # the _origin of a result no_grad() left a leaf
CONSTANT = "a number operand"  # the _origin of the leaf a Python number becomes in `2 * x`


# engine.compile's recorder. `_watching` counts the recordings open in any thread: while it is 0,
# reading `v.data` costs one check of it more than a plain attribute, and the engine's own
# arithmetic reads the slot `_data` directly. While a recording is open, every read of a
# number by Python (`.data`, float(), int(), bool(), round(), format, comparisons) and every
# node, constant and stop-gradient made goes to the recorder of this thread, if it has one.
_watching = 0


class _Recorders(threading.local):
    tape: Any = None  # this thread's engine.replay.tape.Tape while it records


recorders = _Recorders()


def watch(tape: object) -> object:
    """Make `tape` this thread's recorder (None: stop); return the one it replaces.

    While any thread records, `_make` takes its slow path (so that it can tell the recorder
    about each node) and Value's reads of numbers ask `recorders` (see engine.replay.tape).
    """
    old = recorders.tape
    recorders.tape = tape
    count_recordings((tape is not None) - (old is not None), _publish)
    return old


def _publish(open_recordings: int) -> None:
    """Set `_watching` (called by engine.core.mode under its lock, so that no thread sees it stale)."""
    global _watching
    _watching = open_recordings


def _read(v: Value, how: str, result: Any, other: Any = None) -> None:
    """Tell this thread's recorder (if any) that Python read v's number: `how`, giving `result`."""
    tape = recorders.tape
    if tape is not None:
        tape.read(v, how, result, other)


class _Extra:
    """What a node rarely has, beside the operation that made it: a label, hooks, an origin.

    A Value keeps this in its `_how` slot instead of its operation, so that the common node has
    no slot for them. `rule` is the operation's rule (None for a leaf), so that the backward pass
    reads `node._how.rule` whichever of the two `_how` is. Never changed in place (Value._set_extra
    makes a new one): one is shared by every plain leaf, one by every result of no_grad() and one
    by every number operand.
    """

    __slots__ = ("operation", "label", "hooks", "origin", "rule")

    def __init__(
        self, operation: OperationLike | None, label: str = "", hooks: dict | None = None, origin: str | None = None
    ) -> None:
        self.operation = operation
        self.label = label
        self.hooks = hooks
        self.origin = origin
        self.rule: Rule | None = None if operation is None else operation.rule  # read as an operation's is


# A leaf's `_how`: no operation, so a rule of None, which is how the backward pass tells a leaf.
_LEAF = _Extra(None)
_NO_GRAD_LEAF = _Extra(None, origin=NO_GRAD)
_CONSTANT_LEAF = _Extra(None, origin=CONSTANT)
_extra_lock = threading.Lock()  # Value._set_extra's read and write of `_how`, as one step


class Value:
    """A scalar in a computation graph: `data`, `grad`, `parents`, `op`, `label`."""

    # Four slots, so that a node is 64 bytes (GC header included) and a graph holds at most 200
    # bytes per node (issue 21): `_how` is the operation that made the node, or, for a leaf and
    # for the rare node that has a label, hooks or a recorded origin, an `_Extra` that holds
    # those beside its operation. Either way `_how.rule` is the rule, None for a leaf: the
    # backward pass reads that. `operation`, `label`, `_rule`, `_hooks` and `_origin` read it.
    __slots__ = ("_data", "grad", "parents", "_how")

    def __init__(self, data: Number | Real, label: str = "", *micrograd: str) -> None:
        if micrograd or type(label) is not str:  # micrograd's Value(data, _children, _op, label)?
            label = micrograd_leaf(label, micrograd, Value)
        self._data = to_float(data, "Value")
        self.grad: Any = 0.0
        self.parents: tuple[Value, ...] = ()
        self._how: OperationLike | _Extra = _LEAF
        if label or type(label) is not str:
            self.label = label
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.constant(self, data)

    @property
    def data(self) -> float:
        """The number this node holds (a float)."""
        if _watching:
            _read(self, ".data", self._data)
        return self._data

    @data.setter
    def data(self, x: Number | Real) -> None:
        old = self._data
        self._data = new = x if type(x) is float else to_float(x, "Value.data")
        if new != old:  # noted (NaN too), so that a graph that read the old number is refused
            _note_change(self, old)
        if _watching and recorders.tape is not None:  # a write fn makes while recorded: the recording must know
            recorders.tape.touched(self, "_data", old, x, sys._getframe(1))  # x: the number as given

    @property
    def operation(self) -> OperationLike | None:
        """What made this node (an engine.operation Operation); None for a leaf."""
        how = self._how
        return how.operation if isinstance(how, _Extra) else how

    @operation.setter
    def operation(self, operation: OperationLike | None) -> None:
        self._set_extra(operation=operation)

    @property
    def label(self) -> str:
        """The node's name in pictures and tables ('' for none); only a str is accepted."""
        how = self._how
        return how.label if type(how) is _Extra else ""

    @label.setter
    def label(self, label: str) -> None:
        if type(label) is not str:
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {label!r}")
        self._set_extra(label=label)

    @property
    def _rule(self) -> Rule | None:
        """operation.rule, None for a leaf: the function the chain rule calls at this node."""
        return self._how.rule

    @property
    def _hooks(self) -> dict | None:
        """The hooks on this node by id (engine.core.hooks), None for none."""
        how = self._how
        return how.hooks if type(how) is _Extra else None

    @_hooks.setter
    def _hooks(self, hooks: dict | None) -> None:
        self._set_extra(hooks=hooks)

    @property
    def _origin(self) -> str | None:
        """Where the node was made (anomaly mode), or why it is a leaf (NO_GRAD, CONSTANT); None for neither."""
        how = self._how
        return how.origin if type(how) is _Extra else None

    @_origin.setter
    def _origin(self, origin: str | None) -> None:
        self._set_extra(origin=origin)

    def _set_extra(self, **changed: Any) -> None:
        """Change the operation, label, hooks or origin: a new _Extra, or the bare operation if none is left.

        Under a lock: it reads `_how` and writes a new one, so a label set in one thread and a
        hook added in another at the same moment would otherwise lose one of the two.
        """
        with _extra_lock:
            how = self._how
            now = how if isinstance(how, _Extra) else _Extra(how)
            fields = {name: getattr(now, name) for name in ("operation", "label", "hooks", "origin")} | changed
            if fields["label"] or fields["hooks"] is not None or fields["origin"] is not None:
                self._how = _Extra(**fields)  # never changed in place: the leaf ones are shared
            else:
                self._how = _LEAF if fields["operation"] is None else fields["operation"]

    @property
    def op(self) -> str:
        """The name of the operation that made this node ('*', 'tanh', '**2'), '' for a leaf."""
        operation = self.operation
        return "" if operation is None else operation.name

    def __repr__(self) -> str:
        grad = self.grad
        shown = f"Value(data={grad._data!r})" if type(grad) is Value else repr(grad)
        text = f"Value(data={self._data!r}, grad={shown}"
        if self.operation is not None:
            text += f", op={self.op!r}"
        if self.label:
            text += f", label={self.label!r}"
        return text + ")"

    # ---------------------------------------------------------------- set from above
    # The operations are defined with their forward and derivative in `engine.core.ops`, which
    # sets these; the backward pass (`engine.core.backward`) and the stepper (`engine.see.steps`)
    # set theirs. Value imports none of them: each is built on Value, not the other way round.

    backward: ClassVar[Callable[..., None]]
    apply_chain_rule: ClassVar[Callable[[Value], None]]
    backward_steps: ClassVar[Callable[..., Any]]

    __add__: ClassVar[Callable[[Value, Operand], Value]]
    __radd__: ClassVar[Callable[[Value, Number], Value]]
    __sub__: ClassVar[Callable[[Value, Operand], Value]]
    __rsub__: ClassVar[Callable[[Value, Number], Value]]
    __mul__: ClassVar[Callable[[Value, Operand], Value]]
    __rmul__: ClassVar[Callable[[Value, Number], Value]]
    __truediv__: ClassVar[Callable[[Value, Operand], Value]]
    __rtruediv__: ClassVar[Callable[[Value, Number], Value]]
    __pow__: ClassVar[Callable[[Value, Operand], Value]]
    __rpow__: ClassVar[Callable[[Value, Number], Value]]
    __neg__: ClassVar[Callable[[Value], Value]]
    __abs__: ClassVar[Callable[[Value], Value]]
    relu: ClassVar[Callable[[Value], Value]]
    leaky_relu: ClassVar[Callable[..., Value]]
    tanh: ClassVar[Callable[[Value], Value]]
    sigmoid: ClassVar[Callable[[Value], Value]]
    exp: ClassVar[Callable[[Value], Value]]
    log: ClassVar[Callable[[Value], Value]]
    sqrt: ClassVar[Callable[[Value], Value]]
    sin: ClassVar[Callable[[Value], Value]]
    cos: ClassVar[Callable[[Value], Value]]

    def __pos__(self) -> Value:
        return self

    # ---------------------------------------------------------------- comparisons
    # Ordering compares data (handy in user code); == stays identity, so nodes hash.

    def __lt__(self, other: Operand) -> bool:
        r = self._data < (other._data if type(other) is Value else _compared(other, "<"))
        if _watching:
            _read(self, "<", r, other)
        return r

    def __le__(self, other: Operand) -> bool:
        r = self._data <= (other._data if type(other) is Value else _compared(other, "<="))
        if _watching:
            _read(self, "<=", r, other)
        return r

    def __gt__(self, other: Operand) -> bool:
        r = self._data > (other._data if type(other) is Value else _compared(other, ">"))
        if _watching:
            _read(self, ">", r, other)
        return r

    def __ge__(self, other: Operand) -> bool:
        r = self._data >= (other._data if type(other) is Value else _compared(other, ">="))
        if _watching:
            _read(self, ">=", r, other)
        return r

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- conversions, as for a PyTorch scalar

    def __float__(self) -> float:
        """The data, as `float(t)` gives a 0-d tensor's; refused to a function that wants a float
        (`math.tanh(v)`), which would silently drop the gradient (engine.core.conversion)."""
        by_name, called = float_by_name(sys._getframe(1))
        if not by_name:
            raise TypeError(dropped_gradient(self, called))
        if _watching:
            _read(self, "float", self._data)
        return self._data

    def __int__(self) -> int:
        """int(data), rounded toward 0 as `int(t)` of a 0-d tensor."""
        r = int(self._data)
        if _watching:
            _read(self, "int", r)
        return r

    def __bool__(self) -> bool:
        """False for 0.0 and -0.0, True otherwise (NaN included), as `bool(t)` of a 0-d tensor."""
        r = self._data != 0.0
        if _watching:
            _read(self, "bool", r)
        return r

    def __round__(self, ndigits: int | None = None) -> Any:
        """round(data) (an int) or round(data, ndigits) (a float), as for the float."""
        r = round(self._data, ndigits)
        if _watching:
            _read(self, "round", r, ndigits)
        return r

    def __format__(self, spec: str) -> str:
        """format(v, ".3f") formats the data; an empty spec gives repr(v)."""
        if not spec:
            return repr(self)
        r = format(self._data, spec)
        if _watching:
            _read(self, "format", r, spec)
        return r

    # ---------------------------------------------------------------- graph

    def is_leaf(self) -> bool:
        """True for a node no operation made (an input, a parameter or a constant)."""
        return self._how.rule is None

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        v = Value(self._data, self.label)
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.stop(v, None, (self,))
        return v

    def register_hook(self, fn: Callable[[Any], Any]) -> Any:
        """Call fn(grad) with the gradient flowing into this node; a non-None return replaces it."""
        return add_hook(self, fn)

    # ---------------------------------------------------------------- micrograd's names
    # For code written against micrograd: read-only views, no storage (no extra slot per node).

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name: the inputs as a set (`parents` is the tuple, in argument order)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's name for `op`: the operation's name, '' for a leaf."""
        return self.op

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's name for `apply_chain_rule`: `v._backward()` is this node's one chain-rule step."""
        return self.apply_chain_rule

    @_backward.setter
    def _backward(self, fn: Any) -> None:
        raise AttributeError(
            "Value: _backward cannot be set by hand: here an operation is defined once, its forward and its "
            "derivative side by side, with engine.operation, and every result of it knows its chain-rule step "
            "(see 'Coming from micrograd' in the README)"
        )


_set_grad = Value.__dict__["grad"].__set__  # the slot's own setter, whatever stands in for it on the class


def _make(data: float, parents: tuple, operation: OperationLike) -> Value:
    """Create the result of an operation; inside no_grad() it is a leaf."""
    v = _new(Value)
    v._data = data
    flag = _mode[0]
    if flag == 1:
        v.grad = 0.0
        v.parents = parents
        v._how = operation
        return v
    _set_grad(v, 0.0)  # into the slot itself: a recording may watch `.grad` (replay/leaves.py) for fn's writes
    if flag == 5:  # as 1, but some Value's data changed since an operation read it: is it one of these?
        v.parents = parents
        v._how = operation
        for p in parents:
            if p in _changed:
                _read_changed(parents)
                break
        return v
    if flag == 3 and not _watching:  # inside no_grad() as a rule: this context's innermost block decides
        block = _innermost_block()
        if block is not None and block.open and not block.grad:
            v.parents = ()
            v._how = _NO_GRAD_LEAF
            return v
    # 4: a recording somewhere, and no no_grad() or anomaly mode anywhere: this context records
    mode = 1 if flag == 4 else _thread_mode()
    if mode == 0:
        v.parents = ()
        v._how = _NO_GRAD_LEAF  # so that backward() of it can say why it has nothing to do
        if _watching:
            tape = recorders.tape
            if tape is not None:  # made under no_grad() while recording: a stop-gradient leaf
                tape.stop(v, operation, parents)
    else:
        v.parents = parents
        v._how = _Extra(operation, origin=anomaly.where_created()) if mode == 2 else operation
        if _changed:
            _read_changed(parents)
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.made(v)
    return v


def to_float(x: Any, where: str) -> float:
    """Check that `x` is a real number and return it as a float."""
    if isinstance(x, float):  # a float, or a subclass's number without calling its __float__
        return float.__float__(x)
    if isinstance(x, Real):
        try:
            return int.__float__(x) if isinstance(x, int) else float(x)
        except OverflowError:
            raise OverflowError(f"{where}: the {type(x).__name__} {_short(x)} is too large for a float") from None
    raise TypeError(f"{where}: expected a real number (int or float), got {type(x).__name__} {x!r}")


def _compared(other: Any, op: str) -> Any:
    """The number a Value is ordered against (a Value's data); anything else is refused naming `op`."""
    if type(other) is Value:
        return other.data
    if isinstance(other, Real):
        return other
    shown = f"{type(other).__name__} {_short(other)}"
    raise TypeError(f"{op}: a Value can be compared with a real number or a Value, not {shown}")


def _short(x: Any) -> str:
    """repr(x), cut down to its ends if long (a huge int has hundreds of digits)."""
    try:
        text = repr(x)
    except ValueError:  # an int beyond the interpreter's digit limit for str()
        return f"of {x.bit_length()} bits"
    return text if len(text) <= 40 else f"{text[:15]}...{text[-10:]} ({len(text)} characters)"


def _constant(x: Any, op: str) -> Value:
    """A leaf for a number operand of `op`; a number too large for a float is refused naming `op`."""
    try:
        c = Value(x)
    except OverflowError:
        raise OverflowError(f"{op}: the {type(x).__name__} {_short(x)} is too large for a float") from None
    c._how = _CONSTANT_LEAF  # so that tables and pictures tell it from a leaf the user made
    return c


def _overflow(op: str, *inputs: float) -> None:
    """Raise OverflowError if finite inputs gave an infinite or NaN result."""
    if all(math.isfinite(x) for x in inputs):
        shown = ", ".join(repr(x) for x in inputs)
        raise OverflowError(f"{op}: the result of {op}({shown}) is too large for a float")
