"""`python -m engine`: the draw command line (engine/see/command.py); `--help` says how to use it."""

import sys

from .see.command import main

sys.exit(main(prog="python -m engine"))
