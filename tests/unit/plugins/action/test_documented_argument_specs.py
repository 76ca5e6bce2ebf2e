"""Every action plugin's argument spec agrees with the documentation of its module stub.

The action validates with ``ARGUMENT_SPEC``; ``ansible-doc`` and the docs site show the stub's
``DOCUMENTATION``. ansible-test's validate-modules cannot compare them for an action plugin, so this does:
names, types, defaults, choices, list elements, required and suboptions, at every level.
"""

from __future__ import annotations

import importlib
import pathlib

import pytest
import yaml

ACTIONS = sorted(
    p.stem
    for p in (pathlib.Path(__file__).resolve().parents[4] / "plugins" / "action").glob("*.py")
    if p.stem[0] != "_"
)
SECRET_WORDS = ("password", "secret", "token")


def _compare(where, documented, spec):
    problems = []
    if set(documented) != set(spec):
        problems.append(
            f"{where}: documented only {sorted(set(documented) - set(spec))},"
            f" in the spec only {sorted(set(spec) - set(documented))}"
        )
    for name in sorted(set(documented) & set(spec)):
        doc, arg = documented[name] or {}, spec[name]
        at = f"{where}.{name}" if where else name
        for key, missing in (("type", "str"), ("default", None), ("choices", None), ("elements", None)):
            if doc.get(key, missing) != arg.get(key, missing):
                problems.append(f"{at}: {key} documented {doc.get(key, missing)!r}, spec {arg.get(key, missing)!r}")
        if bool(doc.get("required")) != bool(arg.get("required")):
            problems.append(f"{at}: required documented {doc.get('required')!r}, spec {arg.get('required')!r}")
        if any(word in name for word in SECRET_WORDS) and not arg.get("no_log"):
            problems.append(f"{at}: a secret without no_log")
        if "options" in arg or "suboptions" in doc:
            problems += _compare(at, doc.get("suboptions") or {}, arg.get("options") or {})
    return problems


def test_every_action_is_checked():
    assert {"win_vss_backup", "win_vm_restore", "win_vm_restore_info", "win_volume_guid_facts"} <= set(ACTIONS)


@pytest.mark.parametrize("name", ACTIONS)
def test_documented_options_match_the_argument_spec(name):
    action = importlib.import_module(f"ansible_collections.vaware.hyperv.plugins.action.{name}")
    stub = importlib.import_module(f"ansible_collections.vaware.hyperv.plugins.modules.{name}")
    documented = yaml.safe_load(stub.DOCUMENTATION)["options"]
    assert _compare("", documented, action.ARGUMENT_SPEC) == []


def test_the_comparison_notices_a_difference():
    spec = {"retention": {"type": "dict", "options": {"keep_last": {"type": "int"}}}, "pw_password": {"type": "str"}}
    documented = {"retention": {"type": "dict", "suboptions": {"keep_last": {"type": "str"}}}, "pw_password": {}}
    problems = _compare("", documented, spec)
    assert any("retention.keep_last: type" in p for p in problems)
    assert any("pw_password: a secret without no_log" in p for p in problems)
    assert any("documented only" in p for p in _compare("", {"a": {}}, {}))
