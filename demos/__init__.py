"""Runnable demos of chainrule: `python demos/<name>.py --help` (pictures go to out/<name>/)."""
