"""Every `>>>` example of README.md and docs/*.md, run inside Pyodide (docs/play/test/doctests.mjs runs this).

The pages are read as tests/test_readme.py reads them: each page's ```python blocks in order, in
one namespace, in a fresh temporary folder. An example that fails because something the browser
lacks is missing (a module Pyodide does not have, such as torch or graphviz, or Graphviz's `dot`
program) is skipped with that reason, and so is the rest of its block, which builds on it; a
block marked `<!-- needs: module -->` is skipped when the module is missing. Any other failure
is a failure. `report()` returns one JSON line: examples passed, skipped with
their reasons, failures with doctest's text.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from engine.see.drawing import DotNotFound

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def blocks(text: str) -> list[tuple[int, str, str]]:
    """(line, marker, text) of each ```python block: marker is the HTML comment on the line before it."""
    lines, found, i = text.splitlines(), [], 0
    while i < len(lines):
        opening = re.fullmatch(r"( *)```(\S*)\s*", lines[i])
        if opening is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        before = lines[i - 1].strip() if i else ""
        marker = before[4:-3].strip() if before.startswith("<!--") and before.endswith("-->") else ""
        if opening.group(2) == "python":
            indent = len(opening.group(1))
            found.append((i + 1, marker, "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"))
        i = end + 1
    return found


def missing(error: BaseException) -> str | None:
    """What the browser lacks, if that is why `error` was raised."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        return f"needs {error.name.split('.')[0]}, which Pyodide does not have"
    if isinstance(error, ImportError) and "pip install" in str(error):
        return f"needs a package Pyodide does not have: {str(error).split(':')[0]}"
    if isinstance(error, DotNotFound):
        return "needs Graphviz's dot program"
    return None


class Runner(doctest.DocTestRunner):
    """A doctest runner that turns a failure for something the browser lacks into skips, with the reason."""

    def __init__(self) -> None:
        super().__init__(optionflags=FLAGS)
        self.skipped: list[str] = []

    def report_unexpected_exception(self, out, test, example, exc_info):  # type: ignore[override]
        reason = missing(exc_info[1])
        if reason is None:
            return super().report_unexpected_exception(out, test, example, exc_info)
        later = test.examples[test.examples.index(example) + 1 :]
        for skipped in [example, *later]:
            self.skipped.append(f"{test.name}: {skipped.source.strip().splitlines()[0][:70]}: {reason}")
        for skipped in later:  # the rest of the block builds on this example
            skipped.options[doctest.SKIP] = True


def run_page(path: Path, name: str, result: dict) -> None:
    globs: dict = {"__name__": f"docs_{path.stem}"}
    parser, runner = doctest.DocTestParser(), Runner()
    for line, marker, text in blocks(path.read_text()):
        where = f"{name}:{line}"
        if marker.startswith("excerpt:"):
            continue  # lines of a file in the repository, checked by tests/test_readme.py
        module = marker.split(":", 1)[1].strip() if marker.startswith("needs:") else None
        if module and importlib.util.find_spec(module) is None:  # as tests/test_readme.py does
            examples = parser.get_examples(text)
            result["skipped"] += [f"{where}: {e.source.strip()[:70]}: needs {module} (so marked)" for e in examples]
            continue
        if ">>>" not in text:
            exec(compile(text, where, "exec"), globs)
            continue
        test = parser.get_doctest(text, globs, where, str(path), line)
        out: list[str] = []
        outcome = runner.run(test, out=out.append, clear_globs=False)
        globs.update(test.globs)  # a DocTest runs on a copy: later blocks see what this one made
        result["passed"] += outcome.attempted - outcome.failed  # failed: also the one that lacked something
        result["failed"].extend(out)
    result["skipped"].extend(runner.skipped)


def report(root: str) -> str:
    """Run every page's examples; the result as JSON."""
    base = Path(root)
    result: dict = {"python": sys.version.split()[0], "passed": 0, "skipped": [], "failed": [], "pages": []}
    here = os.getcwd()
    for path in [base / "README.md", *sorted((base / "docs").glob("*.md"))]:
        name = path.relative_to(base).as_posix()
        result["pages"].append(name)
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            try:
                run_page(path, name, result)
            except Exception as error:  # a script block that fails: the page stops there
                result["failed"].append(f"{name}: {type(error).__name__}: {error}")
            finally:
                os.chdir(here)
    return json.dumps(result)
