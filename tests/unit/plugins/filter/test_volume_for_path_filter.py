"""The volume_for_path filter as a playbook uses it: through Ansible's templating."""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core >= 2.19 renders only trusted template strings
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core

    def trust_as_template(value):
        return value


from ansible_collections.vaware.hyperv.plugins.filter.volume_for_path import FilterModule
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "win_volume_guid_facts"


@pytest.fixture(scope="module")
def facts():
    raw = json.loads((FIXTURES / "hyperv_host.json").read_text(encoding="utf-8"))
    return {"ansible_facts": {"win_volumes": normalize_volumes(raw["volumes"], raw["mount_points"])}}


def render(expression, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def test_filter_is_registered():
    assert "volume_for_path" in FilterModule().filters()


def test_filter_in_a_template(facts):
    variables = dict(facts, vhd="c:/ClusterStorage/Fast VMs/Web 01/os.vhdx")
    path = render("{{ (ansible_facts.win_volumes | vaware.hyperv.volume_for_path(vhd)).path }}", variables)
    assert path == "\\\\?\\Volume{c0ffee00-3333-4c33-a333-333333333333}\\"


def test_filter_failure_is_a_clear_template_error(facts):
    variables = dict(facts, vhd="\\\\fs01\\share\\a.vhdx")
    with pytest.raises(AnsibleError, match=r"volume_for_path: .*not a local Windows path"):
        render("{{ ansible_facts.win_volumes | vaware.hyperv.volume_for_path(vhd) }}", variables)
