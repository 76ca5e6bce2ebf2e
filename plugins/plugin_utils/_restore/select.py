# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Which generation and which files to restore: the generations a host folder holds, the one chosen
for ``generation``/``before``, the VM's files in it and the steps of the restore (shown in check mode)."""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
    is_restored_name,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import (
    is_generation_complete,
    parse_utc,
    validate_manifest,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import (
    parse_generation_id,
)

# --------------------------------------------------------------------------------- generations


def find_vm(manifest: Mapping[str, Any], vm: str) -> Optional[Mapping[str, Any]]:
    """The manifest entry of ``vm`` (case-insensitive, as Windows folder names are), or None."""
    wanted = vm.casefold()
    for entry in manifest.get("vms") or []:
        if isinstance(entry, Mapping) and str(entry.get("name", "")).casefold() == wanted:
            return entry
    return None


def generation_entries(raw: Any) -> List[Dict[str, Any]]:
    """Turn the generation folders the host listed into ``{"id", "started_at", "manifest", "complete", "reason"}``.

    ``raw``: list of ``{"name": folder name, "manifest": text of manifest.json or None, "error": str|None}``.
    Folders whose name is not a generation id are left out; the result is sorted newest first.
    """
    entries = []
    for item in raw or []:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name") or "")
        started = parse_generation_id(name)
        if started is None:
            continue
        manifest = None
        reason = None
        text = item.get("manifest")
        if item.get("error"):
            reason = f"manifest.json could not be read: {item['error']}"
        elif text is None:
            reason = "no manifest.json (the backup did not finish)"
        else:
            try:
                manifest = json.loads(text) if isinstance(text, str) else text
            except ValueError as exc:
                reason = f"manifest.json is not JSON ({exc})"
        if manifest is not None:
            problems = validate_manifest(manifest)
            if problems:
                reason = "manifest.json is not valid: " + "; ".join(problems[:3])
                manifest = None
            elif manifest["generation"].casefold() != name.casefold():
                reason = f"manifest.json belongs to generation {manifest['generation']}, not to this folder"
                manifest = None
            elif not is_generation_complete(manifest, name):
                reason = f"backup status is {manifest.get('status')}" + (
                    f": {manifest['error']}" if manifest.get("error") else ""
                )
        entries.append(
            {
                "id": name,
                "started_at": started,
                "manifest": manifest,
                "complete": reason is None,
                "reason": reason,
            }
        )
    entries.sort(key=lambda e: e["id"], reverse=True)
    return entries


def _describe(entries: Sequence[Mapping[str, Any]], limit: int = 10) -> str:
    if not entries:
        return "none"
    shown = [f"{e['id']} ({'complete' if e['complete'] else e['reason']})" for e in entries[:limit]]
    more = f", and {len(entries) - limit} older" if len(entries) > limit else ""
    return ", ".join(shown) + more


def select_generation(
    entries: Sequence[Mapping[str, Any]],
    vm: str,
    generation: str = "latest",
    before: Optional[datetime.datetime] = None,
) -> Dict[str, Any]:
    """Pick the generation to restore ``vm`` from.

    ``latest``: the newest complete generation that holds the VM complete. An id: exactly that
    generation, refused when it is incomplete or does not hold the VM. ``before``: the newest
    complete generation holding the VM whose snapshot (start) time is strictly before it.
    Returns ``{"id", "started_at", "finished_at", "manifest", "vm"}``; raises :class:`RestoreError`
    listing what exists when nothing fits.
    """
    ordered = sorted(entries, key=lambda e: e["id"], reverse=True)

    def usable(entry: Mapping[str, Any]) -> Optional[str]:
        if not entry["complete"]:
            return f"generation {entry['id']} is not complete: {entry['reason']}"
        found = find_vm(entry["manifest"], vm)
        if found is None:
            names = ", ".join(sorted(str(v.get("name")) for v in entry["manifest"]["vms"])) or "none"
            return f"generation {entry['id']} has no VM {vm!r} (VMs in it: {names})"
        if found.get("status") != "complete":
            problems = "; ".join(found.get("problems") or []) or "status " + str(found.get("status"))
            return f"generation {entry['id']}: VM {vm!r} was not backed up completely ({problems})"
        return None

    def chosen(entry: Mapping[str, Any]) -> Dict[str, Any]:
        manifest = entry["manifest"]
        return {
            "id": entry["id"],
            "started_at": parse_utc(manifest["started_at"]),
            "finished_at": parse_utc(manifest["finished_at"]),
            "manifest": manifest,
            "vm": find_vm(manifest, vm),
        }

    if not ordered:
        raise RestoreError("no backup generations were found in the host folder")
    if generation != "latest":
        for entry in ordered:
            if entry["id"].casefold() == generation.casefold():
                problem = usable(entry)
                if problem:
                    raise RestoreError(f"cannot restore from {problem}")
                return chosen(entry)
        raise RestoreError(f"generation {generation} does not exist; generations found: {_describe(ordered)}")
    candidates = ordered
    if before is not None:
        candidates = [e for e in ordered if e["started_at"] < before]
        if not candidates:
            raise RestoreError(
                f"no generation was taken before {before.strftime('%Y-%m-%dT%H:%M:%SZ')}; "
                f"generations found: {_describe(ordered)}"
            )
    skipped = []
    for entry in candidates:
        problem = usable(entry)
        if problem is None:
            return chosen(entry)
        skipped.append(problem)
    when = f" before {before.strftime('%Y-%m-%dT%H:%M:%SZ')}" if before is not None else ""
    raise RestoreError(f"no complete generation{when} holds a complete backup of VM {vm!r}: " + "; ".join(skipped[:10]))


def inventory_problem(inventory: Mapping[str, Any], destination: str, host: str, host_path: str) -> Optional[str]:
    """Why the generations payload's answer shows no backups to read (destination or host folder), or None."""
    if not inventory.get("destination_exists"):
        message = (
            f"the backup destination {destination} cannot be read from the host "
            "(missing, or not shared with the account Ansible connects as"
        )
        if destination.startswith("\\\\"):
            message += (
                "; over WinRM a share is a second hop: a Kerberos or NTLM logon cannot pass its credentials on to "
                "it, so connect with CredSSP or Kerberos delegation, or run the task with become (runas) as an "
                "account that can read the share; see docs/win_vm_restore.md"
            )
        return message + ")"
    if not inventory.get("host_path_exists"):
        hosts = ", ".join(sorted(map(str, inventory.get("hosts") or []))) or "none"
        return (
            f"there are no backups of host {host} in {destination} (folder {host_path} is missing); "
            f"host folders found: {hosts}. Set backup_host to restore another host's backup."
        )
    return None


def restorable_vms(entries: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The VMs that have a complete backup in a complete generation, sorted by name.

    ``entries`` from :func:`generation_entries`. Each item: ``{"name", "latest_generation", "generations"}``
    (the generation ids holding it complete, newest first; the name as the newest of them spells it).
    Default restored-copy names (:func:`is_restored_name`) are left out: a copy that was backed up is not
    a VM of its own to restore or test.
    """
    found: Dict[str, Dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: e["id"], reverse=True):
        if not entry.get("complete"):
            continue
        for vm in entry["manifest"].get("vms") or []:
            if not isinstance(vm, Mapping) or vm.get("status") != "complete":
                continue
            name = str(vm.get("name") or "")
            if not name or is_restored_name(name):
                continue
            item = found.setdefault(
                name.casefold(), {"name": name, "latest_generation": entry["id"], "generations": []}
            )
            item["generations"].append(entry["id"])
    return sorted(found.values(), key=lambda v: v["name"].casefold())


# --------------------------------------------------------------------------------------- plans


def plan_steps(mode: str, context: Mapping[str, Any]) -> List[str]:
    """Human-readable steps of a restore, returned as ``plan`` (check mode stops before the first change)."""
    name = context["name"]
    folder = context["folder"]
    generation = context["generation"]
    steps = [f"read generation {generation} of {context['vm']} and check its files against the manifest"]
    if mode == "files":
        steps.append(f"copy {context['file_count']} files ({context['bytes']} bytes) to {folder}")
        steps.append("check the copies against the manifest")
        return steps
    steps.append(f"import a copy with a new id as {name!r} into {folder}")
    steps.append(
        "keep the network adapters connected" if context.get("connect_network") else "disconnect its network adapters"
    )
    steps.append("check the restored disks against the manifest")
    if mode == "replace":
        original = context.get("original")
        if original:
            steps.append(f"stop and remove the original VM {context['vm']!r} (id {original['id']}; its files stay)")
        steps.append(f"rename {name!r} to {context['vm']!r}")
    elif mode == "test":
        steps.append(f"start it and wait up to {context['boot_timeout']} s for {context['test_check']}")
        steps.append("turn it off, remove it and delete its folder")
    return steps
