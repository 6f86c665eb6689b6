"""Compiled replay: record a graph once, then rerun its forward and backward passes on floats.

A training loop rebuilds the same graph every step with new numbers in it. `compile(fn)` runs
`fn` once with real `Value`s and keeps one account of what it did, the *tape*; later calls check
the guards and replay the tape's graph on floats, to the bit what backward() gives. One file per
stage, each a pass over the tape:

- `tape.py`: the tape, written through a thread-local recorder while fn runs: every operation,
  constant (with its line), stop-gradient, and every number Python read;
- `guards.py`: what must hold for a replay to equal fn now (the numbers read, the arguments'
  structure), and the stop-gradients computed again; `reads.py`: the outside data fn reaches;
- `plan.py`: the graph as groups of slots of floats, with the repeated pieces as kernels, built
  by named passes; `pieces.py`: finding the repeated pieces; `kernels.py`: writing their loops;
  `play.py`: the replay of a plan, forward and backward on floats;
- `leaves.py`: what fn does to the `.grad` and `.data` of Values, seen while it is recorded;
  `numbers.py`: the numbers passed as arguments, followed while fn is recorded;
- `record.py`: the recording's passes (stand-in leaves, pinning, what a check compares);
  `uncompiled.py`: fn run as if not compiled, for a fallback or a verification call;
- `run.py`: `compile` and `Compiled`: which of those each call runs.
"""

from .check import MAX_RECORDINGS
from .errors import CompileWarning, GraphChanged
from .run import CHECK_EVERY, Compiled, compile
from .tape import Tape

__all__ = ["compile", "Compiled", "CompileWarning", "GraphChanged", "Tape", "CHECK_EVERY", "MAX_RECORDINGS"]
