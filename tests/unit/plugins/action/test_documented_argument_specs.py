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
from ansible.utils.plugin_docs import merge_fragment

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
    assert _compare("", documented_options(stub.DOCUMENTATION), action.ARGUMENT_SPEC) == []


def documented_options(documentation):
    """The stub's options with the collection's documentation fragments merged in, as ansible-doc merges them."""
    doc = yaml.safe_load(documentation)
    options = doc["options"]
    for name in doc.get("extends_documentation_fragment") or []:
        if name.startswith("vaware.hyperv."):
            fragment = importlib.import_module(
                f"ansible_collections.vaware.hyperv.plugins.doc_fragments.{name.split('.', 2)[2]}"
            )
            merge_fragment(options, yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def test_the_restic_repository_fragment_gives_its_keys_and_the_module_its_description():
    stub = importlib.import_module("ansible_collections.vaware.hyperv.plugins.modules.win_vm_restore")
    repository = documented_options(stub.DOCUMENTATION)["repository"]
    assert "password" in repository["suboptions"] and "restic snapshots" in " ".join(repository["description"])
    without = stub.DOCUMENTATION.replace("  - vaware.hyperv.restic_repository\n", "")
    assert "suboptions" not in documented_options(without)["repository"]  # the merge is what brings them


def test_the_comparison_notices_a_difference():
    spec = {"retention": {"type": "dict", "options": {"keep_last": {"type": "int"}}}, "pw_password": {"type": "str"}}
    documented = {"retention": {"type": "dict", "suboptions": {"keep_last": {"type": "str"}}}, "pw_password": {}}
    problems = _compare("", documented, spec)
    assert any("retention.keep_last: type" in p for p in problems)
    assert any("pw_password: a secret without no_log" in p for p in problems)
    assert any("documented only" in p for p in _compare("", {"a": {}}, {}))
