"""Shared test settings: hypothesis profiles, every replay checked against the plan's interpreter, and one
closing line about the cross-checks a run skipped.

The default profile keeps the suite quick on a small CI machine (no deadline: timing jitter there
is not a bug). For a long hunt run with more examples:

    HYPOTHESIS_PROFILE=thorough python -m pytest -q tests

The tests that check chainrule against PyTorch or micrograd skip themselves when those are not
installed. So that such a run does not look complete, it ends with one line counting the skips
whose reason names a package of an optional extra in pyproject.toml that cannot be imported here
(a module that skips itself whole counts once), and the command that installs those extras.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from plan_reference import checked_against_the_interpreter

from engine.replay.plan import Plan
from nn.torch_bridge import INSTALL_COMMAND

settings.register_profile("chainrule", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", parent=settings.get_profile("chainrule"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chainrule"))

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    config.addinivalue_line("markers", "uninterpreted: its replays are not also run by the plan's interpreter")


@pytest.fixture(autouse=True)
def replays_match_the_interpreter(request, monkeypatch):
    """Every replay the tests make is held to the plain interpreter of its plan, to the bit (plan_reference.py)."""
    if request.node.get_closest_marker("uninterpreted") is None:
        monkeypatch.setattr(Plan, "run", checked_against_the_interpreter(Plan.run))


CLOSING_LINE = pytest.StashKey[str]()


def optional_extras() -> dict[str, list[str]]:
    """pyproject.toml's optional dependencies: {extra: [distribution names]}."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: no TOML reader in the standard library
        return {}
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f).get("project", {}).get("optional-dependencies", {})
    return {extra: [re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0] for req in reqs] for extra, reqs in extras.items()}


def missing(distribution: str) -> bool:
    """True when the distribution is not installed, or its modules cannot be imported here."""
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return True
    names = [m for m, owners in metadata.packages_distributions().items() if distribution in owners]
    try:
        return any(importlib.util.find_spec(m) is None for m in names or [distribution.replace("-", "_")])
    except (ImportError, ValueError):
        return True


def skipped_for_missing_packages(reasons: list[str]) -> tuple[int, list[str], list[str]]:
    """(how many of the skip reasons name a missing optional package, those packages, the extras that have them).

    A package counts as named when its distribution name appears in the reason, whatever the case
    ("PyTorch is not installed", "could not import 'micrograd.engine'"). Each package is installed
    by the smallest extra that lists it.
    """
    extras = optional_extras()
    absent = sorted({d for names in extras.values() for d in names if missing(d)})
    hits, named = 0, set()
    for reason in reasons:
        found = [d for d in absent if d.lower() in reason.lower()]
        if found:
            hits += 1
            named.update(found)
    chosen = sorted({min((e for e in extras if d in extras[e]), key=lambda e: len(extras[e])) for d in named})
    return hits, sorted(named), chosen


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 (pytest's hook signature)
    """Count the cross-checks skipped for want of an optional package (said last, in pytest_unconfigure)."""
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reasons.append(longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr))
    hits, packages, extras = skipped_for_missing_packages(reasons)
    if hits:
        config.stash[CLOSING_LINE] = (
            f"{hits} cross-check(s) skipped because {' and '.join(packages)} "
            f"{'is' if len(packages) == 1 else 'are'} not installed; "
            f"to run them: {install_command(packages, extras)}"
        )


def install_command(packages: list[str], extras: list[str]) -> str:
    """The command that installs what the skipped cross-checks need, with this run's Python: the extras,
    but PyTorch as its CPU build (the extra's plain `torch` pulls gigabytes of CUDA wheels on Linux)."""
    relative = os.path.relpath(sys.executable)  # .venv/bin/python, as the README writes it, when run from the clone
    python = sys.executable if relative.startswith("..") else relative
    commands = []
    rest = [e for e in extras if e != "torch"]
    if rest:
        commands.append(f"{python} -m pip install -e '.[{','.join(rest)}]'")
    if "torch" in packages:
        commands.append(f"{python} -m {INSTALL_COMMAND}")
    return " && ".join(commands)


def pytest_unconfigure(config):
    """The closing line, after pytest's own summary and its count of passed and skipped tests."""
    line = config.stash.get(CLOSING_LINE, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:
        reporter.write_line(line)


@pytest.fixture(scope="module")
def settled_heap():
    """The test session's objects moved out of the garbage collector's view while a module's tests run.

    A benchmark run in a test calls gc.collect() before each timed piece, as it should; in a test
    session whose heap holds every test module, PyTorch and hypothesis, each of those walks it
    all. Frozen (as the demos freeze theirs before training), a collection walks only what the
    module's tests made; the objects are handed back to the collector after its last test.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
