"""The services filter of the hyperv_delegation role: library servers and live migration peers."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.filter.delegation_services import MIGRATION_SERVICE, delegation_services


def test_library_servers_only():
    assert delegation_services(["fs01", "fs02.corp.example.com"]) == [
        {"service": "cifs", "host": "fs01"},
        {"service": "cifs", "host": "fs02.corp.example.com"},
    ]
    assert delegation_services([]) == []


def test_peers_use_their_computer_name_when_the_inventory_sets_one():
    hostvars = {"hv02": {"hyperv_delegation_computer": "HV02-AD"}, "hv03": {}}
    assert delegation_services(["fs01"], ["hv02", "hv03"], hostvars) == [
        {"service": "cifs", "host": "fs01"},
        {"service": "cifs", "host": "HV02-AD"},
        {"service": MIGRATION_SERVICE, "host": "HV02-AD"},
        {"service": "cifs", "host": "hv03"},
        {"service": MIGRATION_SERVICE, "host": "hv03"},
    ]


@pytest.mark.parametrize("servers", ["fs01", {"fs01": True}, ["fs01", ["fs02"]]])
def test_anything_but_a_list_of_names_is_refused(servers):
    with pytest.raises(AnsibleFilterError, match="expects a list of file server names"):
        delegation_services(servers)
