#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is the action plugin plugins/action/win_volume_guid_facts.py.

DOCUMENTATION = r"""
module: win_volume_guid_facts
short_description: Volume facts of a Windows host by volume GUID path, with mount points and Hyper-V VM placement
version_added: 0.1.0
description:
  - Lists every volume of a Windows host, including volumes without a drive letter that are reachable only
    by their C(\\?\Volume{GUID}\) path or through a folder mount point, as C(ansible_facts.win_volumes).
  - The modern form of
    C(Get-WmiObject Win32_Volume | where name -like '\\?\*' | select label, name, capacity, freespace).
  - With O(vm_placement=true) each volume also lists the Hyper-V virtual machines whose configuration,
    checkpoints, smart paging file, saved state, virtual disks or ISO images are on it.
  - Runs one read-only PowerShell script on the host (CIM classes C(Win32_Volume), C(Win32_MountPoint) and,
    for VM placement, C(root\virtualization\v2)) through M(ansible.windows.win_powershell); all shaping
    happens on the controller.
  - A host without the Hyper-V role is not an error; with O(vm_placement=true) every volume then has an
    empty C(vms) list and the task returns a warning. The same happens when C(root\virtualization\v2) exists
    but cannot be read (for example access denied); the volume facts are complete, every C(vms) list is empty
    and the warning quotes the error.
  - Use the P(vaware.hyperv.volume_for_path#filter) filter to find the volume that holds a path.
options:
  filter:
    description:
      - Only return volumes whose label, GUID path, GUID or one of whose mount points matches this shell
        glob, case-insensitively, for example V(VM*), V(C:\\ClusterStorage\\*) or V(*a1b2c3d4*).
      - VM placement is worked out over all volumes before filtering.
      - C(ansible_facts.win_volumes) then holds only the matching volumes, and replaces a full list gathered
        earlier for this host. The P(vaware.hyperv.volume_for_path#filter) filter needs the full list to find
        the volume of an arbitrary path, so gather without O(filter) when the play uses it.
    type: str
  without_drive_letter_only:
    description:
      - Only return volumes that have no drive letter (reachable by GUID path or folder mount point only).
      - Like O(filter), this narrows what is stored in C(ansible_facts.win_volumes); the
        P(vaware.hyperv.volume_for_path#filter) filter needs the full list.
    type: bool
    default: false
  vm_placement:
    description:
      - Also find which Hyper-V VM files lie on each volume and return them as C(vms).
      - Needs the account to be allowed to read C(root\virtualization\v2) (local Administrators or Hyper-V
        Administrators).
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
  - vaware.hyperv.windows_payload
attributes:
  check_mode:
    support: full
    details: Read-only; the script also runs in check mode and returns the same facts.
  diff_mode:
    support: none
  facts:
    support: full
notes:
  - Requires M(ansible.windows.win_powershell) (collection C(ansible.windows)) and Windows PowerShell 5.1 or
    PowerShell 7 on the host.
  - GUIDs are returned in lower case, as C(mountvol) prints them; compare them case-insensitively.
  - Volumes without a file system or a capacity (an empty card reader, a DVD drive without a disc, an
    unformatted volume) are returned with RV(ansible_facts.win_volumes[].usable=false) and null sizes.
seealso:
  - module: ansible.windows.win_powershell
  - module: community.windows.win_disk_facts
  - plugin: vaware.hyperv.volume_for_path
    plugin_type: filter
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Gather every volume
  vaware.hyperv.win_volume_guid_facts:

- name: Volumes reachable only by GUID path or folder mount point, with the VMs on them
  vaware.hyperv.win_volume_guid_facts:
    without_drive_letter_only: true
    vm_placement: true

- name: Volumes whose label starts with VM
  vaware.hyperv.win_volume_guid_facts:
    filter: "VM*"

- name: Show the GUID path of the volume that holds a VM folder
  ansible.builtin.debug:
    msg: "{{ (ansible_facts.win_volumes | vaware.hyperv.volume_for_path('C:/ClusterStorage/Fast/web01')).path }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: success
  type: complex
  contains:
    win_volumes:
      description:
        - One item per volume that passed O(filter) and O(without_drive_letter_only), ordered by drive letter,
          then by first mount point, then by GUID.
        - With O(filter) or O(without_drive_letter_only) this is only that subset, not every volume of the host.
      returned: success
      type: list
      elements: dict
      contains:
        guid:
          description: Volume GUID in braces, lower case.
          type: str
          sample: "{b7e1c0de-2222-4b22-9222-222222222222}"
        path:
          description: Volume GUID path, usable wherever Windows takes a path.
          type: str
          sample: \\?\Volume{b7e1c0de-2222-4b22-9222-222222222222}\
        drive_letter:
          description: Drive letter with colon, or null.
          type: str
          sample: "D:"
        mount_points:
          description: The drive root and every folder the volume is mounted on, each ending with a backslash.
          type: list
          elements: str
          sample: ["E:\\", "D:\\Mounts\\Backup\\"]
        label:
          description: Volume label, or null when empty.
          type: str
          sample: VM Storage
        file_system:
          description: File system (V(NTFS), V(ReFS), V(FAT32), ...), or null without one.
          type: str
          sample: ReFS
        capacity_bytes:
          description: Size in bytes, or null.
          type: int
          sample: 2198886842368
        free_bytes:
          description: Free space in bytes, or null.
          type: int
          sample: 879554736947
        used_percent:
          description: Used space in percent, one decimal, or null when the size is unknown.
          type: float
          sample: 60.0
        block_size:
          description: Cluster size in bytes, or null.
          type: int
          sample: 65536
        drive_type:
          description: >-
            Kind of drive: V(fixed), V(removable), V(cdrom), V(network), V(ramdisk), V(no_root_directory)
            or V(unknown).
          type: str
          sample: fixed
        serial_number:
          description: Volume serial number as C(vol) prints it, or null.
          type: str
          sample: DEAD-BEEF
        system:
          description: Whether this is the system volume (holds the boot manager).
          type: bool
        boot:
          description: Whether this is the boot volume (holds Windows).
          type: bool
        page_file:
          description: Whether a page file is on this volume.
          type: bool
        usable:
          description: False for a volume without a file system or capacity (no media, unformatted).
          type: bool
        vms:
          description:
            - VMs with files on this volume, sorted by name. Only with O(vm_placement=true).
            - Each item has C(name), C(id) (VM GUID, lower case) and C(files), a list of C(kind)/C(path)
              pairs; C(kind) is V(configuration), V(checkpoints), V(smart_paging), V(saved_state),
              V(virtual_disk), V(iso), V(floppy) or V(storage). Virtual disks referenced by checkpoints
              (parents of differencing disks) are included.
          returned: when O(vm_placement=true)
          type: list
          elements: dict
          sample:
            - name: Web 01
              id: 5c0a7e3b-1111-4111-8111-aaaaaaaaaaaa
              files:
                - kind: virtual_disk
                  path: C:\ClusterStorage\Fast\Web 01\os.vhdx
hyperv_installed:
  description: Whether the Hyper-V role (CIM namespace C(root\virtualization\v2)) was found.
  returned: when O(vm_placement=true)
  type: bool
  sample: true
step:
  description: The step that failed.
  returned: failure
  type: str
  sample: read volumes
host_unreachable:
  description: Set when the host could not be reached; the task is then failed with a message saying so.
  returned: when the host was unreachable
  type: bool
  sample: true
"""
