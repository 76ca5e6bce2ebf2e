# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: delegation_services
short_description: The services a Hyper-V host delegates to, as items for ad_constrained_delegation
version_added: 0.1.0
author: vaware.hyperv maintainers (@vaware)
description:
  - Returns the O(vaware.hyperv.ad_constrained_delegation#module:services) items of one Hyper-V host, C(cifs) on
    every ISO library server and, for live migration, C(cifs) and C(Microsoft Virtual System Migration Service) on
    every peer host.
  - Used by the role C(vaware.hyperv.hyperv_delegation); one expression per host instead of a loop per host over
    every other host of the play, which grows with the square of the play's size.
options:
  _input:
    description: File server names (short names, DNS names or C(NAME$)).
    type: list
    elements: str
    required: true
  peers:
    description: Inventory names of the other hosts of the play, for live migration; empty for none.
    type: list
    elements: str
    default: []
  hostvars:
    description:
      - The C(hostvars) of the play; a peer whose host variables set C(hyperv_delegation_computer) is named by it,
        otherwise by its inventory name.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: ISO library on fs01, live migration between the hosts of the play
  ansible.builtin.set_fact:
    services: >-
      {{ ['fs01'] | vaware.hyperv.delegation_services(
           ansible_play_hosts_all | reject('equalto', inventory_hostname) | list, hostvars) }}
"""

RETURN = r"""
_value:
  description: Items C({service, host}), library servers first, then two per peer, in the order given.
  type: list
  elements: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

MIGRATION_SERVICE = "Microsoft Virtual System Migration Service"


def delegation_services(servers, peers=(), hostvars=None):
    if isinstance(servers, (str, Mapping)) or not all(isinstance(s, str) for s in servers):
        raise AnsibleFilterError(f"delegation_services expects a list of file server names, got {servers!r}")
    items = [{"service": "cifs", "host": server} for server in servers]
    hostvars = hostvars if hostvars is not None else {}
    for peer in peers or ():
        peer_vars = hostvars.get(peer, {})
        computer = peer_vars.get("hyperv_delegation_computer") or peer
        items += [{"service": "cifs", "host": computer}, {"service": MIGRATION_SERVICE, "host": computer}]
    return items


class FilterModule:
    def filters(self):
        return {"delegation_services": delegation_services}
