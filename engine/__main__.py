"""`python -m engine`: the draw command line (engine/draw_command.py); `--help` says how to use it."""

import sys

from .draw_command import main

sys.exit(main(prog="python -m engine"))
