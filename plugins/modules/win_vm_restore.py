#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin plugins/action/win_vm_restore.py.

DOCUMENTATION = r"""
module: win_vm_restore
short_description: Restore a Hyper-V VM from a vaware.hyperv backup generation, or prove that it boots
version_added: 0.1.0
description:
  - Restores one virtual machine from a backup generation written by M(vaware.hyperv.win_vss_backup), found under
    C(<destination>\<backup host>\<generation>\<vm>\).
  - Reads the generations' C(manifest.json) files, picks the generation (O(generation), O(before)), refuses a
    generation that is not complete or in which the VM was not backed up completely, and checks every file of the
    VM against the manifest (size always, SHA-256 with O(verify=hash)) B(before anything changes on the host).
  - O(mode=copy) (default) imports the VM as a copy with a new id into O(restore_path), named
    C(<vm>-restored-<generation>), with its network adapters disconnected. The original VM is never touched.
  - O(mode=replace) restores over the original VM. It imports and verifies the restored copy first; only then does
    it stop and remove the original VM (C(Remove-VM) keeps the original's disk files, which are listed in the result)
    and give the restored VM the original name. A failure before that point leaves the original VM as it was.
    An original that is Saved or Paused is refused before anything changes, since turning it off would discard
    its state.
  - O(mode=test) restores a copy without network, starts it, waits up to O(boot_timeout) seconds for the Hyper-V
    heartbeat to report OK (or, with O(test_check=running) or for VMs whose heartbeat service is disabled, for the
    VM to stay running O(stable_seconds)), records the outcome and then always turns the copy off, removes it and
    deletes its folder. A VM that does not pass fails the task; the copy is still removed.
  - O(mode=files) copies the VM's files from the generation to C(<restore_path>\<vm>-restored-<generation>\)
    with robocopy and checks the copies against the manifest, without importing anything.
  - Every virtual disk of an imported VM is taken from the backup copy. A configuration that refers to a disk the
    backup does not hold is refused instead of attaching the live VM's disk.
  - With O(repository) of type V(restic) it restores from a restic snapshot that M(vaware.hyperv.win_vss_backup)
    made instead (see O(repository)); every mode works the same from there.
  - Runs small PowerShell scripts through M(ansible.windows.win_powershell); every value reaches them as a
    parameter. All decisions are made on the controller.
options:
  vm:
    description:
      - Name of the VM in the backup (compared case-insensitively).
    type: str
    required: true
  destination:
    description:
      - The backup destination given to M(vaware.hyperv.win_vss_backup), a local path or a UNC path that the account
        Ansible connects as can read. Generations are read from C(<destination>\<backup_host>\).
      - Required unless O(repository) names a restic repository.
    type: str
  repository:
    description:
      - The restic repository M(vaware.hyperv.win_vss_backup) backed the VM up into (O(repository.type=restic)); the
        same mapping the backup takes (keys that only concern backups are ignored). Leave it unset, or give
        O(repository.type=files), to restore from O(destination).
      - The VM's snapshots of O(backup_host) are listed (C(restic snapshots --host <backup host> --tag vaware.hyperv)),
        one is chosen with O(generation) or O(before) and checked against the number of files its backup recorded
        (C(restic ls)). Nothing changes on the host before that.
      - Then a job on the host (a scheduled task, so a dropped connection does not stop it; followed again by a
        second run) runs C(restic restore <snapshot> --target <folder>) - into
        C(<restore_path>\<name>.restic-<snapshot>) for the import modes, which is deleted again once the import
        copied the VM out of it (room for the VM twice is needed meanwhile), and straight into
        C(<restore_path>\<name>) for O(mode=files). The restored files are checked by size before the import;
        restic checks every block it restores against its hash.
      - The password and O(repository.environment) reach the host only as sensitive parameters and lie in files only
        the job account can read, deleted when the job ends. They are never on a command line.
    type: dict
  run_as:
    description:
      - With a restic repository, the account the restore job runs as, for example one that can read the repository's
        SMB share. The job runs as SYSTEM (the host's computer account on the network) when not given.
      - Give O(run_as_password) with it.
    type: str
  run_as_password:
    description: The password of O(run_as). Never logged or returned.
    type: str
  restore_timeout:
    description:
      - With a restic repository, seconds the restore job may run (Windows stops its task then); 60 to 604800.
    type: int
    default: 86400
  backup_host:
    description:
      - Name of the host folder under O(destination) whose backups are read, or with a restic repository the host name
        the snapshots were made with (C(--host), the computer name of the backed-up host).
      - Defaults to the computer name of the host the task runs on. Set it to restore a VM backed up on another host.
    type: str
  generation:
    description:
      - V(latest) restores from the newest complete generation holding a complete backup of the VM.
      - A generation id such as V(20261125T020000Z) restores from exactly that generation; it is refused when it is
        not complete.
      - With a restic repository V(latest) is the VM's newest complete snapshot, and a snapshot id (8 to 64 hex
        digits, as C(restic snapshots) and M(vaware.hyperv.win_vm_restore_info) show it) chooses one.
    type: str
    default: latest
  before:
    description:
      - Restore from the newest complete generation taken (snapshot time) strictly before this time.
      - ISO 8601 with a zone (V(2026-11-20T08:00:00+01:00), V(2026-11-20T07:00:00Z)), ISO 8601 without a zone (read
        as UTC), a date (V(2026-11-20), midnight UTC) or a generation id.
      - Only with O(generation=latest).
    type: str
  mode:
    description:
      - What to do; see the description.
    type: str
    choices: [copy, replace, test, files]
    default: copy
  restore_path:
    description:
      - Folder (local, Cluster Shared Volume or SMB share Hyper-V can use) that receives the restored VM's own
        folder C(<restore_path>\<name>\). That folder must not exist or must be empty.
      - With O(mode=replace) the restored VM keeps living there under its original name.
    type: str
    required: true
  name:
    description:
      - Name of the restored VM (and its folder) instead of C(<vm>-restored-<generation>)
        (C(<vm>-restoretest-<generation>) for O(mode=test)).
      - Not used with O(mode=replace), where the restored VM takes the original name.
    type: str
  connect_network:
    description:
      - Keep the network adapters connected to the virtual switches recorded in the backup.
      - Defaults to V(false) for O(mode=copy) (a copy on the same network as the original would clash with it) and
        to V(true) for O(mode=replace). Not allowed with O(mode=test), which always runs without network.
    type: bool
  force:
    description:
      - Must be V(true) for O(mode=replace), which stops and removes the existing VM.
    type: bool
    default: false
  verify:
    description:
      - V(size) checks that every file exists with the size the manifest records.
      - V(hash) also checks SHA-256 when the manifest has hashes (backups made with C(verify=hash)); this reads every
        byte of the backup and of the restored disks. Without hashes in the manifest, sizes are checked and a
        warning says so.
    type: str
    choices: [size, hash]
    default: size
  test_check:
    description:
      - How O(mode=test) decides that the VM booted.
      - V(heartbeat) waits for the Hyper-V heartbeat integration service to report OK. When the heartbeat service is
        disabled in the VM's settings, V(running) is used instead.
      - V(running) only requires the VM to stay running for O(stable_seconds), for guests without integration
        services.
    type: str
    choices: [heartbeat, running]
    default: heartbeat
  boot_timeout:
    description:
      - Seconds O(mode=test) waits for the check to pass after the VM was started.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two state readings of the test VM.
    type: int
    default: 10
  stable_seconds:
    description:
      - Seconds the VM must stay running with O(test_check=running).
    type: int
    default: 120
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vaware.hyperv.windows_payload
  - vaware.hyperv.restic_repository
attributes:
  check_mode:
    support: full
    details:
      - Reads the generations and checks the backup files against the manifest (both read-only), then returns the
        plan in RV(plan) without changing anything.
  diff_mode:
    support: none
notes:
  - Requires M(ansible.windows.win_powershell) and, except for O(mode=files), the Hyper-V PowerShell module on the
    host. The account needs to be a member of Administrators or Hyper-V Administrators and able to read
    O(destination).
  - Idempotent where it can be. A copy whose VM already exists with the same generation (recognised by a marker
    line the module adds to the VM's notes), a replace whose VM already is the restore of that generation, and a
    files restore whose files are already in place report C(changed=false). A VM of the target name that was not
    restored by this module is never overwritten.
  - O(mode=test) reports C(changed=false) when the test copy was removed, since nothing is left on the host.
  - The restored VM has a new id.
  - A VM backed up with checkpoints (differencing C(.avhdx) disks) is not imported, since its differencing disks
    still name their parents' original paths; restore its files with O(mode=files) instead.
  - The disks of an imported VM are copied by Hyper-V from the backup (C(Import-VM -Copy)); a restore from a
    network share takes as long as copying the disks.
seealso:
  - module: vaware.hyperv.win_vss_backup
  - module: ansible.windows.win_powershell
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Restore last night's web01 next to the original, without network
  vaware.hyperv.win_vm_restore:
    vm: web01
    destination: \\nas01\backups
    restore_path: E:\Restore

- name: Prove that web01's newest restic snapshot boots (the same repository variable the backup uses)
  vaware.hyperv.win_vm_restore:
    vm: web01
    repository: "{{ hyperv_backup_repository }}"
    restore_path: E:\RestoreTest
    mode: test

- name: Restore web01 from one restic snapshot, running the restore job as an account that can read the share
  vaware.hyperv.win_vm_restore:
    vm: web01
    repository:
      type: restic
      location: \\nas01\restic\hyperv
      password: "{{ vault_restic_password }}"
    generation: 4f2a9c1e
    restore_path: E:\Restore
    run_as: CORP\svc-hyperv-restore
    run_as_password: "{{ vault_restore_password }}"

- name: Restore web01 as it was before the bad update on Tuesday
  vaware.hyperv.win_vm_restore:
    vm: web01
    destination: \\nas01\backups
    restore_path: E:\Restore
    before: "2026-11-24T06:00:00+01:00"

- name: Put web01 back from a given generation, replacing the broken VM
  vaware.hyperv.win_vm_restore:
    vm: web01
    destination: \\nas01\backups
    restore_path: D:\Hyper-V
    generation: 20261120T020000Z
    mode: replace
    force: true

- name: Prove that the latest backup of sql01 boots (restore, start, wait for heartbeat, delete)
  vaware.hyperv.win_vm_restore:
    vm: sql01
    destination: \\nas01\backups
    restore_path: E:\RestoreTest
    mode: test
    boot_timeout: 900
  register: restore_test

- name: Copy the files of a VM backed up on another host, to attach a disk by hand
  vaware.hyperv.win_vm_restore:
    vm: app01
    destination: \\nas01\backups
    backup_host: HV02
    restore_path: E:\Restore
    mode: files
    verify: hash
"""

RETURN = r"""
mode:
  description: The mode that ran.
  returned: always
  type: str
  sample: copy
vm:
  description: The VM's name as spelled in the backup.
  returned: always
  type: str
  sample: web01
backup_host:
  description: The host folder the backup was read from.
  returned: when the host was reached
  type: str
  sample: HV01
generation:
  description: The generation restored from.
  returned: when a generation was chosen
  type: str
  sample: 20261125T020000Z
generation_path:
  description: Folder of that generation.
  returned: when a generation of a files repository was chosen
  type: str
  sample: \\nas01\backups\HV01\20261125T020000Z
snapshot_id:
  description: With a restic repository, the full id of the snapshot restored from (O(generation) is its short id).
  returned: when a snapshot was chosen
  type: str
  sample: 4f2a9c1e7b0d3a5f6c8e9d1b2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e
repository:
  description: With a restic repository, its location (credentials in a URL shown as C(user:***@)).
  returned: with a restic repository
  type: str
  sample: \\nas01\restic\hyperv
staging_path:
  description:
    - With a restic repository and an import mode, the folder the snapshot was restored into before the import
      (deleted again; a warning says when it could not be).
  returned: with a restic repository, when a snapshot was chosen
  type: str
  sample: D:\Restore\web01-restored-20261125T020000Z.restic-4f2a9c1e
restic_restore:
  description: What C(restic restore) reported at its end (restic 0.17 and newer; null for older versions).
  returned: after a restic restore
  type: dict
generation_started_at:
  description: When the generation's backup started (UTC), the point in time the restore returns to.
  returned: when a generation was chosen
  type: str
  sample: "2026-11-25T02:00:00Z"
generation_finished_at:
  description: When the generation's backup finished (UTC).
  returned: when a generation was chosen
  type: str
  sample: "2026-11-25T03:12:09Z"
selected_by:
  description: How the generation was chosen, V(latest), V(id) or V(before).
  returned: when a generation was chosen
  type: str
  sample: latest
backup_vm_id:
  description: The VM id recorded in the backup.
  returned: when a generation was chosen
  type: str
  sample: 5f3c0c4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f
name:
  description: Name of the restored VM (the original name for O(mode=replace)).
  returned: when a generation was chosen
  type: str
  sample: web01-restored-20261125T020000Z
path:
  description: Folder of the restored VM or of the restored files.
  returned: when a generation was chosen
  type: str
  sample: E:\Restore\web01-restored-20261125T020000Z
vm_id:
  description: Id of the restored VM.
  returned: when a VM was imported or already restored
  type: str
  sample: 9d9d9d9d-0000-4000-8000-00000000009d
disks:
  description: Virtual disks of the restored VM, each with C(path) and C(size) in bytes.
  returned: when a VM was imported
  type: list
  elements: dict
network_adapters:
  description: Network adapters of the restored VM, each with C(name), C(switch) and C(connected).
  returned: when a VM was imported
  type: list
  elements: dict
files:
  description: Files restored by O(mode=files), each with C(path) and C(size).
  returned: O(mode=files)
  type: list
  elements: dict
bytes:
  description: Bytes restored (disks of an imported VM, or the files copied).
  returned: when something was restored
  type: int
  sample: 42949672960
seconds:
  description: Run time of the task in seconds.
  returned: always
  type: float
  sample: 812.4
verification:
  description:
    - C(backup) is the check of the backup's files against the manifest before anything changed, C(restored) the
      check of the restored disks or files.
    - Each has C(ok), C(method) (V(size) or V(hash)), C(files) or C(disks), C(bytes) and C(problems).
  returned: when the files were checked
  type: dict
original:
  description:
    - The VM that O(mode=replace) replaced, with C(id), C(state), C(stopped), C(removed) and C(files_kept), the
      configuration folder and disks of the original that were left on disk.
    - When the original was stopped but could not be removed, it is started again if it was running. C(restarted)
      says whether that worked and C(state_now) is its state afterwards; C(msg) says which.
    - Null when no VM of that name was registered.
  returned: O(mode=replace)
  type: dict
test:
  description:
    - Outcome of O(mode=test). C(outcome) is V(passed) or V(failed); C(check) is what was waited for
      (V(heartbeat) or V(running)); C(heartbeat) is the last heartbeat status read (for example
      V(OkApplicationsHealthy), V(NoContact)); C(seconds_to_heartbeat) is the time from start to passing;
      C(reason) says why it passed or failed; C(removed) says whether the test copy was removed.
  returned: O(mode=test) once the copy was imported
  type: dict
  sample:
    outcome: passed
    check: heartbeat
    heartbeat: OkApplicationsHealthy
    seconds_to_heartbeat: 48.2
    state: Running
    boot_timeout: 600
    reason: heartbeat OkApplicationsHealthy
    removed: true
proven_restore:
  description:
    - One record of the test restore for reports ("last proven restore"), with C(host), C(vm), C(generation),
      C(tested_at) (UTC), C(passed), C(check), C(seconds_to_heartbeat) and C(reason).
    - The role C(vaware.hyperv.hyperv_restore) collects these records in the fact
      C(hyperv_restore_proven).
  returned: O(mode=test) once the copy was imported
  type: dict
  sample:
    host: HV01
    vm: sql01
    generation: 20261125T020000Z
    tested_at: "2026-11-25T09:14:02Z"
    passed: true
    check: heartbeat
    seconds_to_heartbeat: 48.2
    reason: heartbeat OkApplicationsHealthy
plan:
  description: The steps of the restore, in order. In check mode, what would be done.
  returned: when the backup was verified and something is to be done
  type: list
  elements: str
  sample:
    - read generation 20261125T020000Z of web01 and check its files against the manifest
    - import a copy with a new id as 'web01-restored-20261125T020000Z' into E:\Restore\web01-restored-20261125T020000Z
    - disconnect its network adapters
    - check the restored disks against the manifest
step:
  description: The step that failed.
  returned: failure
  type: str
  sample: verify backup
"""
