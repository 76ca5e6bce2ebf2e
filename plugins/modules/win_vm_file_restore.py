#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin plugins/action/win_vm_file_restore.py.

DOCUMENTATION = r"""
module: win_vm_file_restore
short_description: List or copy files from inside a backed-up Hyper-V virtual disk
version_added: 0.1.0
description:
  - Reads files from a guest volume of a VM's virtual disk in a backup generation written by
    M(vaware.hyperv.win_vss_backup), without restoring the VM.
  - The generation is chosen as M(vaware.hyperv.win_vm_restore) chooses it (O(generation), O(before)), and the VM's
    disk files are first checked against the generation's manifest.
  - The disk is attached on the host with C(Mount-VHD -ReadOnly -NoDriveLetter) (the top C(.avhdx) of a chain when the
    VM had checkpoints) and always dismounted again before the payload returns, also when reading or copying fails.
    The backup is never written to. A disk an interrupted earlier run left mounted is dismounted at the start of the
    next run.
  - O(mode=list) returns the entries of one folder of the guest volume (name, type, size, modified time);
    O(mode=copy) copies files, folders and globs to O(target) on the host with robocopy's backup mode, so files the
    guest's permissions protect are copied too.
  - Runs small PowerShell scripts through M(ansible.windows.win_powershell); every value reaches them as a parameter.
options:
  vm:
    description: Name of the VM as it was backed up.
    type: str
    required: true
  destination:
    description: The backup destination given to M(vaware.hyperv.win_vss_backup) (local path or UNC path).
    type: str
    required: true
  backup_host:
    description:
      - Host folder under O(destination) to read; defaults to the computer name of the host the task runs on.
    type: str
  generation:
    description:
      - V(latest) (the newest complete generation holding the VM complete) or a generation id such as
        V(20261125T020000Z).
    type: str
    default: latest
  before:
    description:
      - Use the newest complete generation taken strictly before this time (ISO 8601, a date, or a generation id).
      - Not together with a generation id in O(generation).
    type: str
  disk:
    description:
      - The VM's disk to read, by file name (V(web01-data.vhdx)) or path relative to the VM's folder in the
        generation. A base disk stands for its chain; the chain's top C(.avhdx) is mounted.
      - Default is every disk of the VM; the volume is then chosen among the volumes of all of them.
    type: str
  volume:
    description:
      - The guest volume, by its label (V(Data), or V(label:2) for a label that looks like a number), V(C:) for the
        guest's Windows volume (the one holding C(Windows\System32\config\SYSTEM)), or a partition number (V(2),
        V(partition 2)).
      - The letter in the guest is known only for the guest's Windows volume; other volumes are named by label or
        partition number (RV(volumes) lists them).
      - Default is the drive letter of the paths (C(C:\inetpub\...)) or, without one, the only readable volume.
      - A BitLocker-encrypted volume, one without a file system Windows can read, or one that is not NTFS or ReFS is
        refused with an error naming it.
    type: str
  mode:
    description:
      - V(list) returns the entries of the folder in O(paths) (or of the one file named); V(copy) copies O(paths) to
        O(target).
    type: str
    choices: [list, copy]
    default: list
  paths:
    description:
      - Paths inside the guest volume, with the guest's drive letter (C(C:\inetpub\wwwroot\web.config)) or from its
        root (C(\inetpub\wwwroot)). C(*) and C(?) are wildcards in the last part of a path (C(\inetpub\logs\*.log)).
      - O(mode=list) takes one path (default the root of the volume); O(mode=copy) takes one or more files, folders
        (copied with everything in them) or globs, all on one volume.
    type: list
    elements: str
  target:
    description:
      - Folder on the host the copies go into, each under its own name (C(<target>\web.config)). Required for
        O(mode=copy). Never inside O(destination).
    type: str
  force:
    description:
      - Overwrite files or folders of the same name that already exist in O(target). Without it, the task fails
        before anything is copied.
    type: bool
    default: false
  verify:
    description:
      - How the disk files are checked against the manifest before they are mounted, V(size) or V(hash) (reads every
        byte of the disks; only when the backup recorded hashes).
    type: str
    choices: [size, hash]
    default: size
  poll_interval:
    description: Seconds between two polls of the copy job on the host (O(mode=copy)).
    type: int
    default: 5
  copy_timeout:
    description:
      - Seconds the copy job may run; Windows stops its scheduled task at that limit and the task fails. From 60 to
        604800.
    type: int
    default: 86400
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vaware.hyperv.windows_payload
attributes:
  check_mode:
    support: full
    details:
      - The disk is mounted read-only to read the guest volume, then dismounted; RV(items) lists what would be copied.
        Nothing is copied and O(target) is not created.
  diff_mode:
    support: none
notes:
  - The account Ansible connects as must be an administrator of the host (mounting a disk and robocopy's backup mode
    need it).
  - A disk the host already has attached is left alone and the task fails naming it.
  - Junctions and symbolic links to folders inside the guest (such as C(Documents and Settings)) are never followed,
    since their targets would be resolved on the host; a path through one is refused, a glob leaves them out with a
    warning, and a folder copy skips them (robocopy C(/XJ)).
  - A VM backed up with checkpoints whose differencing disk names a parent outside the generation (the live VM's disk)
    is refused, since mounting it would read the live parent in place of the backed-up one.
  - The copy runs on the host as a detached job (a one-shot scheduled task as SYSTEM under
    C(%ProgramData%\vaware.hyperv\file-restore\jobs\)), polled every O(poll_interval) seconds, so a dropped
    connection does not stop it (polls are retried until O(copy_timeout)). The job mounts, copies and dismounts in
    C(finally) exactly as a direct call; its task and folder are removed afterwards, and a disk a stopped job left
    mounted is dismounted by that clean-up or by the next run.
  - Listing, and reading the volumes, run within the task call; a run cut off then leaves the disk mounted
    read-only until the next run of this module dismounts it.
seealso:
  - module: vaware.hyperv.win_vm_restore
  - module: vaware.hyperv.win_vm_restore_info
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: What is in the web root of last night's backup of web01?
  vaware.hyperv.win_vm_file_restore:
    vm: web01
    destination: \\nas01\hyperv-backup
    paths:
      - C:\inetpub\wwwroot
  register: listing

- name: Copy web.config and the logs of the backup before a change
  vaware.hyperv.win_vm_file_restore:
    vm: web01
    destination: \\nas01\hyperv-backup
    before: "2026-11-24T06:00:00Z"
    mode: copy
    paths:
      - C:\inetpub\wwwroot\web.config
      - C:\inetpub\logs\LogFiles\W3SVC1\*.log
    target: E:\Restore\web01-files

- name: A folder of the data disk, by the volume's label
  vaware.hyperv.win_vm_file_restore:
    vm: sql01
    destination: \\nas01\hyperv-backup
    disk: sql01-data.vhdx
    volume: Data
    mode: copy
    paths:
      - \Backups\Nightly
    target: E:\Restore\sql01
"""

RETURN = r"""
vm:
  description: The VM, as the backup spells it.
  returned: always
  type: str
  sample: web01
mode:
  description: V(list) or V(copy).
  returned: always
  type: str
generation:
  description: The generation read.
  returned: when a generation was chosen
  type: str
  sample: 20261125T020000Z
generation_path:
  description: Its folder.
  returned: when a generation was chosen
  type: str
generation_started_at:
  description: When its snapshot was taken (UTC).
  returned: when a generation was chosen
  type: str
verification:
  description: The disk files against the manifest (C(ok), C(method), C(files), C(bytes), C(problems)).
  returned: when a generation was chosen
  type: dict
disks:
  description: The disks mounted, C(path), C(name) and C(chain) (the top first, then its parents).
  returned: when the disks were read
  type: list
  elements: dict
volumes:
  description:
    - Every guest volume found, with C(name), C(disk), C(partition), C(label), C(letter) (only C(C) for the guest's
      Windows volume), C(file_system), C(size), C(readable) and the C(reason) it is not.
  returned: when the disks were mounted
  type: list
  elements: dict
volume:
  description: The volume read.
  returned: when a volume was chosen
  type: str
  sample: "partition 2 (label 'Windows', C: in the guest)"
path:
  description: The folder listed, from the root of the volume.
  returned: mode list
  type: str
  sample: \inetpub\wwwroot
entries:
  description:
    - Its entries, folders first, each with C(name), C(path), C(type), C(size) (files) and C(modified) (UTC).
    - C(type) is C(file), C(folder) or C(link) (a junction or symbolic link to a folder, which is never followed, as
      its target would be resolved on the host, not in the guest).
  returned: mode list
  type: list
  elements: dict
  sample:
    - {name: web.config, path: \inetpub\wwwroot\web.config, type: file, size: 2048, modified: "2026-11-20T10:11:12Z"}
target:
  description: The folder copies go to.
  returned: mode copy
  type: str
items:
  description: What is (or in check mode would be) copied, each with C(path) in the guest, C(type), C(size),
    C(modified) and C(destination) on the host.
  returned: mode copy
  type: list
  elements: dict
job_id:
  description: The copy job on the host.
  returned: mode copy, when the copy job started
  type: str
  sample: 3f9a1c0e5b7d2468
copied:
  description: What was copied, with C(source), C(destination), C(type) and robocopy's C(exit_code).
  returned: mode copy, when the copy ran
  type: list
  elements: dict
step:
  description: The step that failed.
  returned: failure
  type: str
  sample: copy guest files
"""
