# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of vaware.hyperv.win_vm_restore_info (documentation in plugins/modules/).

Runs the read-only payload ``win_vm_restore_generations`` (the one win_vm_restore starts with) and says
which VMs can be restored: those with a complete backup in a complete generation
(:func:`restore.restorable_vms`). With a restic ``repository`` it lists the host's snapshots instead
(``win_restic_read`` with ``restic snapshots``, as win_vm_restore does) and says which VMs have one.
"""

from __future__ import annotations

from typing import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _restic_host
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import (
    PayloadError,
    payload_error_result,
    run_payload,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import check_repository_option, display_location
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    REPOSITORY_ARGUMENT_SPEC,
    ResticOptionError,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
    check_path,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.restic import (
    host_snapshots,
    restorable_snapshot_vms,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.select import (
    generation_entries,
    inventory_problem,
    restorable_vms,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import StepFailed
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import check_folder_name

PAYLOAD = "win_vm_restore_generations"
STEP = "read generations"

ARGUMENT_SPEC = {
    "destination": {"type": "str"},
    "repository": REPOSITORY_ARGUMENT_SPEC,
    "backup_host": {"type": "str"},
}


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # read-only: the payload runs in check mode too
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        result["changed"] = False
        try:
            repository = check_repository_option(args["repository"])
            if repository is None and not args["destination"]:
                raise RestoreError("destination: required, unless repository says where a restic repository is")
            if repository is not None and args["destination"]:
                raise RestoreError("destination: not used with a restic repository (repository.location says where)")
            destination = check_path(args["destination"], "destination") if repository is None else None
            backup_host = check_folder_name(args["backup_host"], "backup_host") if args["backup_host"] else ""
        except (RestoreError, ResticOptionError, ValueError) as err:
            result.update(failed=True, msg=f"invalid options: {err}")
            return result
        if repository is not None:
            try:
                result.update(self._snapshots(repository, backup_host, task_vars))
            except PayloadError as err:
                result.update(payload_error_result(err))
            except StepFailed as err:
                result.update(failed=True, step=err.step, msg=err.message)
            return result
        try:
            inventory = run_payload(
                self, PAYLOAD, {"Destination": destination, "BackupHost": backup_host}, task_vars, step=STEP
            )
        except PayloadError as err:
            result.update(payload_error_result(err))
            return result
        if not isinstance(inventory, Mapping):
            result.update(failed=True, step=STEP, msg=f"{STEP}: payload {PAYLOAD} returned {str(inventory)[:200]!r}")
            return result
        host = str(inventory.get("backup_host") or backup_host)
        host_path = str(inventory.get("host_path") or "")
        result.update(backup_host=host, host_path=host_path)
        problem = inventory_problem(inventory, destination, host, host_path)
        if problem:
            result.update(failed=True, step=STEP, msg=problem)
            return result
        entries = generation_entries(inventory.get("generations"))
        result["generations"] = [{"id": e["id"], "complete": e["complete"], "reason": e["reason"]} for e in entries]
        result["vms"] = restorable_vms(entries)
        result["registered_vms"] = [
            {"name": v.get("name"), "id": v.get("id"), "state": v.get("state")}
            for v in inventory.get("vms") or []
            if isinstance(v, Mapping)
        ]
        complete = sum(1 for e in entries if e["complete"])
        result["msg"] = (
            f"{len(result['vms'])} VM(s) can be restored from {complete} complete generation(s) of {len(entries)} "
            f"in {host_path}"
        )
        return result

    def _snapshots(self, repository, backup_host, task_vars):
        """What a restic repository holds for the host: its VMs' snapshots (win_vm_restore's selection rules)."""
        step = "read snapshots"
        here, host, listed = _restic_host.list_snapshots(self, task_vars, repository, backup_host, step)
        snapshots = host_snapshots(listed, host)
        vms = restorable_snapshot_vms(snapshots, host)
        location = display_location(repository["location"])
        return {
            "backup_host": host,
            "repository": location,
            "generations": [
                {"id": s["short_id"], "snapshot_id": s["id"], "time": s["time"], "vm": s["vm_name"]} for s in snapshots
            ],
            "vms": vms,
            "registered_vms": [
                {"name": v.get("name"), "id": v.get("id"), "state": v.get("state")}
                for v in here.get("vms") or []
                if isinstance(v, Mapping)
            ],
            "msg": f"{len(vms)} VM(s) can be restored from {len(snapshots)} snapshot(s) of host {host} in {location}",
        }
