# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of vaware.hyperv.win_volume_guid_facts (documentation in plugins/modules/)."""

from __future__ import annotations

import fnmatch
from typing import Any, Dict, List, Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import (
    PayloadError,
    payload_error_result,
    run_payload,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes, place_vm_files

PAYLOAD = "win_volume_guid_facts"

ARGUMENT_SPEC = {
    "filter": {"type": "str"},
    "without_drive_letter_only": {"type": "bool", "default": False},
    "vm_placement": {"type": "bool", "default": False},
}


def matches_filter(volume: Mapping[str, Any], pattern: str) -> bool:
    """Case-insensitive glob on the label, the GUID path, the GUID or any mount point."""
    pattern = pattern.casefold()
    candidates = [volume.get("label"), volume.get("path"), volume.get("guid"), *volume.get("mount_points", [])]
    return any(fnmatch.fnmatchcase(str(c).casefold(), pattern) for c in candidates if c)


def select_volumes(volumes: List[Dict[str, Any]], pattern: Any, without_drive_letter_only: bool) -> List[Dict]:
    selected = volumes
    if pattern:
        selected = [v for v in selected if matches_filter(v, pattern)]
    if without_drive_letter_only:
        selected = [v for v in selected if not v["drive_letter"]]
    return selected


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # read-only: the payload runs in check mode too
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]

        try:
            raw = run_payload(
                self,
                PAYLOAD,
                {"VmPlacement": args["vm_placement"]},
                task_vars,
                step="read volumes",
            )
        except PayloadError as err:
            result.update(payload_error_result(err))
            return result

        if not isinstance(raw, Mapping) or "volumes" not in raw:
            result.update(
                failed=True,
                changed=False,
                step="shape volumes",
                msg=f"shape volumes: payload {PAYLOAD} returned an object without 'volumes': {str(raw)[:300]}",
            )
            return result

        warnings: List[str] = []
        try:
            volumes = normalize_volumes(raw.get("volumes"), raw.get("mount_points"))
            if args["vm_placement"]:
                hyperv_error = raw.get("hyperv_error")
                readable = raw.get("hyperv") and not hyperv_error
                unplaced = place_vm_files(volumes, raw.get("virtual_systems") if readable else [])
                if hyperv_error:
                    warnings.append(
                        f"vm_placement: the Hyper-V VMs could not be read (CIM namespace root\\virtualization\\v2): "
                        f"{hyperv_error}; the volume facts are complete but every volume has an empty 'vms' list "
                        "(reading VMs needs local administrator or Hyper-V Administrators rights)"
                    )
                elif not raw.get("hyperv"):
                    warnings.append(
                        "vm_placement: the Hyper-V role is not installed on this host (no CIM namespace "
                        "root\\virtualization\\v2), so every volume has an empty 'vms' list"
                    )
                for item in unplaced:
                    warnings.append(
                        f"vm_placement: {item['kind']} '{item['path']}' of VM '{item['vm']}' is not on a local "
                        "volume (network share or missing volume) and appears under no volume"
                    )
        except ValueError as err:
            result.update(
                failed=True,
                changed=False,
                step="shape volumes",
                msg=f"shape volumes: cannot read the volume data of this host: {err}",
            )
            return result

        selected = select_volumes(volumes, args["filter"], args["without_drive_letter_only"])
        result.update(changed=False, ansible_facts={"win_volumes": selected})
        if args["vm_placement"]:
            result["hyperv_installed"] = bool(raw.get("hyperv"))
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        return result
