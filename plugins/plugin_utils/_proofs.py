# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Proofs that a restore works: the record of each test restore and the proofs file the role keeps
(merged per host and VM, newest first), read by the fleet report as "last proven restore"."""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import RestoreError
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import (
    utc_text,
)


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
        "tested_at": utc_text(tested_at),
        "passed": outcome.get("outcome") == "passed",
        "check": outcome.get("check"),
        "seconds_to_heartbeat": outcome.get("seconds_to_heartbeat"),
        "reason": outcome.get("reason"),
    }


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
            "tested_at": utc_text(now),
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
        "updated_at": utc_text(now),
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
