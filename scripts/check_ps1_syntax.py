"""Syntax gate for the collection's PowerShell payloads (there is no PowerShell on the CI machines).

Parses every ``.ps1``/``.psm1`` file under the given paths (default: ``plugins/``) with the
tree-sitter PowerShell grammar and fails, naming file, line and column, on every ERROR node
or node the parser had to invent (``MISSING``). Exit status: 0 all parse, 1 a file does not,
2 nothing to check or bad usage.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import tree_sitter
import tree_sitter_pwsh

SUFFIXES = (".ps1", ".psm1")


def syntax_problems(source: bytes) -> list[tuple[int, int, str]]:
    """Return ``(line, column, description)`` for each syntax problem, 1-based, in file order."""
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))
    tree = parser.parse(source)
    problems: list[tuple[int, int, str]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error and not node.is_missing:
            continue
        row, col = node.start_point
        if node.is_missing:
            problems.append((row + 1, col + 1, f"missing {node.type!r}"))
        elif node.type == "ERROR":
            snippet = source[node.start_byte : node.end_byte].decode("utf-8", "replace").splitlines()
            first = snippet[0].strip()[:60] if snippet else ""
            problems.append((row + 1, col + 1, f"cannot parse near {first!r}"))
        stack.extend(reversed(node.children))
    return sorted(set(problems))


def iter_files(paths: list[pathlib.Path]):
    for path in paths:
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=pathlib.Path, default=[pathlib.Path("plugins")])
    args = ap.parse_args(argv)
    files = list(iter_files(args.paths))
    if not files:
        print("check_ps1_syntax: no PowerShell files found under " + ", ".join(map(str, args.paths)))
        return 2
    bad = 0
    for path in files:
        problems = syntax_problems(path.read_bytes())
        for line, col, what in problems:
            print(f"{path}:{line}:{col}: {what}")
        bad += bool(problems)
    print(f"check_ps1_syntax: {len(files)} file(s) checked, {bad} with syntax errors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
