"""Every ``-e`` shown in the docs and playbook headers reaches Ansible with its backslashes intact.

``ansible-playbook -e key=value`` decodes escapes (``\\\\nas01`` arrives as ``\\nas01``, ``E:\\new`` with a
newline), so a Windows path may only be shown as JSON, as ``@file`` or in the inventory. Each argument is
split as the shell splits it and decoded by Ansible's own extra-vars parsers.
"""

from __future__ import annotations

import pathlib
import re
import shlex

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.splitter import parse_kv

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "playbooks").glob("*.yml"),
        *(ROOT / "roles").glob("*/meta/argument_specs.yml"),
    ]
)
# -e followed by one shell word: a single-quoted string, a double-quoted one, or a bare word
_EXTRA = re.compile(r"""(?<![\w-])-e\s+('[^']*'|"(?:[^"\\]|\\.)*"|[^\s`\[\]]+)""")
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\])")


def documented_extra_vars():
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _EXTRA.finditer(line):
                (word,) = shlex.split(match.group(1))
                found.append(pytest.param(word, id=f"{path.relative_to(ROOT)}:{number}"))
    return found


def decoded(word):
    """What ansible-playbook makes of ``-e word`` (ansible.utils.vars.load_extra_vars)."""
    if word.startswith("@"):
        return {}
    if word[0] in "[{":
        return DataLoader().load(word)
    return parse_kv(word)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_the_docs_show_extra_vars():
    assert len(documented_extra_vars()) > 20


@pytest.mark.parametrize("word", documented_extra_vars())
def test_a_documented_extra_var_keeps_its_backslashes(word):
    data = decoded(word)
    assert isinstance(data, dict), word
    if word[0] not in "@[{":
        assert "\\" not in word, f"-e {word}: key=value decodes backslashes; show it as JSON or in a vars file"
    for text in strings(data):
        assert not any(ord(c) < 32 for c in text), f"-e {word} decodes to {text!r}"
        if text.startswith("\\") or re.match(r"^[A-Za-z]:", text):
            assert _WINDOWS_PATH.match(text), f"-e {word} decodes to {text}, not a Windows path"


def test_the_check_catches_the_key_value_form():
    """The form the docs used to show: decoded, it loses a backslash of the UNC prefix."""
    (word,) = shlex.split("'hyperv_backup_destination=\\\\nas01\\hyperv-backup'")
    assert decoded(word) == {"hyperv_backup_destination": "\\nas01\\hyperv-backup"}
    with pytest.raises(AssertionError):
        test_a_documented_extra_var_keeps_its_backslashes(word)
    assert _WINDOWS_PATH.match(decoded('{"d": "\\\\\\\\nas01\\\\share"}')["d"])
