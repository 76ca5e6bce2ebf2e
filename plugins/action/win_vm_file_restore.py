# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of vaware.hyperv.win_vm_file_restore (documentation in plugins/modules/).

Order of calls (payloads ``plugins/payloads/``)::

    win_vm_restore_generations          read the generations, choose one (as win_vm_restore does)
    win_vm_restore_verify               the VM's disk files against the manifest
    win_vm_file_restore_disks           each disk's parent (Get-VHD): which disk of a chain to mount
    win_vm_file_restore_mount Volumes   mount read-only, list partitions and volumes, dismount
    win_vm_file_restore_mount List      mount read-only, read the folder / the paths to copy, dismount
      copy:  win_vm_restore_verify      do the targets exist already?            -- check mode stops here
             win_vm_file_restore_start        write the copy job, start its scheduled task (SYSTEM)
             win_vm_file_restore_status ...   poll (a dropped connection is retried until copy_timeout)
                 the job runs the mount payload itself: Copy = mount read-only, robocopy /B, dismount
             win_vm_file_restore_cleanup      remove the task and the job folder, sweep a dead runner's mount

Every mount is ``Mount-VHD -ReadOnly -NoDriveLetter`` and is undone in the mount payload's ``finally``; each mount
payload first dismounts what a crashed earlier run left mounted (recorded in the host's state folder).
"""

from __future__ import annotations

import secrets
import time
from typing import Any, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._action import StepAction
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import PayloadError, load_payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.files import (
    FILE_MODES,
    chain_tops,
    choose_volume,
    copy_outcome,
    describe_volumes,
    dismount_problem,
    existing_targets,
    guest_text,
    job_verdict,
    list_entries,
    list_requests,
    resolve_copy,
    select_disks,
    sweep_warnings,
    validate_file_options,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.select import (
    generation_entries,
    inventory_problem,
    select_generation,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.verify import backup_files, verify_listing
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import PollTimeout, StepFailed, poll_job
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import join, utc_text

MOUNT = "win_vm_file_restore_mount"
RUNNER = "win_vm_file_restore_runner"
DEFAULT_POLL_INTERVAL = 5
DEFAULT_COPY_TIMEOUT = 86400

# Clock and sleep of the copy job's polling; tests replace them to run without waiting.
clock = time.monotonic
sleep = time.sleep

ARGUMENT_SPEC = {
    "vm": {"type": "str", "required": True},
    "destination": {"type": "str", "required": True},
    "backup_host": {"type": "str"},
    "generation": {"type": "str", "default": "latest"},
    "before": {"type": "str"},
    "disk": {"type": "str"},
    "volume": {"type": "str"},
    "mode": {"type": "str", "default": "list", "choices": list(FILE_MODES)},
    "paths": {"type": "list", "elements": "str"},
    "target": {"type": "str"},
    "force": {"type": "bool", "default": False},
    "verify": {"type": "str", "default": "size", "choices": ["size", "hash"]},
    "poll_interval": {"type": "int", "default": DEFAULT_POLL_INTERVAL},
    "copy_timeout": {"type": "int", "default": DEFAULT_COPY_TIMEOUT},
}


class ActionModule(StepAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _validate(self, args):
        return validate_file_options(args)

    def _started(self) -> None:
        self._run_id = secrets.token_hex(8)

    # ------------------------------------------------------------------------------- payloads

    def _mount(self, action: str, disks: List[str], step: str, **parameters: Any) -> Mapping[str, Any]:
        """Run the mount payload; its own failure and a disk left mounted both fail the task, naming both."""
        answer = self._payload(MOUNT, dict(parameters, Action=action, Disks=disks, RunId=self._run_id), step)
        return self._mount_answer(answer, step)

    def _mount_answer(self, answer: Mapping[str, Any], step: str, extra: Optional[str] = None) -> Mapping[str, Any]:
        self._warnings.extend(sweep_warnings(answer))
        if answer.get("action") == "Copy":
            copied, changed = copy_outcome(answer, self._out.get("items") or [])
            self._out.update(copied=copied, changed=changed)
        left = dismount_problem(answer)
        if answer.get("error") or left:
            message = f"{step} failed: {answer['error']}" if answer.get("error") else f"{step}: done"
            raise StepFailed(step, f"{message}; {left or extra or 'the disk was dismounted again'}")
        return answer

    def _copy_job(self, disk: str, partition: int, items: List[Mapping[str, Any]]) -> None:
        """Copy in a detached job on the host (scheduled task), polled; the job's task and folder are always removed."""
        opts = self._options
        job_id = secrets.token_hex(8)
        self._out["job_id"] = job_id
        self._payload(
            "win_vm_file_restore_start",
            {
                "JobId": job_id,
                "Runner": load_payload(RUNNER),
                "Mount": load_payload(MOUNT),
                "Disk": disk,
                "PartitionNumber": partition,
                "RunId": self._run_id,
                "Items": [{"source": i["source"], "type": i["type"], "destination": i["destination"]} for i in items],
                "ExecutionTimeLimitSeconds": opts["copy_timeout"],
            },
            "start copy",
        )
        status: Mapping[str, Any] = {}
        cleanup: Mapping[str, Any] = {}
        try:
            status = self._poll(job_id)
        finally:
            try:
                cleanup = self._payload("win_vm_file_restore_cleanup", {"JobId": job_id}, "clean up copy")
            except (PayloadError, StepFailed) as err:
                self._warnings.append(
                    f"the copy job {job_id} could not be cleaned up ({err}); its task \\vaware.hyperv\\file-restore-"
                    f"{job_id} and folder stay on the host, and the next run dismounts a disk it left mounted"
                )
        verdict = job_verdict(status, cleanup, job_id)
        self._warnings.extend(verdict["warnings"])
        if verdict["answer"] is not None:
            self._mount_answer(
                verdict["answer"], "copy guest files", verdict["disk_state"] if verdict["error"] else None
            )
        if verdict["error"]:
            raise StepFailed("copy guest files", verdict["error"])

    def _poll(self, job_id: str) -> Mapping[str, Any]:
        """Poll the copy job until it recorded its end or its runner is gone; a lost connection is retried."""
        opts = self._options
        started = clock()
        try:
            return poll_job(
                lambda: self._payload("win_vm_file_restore_status", {"JobId": job_id}, "poll copy"),
                interval=opts["poll_interval"],
                deadline=started + opts["copy_timeout"],
                warn=self._warnings.append,
                retryable=(PayloadError,),
                what="the copy job",
                clock=clock,
                sleep=sleep,
            )
        except PollTimeout as timeout:
            raise StepFailed(
                "poll copy",
                f"the copy job {job_id} did not finish within copy_timeout ({opts['copy_timeout']} s)"
                + (f" (last poll: {timeout.error})" if timeout.error else "")
                + "; Windows stops its task at that limit, and the next run of this module dismounts the disk it "
                "leaves",
            ) from None

    # ---------------------------------------------------------------------------------- steps

    def _steps(self) -> None:
        opts = self._options
        out = self._out
        self._step = "read generations"
        inventory = self._payload(
            "win_vm_restore_generations",
            {"Destination": opts["destination"], "BackupHost": opts["backup_host"] or ""},
            "read generations",
        )
        host = str(inventory.get("backup_host") or opts["backup_host"] or "")
        host_path = str(inventory.get("host_path") or join(opts["destination"], host))
        out["backup_host"] = host
        problem = inventory_problem(inventory, opts["destination"], host, host_path)
        if problem:
            raise StepFailed("read generations", problem)
        self._step = "select"
        selected = select_generation(
            generation_entries(inventory.get("generations")), opts["vm"], opts["generation"], opts["before"]
        )
        vm_entry = selected["vm"]
        vm_name = str(vm_entry["name"])
        generation = selected["id"]
        generation_path = join(host_path, generation)
        files = backup_files(join(generation_path, vm_name), vm_entry)
        all_disks = select_disks(files, None)
        chosen_disks = select_disks(files, opts["disk"])
        out.update(
            vm=vm_name,
            generation=generation,
            generation_path=generation_path,
            generation_started_at=utc_text(selected["started_at"]),
        )

        want_hash = opts["verify"] == "hash" and any(f.get("sha256") for f in all_disks)
        listing = self._payload(
            "win_vm_restore_verify",
            {"Paths": [f["path"] for f in all_disks], "Hash": want_hash, "Folders": []},
            "verify backup",
        )
        verification = verify_listing(all_disks, listing.get("files"), opts["verify"])
        out["verification"] = verification
        self._warnings.extend(verification["warnings"])
        if not verification["ok"]:
            raise StepFailed(
                "verify backup",
                f"the disks of VM {vm_name} in generation {generation} do not match the manifest, nothing was "
                "mounted: " + "; ".join(verification["problems"][:10]),
            )

        infos = self._payload("win_vm_file_restore_disks", {"Paths": [f["path"] for f in all_disks]}, "read disks")
        self._step = "read disks"
        tops = chain_tops(infos.get("disks"), chosen_disks, generation_path, all_disks)
        out["disks"] = tops

        found = self._mount("Volumes", [t["path"] for t in tops], "read volumes")
        volumes = describe_volumes(found)
        out["volumes"] = [
            {
                k: v[k]
                for k in ("name", "disk", "partition", "label", "letter", "file_system", "size", "readable", "reason")
            }
            for v in volumes
        ]
        self._step = "choose volume"
        volume = choose_volume(volumes, opts["volume"])
        out["volume"] = volume["name"]
        where = {"Disks": [volume["disk_path"]], "PartitionNumber": volume["partition"]}
        requests = list_requests(opts["mode"], opts["paths"])
        read = self._mount(
            "List", where["Disks"], "read guest files", PartitionNumber=volume["partition"], Items=requests
        )
        self._step = "read guest files"
        name = volume["name"] if volume["name"].startswith(volume["disk"]) else f"{volume['name']} of {volume['disk']}"
        if opts["mode"] == "list":
            path = opts["paths"][0]
            out["path"] = guest_text(path["parts"])
            out["entries"] = list_entries(read, path, name)
            out["msg"] = f"{len(out['entries'])} entries in {out['path']} on {name} (generation {generation})"
            return

        target = opts["target"]
        items, links = resolve_copy(read, opts["paths"], target, name)
        if links:
            self._warnings.append(
                f"not copied: {', '.join(links[:10])} (junctions or folder links; their targets would be read on "
                "the host, not in the guest)"
            )
        out["target"] = target
        out["items"] = items
        files_to = [i["destination"] for i in items if i["type"] == "file"]
        folders_to = [i["destination"] for i in items if i["type"] == "folder"]
        state = self._payload(
            "win_vm_restore_verify", {"Paths": files_to, "Hash": False, "Folders": folders_to}, "check target"
        )
        there = existing_targets(items, state)
        if there and not opts["force"]:
            raise StepFailed(
                "check target",
                f"{', '.join(there[:5])} already exist(s) in the target {target}; nothing was copied. "
                "Set force: true to overwrite, or choose another target",
            )
        if there:
            self._warnings.append(f"overwriting what already exists in {target}: {', '.join(there[:5])}")
        if self._play_context.check_mode:
            out["changed"] = True
            out["msg"] = (
                f"check mode: would copy {len(items)} item(s) from {name} (generation {generation}) to {target}"
            )
            return
        self._copy_job(volume["disk_path"], volume["partition"], items)
        out["msg"] = f"copied {len(out['copied'])} item(s) from {name} (generation {generation}) to {target}"
