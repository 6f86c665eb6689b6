"""docs/design.md's layout list, generated from the tree: each package folder, each file's docstring.

The list at the end of docs/design.md (from "### `engine/`" on) is this file's output, so that it
cannot drift from the code. After adding, removing or redescribing a module, regenerate it:

    python tests/project/docs_layout.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "design.md"
START = "### `engine/`"
COMMAND = "python tests/project/docs_layout.py"


def layout(root: Path = ROOT) -> str:
    """The docs' layout list: each package folder, each file with its docstring's first paragraph."""
    parts = []
    for top in ("engine", "nn", "demos", "benchmarks"):
        folders = sorted({p.parent for p in (root / top).rglob("*.py") if "__pycache__" not in p.parts})
        for folder in folders:
            parts.append(f"### `{folder.relative_to(root).as_posix()}/`\n")
            for path in sorted(folder.glob("*.py")):
                doc = " ".join((ast.get_docstring(ast.parse(path.read_text())) or "").split("\n\n")[0].split())
                parts.append(f"- `{path.name}`: {doc}" if doc else f"- `{path.name}`")
            parts.append("")
    return "\n".join(parts).rstrip("\n") + "\n"


def shown(page: Path = PAGE) -> str:
    """The layout list as the page has it now."""
    text = page.read_text()
    return text[text.index(START) :]


def main() -> int:
    text = PAGE.read_text()
    PAGE.write_text(text[: text.index(START)] + layout())
    print(f"wrote the layout list of {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
