# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: restore_proofs
short_description: Merge test restore outcomes into the "last proven restore" record of each VM
version_added: 0.1.0
author: vaware.hyperv maintainers (@vaware)
description:
  - Keeps, per host and VM, the newest test restore (C(last_test)) and the newest one that passed
    (C(last_passed)), from the results of M(vaware.hyperv.win_vm_restore) with
    O(vaware.hyperv.win_vm_restore#module:mode=test).
  - The role C(vaware.hyperv.hyperv_restore) uses it to maintain C(restore-proofs.json) on the controller, which
    fleet reports read for their "last proven restore" column.
  - Records are compared by their C(tested_at) time (UTC ISO 8601); hosts and VM names are matched
    case-insensitively.
options:
  _input:
    description:
      - The existing proofs document (as returned by this filter), its JSON text, or an empty value to start a new one.
    type: raw
    required: true
  updates:
    description:
      - A list of items, each either a registered result of M(vaware.hyperv.win_vm_restore) in mode V(test) (a failed
        run without RV(vaware.hyperv.win_vm_restore#module:proven_restore) counts as a failed test of its C(vm), or of
        the loop C(item)), a RV(vaware.hyperv.win_vm_restore#module:proven_restore) record, or another proofs document
        (for example the C(hyperv_restore_proven) fact of a host).
      - Check-mode and skipped results are ignored.
    type: list
    elements: dict
    required: true
  host:
    description: The host name to record (normally C(inventory_hostname)); default is the host in each record.
    type: str
seealso:
  - module: vaware.hyperv.win_vm_restore
"""

EXAMPLES = r"""
- name: Test-restore two VMs
  vaware.hyperv.win_vm_restore:
    vm: "{{ item }}"
    destination: \\nas01\backups
    restore_path: E:\RestoreTest
    mode: test
  loop: [web01, sql01]
  register: tests
  failed_when: false

- name: Keep the proofs of this host
  ansible.builtin.set_fact:
    proofs: "{{ {} | vaware.hyperv.restore_proofs(tests.results, host=inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description:
    - C(format) (1), C(updated_at) (UTC) and C(vms), a list sorted by host and VM of C(host), C(vm), C(last_test) and
      C(last_passed) (null when no test passed yet).
    - Each record has C(host), C(backup_host), C(vm), C(generation), C(tested_at), C(passed), C(check),
      C(seconds_to_heartbeat) and C(reason).
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import merge_proofs  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import RestoreError  # noqa: E402


def restore_proofs_filter(existing, updates, host=None):
    """Jinja2 filter: ``existing | vaware.hyperv.restore_proofs(results, host=inventory_hostname)``."""
    try:
        return merge_proofs(existing, updates, host=host)
    except (RestoreError, ValueError) as err:
        raise AnsibleFilterError(f"restore_proofs: {err}") from None


class FilterModule:
    def filters(self):
        return {"restore_proofs": restore_proofs_filter}
