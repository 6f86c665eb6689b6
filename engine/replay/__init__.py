"""Compiled replay: record a graph once, then rerun its forward and backward passes on floats.

A training loop rebuilds the same graph every step with new numbers in it. `compile(fn)` runs
`fn` once with real `Value`s and keeps one account of what it did, the *tape*; later calls check
the guards and replay the tape's graph on floats, to the bit what backward() gives. One file per
stage, each a pass over the tape:

- `run.py`: `compile` and `Compiled`, whose `__call__` only dispatches each call to a stage:
  `arguments.py` reads the arguments once (and is the one walker of nested lists, for what fn
  returns too); `check.py` picks the recording to replay; `record.py` records fn (`tape.py`,
  `reads.py`, `leaves.py`, `numbers.py` observe it); `recording.py` replays a recording on the
  arguments' numbers; `verify.py` compares a replay with fn run uncompiled; `uncompiled.py` is
  the one way out, taken when any stage raises `errors.Uncompiled`;
- `tape.py`: the tape, written through a thread-local recorder while fn runs: every operation,
  constant (with its line), stop-gradient, and every number Python read;
- `guards.py`: what must hold for a replay to equal fn now (the numbers read, the outside data),
  and the stop-gradients computed again; `reads.py`: the outside data fn reaches;
- `plan.py`: the graph as groups of slots of floats, with the repeated pieces as kernels, built
  by named passes into the typed records of `steps.py`; `pieces.py`: finding the repeated
  pieces; `kernels.py`: writing their loops; `straight.py`: small groups as straight-line code;
  `play.py`: the replay of a plan, forward and backward on floats; `interpret.py`: the same
  plan run node by node, the reference the tests hold every replay to;
- `leaves.py`: what fn does to the `.grad` and `.data` of Values, seen while it is recorded;
  `numbers.py`: the numbers passed as arguments, followed while fn is recorded;
- `errors.py`: what a compiled function raises and warns, and `Uncompiled`, the one way out.
"""

from .check import MAX_RECORDINGS
from .errors import CompileWarning, GraphChanged
from .run import CHECK_EVERY, Compiled, compile
from .tape import Tape

__all__ = ["compile", "Compiled", "CompileWarning", "GraphChanged", "Tape", "CHECK_EVERY", "MAX_RECORDINGS"]
