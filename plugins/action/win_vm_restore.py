# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of vaware.hyperv.win_vm_restore (documentation in plugins/modules/).

Order of calls, per mode (payloads ``plugins/payloads/win_vm_restore_*.ps1``)::

    all       generations (read) -> verify backup files (read)            -- check mode stops here
    copy      -> import -> [verify restored disks by hash] -> (remove on failed verification)
    replace   -> import -> [verify] -> replace (stop + remove original, rename restored)
    test      -> import -> [verify] -> boot Start -> boot Status ... -> remove (always)
    files     -> files -> verify copies

Nothing changes on the host before the backup's files have been checked against the manifest, and the
original VM of ``replace`` is touched only after the restored copy is registered and verified.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, Mapping

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _restic_host
from ansible_collections.vaware.hyperv.plugins.plugin_utils._action import StepAction
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import PayloadError
from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import proven_restore
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command as restic_command
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import display_location
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import parse_ls
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import REPOSITORY_ARGUMENT_SPEC
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    DEFAULT_BOOT_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RESTORE_TIMEOUT,
    DEFAULT_STABLE_SECONDS,
    MODES,
    TEST_CHECKS,
    VERIFY_MODES,
    existing_vms,
    marker,
    parse_marker,
    restored_name,
    validate_options,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.restic import (
    restore_job_id,
    select_snapshot,
    snapshot_files,
    staging_folder,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.select import (
    generation_entries,
    inventory_problem,
    plan_steps,
    select_generation,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.verify import (
    backup_files,
    config_file,
    disk_map,
    evaluate_boot,
    import_blocker,
    listing_index,
    space_problem,
    verify_listing,
    verify_restored_disks,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import StepFailed, poll_until
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import join, utc_now, utc_text

ARGUMENT_SPEC = {
    "vm": {"type": "str", "required": True},
    "destination": {"type": "str"},
    "repository": REPOSITORY_ARGUMENT_SPEC,
    "run_as": {"type": "str"},
    "run_as_password": {"type": "str", "no_log": True},
    "restore_timeout": {"type": "int", "default": DEFAULT_RESTORE_TIMEOUT},
    "restore_path": {"type": "str", "required": True},
    "backup_host": {"type": "str"},
    "generation": {"type": "str", "default": "latest"},
    "before": {"type": "str"},
    "mode": {"type": "str", "default": "copy", "choices": list(MODES)},
    "name": {"type": "str"},
    "connect_network": {"type": "bool"},
    "force": {"type": "bool", "default": False},
    "verify": {"type": "str", "default": "size", "choices": list(VERIFY_MODES)},
    "test_check": {"type": "str", "default": "heartbeat", "choices": list(TEST_CHECKS)},
    "boot_timeout": {"type": "int", "default": DEFAULT_BOOT_TIMEOUT},
    "poll_interval": {"type": "int", "default": DEFAULT_POLL_INTERVAL},
    "stable_seconds": {"type": "int", "default": DEFAULT_STABLE_SECONDS},
}

# Clock and sleep of the boot test; tests replace them to run without waiting.
clock = time.monotonic
sleep = time.sleep


def _stopped_original(answer: Mapping[str, Any]) -> str:
    """What became of an original VM the replace payload stopped but could not remove."""
    before = answer.get("original_state") or "unknown"
    now = answer.get("state_now") or "unknown"
    if answer.get("restarted"):
        return f"it was stopped, then started again as it was {before} before (state now {now})"
    if answer.get("restart_error"):
        return (
            f"it was stopped and starting it again FAILED ({answer['restart_error']}); it is {now}, "
            f"it was {before}: start it by hand"
        )
    return f"it was stopped (it was {before}) and is now {now}"


class ActionModule(StepAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _validate(self, args):
        return validate_options(args)

    def _error_step(self) -> str:
        return "select"

    def _started(self) -> None:
        self._started_at = clock()

    def _ended(self) -> None:
        self._out["seconds"] = round(clock() - self._started_at, 1)

    # ---------------------------------------------------------------------------------- steps

    def _require_hyperv(self, answer: Mapping[str, Any], step: str) -> None:
        if self._options["mode"] != "files" and not answer.get("hyperv"):
            raise StepFailed(
                step,
                f"mode {self._options['mode']} needs Hyper-V on the host "
                f"({answer.get('hyperv_error') or 'the Hyper-V PowerShell module was not found'}); "
                "mode files only copies the files",
            )

    def _read_generation(self) -> Dict[str, Any]:
        """The VM's files in the chosen generation of a files repository (the destination's host folder)."""
        opts = self._options
        inventory = self._payload(
            "win_vm_restore_generations",
            {"Destination": opts["destination"], "BackupHost": opts["backup_host"] or ""},
            "read generations",
        )
        host = str(inventory.get("backup_host") or opts["backup_host"] or "")
        host_path = str(inventory.get("host_path") or join(opts["destination"], host))
        self._out.update(backup_host=host)
        problem = inventory_problem(inventory, opts["destination"], host, host_path)
        if problem:
            raise StepFailed("read generations", problem)
        self._require_hyperv(inventory, "read generations")
        selected = select_generation(
            generation_entries(inventory.get("generations")), opts["vm"], opts["generation"], opts["before"]
        )
        vm_entry = selected["vm"]
        vm_name = str(vm_entry["name"])  # the case the backup used
        generation = selected["id"]
        generation_path = join(host_path, generation)
        self._out.update(generation_path=generation_path)
        return {
            "host": host,
            "vms": inventory.get("vms") or [],
            "selected": selected,
            "vm_name": vm_name,
            "vm_id": vm_entry.get("id"),
            "name_id": generation,
            "files": backup_files(join(generation_path, vm_name), vm_entry),
            "staging": None,
        }

    def _read_restic(self) -> Dict[str, Any]:
        """The VM's files in the chosen snapshot of a restic repository, where ``restic restore`` will put them."""
        opts = self._options
        repository = opts["repository"]
        here, host, snapshots = _restic_host.list_snapshots(
            self, self._task_vars, repository, opts["backup_host"], "read snapshots"
        )
        self._out.update(backup_host=host, repository=display_location(repository["location"]))
        self._require_hyperv(here, "read snapshots")
        selected = select_snapshot(snapshots, host, opts["vm"], opts["generation"], opts["before"])
        listed = _restic_host.read(
            self,
            self._task_vars,
            repository,
            restic_command.ls_args(repository, selected["snapshot_id"]),
            "list snapshot",
        )
        try:
            listing = parse_ls(listed.get("stdout"))
        except ValueError as err:
            raise StepFailed("list snapshot", f"restic ls {selected['id']}: {err}") from None
        vm_name = selected["vm"]["name"]
        name = restored_name(vm_name, selected["name_id"], opts["mode"], opts["name"])
        folder = join(opts["restore_path"], name)
        staging = None if opts["mode"] == "files" else staging_folder(opts["restore_path"], name, selected["id"])
        self._out.update(snapshot_id=selected["snapshot_id"], staging_path=staging)
        return {
            "host": host,
            "vms": here.get("vms") or [],
            "selected": selected,
            "vm_name": vm_name,
            "vm_id": selected["vm"]["id"],
            "name_id": selected["name_id"],
            "files": snapshot_files(listing, staging or folder, selected),
            "staging": staging,
        }

    def _steps(self) -> None:
        opts = self._options
        out = self._out
        source = self._read_restic() if opts["repository"] else self._read_generation()
        host, vm_name, files, selected = source["host"], source["vm_name"], source["files"], source["selected"]
        generation = selected["id"]
        finished = selected.get("finished_at")
        out.update(
            vm=vm_name,
            generation=generation,
            generation_started_at=utc_text(selected["started_at"]),
            generation_finished_at=utc_text(finished) if finished else None,
            selected_by="id" if opts["generation"] != "latest" else ("before" if opts["before"] else "latest"),
            backup_vm_id=str(source["vm_id"] or ""),
        )
        mode = opts["mode"]
        name = restored_name(vm_name, source["name_id"], mode, opts["name"])
        folder = join(opts["restore_path"], name)
        out.update(name=vm_name if mode == "replace" else name, path=folder)
        self._marker = marker(host, generation, vm_name)
        vms = source["vms"]
        vm_entry = {"id": source["vm_id"]}
        staging = source["staging"]

        config = None
        if mode != "files":
            blocker = import_blocker(files)
            if blocker:
                raise StepFailed("plan", f"cannot restore {vm_name} with mode {mode}: {blocker}; nothing was changed")
            config = config_file(files, vm_entry.get("id"))
        original = None
        if mode == "replace":
            original = self._original(vms, vm_name, host, generation, vm_entry)
            if original is True:
                return
            if existing_vms(vms, name):
                raise StepFailed(
                    "plan",
                    f"a VM named {name!r} already exists on this host (left by an earlier replace that did not "
                    "finish?); nothing was changed. Rename or remove it first.",
                )
        elif mode in ("copy", "test") and self._existing_copy(vms, name, host, generation, vm_name):
            return

        # Check the backup against its manifest (and look at the target) before anything changes.
        targets = [join(folder, f["relative_path"]) for f in files] if mode == "files" else []
        if opts["repository"]:
            # restic checks every blob it restores against its hash; the snapshot's listing was checked against
            # the file count its backup recorded, and the restored files are checked by size after the restore
            listing = self._payload(
                "win_vm_restore_verify",
                {"Paths": targets, "Hash": False, "Folders": [folder] + ([staging] if staging else [])},
                "verify backup",
            )
            verification = {
                "ok": True,
                "method": "snapshot",
                "files": len(files),
                "bytes": sum(f["size"] or 0 for f in files),
                "problems": [],
                "warnings": [],
            }
            if opts["verify"] == "hash":
                verification["warnings"].append(
                    "verify is hash, but a restic snapshot records no file hashes: restic checks each restored "
                    "block against its own hash, and the restored files are checked by size"
                )
            targets = [f["path"] for f in files] if mode == "files" else []
        else:
            want_hash = opts["verify"] == "hash" and any(f.get("sha256") for f in files)
            listing = self._payload(
                "win_vm_restore_verify",
                {"Paths": [f["path"] for f in files] + targets, "Hash": want_hash, "Folders": [folder]},
                "verify backup",
            )
            verification = verify_listing(files, listing.get("files"), opts["verify"])
        out["verification"] = {"backup": verification}
        self._warnings.extend(verification["warnings"])
        if not verification["ok"]:
            raise StepFailed(
                "verify backup",
                f"generation {generation} of VM {vm_name} does not match its manifest, nothing was changed: "
                + "; ".join(verification["problems"][:10]),
            )
        folder_state = next(iter(listing.get("folders") or []), None) or {}
        if mode == "files" and self._files_already_there(files, targets, listing.get("files")):
            return
        if folder_state.get("exists") and folder_state.get("entries", 0) != 0:
            raise StepFailed(
                "plan",
                f"the restore folder {folder} already exists and is not empty; nothing was changed. "
                "Remove it, or set name (or restore_path) to restore elsewhere.",
            )
        problem = space_problem(folder_state, verification["bytes"], staged=bool(staging))
        if problem:
            raise StepFailed("plan", problem)

        context = {
            "vm": vm_name,
            "name": name,
            "folder": folder,
            "generation": generation,
            "file_count": len(files),
            "bytes": verification["bytes"],
            "connect_network": opts["connect_network"],
            "original": original,
            "boot_timeout": opts["boot_timeout"],
            "test_check": opts["test_check"],
        }
        out["plan"] = plan_steps(mode, context)
        if opts["repository"]:
            out["plan"].insert(
                1,
                f"restore snapshot {generation} with restic into {staging or folder} (a job on the host)"
                + ("; the import copies the VM out of it, then it is deleted" if staging else ""),
            )
        if self._play_context.check_mode:
            out["changed"] = mode != "test"
            out["msg"] = f"check mode: would restore {vm_name} from generation {generation} ({mode})"
            return

        if opts["repository"]:
            self._restic_restore(files, staging or folder, host, source["selected"]["snapshot_id"])
        if mode == "files":
            self._files(files, targets, folder)
        else:
            try:
                imported = self._import(config, files, folder, name, mode)
            finally:
                if staging:
                    self._unstage(staging)
            if mode == "copy":
                out["msg"] = f"restored {vm_name} from generation {generation} as {name}"
            elif mode == "replace":
                self._replace(original, imported, vm_name)
            else:
                self._test(imported, folder, host, generation, vm_name)

    # ------------------------------------------------------------------------- existing state

    def _existing_copy(self, vms, name, host, generation, vm_name) -> bool:
        """True when the copy already exists from this generation (copy: nothing to do)."""
        found = existing_vms(vms, name)
        if not found:
            return False
        mark = parse_marker(found[0].get("notes")) if len(found) == 1 else None
        ours = mark is not None and mark == {"host": host, "generation": generation, "vm": vm_name}
        if not ours:
            ids = ", ".join(str(v.get("id")) for v in found)
            raise StepFailed(
                "plan",
                f"a VM named {name!r} already exists on this host (id {ids}) and is not a restore of "
                f"{vm_name} from generation {generation}; nothing was changed. Set name to restore under another name.",
            )
        if self._options["mode"] == "copy":
            self._out.update(
                vm_id=str(found[0].get("id")),
                msg=f"{name} is already restored from generation {generation}",
            )
            return True
        # test: a copy left behind by an interrupted test run; it is ours (name and marker), remove it first, from
        # the folder it lives in (an earlier run may have used another restore_path), and only when that folder is
        # the copy's own (named after it), so nothing else can be deleted.
        leftover_id = str(found[0].get("id"))
        where = str(found[0].get("path") or "").rstrip("\\")
        if where.rsplit("\\", 1)[-1].casefold() != name.casefold():
            raise StepFailed(
                "remove leftover test copy",
                f"the test copy {name} (id {leftover_id}) left by an interrupted run lives in "
                f"{where or 'an unknown folder'}, not in a folder of its own named {name}; nothing was changed. "
                "Remove it by hand.",
            )
        if not self._play_context.check_mode:
            self._remove(leftover_id, where, "remove leftover test copy")
            self._warnings.append(
                f"removed {name} (id {leftover_id}) and its folder {where}, left behind by an interrupted test run"
            )
        return False

    def _original(self, vms, vm_name, host, generation, vm_entry):
        """The VM ``replace`` will remove (dict), None when there is none, True when already replaced."""
        found = existing_vms(vms, vm_name)
        if len(found) > 1:
            ids = ", ".join(str(v.get("id")) for v in found)
            raise StepFailed(
                "plan", f"{len(found)} VMs are named {vm_name!r} on this host (ids {ids}); nothing was changed"
            )
        if not found:
            self._warnings.append(f"no VM named {vm_name} is registered on this host: the restore only adds it")
            self._out["original"] = None
            return None
        vm = found[0]
        mark = parse_marker(vm.get("notes"))
        if mark == {"host": host, "generation": generation, "vm": vm_name}:
            self._out.update(
                vm_id=str(vm.get("id")),
                msg=f"{vm_name} is already the VM restored from generation {generation}",
            )
            return True
        backup_id = str(vm_entry.get("id") or "").strip("{}").casefold()
        vm_id = str(vm.get("id") or "").strip("{}").casefold()
        if mark is None and backup_id and vm_id != backup_id:
            raise StepFailed(
                "plan",
                f"the VM named {vm_name!r} on this host has id {vm_id}, the backup's VM has id {backup_id}: "
                "it is a different VM, so it is not replaced; nothing was changed. Restore with mode copy instead.",
            )
        state = str(vm.get("state") or "")
        if state.casefold().startswith(("saved", "paused")):
            # Replacing turns the original off: its saved memory state would be lost, and a replace that then
            # failed could not leave the original as it was.
            raise StepFailed(
                "plan",
                f"the VM {vm_name!r} on this host is {state}: replacing it would turn it off and discard its saved "
                "state; nothing was changed. Resume it and shut it down (or turn it off yourself if that state may "
                "be lost), then run again.",
            )
        original = {"id": vm_id, "state": vm.get("state"), "path": vm.get("path")}
        self._out["original"] = dict(original, removed=False)
        return original

    def _files_already_there(self, files, targets, listing) -> bool:
        index = listing_index(listing)
        by_hash = self._options["verify"] == "hash"
        for item, target in zip(files, targets):
            got = index.get(target.casefold())
            if not got or not got.get("exists") or got.get("size") != item["size"]:
                return False
            if by_hash and item.get("sha256") and str(got.get("sha256") or "").lower() != item["sha256"]:
                return False
        self._out.update(
            files=[{"path": t, "size": f["size"]} for f, t in zip(files, targets)],
            bytes=sum(f["size"] for f in files),
            msg=f"the files of generation {self._out['generation']} are already in {self._out['path']}",
        )
        return True

    # ------------------------------------------------------------------------------- changes

    def _import(self, config, files, folder, name, mode) -> Dict[str, Any]:
        opts = self._options
        imported = self._payload(
            "win_vm_restore_import",
            {
                "ConfigPath": config["path"],
                "VmFolder": folder,
                "Name": name,
                "Disks": disk_map(files),
                "ConnectNetwork": opts["connect_network"] and mode != "test",
                "Marker": self._marker,
            },
            "import",
        )
        self._out["changed"] = True
        vm_id = str(imported.get("id") or "")
        self._out.update(
            vm_id=vm_id,
            disks=imported.get("disks") or [],
            network_adapters=imported.get("adapters") or [],
            bytes=sum(d.get("size") or 0 for d in imported.get("disks") or []),
        )
        check = verify_restored_disks(files, imported.get("disks"), folder)
        if check["ok"] and opts["verify"] == "hash":
            check = self._hash_restored(files, imported.get("disks") or [], check)
        self._out.setdefault("verification", {})["restored"] = check
        if not check["ok"]:
            removal = self._remove(vm_id, folder, "remove unverified copy")
            gone = "it was removed again" if removal.get("vm_removed") else "it could NOT be removed: remove it by hand"
            raise StepFailed(
                "verify restored",
                f"the imported VM {name} (id {vm_id}) does not match the backup ({'; '.join(check['problems'])}); "
                f"{gone}. The original VM was not touched.",
            )
        return imported

    def _hash_restored(self, files, disks, check) -> Dict[str, Any]:
        wanted = sorted(f["sha256"] for f in files if f.get("kind") == "vhd" and f.get("sha256"))
        if not wanted:
            return check
        listing = self._payload(
            "win_vm_restore_verify",
            {"Paths": [d["path"] for d in disks], "Hash": True, "Folders": []},
            "verify restored",
        )
        got = sorted(str(item.get("sha256") or "").lower() for item in listing.get("files") or [])
        check = dict(check, method="hash")
        if got != wanted:
            check.update(
                ok=False, problems=[*check["problems"], "SHA-256 of the restored disks differ from the manifest"]
            )
        return check

    def _remove(self, vm_id: str, folder: str, step: str) -> Dict[str, Any]:
        return self._payload("win_vm_restore_remove", {"VmId": vm_id, "VmFolder": folder}, step)

    def _replace(self, original, imported, vm_name) -> None:
        out = self._out
        answer = self._payload(
            "win_vm_restore_replace",
            {"OriginalId": original["id"] if original else "", "RestoredId": imported["id"], "Name": vm_name},
            "replace",
        )
        if original:
            out["original"] = {
                "id": original["id"],
                "state": answer.get("original_state") or original.get("state"),
                "stopped": bool(answer.get("stopped")),
                "removed": bool(answer.get("removed")),
                "restarted": bool(answer.get("restarted")),
                "state_now": answer.get("state_now"),
                "files_kept": answer.get("original_files") or [],
            }
        if answer.get("error"):
            copy = f"the verified restored copy is registered as {imported['name']} (id {imported['id']})"
            if answer.get("removed"):
                where = (
                    f"the original VM was removed (its files are kept); the restored VM is registered as "
                    f"{imported['name']} (id {imported['id']}): rename it to {vm_name}"
                )
            elif original and answer.get("stopped"):
                where = f"the original VM {vm_name} (id {original['id']}) is still registered; " + _stopped_original(
                    answer
                )
                where += f"; {copy}"
            else:
                state = (answer.get("original_state") or original.get("state")) if original else None
                where = (
                    f"the original VM is still registered and was not stopped (state {state or 'unknown'}); {copy}"
                    if original
                    else f"no original VM was touched; {copy}"
                )
            raise StepFailed("replace", f"replace failed at step {answer.get('step')}: {answer['error']}; {where}")
        out["name"] = vm_name
        out["msg"] = f"replaced {vm_name} with its backup from generation {out['generation']}"
        if original:
            self._warnings.append(
                f"the original VM's files were kept on disk: {', '.join(map(str, out['original']['files_kept']))}; "
                "delete them once the restored VM is confirmed"
            )

    def _test(self, imported, folder, host, generation, vm_name) -> None:
        opts = self._options
        vm_id = imported["id"]
        outcome: Dict[str, Any] = {"outcome": "failed", "check": opts["test_check"], "reason": None}
        status: Mapping[str, Any] = {}
        boot_error = None
        try:
            status = self._payload("win_vm_restore_boot", {"Action": "Start", "VmId": vm_id}, "test boot")
            booted = clock()
            verdict: Dict[str, Any] = {}

            def decided(reading: Mapping[str, Any]) -> bool:
                nonlocal status
                status = reading
                elapsed = clock() - booted
                verdict.update(evaluate_boot(reading, elapsed, opts), elapsed=elapsed)
                return verdict["outcome"] != "waiting"

            def retry(err: Exception, _failures: int) -> bool:
                # a lost connection is retried until the boot timeout; a failing status script is not
                if not getattr(err, "unreachable", False) or clock() - booted >= opts["boot_timeout"]:
                    return False
                self._warnings.append(f"status poll failed, retrying: {err}")
                return True

            # evaluate_boot fails the test once boot_timeout has passed, so the poll needs no deadline of its own
            poll_until(
                lambda: self._payload("win_vm_restore_boot", {"Action": "Status", "VmId": vm_id}, "test boot"),
                decided,
                interval=opts["poll_interval"],
                deadline=math.inf,
                retry=retry,
                retryable=(PayloadError,),
                first=status,
                clock=clock,
                sleep=sleep,
            )
            elapsed = verdict.pop("elapsed")
            outcome = verdict
            if outcome["outcome"] == "passed":
                outcome["seconds_to_heartbeat"] = round(elapsed, 1)
            if outcome.get("warning"):
                self._warnings.append(f"test restore of {vm_name}: {outcome.pop('warning')}")
        except (PayloadError, StepFailed) as err:
            boot_error = err
            outcome = {"outcome": "failed", "check": opts["test_check"], "reason": f"test boot failed: {err}"}
        finally:
            try:
                removal = self._remove(vm_id, folder, "remove test copy")
            except (PayloadError, StepFailed) as err:
                removal = {"vm_removed": False, "folder_removed": False, "error": str(err)}
        outcome.setdefault("seconds_to_heartbeat", None)
        test = dict(
            outcome,
            heartbeat=status.get("heartbeat"),
            state=status.get("state"),
            boot_timeout=opts["boot_timeout"],
            removed=bool(removal.get("vm_removed")) and bool(removal.get("folder_removed")),
        )
        self._out["test"] = test
        self._out["proven_restore"] = proven_restore(
            str((self._task_vars or {}).get("inventory_hostname") or host),
            vm_name,
            generation,
            outcome,
            utc_now(),
            backup_host=host,
        )
        leftover = None
        if not test["removed"]:
            leftover = (
                f"the test copy {imported['name']} (id {vm_id}) in {folder} could not be removed"
                + (f": {removal['error']}" if removal.get("error") else "")
                + "; remove it by hand"
            )
        else:
            # Nothing is left on the host: the test changed nothing lasting.
            self._out["changed"] = False
        if outcome["outcome"] != "passed":
            message = f"test restore of {vm_name} from generation {generation} failed: {outcome['reason']}"
            if leftover:
                message += f"; {leftover}"
            else:
                message += "; the test copy was removed"
            raise StepFailed("test boot" if boot_error is None else getattr(boot_error, "step", "test boot"), message)
        if leftover:
            raise StepFailed(
                "remove test copy", f"test restore of {vm_name} passed ({outcome['reason']}), but {leftover}"
            )
        self._out["msg"] = f"test restore of {vm_name} from generation {generation} passed: {outcome['reason']}"

    def _files(self, files, targets, folder) -> None:
        if not self._options["repository"]:  # restic restored them into the folder already
            answer = self._payload(
                "win_vm_restore_files",
                {"Items": [{"source": f["path"], "destination": t} for f, t in zip(files, targets)]},
                "copy files",
            )
            self._out["changed"] = bool(answer.get("copied"))
            if answer.get("error"):
                raise StepFailed("copy files", f"copying the files to {folder} failed: {answer['error']}")
        want_hash = self._options["verify"] == "hash" and any(f.get("sha256") for f in files)
        listing = self._payload(
            "win_vm_restore_verify", {"Paths": targets, "Hash": want_hash, "Folders": []}, "verify restored"
        )
        copies = [dict(f, path=t) for f, t in zip(files, targets)]
        check = verify_listing(copies, listing.get("files"), self._options["verify"])
        self._out.setdefault("verification", {})["restored"] = check
        self._out.update(files=[{"path": t, "size": f["size"]} for f, t in zip(files, targets)], bytes=check["bytes"])
        if not check["ok"]:
            raise StepFailed(
                "verify restored",
                f"the copies in {folder} do not match the manifest: {'; '.join(check['problems'][:10])}",
            )
        self._out["msg"] = (
            f"copied {len(files)} files of {self._out['vm']} from generation {self._out['generation']} to {folder}"
        )

    # --------------------------------------------------------------------------------- restic

    def _restic_restore(self, files, target: str, host: str, snapshot_id: str) -> None:
        """``restic restore`` of the snapshot into ``target`` as a job on the host, then the files checked by size."""
        opts = self._options
        self._out["changed"] = True
        try:
            outcome = _restic_host.restore(
                self,
                self._task_vars,
                opts["repository"],
                snapshot_id,
                target,
                restore_job_id(host, snapshot_id, target),
                run_as=opts["run_as"],
                run_as_password=opts["run_as_password"],
                timeout=opts["restore_timeout"],
                interval=opts["poll_interval"],
                warn=self._warnings.append,
                clock=clock,
                sleep=sleep,
            )
            if not outcome["ok"]:
                raise StepFailed("restic restore", f"{outcome['error']}; nothing was imported")
            self._out["restic_restore"] = outcome["summary"]
            listing = self._payload(
                "win_vm_restore_verify", {"Paths": [f["path"] for f in files], "Hash": False, "Folders": []},
                "verify restored",
            )  # fmt: skip
            check = verify_listing(files, listing.get("files"), "size")
            self._out.setdefault("verification", {})["staged"] = check
            if not check["ok"]:
                raise StepFailed(
                    "verify restored",
                    f"the files restic restored into {target} do not match the snapshot: "
                    + "; ".join(check["problems"][:10]),
                )
        except StepFailed:
            if self._options["mode"] != "files":
                self._unstage(target)
            raise

    def _unstage(self, staging: str) -> None:
        try:
            answer = self._payload("win_vm_restore_restic_unstage", {"Folder": staging}, "remove staging folder")
        except (PayloadError, StepFailed) as err:
            answer = {"exists": True, "error": str(err)}
        if answer.get("exists"):
            self._warnings.append(
                f"the staging folder {staging} (the snapshot as restic restored it) could not be deleted"
                + (f" ({answer['error']})" if answer.get("error") else "")
                + "; delete it by hand"
            )
