#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin plugins/action/win_vm_restore_info.py.

DOCUMENTATION = r"""
module: win_vm_restore_info
short_description: List the Hyper-V VMs that can be restored from vaware.hyperv backup generations
version_added: 0.1.0
description:
  - Reads the backup generations of one host under O(destination) (C(<destination>\<backup host>\<generation>\))
    with their C(manifest.json), as M(vaware.hyperv.win_vm_restore) does before a restore, and returns the VMs that
    have a complete backup in at least one complete generation, with the generations that hold them.
  - With a restic O(repository) it lists the host's snapshots instead (C(restic snapshots --host <backup host>
    --tag vaware.hyperv)) and returns the VMs that have one; the generations are then snapshot ids.
  - Default names of restored copies (C(<vm>-restored-<generation>), C(<vm>-restoretest-<generation>)) are left
    out of RV(vms) even when such a copy was backed up.
  - Read-only. Runs a small PowerShell script through M(ansible.windows.win_powershell); every value reaches it as
    a parameter.
options:
  destination:
    description:
      - The backup destination given to M(vaware.hyperv.win_vss_backup), a local path or a UNC path that the account
        Ansible connects as can read.
      - Required unless O(repository) names a restic repository.
    type: str
  repository:
    description:
      - The restic repository M(vaware.hyperv.win_vss_backup) backed the host up into (O(repository.type=restic)),
        the same mapping the backup takes; keys that only concern backups are ignored. The password reaches the
        host only as a sensitive parameter and a file only the connecting account can read, deleted at once.
    type: dict
  backup_host:
    description:
      - Name of the host folder under O(destination) whose backups are read, or with a restic repository the host
        name the snapshots were made with (C(--host)).
      - Defaults to the computer name of the host the task runs on.
    type: str
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vaware.hyperv.windows_payload
  - vaware.hyperv.restic_repository
attributes:
  check_mode:
    support: full
    details:
      - Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
notes:
  - Fails, naming the path, when O(destination) cannot be read from the host or holds no folder for the host.
seealso:
  - module: vaware.hyperv.win_vm_restore
  - module: vaware.hyperv.win_vss_backup
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Which VMs of this host can be restored?
  vaware.hyperv.win_vm_restore_info:
    destination: \\nas01\hyperv-backup
  register: restorable

- name: Test-restore each of them
  vaware.hyperv.win_vm_restore:
    vm: "{{ item.name }}"
    mode: test
    destination: \\nas01\hyperv-backup
    restore_path: E:\RestoreTest
  loop: "{{ restorable.vms }}"

- name: Which VMs of this host have a snapshot in the restic repository?
  vaware.hyperv.win_vm_restore_info:
    repository: "{{ hyperv_backup_repository }}"
  register: in_restic
"""

RETURN = r"""
backup_host:
  description: The host folder that was read, or the restic host name whose snapshots were listed.
  returned: always
  type: str
  sample: HV01
host_path:
  description: Full path of the host folder.
  returned: with a files repository
  type: str
  sample: \\nas01\hyperv-backup\HV01
vms:
  description:
    - VMs with a complete backup in a complete generation, sorted by name.
    - C(latest_generation) is the newest generation holding the VM complete, C(generations) all of them, newest
      first.
  returned: success
  type: list
  elements: dict
  sample:
    - name: web01
      latest_generation: 20261125T020000Z
      generations: [20261125T020000Z, 20261124T020000Z]
repository:
  description: With a restic repository, its location (credentials in a URL shown as C(user:***@)).
  returned: with a restic repository
  type: str
  sample: \\nas01\restic\hyperv
generations:
  description:
    - Every generation folder, newest first, with C(id), C(complete) and the C(reason) it is not complete.
    - With a restic repository every snapshot of the host, newest first, with C(id) (short), C(snapshot_id),
      C(time) and C(vm).
  returned: success
  type: list
  elements: dict
  sample:
    - id: 20261125T020000Z
      complete: true
      reason: null
registered_vms:
  description: The VMs registered on the host (C(name), C(id), C(state)); empty without Hyper-V.
  returned: success
  type: list
  elements: dict
step:
  description: The step that failed.
  returned: failure
  type: str
  sample: read generations
"""
