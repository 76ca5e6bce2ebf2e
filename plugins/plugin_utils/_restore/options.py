# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Restore options: validation of what the user asked, restored VM names and the marker in their notes.

Everything in ``_restore`` is pure and runs on the controller; ``plugins/action/win_vm_restore.py`` feeds it
what the host reported and sends the small payloads ``plugins/payloads/win_vm_restore_*.ps1``.

Layout read (written by the backup, see ``_vss/plan.py``)::

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
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import check_repository_option
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import ResticOptionError
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import (
    check_folder_name,
    normalize_path,
    parse_generation_id,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import (
    damaged_path_hint,
    is_absolute,
    quote_value,
    run_as_problems,
)

MODES = ("copy", "replace", "test", "files")
VERIFY_MODES = ("size", "hash")
TEST_CHECKS = ("heartbeat", "running")
MARKER_PREFIX = "vaware.hyperv restore:"
DEFAULT_BOOT_TIMEOUT = 600
DEFAULT_POLL_INTERVAL = 10
DEFAULT_STABLE_SECONDS = 120
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MARKER_RE = re.compile(
    r"^" + re.escape(MARKER_PREFIX) + r" host=(?P<host>\S+) generation=(?P<generation>\S+) vm=(?P<vm>.+)$"
)
_SNAPSHOT_CHOICE_RE = re.compile(r"^[0-9a-f]{8,64}$")
DEFAULT_RESTORE_TIMEOUT = 86400
_RESTORED_NAME_RE = re.compile(r"-restore(?:d|test)-\d{8}T\d{6}Z(?:-\d{2})?$", re.IGNORECASE)
_VM_NAME_MAX = 100  # Hyper-V display names are limited to 100 characters


class RestoreError(ValueError):
    """A restore cannot go ahead: a bad option, no usable generation, or files that do not match."""


# ------------------------------------------------------------------------------------ options


def _path(value: Any, what: str) -> str:
    path = normalize_path(value, what)
    if not is_absolute(path):
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


def check_generation(generation: Any, before: Any) -> Tuple[str, Optional[datetime.datetime]]:
    """``generation`` (``latest`` or an id) and ``before`` (None or aware UTC) as the restore modules take them.

    Raises :class:`RestoreError` naming the bad value, or both when both were given.
    """
    generation = generation or "latest"
    if generation != "latest" and (not isinstance(generation, str) or parse_generation_id(generation) is None):
        raise RestoreError(
            f"generation: expected 'latest' or a generation id such as 20261125T020000Z, got {generation!r}"
        )
    if before in (None, ""):
        return generation, None
    if generation != "latest":
        raise RestoreError(f"generation {generation!r} and before {before!r} were both given: use one of them")
    return generation, parse_before(before)


def check_snapshot_choice(generation: Any, before: Any) -> Tuple[str, Optional[datetime.datetime]]:
    """``generation`` and ``before`` for a restic repository: ``latest`` or a snapshot id (8 to 64 hex digits)."""
    text = "latest" if generation in (None, "") else generation
    if text != "latest":
        text = text.strip().lower() if isinstance(text, str) else ""
        if not _SNAPSHOT_CHOICE_RE.match(text):
            raise RestoreError(
                "generation: with a restic repository expected 'latest' or a snapshot id (8 to 64 hex digits, as "
                f"restic snapshots or win_vm_restore_info show it, for example 4f2a9c1e), got {generation!r}"
            )
    if before in (None, ""):
        return text, None
    if text != "latest":
        raise RestoreError(f"generation {generation!r} and before {before!r} were both given: use one of them")
    return text, parse_before(before)


def _source(args: Mapping[str, Any]) -> Dict[str, Any]:
    """Where the backup is read: ``destination`` (files) or ``repository`` (restic), with the snapshot choice."""
    try:
        repository = check_repository_option(args.get("repository"))
    except ResticOptionError as err:
        raise RestoreError(str(err)) from None
    run_as, run_as_password = args.get("run_as") or None, args.get("run_as_password") or None
    if repository is None:
        if run_as:
            raise RestoreError("run_as: only used with a restic repository (the account its restore job runs as)")
        if args.get("destination") in (None, ""):
            raise RestoreError(
                "destination: required (the backup destination, such as E:\\Backups or \\\\nas\\backups), "
                "unless repository says where a restic repository is"
            )
        generation, before = check_generation(args.get("generation"), args.get("before"))
        return {"destination": _path(args.get("destination"), "destination"), "repository": None,
                "generation": generation, "before": before, "run_as": None, "run_as_password": None}  # fmt: skip
    if args.get("destination") not in (None, ""):
        raise RestoreError("destination: not used with a restic repository (repository.location says where it is)")
    problems = run_as_problems(run_as, run_as_password)
    if problems:
        raise RestoreError("; ".join(problems))
    generation, before = check_snapshot_choice(args.get("generation"), args.get("before"))
    return {"destination": None, "repository": repository, "generation": generation, "before": before,
            "run_as": run_as, "run_as_password": run_as_password}  # fmt: skip


def validate_options(args: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the task options beyond their types and return them normalized.

    Raises :class:`RestoreError` naming the bad value before the host is contacted.
    """
    mode = args.get("mode") or "copy"
    if mode not in MODES:
        raise RestoreError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    vm = check_folder_name(args.get("vm"), "vm")
    source = _source(args)
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
        **source,
        "mode": mode,
        "vm": vm,
        "backup_host": backup_host,
        "restore_timeout": _positive(
            args.get("restore_timeout", DEFAULT_RESTORE_TIMEOUT), "restore_timeout", 60, 7 * 86400
        ),
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


def existing_vms(vms: Any, name: str) -> List[Mapping[str, Any]]:
    """VMs reported by the host whose name is ``name`` (case-insensitive, as Hyper-V matches names)."""
    return [v for v in vms or [] if isinstance(v, Mapping) and str(v.get("name", "")).casefold() == name.casefold()]


def unique_strings(values: Iterable[Any]) -> List[str]:
    seen: Dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(str(value).casefold(), str(value))
    return list(seen.values())
