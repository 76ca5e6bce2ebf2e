# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Checks of a restore: the files on the host against the manifest, the import configuration, the
restored disks, and the test boot's verdict."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.generations import human_bytes
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import (
    join,
)

_HEARTBEAT_OK = ("ok", "okapplicationshealthy", "okapplicationsunknown", "okapplicationscritical")
_STATES_ON_THE_WAY = ("starting", "resuming")  # Hyper-V VMState values on the way to Running


# -------------------------------------------------------------------------------- verification


def backup_files(vm_path: str, vm_entry: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The VM's files in the generation: ``{"relative_path", "path", "kind", "original_path", "size", "sha256"}``."""
    files = []
    for entry in vm_entry.get("files") or []:
        rel = str(entry["relative_path"]).replace("/", "\\").strip("\\")
        if any(part in ("", ".", "..") for part in rel.split("\\")):
            raise RestoreError(f"manifest: file {entry['relative_path']!r} is not a plain relative path")
        files.append(
            {
                "relative_path": rel,
                "path": join(vm_path, rel),
                "kind": entry.get("kind"),
                "original_path": entry.get("original_path"),
                "size": entry.get("size"),
                "sha256": entry.get("sha256"),
            }
        )
    if not files:
        raise RestoreError(f"manifest: VM {vm_entry.get('name')!r} lists no files")
    return files


def listing_index(listing: Any) -> Dict[str, Mapping[str, Any]]:
    """Index the verify payload's answer (``[{"path", "exists", "size", "sha256"}]``) by path, case-insensitive."""
    index = {}
    for item in listing or []:
        if isinstance(item, Mapping) and isinstance(item.get("path"), str):
            index[item["path"].casefold()] = item
    return index


def verify_listing(expected: Sequence[Mapping[str, Any]], listing: Any, verify: str = "size") -> Dict[str, Any]:
    """Compare files found on the host with what the manifest recorded.

    ``expected``: items with ``path``, ``size`` and optionally ``sha256`` (from :func:`backup_files`).
    ``listing``: the verify payload's answer. Sizes are always compared; SHA-256 when ``verify`` is
    ``hash`` and the manifest has one (a manifest without hashes gives a warning, not a pass by hash).
    Returns ``{"ok", "method", "files", "bytes", "problems", "warnings"}``.
    """
    index = listing_index(listing)
    problems: List[str] = []
    warnings: List[str] = []
    hashed = 0
    total = 0
    for item in expected:
        got = index.get(item["path"].casefold())
        if got is None or not got.get("exists"):
            problems.append(f"{item['path']}: missing")
            continue
        if item.get("size") is None:
            problems.append(f"{item['path']}: the manifest records no size for it")
            continue
        if got.get("size") != item["size"]:
            problems.append(f"{item['path']}: {got.get('size')} bytes, the manifest records {item['size']}")
            continue
        total += item["size"]
        if verify == "hash" and item.get("sha256"):
            actual = str(got.get("sha256") or "").lower()
            if not actual:
                problems.append(f"{item['path']}: no SHA-256 was computed")
            elif actual != item["sha256"].lower():
                problems.append(f"{item['path']}: SHA-256 {actual} does not match the manifest's {item['sha256']}")
            else:
                hashed += 1
    if verify == "hash" and hashed < len(expected) and not problems:
        missing = len(expected) - hashed
        warnings.append(
            f"verify is hash but the manifest has no SHA-256 for {missing} of {len(expected)} files "
            "(the backup ran with verify: size); those were checked by size only"
        )
    method = "hash" if verify == "hash" and hashed == len(expected) else "size"
    return {
        "ok": not problems,
        "method": method,
        "files": len(expected),
        "bytes": total,
        "problems": problems,
        "warnings": warnings,
    }


def space_problem(folder_state: Mapping[str, Any], size: int, staged: bool = False) -> Optional[str]:
    """Why the restore folder's volume cannot take the restore (``size`` bytes, twice when a restic snapshot is
    staged there first and the import copies it), or None; also None when the host could not tell its free space."""
    free = folder_state.get("free_bytes")
    needed = size * (2 if staged else 1)
    if isinstance(free, bool) or not isinstance(free, int) or free >= needed:
        return None
    why = " (the snapshot restored into a staging folder, then the import's copy of it)" if staged else ""
    return (
        f"{folder_state.get('path')} has {human_bytes(free)} free, the restore needs {human_bytes(needed)}{why}; "
        "nothing was changed. Free space there or set restore_path to a volume with room."
    )


def config_file(files: Sequence[Mapping[str, Any]], vm_id: Any) -> Mapping[str, Any]:
    """The VM configuration file to import (``<id>.vmcx``, or ``<id>.xml`` for configuration version 5)."""
    configs = [f for f in files if f.get("kind") == "config"]
    wanted = str(vm_id or "").strip("{}").casefold()
    for extension in (".vmcx", ".xml"):
        matches = [f for f in configs if f["relative_path"].casefold().endswith(extension)]
        exact = [f for f in matches if f["relative_path"].rsplit("\\", 1)[-1][: -len(extension)].casefold() == wanted]
        if exact:
            return exact[0]
        if len(matches) == 1:
            return matches[0]
    raise RestoreError(
        f"the backup holds no configuration file (<id>.vmcx) for VM id {vm_id!r}: "
        f"configuration files found: {', '.join(f['relative_path'] for f in configs) or 'none'}"
    )


def import_blocker(files: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """Why the backed-up VM cannot be imported safely, or None.

    A VM backed up with checkpoints has differencing disks (``.avhdx``) whose parent locators still
    name the live VM's disks; importing it could chain the restored disk to a live parent. Such VMs
    are restored with ``mode: files`` and the runbook instead.
    """
    differencing = [
        f["relative_path"] for f in files if str(f["relative_path"]).casefold().endswith((".avhdx", ".avhd"))
    ]
    checkpoints = [f["relative_path"] for f in files if f.get("kind") == "checkpoint"]
    if not differencing and not checkpoints:
        return None
    found = ", ".join((differencing or checkpoints)[:3])
    return (
        f"the VM was backed up with checkpoints ({found}); importing it could chain the restored disks to the "
        "live VM's parent disks, so it is not imported. Restore it with mode files and merge or attach the disks "
        "by hand (see the restore runbook)"
    )


def disk_map(files: Sequence[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """``[{"original", "backup"}]`` for every virtual disk: where the configuration points, where the copy is."""
    return [
        {"original": str(f["original_path"]), "backup": f["path"]}
        for f in files
        if f.get("kind") == "vhd" and f.get("original_path")
    ]


def verify_restored_disks(expected: Sequence[Mapping[str, Any]], disks: Any, vm_folder: str) -> Dict[str, Any]:
    """Check an imported VM's disks: as many as backed up, each inside ``vm_folder`` and of the backed-up size.

    ``expected``: the VM's backup files (only ``kind: vhd`` are used); ``disks``: the import payload's
    ``disks`` (``[{"path", "size"}]``). Sizes are matched as a multiset since Hyper-V may rename
    colliding disk files on import.
    """
    wanted = sorted(f["size"] for f in expected if f.get("kind") == "vhd")
    problems = []
    got = []
    prefix = vm_folder.rstrip("\\").casefold() + "\\"
    for disk in disks or []:
        path = str(disk.get("path") or "")
        if not path.casefold().startswith(prefix):
            problems.append(f"disk {path or '(none)'} is not inside {vm_folder}: it is not a restored copy")
        got.append(disk.get("size"))
    if len(got) != len(wanted):
        problems.append(f"{len(got)} disks attached, the backup holds {len(wanted)}")
    elif sorted(got, key=lambda s: -1 if s is None else s) != wanted:
        problems.append(f"disk sizes {sorted(map(str, got))} differ from the backup's {sorted(map(str, wanted))}")
    return {
        "ok": not problems,
        "disks": len(got),
        "bytes": sum(s for s in got if isinstance(s, int)),
        "problems": problems,
    }


# ---------------------------------------------------------------------------------- test boot


def evaluate_boot(status: Mapping[str, Any], elapsed: float, options: Mapping[str, Any]) -> Dict[str, Any]:
    """Decide a test boot from one status reading: ``{"outcome": "passed"|"waiting"|"failed", "check", "reason"}``.

    ``status``: ``{"state", "heartbeat", "heartbeat_enabled", "uptime_seconds"}`` from the boot
    payload. With ``test_check: heartbeat`` the VM passes when Hyper-V's heartbeat reports OK; when the
    heartbeat service is disabled for the VM it falls back to ``running``: the VM passes once it has
    been running for ``stable_seconds``. A VM that stops, or ``boot_timeout`` passing, fails the test.
    """
    state = str(status.get("state") or "")
    heartbeat = str(status.get("heartbeat") or "")
    check = options["test_check"]
    if check == "heartbeat" and status.get("heartbeat_enabled") is False:
        check = "running"
    if state.casefold() in _STATES_ON_THE_WAY:
        if elapsed >= options["boot_timeout"]:
            return {"outcome": "failed", "check": check, "reason": f"still {state} after {options['boot_timeout']} s"}
        return {"outcome": "waiting", "check": check, "reason": None}
    if state.casefold() != "running":
        return {
            "outcome": "failed",
            "check": check,
            "reason": f"the VM is {state or 'in an unknown state'}, not running",
        }
    if check == "heartbeat":
        if heartbeat.replace(" ", "").casefold() in _HEARTBEAT_OK:
            passed = {"outcome": "passed", "check": check, "reason": f"heartbeat {heartbeat}"}
            if heartbeat.replace(" ", "").casefold() == "okapplicationscritical":
                # The guest booted and talks to Hyper-V, which is what the test proves; say that an application
                # in it reports a critical state.
                passed["warning"] = (
                    f"heartbeat {heartbeat}: the restored guest booted but reports an application in critical "
                    "state; the test counts as passed"
                )
            return passed
        reason = f"no heartbeat OK within {options['boot_timeout']} s (last: {heartbeat or 'no contact'})"
        if heartbeat.replace(" ", "").casefold() in ("", "nocontact"):
            reason += (
                "; a guest without integration services never reports one: test it with test_check running "
                "(role: hyperv_restore_test_check_vms)"
            )
    else:
        uptime = status.get("uptime_seconds") or 0
        if uptime >= options["stable_seconds"]:
            return {"outcome": "passed", "check": check, "reason": f"running for {int(uptime)} s"}
        reason = f"did not stay running for {options['stable_seconds']} s within {options['boot_timeout']} s"
    if elapsed >= options["boot_timeout"]:
        return {"outcome": "failed", "check": check, "reason": reason}
    return {"outcome": "waiting", "check": check, "reason": None}
