"""The README tells the truth: its examples run with the numbers it shows, and its commands are CI's."""

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_every_example_in_the_readme_prints_what_it_shows():
    result = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    )
    assert result.attempted > 30  # the examples were found and run
    assert result.failed == 0, f"{result.failed} README example(s) printed something else (see the output above)"


def readme_commands() -> list[str]:
    """The one-line commands of the README's 'Two commands' section."""
    section = README.read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+)\n```", section)


def test_the_two_commands_make_a_venv_and_ci_runs_the_test_command_verbatim():
    demo, tests = readme_commands()
    for command in (demo, tests):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert demo.endswith("demos/moons.py")
    assert tests.endswith("-m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, "the README's test command must be the line .ci/run runs"


def test_the_pictures_the_readme_shows_exist():
    for path in re.findall(r"\]\((demos/pictures/[^)]+)\)", README.read_text()):
        assert (ROOT / path).is_file(), path
