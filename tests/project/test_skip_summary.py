"""The run's closing line about skipped cross-checks: counted from the skips' reasons, with the install command."""

import os
import sys

import conftest

PYTHON = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable


class Reporter:
    """What the hooks use of pytest's terminal reporter and config, with these skip reasons."""

    def __init__(self, reasons):
        self.stats = {"skipped": [type("Report", (), {"longrepr": ("f.py", 1, r)})() for r in reasons]}
        self.lines = []
        self.stash = {}
        self.pluginmanager = self

    def get_plugin(self, name):
        return self

    def write_line(self, line):
        self.lines.append(line)


def summarise(reporter):
    conftest.pytest_terminal_summary(reporter, 0, reporter)
    conftest.pytest_unconfigure(reporter)


REASONS = [
    "could not import 'torch': No module named 'torch'",
    "PyTorch is not installed (pip install 'chainrule[torch]')",
    "could not import 'micrograd.engine': No module named 'micrograd'",
    "Graphviz's dot is not installed",
]


def test_the_line_counts_the_skips_that_name_a_missing_extra_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(conftest, "missing", lambda d: d in ("torch", "micrograd"))
    reporter = Reporter(REASONS)
    summarise(reporter)
    assert reporter.lines == [
        "3 cross-check(s) skipped because micrograd and torch are not installed; "
        f"to run them: {PYTHON} -m pip install -e '.[bench]' && "
        f"{PYTHON} -m pip install torch --index-url https://download.pytorch.org/whl/cpu"
    ]


def test_one_missing_package_is_named_alone(monkeypatch):
    monkeypatch.setattr(conftest, "missing", lambda d: d == "micrograd")
    reporter = Reporter(REASONS)
    summarise(reporter)
    assert reporter.lines == [
        "1 cross-check(s) skipped because micrograd is not installed; "
        f"to run them: {PYTHON} -m pip install -e '.[bench]'"
    ]


def test_only_torch_missing_gives_its_cpu_build_alone(monkeypatch):
    monkeypatch.setattr(conftest, "missing", lambda d: d == "torch")
    reporter = Reporter(REASONS)
    summarise(reporter)
    assert reporter.lines == [
        "2 cross-check(s) skipped because torch is not installed; to run them: "
        f"{PYTHON} -m pip install torch --index-url https://download.pytorch.org/whl/cpu"
    ]


def test_nothing_is_said_when_everything_is_installed(monkeypatch):
    monkeypatch.setattr(conftest, "missing", lambda d: False)
    reporter = Reporter(REASONS)
    summarise(reporter)
    assert reporter.lines == []


def test_the_extras_are_read_from_pyproject():
    extras = conftest.optional_extras()
    assert "torch" in extras["torch"] and "micrograd" in extras["bench"]
