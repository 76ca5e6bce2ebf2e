"""What the README and the modules' EXAMPLES say about the modules holds."""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# variables an example may use without registering them first
_GIVEN = re.compile(r"^(vault_\w+|item|inventory_hostname|hostvars|groups|ansible_\w+|lookup|omit|query)$")


def docs(name):
    module = importlib.import_module(f"ansible_collections.vaware.hyperv.plugins.modules.{name}")
    return yaml.safe_load(module.DOCUMENTATION), yaml.safe_load(module.EXAMPLES)


def diff_support(name):
    documentation, _examples = docs(name)
    return documentation.get("attributes", {}).get("diff_mode", {}).get("support", "none")


def readme_diff_paragraph():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (paragraph,) = [p for p in text.split("\n\n") if "`--diff`" in p]
    return paragraph


def test_the_readme_says_which_modules_show_a_diff():
    paragraph = readme_diff_paragraph()
    with_diff, _sep, without = paragraph.partition("no diff")
    assert without, "the README must say which modules have no diff"
    for name in MODULES:
        if diff_support(name) == "none":
            assert f"`{name}`" in without and f"`{name}`" not in with_diff, name
        else:
            assert f"`{name}`" in with_diff, name


def test_the_readme_check_catches_a_claim_for_every_module(monkeypatch):
    claim = "Every module supports check mode and `--diff`."
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, encoding=None: f"x\n\n{claim}\n")
    with pytest.raises(AssertionError):
        test_the_readme_says_which_modules_show_a_diff()


def unregistered(examples):
    """Variables an example reads (``{{ name.attr }}``) before any earlier task registered them."""
    registered, missing = set(), []
    for task in examples:
        text = yaml.safe_dump(task)
        for name in re.findall(r"\{\{\s*([A-Za-z_]\w*)\.", text) + re.findall(
            r"^(?:when|until|failed_when|changed_when):\s*([A-Za-z_]\w*)\b", text, re.MULTILINE
        ):
            if name not in registered and not _GIVEN.match(name):
                missing.append((task.get("name"), name))
        if task.get("register"):
            registered.add(task["register"])
    return missing


@pytest.mark.parametrize("name", MODULES)
def test_examples_only_read_what_an_earlier_task_registered(name):
    _documentation, examples = docs(name)
    assert unregistered(examples) == []


def test_the_example_check_catches_an_unregistered_result():
    examples = [{"name": "attach", "vaware.hyperv.win_vss_backup": {"job_id": "{{ previous.job_id }}"}}]
    assert unregistered(examples) == [("attach", "previous")]
