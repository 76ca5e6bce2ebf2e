# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore a VM from a backup generation: options, generation choice, verification, plans, results.

Everything here is pure and runs on the controller; ``plugins/action/win_vm_restore.py`` feeds it what
the host reported and sends the small payloads ``plugins/payloads/win_vm_restore_*.ps1``.

Layout read (written by the backup, see ``backup_plan.py``)::

    <destination>\\<backup host>\\<generation>\\manifest.json
    <destination>\\<backup host>\\<generation>\\<vm name>\\<relative path of each file>

A generation can be restored only when :func:`manifest.is_generation_complete` says so and the VM is
in its manifest with ``status: complete``. Before anything changes on the host, every file of the VM
is checked against the manifest (:func:`verify_listing`): present and of the recorded size always,
and with the recorded SHA-256 when the manifest has hashes and ``verify: hash``.

Restored VMs (modes ``copy``, ``replace``, ``test``) live in ``<restore_path>\\<restored name>\\``,
by default ``<vm>-restored-<generation>`` (``<vm>-restoretest-<generation>`` for ``test``). Their
notes get one marker line (:func:`marker`) so a second run recognises its own restore.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils.backup_plan import (
    check_folder_name,
    damaged_path_hint,
    normalize_path,
    parse_generation_id,
    quote_value,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils.manifest import (
    is_generation_complete,
    parse_utc,
    validate_manifest,
)

MODES = ("copy", "replace", "test", "files")
VERIFY_MODES = ("size", "hash")
TEST_CHECKS = ("heartbeat", "running")
MARKER_PREFIX = "vaware.hyperv restore:"
DEFAULT_BOOT_TIMEOUT = 600
DEFAULT_POLL_INTERVAL = 10
DEFAULT_STABLE_SECONDS = 120
_DRIVE_RE = re.compile(r"^[A-Za-z]:\\")
_UNC_RE = re.compile(r"^\\\\[^\\?.][^\\]*\\[^\\]+")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MARKER_RE = re.compile(
    r"^" + re.escape(MARKER_PREFIX) + r" host=(?P<host>\S+) generation=(?P<generation>\S+) vm=(?P<vm>.+)$"
)
_RESTORED_NAME_RE = re.compile(r"-restore(?:d|test)-\d{8}T\d{6}Z(?:-\d{2})?$", re.IGNORECASE)
_HEARTBEAT_OK = ("ok", "okapplicationshealthy", "okapplicationsunknown", "okapplicationscritical")
_STATES_ON_THE_WAY = ("starting", "resuming")  # Hyper-V VMState values on the way to Running
_VM_NAME_MAX = 100  # Hyper-V display names are limited to 100 characters


class RestoreError(ValueError):
    """A restore cannot go ahead: a bad option, no usable generation, or files that do not match."""


# ------------------------------------------------------------------------------------ options


def _path(value: Any, what: str) -> str:
    path = normalize_path(value, what)
    if not (_DRIVE_RE.match(path) or _UNC_RE.match(path)):
        raise RestoreError(
            f"{what}: expected an absolute local path (D:\\Restore) or a UNC path, got {quote_value(value)}"
            f"{damaged_path_hint(value)}"
        )
    if any(part in (".", "..") for part in path.split("\\")[1:]):
        raise RestoreError(f"{what}: {quote_value(value)} contains a '.' or '..' component; give a plain absolute path")
    if any(ord(c) < 32 for c in path):
        raise RestoreError(
            f"{what}: {quote_value(value)} contains a control character, which Windows does not allow in a path"
            f"{damaged_path_hint(value)}"
        )
    return path


def _positive(value: Any, what: str, low: int = 1, high: int = 86400) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RestoreError(f"{what}: expected a whole number of seconds from {low} to {high}, got {value!r}")
    return value


def parse_before(value: Any) -> datetime.datetime:
    """The aware UTC datetime of ``before``.

    Accepts a generation id (``20261120T020000Z``), ISO 8601 with a zone (``2026-11-20T08:00:00+01:00``,
    ``...Z``), ISO 8601 without a zone (read as UTC) or a date (``2026-11-20``, midnight UTC).
    """
    if isinstance(value, datetime.datetime):
        stamp = value
    elif isinstance(value, datetime.date):
        stamp = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        from_id = parse_generation_id(text)
        if from_id is not None:
            return from_id
        if _DATE_RE.match(text):
            text += "T00:00:00"
        try:
            stamp = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            stamp = None
        if stamp is None:
            raise RestoreError(
                f"before: expected a timestamp such as 2026-11-20T08:00:00Z, 2026-11-20 or a generation id "
                f"such as 20261120T020000Z, got {value!r}"
            )
    else:
        raise RestoreError(f"before: expected a timestamp string, got {value!r}")
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.astimezone(datetime.timezone.utc)


def validate_options(args: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the task options beyond their types and return them normalized.

    Raises :class:`RestoreError` naming the bad value before the host is contacted.
    """
    mode = args.get("mode") or "copy"
    if mode not in MODES:
        raise RestoreError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    vm = check_folder_name(args.get("vm"), "vm")
    generation = args.get("generation") or "latest"
    if generation != "latest" and parse_generation_id(generation) is None:
        raise RestoreError(
            f"generation: expected 'latest' or a generation id such as 20261125T020000Z, got {generation!r}"
        )
    before = None
    if args.get("before") not in (None, ""):
        if generation != "latest":
            raise RestoreError(
                f"generation {generation!r} and before {args['before']!r} were both given: use one of them"
            )
        before = parse_before(args["before"])
    backup_host = args.get("backup_host") or None
    if backup_host is not None:
        backup_host = check_folder_name(backup_host, "backup_host")
    verify = args.get("verify") or "size"
    if verify not in VERIFY_MODES:
        raise RestoreError(f"verify: expected one of {', '.join(VERIFY_MODES)}, got {verify!r}")
    name = args.get("name")
    if name not in (None, ""):
        if mode == "replace":
            raise RestoreError("name: not used with mode replace (the restored VM takes the original name)")
        check_folder_name(name, "name")
        if len(name) > _VM_NAME_MAX:
            raise RestoreError(f"name: {name!r} is longer than the {_VM_NAME_MAX} characters Hyper-V allows")
    else:
        name = None
    connect_network = args.get("connect_network")
    if mode == "test" and connect_network:
        raise RestoreError("connect_network: a test restore always runs without network; leave it unset")
    if connect_network is None:
        connect_network = mode == "replace"
    if mode == "replace" and args.get("force") is not True:
        raise RestoreError(
            "mode replace stops and removes the existing VM; set force: true to confirm "
            "(or use mode copy to restore side by side)"
        )
    test_check = args.get("test_check") or "heartbeat"
    if test_check not in TEST_CHECKS:
        raise RestoreError(f"test_check: expected one of {', '.join(TEST_CHECKS)}, got {test_check!r}")
    boot_timeout = _positive(args.get("boot_timeout", DEFAULT_BOOT_TIMEOUT), "boot_timeout", 10)
    stable_seconds = _positive(args.get("stable_seconds", DEFAULT_STABLE_SECONDS), "stable_seconds", 1)
    if test_check == "running" and stable_seconds > boot_timeout:
        raise RestoreError(
            f"stable_seconds ({stable_seconds}) is longer than boot_timeout ({boot_timeout}): the test could never pass"
        )
    return {
        "mode": mode,
        "vm": vm,
        "destination": _path(args.get("destination"), "destination"),
        "backup_host": backup_host,
        "generation": generation,
        "before": before,
        "restore_path": _path(args.get("restore_path"), "restore_path"),
        "name": name,
        "verify": verify,
        "connect_network": bool(connect_network),
        "test_check": test_check,
        "boot_timeout": boot_timeout,
        "poll_interval": _positive(args.get("poll_interval", DEFAULT_POLL_INTERVAL), "poll_interval", 1, 600),
        "stable_seconds": stable_seconds,
    }


def check_path(value: Any, what: str) -> str:
    """``value`` as an absolute local or UNC path; :class:`RestoreError` naming ``what`` otherwise."""
    return _path(value, what)


def is_restored_name(name: Any) -> bool:
    """Whether ``name`` is a default restored-copy name (``<vm>-restored-<generation>``, ``<vm>-restoretest-...``)."""
    return bool(_RESTORED_NAME_RE.search(str(name or "")))


def restored_name(vm: str, generation: str, mode: str, name: Optional[str] = None) -> str:
    """Name of the restored VM (and of its folder under ``restore_path``)."""
    if name:
        return name
    middle = "restoretest" if mode == "test" else "restored"
    return f"{vm}-{middle}-{generation}"


def marker(host: str, generation: str, vm: str) -> str:
    """The line added to a restored VM's notes; it tells a later run which generation it came from."""
    return f"{MARKER_PREFIX} host={host} generation={generation} vm={vm}"


def parse_marker(notes: Any) -> Optional[Dict[str, str]]:
    """``{"host", "generation", "vm"}`` from the last marker line in ``notes``, or None."""
    found = None
    for line in str(notes or "").splitlines():
        match = _MARKER_RE.match(line.strip())
        if match:
            found = match.groupdict()
    return found


# --------------------------------------------------------------------------------- generations


def _join(*parts: str) -> str:
    return "\\".join([parts[0].rstrip("\\")] + [p.strip("\\") for p in parts[1:] if p.strip("\\")])


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
                "path": _join(vm_path, rel),
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


def proven_restore(
    host: str,
    vm: str,
    generation: str,
    outcome: Mapping[str, Any],
    tested_at: datetime.datetime,
    backup_host: Optional[str] = None,
) -> Dict[str, Any]:
    """The record of one test restore, for reports ("last proven restore").

    ``host`` is the inventory host the test ran on, ``backup_host`` the host folder the backup came from.
    """
    return {
        "host": host,
        "backup_host": backup_host or host,
        "vm": vm,
        "generation": generation,
        "tested_at": _utc_text(tested_at),
        "passed": outcome.get("outcome") == "passed",
        "check": outcome.get("check"),
        "seconds_to_heartbeat": outcome.get("seconds_to_heartbeat"),
        "reason": outcome.get("reason"),
    }


def _utc_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


PROOFS_FORMAT = 1
_RECORD_KEYS = (
    "host",
    "backup_host",
    "vm",
    "generation",
    "tested_at",
    "passed",
    "check",
    "seconds_to_heartbeat",
    "reason",
)


def proof_records(update: Any, host: Optional[str], now: datetime.datetime) -> List[Dict[str, Any]]:
    """The proof records in one item given to :func:`merge_proofs` (see there for what an item may be)."""
    if not isinstance(update, Mapping):
        raise RestoreError(
            f"restore proofs: expected a task result, a proof record or a proofs document, got {update!r}"
        )
    if "vms" in update and "format" in update:  # a proofs document
        records = []
        for entry in update.get("vms") or []:
            records.extend(r for r in (entry.get("last_test"), entry.get("last_passed")) if isinstance(r, Mapping))
        return [dict(r) for r in records]
    if isinstance(update.get("proven_restore"), Mapping):
        record = dict(update["proven_restore"])
    elif "passed" in update and "vm" in update and "tested_at" in update:
        record = dict(update)
    elif update.get("failed") and not update.get("skipped"):
        vm = update.get("vm") or update.get("item")
        if isinstance(vm, Mapping):
            vm = vm.get("vm") or vm.get("name")
        if not vm:
            return []
        record = {
            "host": host,
            "backup_host": update.get("backup_host"),
            "vm": str(vm),
            "generation": update.get("generation"),
            "tested_at": _utc_text(now),
            "passed": False,
            "check": None,
            "seconds_to_heartbeat": None,
            "reason": update.get("msg") or "the test restore failed",
        }
    else:
        return []  # a check-mode or skipped run proves nothing
    if host:
        record["host"] = host
    if not record.get("host") or not record.get("vm"):
        raise RestoreError(f"restore proofs: a record needs host and vm, got {record!r}")
    return [{key: record.get(key) for key in _RECORD_KEYS}]


def merge_proofs(
    existing: Any, updates: Any, host: Optional[str] = None, now: Optional[datetime.datetime] = None
) -> Dict[str, Any]:
    """Merge test restore outcomes into the proofs document (``restore-proofs.json``).

    ``existing``: a proofs document, its JSON text, or nothing. ``updates``: a list of items, each a
    registered ``win_vm_restore`` result of ``mode: test`` (a failure without ``proven_restore`` counts as
    a failed test of its ``vm``/``item``; check-mode runs are ignored), a ``proven_restore`` record, or a
    proofs document (for example one host's ``hyperv_restore_proven`` fact). ``host`` overrides the
    records' host (the inventory name). Returns::

        {"format": 1, "updated_at": "...Z",
         "vms": [{"host", "vm", "last_test": record, "last_passed": record | null}]}   # sorted by host, vm

    The newest record by ``tested_at`` wins; ``last_passed`` is the newest passed test.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    existing = load_proofs(existing)
    entries: Dict[tuple, Dict[str, Any]] = {}

    def add(record: Mapping[str, Any]) -> None:
        key = (str(record["host"]).casefold(), str(record["vm"]).casefold())
        entry = entries.setdefault(
            key, {"host": record["host"], "vm": record["vm"], "last_test": None, "last_passed": None}
        )
        if entry["last_test"] is None or str(record["tested_at"]) >= str(entry["last_test"]["tested_at"]):
            entry.update(host=record["host"], vm=record["vm"], last_test=dict(record))
        if record.get("passed") and (
            entry["last_passed"] is None or str(record["tested_at"]) >= str(entry["last_passed"]["tested_at"])
        ):
            entry["last_passed"] = dict(record)

    if existing:
        for record in proof_records(existing, None, now):
            add(record)
    if isinstance(updates, Mapping):
        updates = [updates]
    for update in updates or []:
        for record in proof_records(update, host, now):
            add(record)
    return {
        "format": PROOFS_FORMAT,
        "updated_at": _utc_text(now),
        "vms": [entries[key] for key in sorted(entries)],
    }


def load_proofs(proofs: Any) -> Optional[Dict[str, Any]]:
    """The proofs document (``restore-proofs.json``) from its JSON text or as given; None when there is none.

    Nothing, an empty text and an empty mapping mean "no proofs yet". Anything else must be a document
    as :func:`merge_proofs` writes it (``format`` 1, ``vms`` a list of mappings with ``host`` and ``vm``,
    ``last_test``/``last_passed`` mappings or null); :class:`RestoreError` says what is wrong otherwise.
    """
    if isinstance(proofs, bytes):
        try:
            proofs = proofs.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RestoreError(f"restore proofs: not UTF-8 text ({err})") from None
    if isinstance(proofs, str):
        if not proofs.strip():
            return None
        try:
            proofs = json.loads(proofs)
        except ValueError as err:
            raise RestoreError(f"restore proofs: not valid JSON ({err})") from None
    if proofs is None or (isinstance(proofs, Mapping) and not proofs):
        return None
    if not isinstance(proofs, Mapping) or proofs.get("format") != PROOFS_FORMAT:
        raise RestoreError(
            f"restore proofs: expected a document with format {PROOFS_FORMAT}, got {str(proofs)[:200]!r}"
        )
    entries = proofs.get("vms")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise RestoreError(f"restore proofs: 'vms' must be a list, got {type(entries).__name__}")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not entry.get("host") or not entry.get("vm"):
            raise RestoreError(f"restore proofs: vms[{index}] needs host and vm, got {str(entry)[:200]!r}")
        for key in ("last_test", "last_passed"):
            if entry.get(key) is not None and not isinstance(entry[key], Mapping):
                raise RestoreError(f"restore proofs: vms[{index}].{key} must be a record or null, got {entry[key]!r}")
    return dict(proofs, vms=entries)


def restore_proof_entry(proofs: Any, host: str, vm: str) -> Optional[Dict[str, Any]]:
    """The entry (``host``, ``vm``, ``last_test``, ``last_passed``) of ``vm`` on ``host`` in a proofs document.

    ``proofs`` as for :func:`load_proofs`; host and VM names are compared case-insensitively. None when
    the VM was never tested on that host.
    """
    proofs = load_proofs(proofs)
    for entry in (proofs or {}).get("vms") or []:
        if (
            str(entry.get("host", "")).casefold() == str(host).casefold()
            and str(entry.get("vm", "")).casefold() == str(vm).casefold()
        ):
            return dict(entry)
    return None


def last_proven_restore(proofs: Any, host: str, vm: str) -> Optional[Dict[str, Any]]:
    """The newest passed test restore of ``vm`` on ``host`` in a proofs document, or None (for reports).

    ``proofs``: the document :func:`merge_proofs` returns (``restore-proofs.json``), its JSON text, or
    nothing (see :func:`load_proofs`). Host and VM names are compared case-insensitively.
    """
    entry = restore_proof_entry(proofs, host, vm)
    record = (entry or {}).get("last_passed")
    return dict(record) if isinstance(record, Mapping) else None


def existing_vms(vms: Any, name: str) -> List[Mapping[str, Any]]:
    """VMs reported by the host whose name is ``name`` (case-insensitive, as Hyper-V matches names)."""
    return [v for v in vms or [] if isinstance(v, Mapping) and str(v.get("name", "")).casefold() == name.casefold()]


def unique_strings(values: Iterable[Any]) -> List[str]:
    seen: Dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(str(value).casefold(), str(value))
    return list(seen.values())
