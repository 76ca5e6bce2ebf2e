"""Holds the PowerShell payloads to Microsoft's documented facts (there is no Windows here).

``tests/data/windows-commands/`` holds two catalogs extracted from Microsoft's reference docs:
every Windows PowerShell 5.1 / Windows Server 2016 command with its parameter sets, and the
WMI/CIM classes with their properties. :func:`payload_problems` parses a payload with the
tree-sitter PowerShell grammar and returns one message per fact it breaks:

- a ``Verb-Noun`` command that is neither in the catalog nor a function the payloads define;
- a named parameter (``-Name``, or a key of a hashtable splatted as ``@name``) the command lacks;
- named parameters that no single parameter set of the command has together;
- a property read from a class queried with ``Get-CimInstance -ClassName``: ``$_.Prop`` in the
  pipeline stages after it, ``$v.Prop`` in ``foreach ($v in (Get-CimInstance ...))``, and the
  names given to ``Select-Object -Property`` there (a literal list or an array variable).
"""

from __future__ import annotations

import functools
import json
import pathlib
import re
from typing import Dict, Iterator, List, Optional, Set

import tree_sitter
import tree_sitter_pwsh

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "windows-commands"
COMMON_PARAMETERS = {
    p.lower()
    for p in [
        "Verbose",
        "Debug",
        "ErrorAction",
        "WarningAction",
        "InformationAction",
        "ErrorVariable",
        "WarningVariable",
        "InformationVariable",
        "OutVariable",
        "OutBuffer",
        "PipelineVariable",
        "WhatIf",
        "Confirm",
    ]
}
VERB_NOUN = re.compile(r"^[A-Za-z]+-[A-Za-z0-9]+$")
ALL_SETS = "(All)"


@functools.cache
def commands() -> Dict[str, dict]:
    data = json.loads((DATA / "winserver2016-ps51.json").read_text(encoding="utf-8"))
    return {name.lower(): spec for name, spec in data["commands"].items()}


@functools.cache
def cim_classes() -> Dict[str, dict]:
    data = json.loads((DATA / "cim-classes.json").read_text(encoding="utf-8"))
    return {name.lower(): spec for name, spec in data["classes"].items()}


def class_properties(name: str) -> Optional[Set[str]]:
    """Properties of a CIM class and its documented parents, lower-cased; None for an unknown class."""
    classes = cim_classes()
    spec = classes.get(name.lower())
    if spec is None:
        return None
    props: Set[str] = set()
    seen = set()
    while spec is not None and id(spec) not in seen:
        seen.add(id(spec))
        props.update(p.lower() for p in spec.get("properties", {}))
        parent = spec.get("parent")
        spec = classes.get(parent.lower()) if parent else None
    return props


def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def _text(src: bytes, node) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _walk(node) -> Iterator:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def _elements(command) -> List:
    for child in command.children:
        if child.type == "command_elements":
            return [c for c in child.children if c.type != "command_argument_sep"]
    return []


def _named_argument(src: bytes, command, name: str) -> Optional[str]:
    elements = _elements(command)
    for i, el in enumerate(elements):
        is_it = el.type == "command_parameter" and _text(src, el).lstrip("-").rstrip(":").lower() == name.lower()
        if is_it and i + 1 < len(elements) and elements[i + 1].type != "command_parameter":
            return _unquote(_text(src, elements[i + 1]))
    return None


def _cim_class(src: bytes, command) -> Optional[str]:
    """The class a Get-CimInstance command names (-ClassName, or the first positional argument)."""
    named = _named_argument(src, command, "ClassName")
    if named is not None:
        return named if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", named) else None
    elements = _elements(command)
    if elements and elements[0].type == "generic_token":
        return _text(src, elements[0])
    return None


def _function_names(root, src: bytes) -> Set[str]:
    return {_text(src, n).lower() for n in _walk(root) if n.type == "function_name"}


def _hashtables(root, src: bytes) -> Dict[str, Set[str]]:
    """``$name = @{ Key = ... }`` in the file: the keys of each hashtable variable (for splatting)."""
    tables: Dict[str, Set[str]] = {}
    for n in _walk(root):
        if n.type != "assignment_expression":
            continue
        left = n.child_by_field_name("left") or n.children[0]
        value = n.children[-1]
        hashes = [h for h in _walk(value) if h.type == "hash_literal_expression"]
        if not hashes or _text(src, value).lstrip()[:2] != "@{":
            continue
        keys = tables.setdefault(_text(src, left).lstrip("$").lower(), set())
        for entry in hashes[0].children:
            if entry.type != "hash_literal_body":
                continue
            for e in entry.children:
                if e.type == "hash_entry":
                    keys.add(_unquote(_text(src, e.children[0])))
    return tables


def _string_arrays(root, src: bytes) -> Dict[str, List[str]]:
    """``$name = @('A', 'B')`` or ``$name = 'A', 'B'``: the strings of each array variable."""
    arrays: Dict[str, List[str]] = {}
    for n in _walk(root):
        if n.type != "assignment_expression":
            continue
        value = n.children[-1]
        strings = [s for s in _walk(value) if s.type == "string_literal"]
        if strings and not any(x.type in ("command", "hash_literal_expression") for x in _walk(value)):
            left = n.children[0]
            arrays[_text(src, left).lstrip("$").lower()] = [_unquote(_text(src, s)) for s in strings]
    return arrays


def _check_parameters(src: bytes, command, name: str, tables: Dict[str, Set[str]], where: str) -> List[str]:
    spec = commands()[name.lower()]
    params = {p.lower(): (p, v) for p, v in spec.get("parameters", {}).items()}
    used: List[str] = []
    problems = []
    for el in _elements(command):
        if el.type == "command_parameter":
            used.append(_text(src, el).lstrip("-").rstrip(":"))
        elif _text(src, el).startswith("@") and any(v.type == "variable" for v in [*el.children, el]):
            # splatting: @name passes the keys of the hashtable $name as named parameters
            used.extend(sorted(tables.get(_text(src, el)[1:].lower(), ())))
    named = []
    for p in used:
        if p.lower() in COMMON_PARAMETERS:
            continue
        if p.lower() not in params:
            problems.append(f"{where}: {name} has no parameter -{p}")
        else:
            named.append(params[p.lower()])
    if problems or len(named) < 2:
        return problems
    sets = spec.get("sets", {})
    in_all = {p for p, v in named if ALL_SETS in v.get("sets", [])}
    rest = [p for p, _spec in named if p not in in_all]
    if rest and not any(all(p in members for p in rest) for members in sets.values()):
        problems.append(
            f"{where}: {name} has no parameter set with all of -" + ", -".join(p for p, _spec in named) + " together"
        )
    return problems


def _cim_reads(src: bytes, root) -> Iterator[tuple]:
    """(class, property, node) for each property read this gate can tie to a Get-CimInstance class."""
    arrays = _string_arrays(root, src)
    for cmd in _walk(root):
        if cmd.type != "command" or _text(src, cmd.children[0]).lower() != "get-ciminstance":
            continue
        cls = _cim_class(src, cmd)
        if not cls or cls.startswith("__"):
            continue
        parent = cmd.parent
        later = [s for s in parent.children if s.type == "command" and s.start_byte > cmd.start_byte]
        for stage in later:
            stage_name = _text(src, stage.children[0]).lower()
            if stage_name == "select-object":
                prop = None
                for i, el in enumerate(_elements(stage)):
                    if el.type == "command_parameter" and _text(src, el).lower().startswith("-prop"):
                        prop = _elements(stage)[i + 1] if i + 1 < len(_elements(stage)) else None
                if prop is None and _elements(stage) and _elements(stage)[0].type != "command_parameter":
                    prop = _elements(stage)[0]
                if prop is not None:
                    t = _text(src, prop)
                    names = arrays.get(t[1:].lower(), []) if t.startswith("$") else [_unquote(x) for x in t.split(",")]
                    for n in names:
                        yield cls, n, prop
                break
            for n in _walk(stage):
                if n.type == "member_access" and _text(src, n.children[0]).lower() in ("$_", "$psitem"):
                    yield cls, _text(src, n.children[-1]), n
        # foreach ($v in @(Get-CimInstance ...)) { $v.Prop }
        up = cmd.parent
        while up is not None and up.type != "foreach_statement":
            if up.type in ("statement_block", "script_block", "program"):
                up = None
                break
            up = up.parent
        if up is not None:
            var = next((c for c in up.children if c.type == "variable"), None)
            body = next((c for c in up.children if c.type == "statement_block"), None)
            for n in _walk(body) if body is not None and var is not None else ():
                if n.type == "member_access" and _text(src, n.children[0]).lower() == _text(src, var).lower():
                    yield cls, _text(src, n.children[-1]), n


def payload_problems(path: pathlib.Path, library_functions: Set[str] = frozenset()) -> List[str]:
    src = path.read_bytes()
    root = _parser().parse(src).root_node
    defined = _function_names(root, src) | {f.lower() for f in library_functions}
    tables = _hashtables(root, src)
    problems: List[str] = []
    for cmd in _walk(root):
        if cmd.type != "command" or not cmd.children or cmd.children[0].type != "command_name":
            continue
        name = _text(src, cmd.children[0])
        where = f"{path.name}:{cmd.start_point[0] + 1}"
        if not VERB_NOUN.match(name) or name.lower() in defined:
            continue
        if name.lower() not in commands():
            problems.append(f"{where}: {name} is not a Windows PowerShell 5.1 / Server 2016 command")
            continue
        problems.extend(_check_parameters(src, cmd, name, tables, where))
    for cls, prop, node in _cim_reads(src, root):
        props = class_properties(cls)
        where = f"{path.name}:{node.start_point[0] + 1}"
        if props is None:
            problems.append(f"{where}: CIM class {cls} is not in the catalog")
        elif prop.lower() not in props:
            problems.append(f"{where}: CIM class {cls} has no property {prop}")
    return problems


def library_function_names(paths) -> Set[str]:
    names: Set[str] = set()
    for p in paths:
        src = p.read_bytes()
        names |= _function_names(_parser().parse(src).root_node, src)
    return names
