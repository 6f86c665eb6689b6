"""The README and docs/ tell the truth: every code block runs, every command and picture exists.

Each page's fenced blocks are read in order. A ```python block with `>>>` runs as a doctest; any
other ```python block runs as a script, unless an HTML comment on the line before it says
`<!-- excerpt: path -->` (then its lines must appear, in order, in that file) or
`<!-- needs: module -->` (then it is skipped when that module is not installed). ```bash blocks
name commands: their files, modules and options must exist, and the draw commands run. ```text
blocks are shown, not run. The blocks of a page share one namespace, and run in a temporary
folder, so the files they write go nowhere.
"""

from __future__ import annotations

import doctest
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import docs_layout
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
LANGUAGES = {"python", "bash", "text"}


@dataclass
class Block:
    language: str
    text: str
    line: int  # of the opening fence, from 1
    marker: str  # the HTML comment on the line before the fence, without <!-- -->, or ""


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = re.fullmatch(r"( *)```(\S*)\s*", lines[i])  # indented inside a list item, or not
        if opening is None:
            i += 1
            continue
        indent = len(opening.group(1))
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        before = lines[i - 1].strip() if i else ""
        marker = before[4:-3].strip() if before.startswith("<!--") and before.endswith("-->") else ""
        text = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        found.append(Block(opening.group(2), text, i + 1, marker))
        i = end + 1
    return found


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name


# ---------------------------------------------------------------- code blocks


def test_pages_are_found_and_every_block_says_its_language():
    assert len(PAGES) >= 10, PAGES
    for page in PAGES:
        for block in blocks(page):
            assert block.language in LANGUAGES, f"{page_id(page)}:{block.line}: ```{block.language}"


def test_every_example_is_inside_a_python_block():
    """A `>>>` outside a ```python block would not be run: every one must be inside one."""
    for page in PAGES:
        inside = sum(b.text.count(">>> ") for b in blocks(page) if b.language == "python")
        assert page.read_text().count(">>> ") == inside, page_id(page)


def run_python_blocks(page: Path) -> tuple[int, list[str], list[str]]:
    """Run a page's python blocks in order; return (examples run, failures, skipped blocks)."""
    globs: dict = {"__name__": f"docs_{page.stem}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    attempted, failures, skipped = 0, [], []
    for block in blocks(page):
        if block.language != "python":
            continue
        where = f"{page_id(page)}:{block.line}"
        if block.marker.startswith("needs:"):
            module = block.marker.split(":", 1)[1].strip()
            if importlib.util.find_spec(module) is None:
                skipped.append(f"{where} needs {module}")
                continue
        if block.marker.startswith("excerpt:"):
            check_excerpt(block, where)
            continue
        if ">>>" in block.text:
            test = parser.get_doctest(block.text, globs, where, str(page), block.line)
            out = io.StringIO()
            result = runner.run(test, out=out.write, clear_globs=False)
            globs.update(test.globs)  # a DocTest runs on a copy: later blocks see what this one made
            attempted += result.attempted
            if result.failed:
                failures.append(out.getvalue())
        else:
            try:
                exec(compile(block.text, where, "exec"), globs)
                attempted += 1
            except Exception as error:  # reported with its place on the page
                failures.append(f"{where}: {type(error).__name__}: {error}")
    return attempted, failures, skipped


def check_excerpt(block: Block, where: str) -> None:
    """An excerpt's lines appear, in order and together, in the file it names."""
    source = block.marker.split(":", 1)[1].strip()
    have = [line.strip() for line in (ROOT / source).read_text().splitlines()]
    want = [line.strip() for line in block.text.splitlines()]
    starts = [i for i, line in enumerate(have) if line == want[0]]
    assert any(have[i : i + len(want)] == want for i in starts), f"{where}: not an excerpt of {source}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_code_block_on_the_page_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the examples write land here
    attempted, failures, skipped = run_python_blocks(page)
    assert not failures, "\n".join(failures)
    has_python = any(b.language == "python" and not b.marker.startswith("excerpt:") for b in blocks(page))
    if has_python:
        assert attempted > 0 or skipped, f"{page_id(page)}: its examples were not found"
    if skipped:
        pytest.skip("; ".join(skipped))


def test_an_example_that_prints_something_else_fails(tmp_path):
    """The runner above can fail: a page whose example shows a wrong number is caught."""
    page = tmp_path / "wrong.md"
    page.write_text("```python\n>>> from engine import Value\n>>> Value(2.0) * 3\n6.0\n\n```\n")
    attempted, failures, _ = run_python_blocks(page)
    assert attempted == 2 and len(failures) == 1 and "Value(data=6.0" in failures[0]


def test_an_excerpt_that_is_not_in_its_file_fails():
    block = Block("python", "optimizer.step()\nloss.backward()\n", 1, "excerpt: demos/moons.py")
    with pytest.raises(AssertionError, match="not an excerpt"):
        check_excerpt(block, "page:1")


# ---------------------------------------------------------------- the README as a front page


def test_the_readme_is_a_front_page_of_at_most_250_lines():
    assert len(README.read_text().splitlines()) <= 250


def readme_commands() -> list[str]:
    """The commands of the README's 'Two commands' section, one per line."""
    section = README.read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [line for block in re.findall(r"```bash\n(.+?)\n```", section, re.S) for line in block.splitlines()]


def test_the_two_commands_make_a_venv_and_ci_runs_the_full_test_command_verbatim():
    demo, quick, full = readme_commands()
    assert demo == (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[demos]' && .venv/bin/python demos/moons.py"
    )
    assert quick == "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q"
    assert full == '.venv/bin/python -m pytest -q -m "slow or not slow"'
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    install = quick.removesuffix(" && .venv/bin/python -m pytest -q")
    assert install in ci and full in ci, "CI runs the README's install, then its full test command"
    assert ci.index(install) < ci.index(full)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_the_pictures_and_pages_a_page_links_to_exist(page):
    text = page.read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert links or page != README
    for link in links:
        if "://" in link:
            continue
        assert (page.parent / link).resolve().exists(), f"{page_id(page)} links to {link}, which does not exist"
    if page == README:
        pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
        assert pictures and all(p.startswith("demos/pictures/") for p in pictures), pictures


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_the_docs_describe_what_is_not_what_was(page):
    text = page.read_text()
    for pattern in (r"this wave", r"\d(\.\d+)?x before", r"before this", r"\bwere redefined\b", r"/work/"):
        assert not re.search(pattern, text, re.IGNORECASE), f"{page_id(page)}: {pattern}"


# ---------------------------------------------------------------- shell commands


def shell_commands() -> list[tuple[str, str]]:
    """(where, command) for every command of every ```bash block, split at &&."""
    found = []
    for page in PAGES:
        for block in blocks(page):
            if block.language == "bash":
                for k, line in enumerate(block.text.splitlines()):
                    for command in line.split("&&"):
                        if command.strip():
                            found.append((f"{page_id(page)}:{block.line + 1 + k}", command.strip()))
    return found


@cache
def help_text(*target: str) -> str:
    done = subprocess.run([sys.executable, *target, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(target)} --help: {done.stderr}"
    return done.stdout


def optional_dependencies() -> list[str]:
    """The names of pyproject.toml's extras (read by hand: tomllib is not in Python 3.10)."""
    section = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]", 1)[1]
    section = section.split("\n[", 1)[0]
    return re.findall(r"^([A-Za-z0-9_-]+)\s*=", section, re.MULTILINE)


def check_command(where: str, command: str) -> None:
    words = shlex.split(command)
    if ">" in words:
        words = words[: words.index(">")]
    program, args = words[0].removeprefix(".venv/bin/"), words[1:]
    if program in ("python", "python3"):
        if args[:2] in (["-m", "venv"], ["-m", "pytest"]):
            return
        if args[0] == "-m":
            target, rest = ("-m", args[1]), args[2:]
            assert importlib.util.find_spec(args[1]) is not None, f"{where}: no module {args[1]}"
            assert (ROOT / args[1].split(".")[0]).is_dir(), f"{where}: {args[1]} is not the project's"
        else:
            target, rest = (args[0],), args[1:]
            assert (ROOT / args[0]).is_file(), f"{where}: no file {args[0]}"
        options = [a.split("=", 1)[0] for a in rest if a.startswith("--") and a != "--"]
        for option in options:
            assert re.search(rf"{re.escape(option)}\b", help_text(*target)), f"{where}: {option} not in --help"
        for path in rest:
            if path.startswith(("docs/", "demos/")) and not path.endswith("/") and "out/" not in path:
                assert (ROOT / path).exists() or path == "demos/pictures/moons", f"{where}: no {path}"
    elif program == "pip":
        extras = optional_dependencies()
        for spec in args:
            if spec.startswith(".["):
                for extra in spec[2:-1].split(","):
                    assert extra in extras, f"{where}: no extra {extra!r} in pyproject.toml"
    elif program == "jupyter":
        assert (ROOT / args[-1]).is_file(), f"{where}: no notebook {args[-1]}"
    else:
        raise AssertionError(f"{where}: the tests do not know how to check {program!r}; teach check_command")


@pytest.mark.slow
def test_every_shell_command_names_files_modules_and_options_that_exist():
    commands = shell_commands()
    assert len(commands) > 10
    for where, command in commands:
        check_command(where, command)


def test_a_command_with_an_option_that_does_not_exist_fails():
    with pytest.raises(AssertionError, match="--no-such-option not in --help"):
        check_command("page:1", "python demos/newton.py --no-such-option 3")
    with pytest.raises(AssertionError, match="no file"):
        check_command("page:1", "python demos/no_such_demo.py")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_draw_commands_in_the_docs_write_their_files(tmp_path):
    draws = [(w, c) for w, c in shell_commands() if c.startswith(".venv/bin/python -m engine ")]
    assert draws
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for where, command in draws:
        words = shlex.split(command)
        done = subprocess.run(
            [sys.executable, *words[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{where}: {done.stderr}"
        output = words[words.index("-o") + 1]
        assert (tmp_path / output).stat().st_size > 0, where


# ---------------------------------------------------------------- the layout, generated from the tree


def test_the_layout_in_the_docs_is_the_generated_one():
    assert docs_layout.shown() == docs_layout.layout(), (
        f"docs/design.md's layout list is out of date; regenerate it: {docs_layout.COMMAND}"
    )


def test_the_layout_generator_writes_what_the_check_expects(tmp_path, monkeypatch):
    page = tmp_path / "design.md"
    page.write_text("# Design\n\nwords kept\n\n" + docs_layout.START + "\n\n- `stale.py`: gone\n")
    monkeypatch.setattr(docs_layout, "PAGE", page)
    assert docs_layout.shown(page) != docs_layout.layout()
    docs_layout.main()
    assert page.read_text().startswith("# Design\n\nwords kept\n\n")
    assert docs_layout.shown(page) == docs_layout.layout()


# ---------------------------------------------------------------- the demos' results, from the demos


def demo_table() -> list[tuple[str, list[str]]]:
    """(script, phrases it ends with) for each row of docs/demos.md's table."""
    rows = []
    for line in (DOCS / "demos.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`demos/\w+\.py`", cells[0]):
            rows.append((cells[0].strip("`"), [p.strip() for p in cells[2].split(";") if p.strip()]))
    return rows


def test_the_demo_table_lists_every_demo():
    listed = {script for script, _ in demo_table()}
    scripts = [p for p in (ROOT / "demos").glob("*.py") if 'if __name__ == "__main__":' in p.read_text()]
    have = {f"demos/{p.name}" for p in scripts}
    assert listed == have


@pytest.mark.slow
def test_each_demo_ends_with_what_the_docs_say(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for script, phrases in demo_table():
        if not phrases:
            continue
        done = subprocess.run(
            [sys.executable, str(ROOT / script), "--quiet", "--out", str(tmp_path / Path(script).stem)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{script}: {done.stderr}"
        for phrase in phrases:
            assert phrase in done.stdout, f"{script} no longer prints {phrase!r}:\n{done.stdout[-2000:]}"
        if script == "demos/moons.py":  # the README's picture says the same
            for figure in re.findall(r"(\d+(?:\.\d+)?)% of", " ".join(phrases)):
                assert f"{float(figure):g}%" in README.read_text(), figure
