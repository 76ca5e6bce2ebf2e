# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: volume_for_path
short_description: The volume of a Windows host that holds a path
version_added: 0.1.0
author: vaware.hyperv maintainers (@vaware)
description:
  - Given the C(win_volumes) facts of M(vaware.hyperv.win_volume_guid_facts) and a Windows path, returns the
    volume that holds the path.
  - The path may be a drive path (V(D:\\VMs\\web01.vhdx)), a folder under a folder mount point
    (V(C:\\ClusterStorage\\Fast\\web01)) or a volume GUID path (V(\\\\?\\Volume{GUID}\\web01)); any case,
    forward or back slashes, C(.) and C(..) resolved.
  - The volume with the longest mount point that contains the path wins, so a folder mounted inside
    V(C:\\) maps to the mounted volume, not to C(C:).
  - Fails with a clear message listing the host's mount points when no volume holds the path, and for
    network shares and relative paths, which have no local volume.
options:
  _input:
    description:
      - The list C(ansible_facts.win_volumes) gathered with O(vaware.hyperv.win_volume_guid_facts#module:filter)
        unset (a filtered list only knows the volumes it contains). A mapping holding C(win_volumes) is
        accepted too.
    type: list
    elements: dict
    required: true
  path:
    description: The Windows path to look up.
    type: str
    required: true
seealso:
  - module: vaware.hyperv.win_volume_guid_facts
"""

EXAMPLES = r"""
- name: Read the volumes
  vaware.hyperv.win_volume_guid_facts:

- name: The GUID path of the volume that holds the VM folder
  ansible.builtin.debug:
    msg: "{{ (ansible_facts.win_volumes | vaware.hyperv.volume_for_path('C:/ClusterStorage/Fast/web01')).path }}"

- name: Free space where a virtual disk lives
  ansible.builtin.set_fact:
    vhd_volume_free: "{{ (ansible_facts.win_volumes | vaware.hyperv.volume_for_path(vhd_path)).free_bytes }}"
  vars:
    vhd_path: D:/Hyper-V/Virtual Hard Disks/web01.vhdx
"""

RETURN = r"""
_value:
  description:
    - The volume item from C(win_volumes) (C(guid), C(path), C(drive_letter), C(mount_points), C(label),
      sizes, ...; see M(vaware.hyperv.win_volume_guid_facts)).
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import (  # noqa: E402
    VolumeNotFoundError,
    volume_for_path,
)


def volume_for_path_filter(volumes, path):
    """Jinja2 filter: ``win_volumes | vaware.hyperv.volume_for_path(path)``."""
    try:
        return volume_for_path(volumes, path)
    except VolumeNotFoundError as err:
        raise AnsibleFilterError(f"volume_for_path: {err}") from None


class FilterModule:
    def filters(self):
        return {"volume_for_path": volume_for_path_filter}
