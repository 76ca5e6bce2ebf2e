# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Restore from a restic repository: the VM's snapshots, the one chosen, its files and where they are staged.

``win_vss_backup`` with ``repository.type: restic`` makes one snapshot per VM and night, tagged
``vaware.hyperv``, ``vm-id:<id>``, ``vm:<name>``, ``files:<count>`` and ``dir:<folder>=<original folder>``
(``_restic/options.py``), with ``--host <computer name>``. Those tags stand in for the files repository's
manifest: the VM's name and id, how many files the backup planned (a snapshot holding fewer is
incomplete), and for each folder of the snapshot the folder it came from on the host, so each restored
disk can be matched with the path the VM's configuration records for it.

A snapshot is chosen like a generation (:func:`select_snapshot`): ``latest``, a snapshot id (8 to 64 hex
digits, a prefix of the id restic prints) or the newest taken ``before`` a time. Its files
(:func:`snapshot_files`, from ``restic ls --json``) are restored with ``restic restore --target`` into
``<restore_path>\\<name>.restic-<snapshot>`` (:func:`staging_folder`) for the import modes, and straight
into ``<restore_path>\\<name>`` for mode ``files``; from there the files repository's steps go on unchanged.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import parse_snapshot_time
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    TAG,
    file_count_from_tags,
    original_dirs_from_tags,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
    is_restored_name,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import join

__all__ = [
    "host_snapshots",
    "restorable_snapshot_vms",
    "restore_job_id",
    "select_snapshot",
    "snapshot_files",
    "snapshot_name_id",
    "staging_folder",
]

_DISK_EXTENSIONS = (".vhdx", ".vhd", ".avhdx", ".avhd", ".vhds")


def _time(snapshot: Mapping[str, Any]) -> Optional[datetime.datetime]:
    return parse_snapshot_time(snapshot.get("time"))


def host_snapshots(snapshots: Sequence[Mapping[str, Any]], host: str) -> List[Mapping[str, Any]]:
    """This collection's VM snapshots of ``host`` (parsed by ``messages.parse_snapshots``), newest first."""
    ours = [
        snap
        for snap in snapshots
        if TAG in (snap.get("tags") or [])
        and snap.get("vm_name")
        and str(snap.get("host") or "").casefold() == host.casefold()
        and _time(snap) is not None
    ]
    return sorted(ours, key=lambda snap: (_time(snap), str(snap.get("id"))), reverse=True)


def snapshot_name_id(snapshot: Mapping[str, Any]) -> str:
    """The snapshot's time as a generation id (``20261125T020000Z``): restored VMs are named with it."""
    return _time(snapshot).astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _short(snapshot: Mapping[str, Any]) -> str:
    return str(snapshot.get("short_id") or str(snapshot.get("id"))[:8])


def _incomplete(snapshot: Mapping[str, Any]) -> Optional[str]:
    """Why the snapshot's own summary (restic 0.17 and newer record one) shows it incomplete, or None."""
    planned = file_count_from_tags(snapshot.get("tags"))
    summary = snapshot.get("summary") or {}
    processed = summary.get("total_files_processed")
    if planned is not None and isinstance(processed, int) and processed < planned:
        return f"it holds {processed} of the {planned} files its backup planned"
    return None


def _describe(snapshots: Sequence[Mapping[str, Any]], limit: int = 10) -> str:
    if not snapshots:
        return "none"
    shown = [f"{_short(s)} ({s.get('vm_name')}, {s.get('time')})" for s in snapshots[:limit]]
    return ", ".join(shown) + (f", and {len(snapshots) - limit} older" if len(snapshots) > limit else "")


def select_snapshot(
    snapshots: Sequence[Mapping[str, Any]],
    host: str,
    vm: str,
    generation: str = "latest",
    before: Optional[datetime.datetime] = None,
) -> Dict[str, Any]:
    """Pick the snapshot to restore ``vm`` of ``host`` from (see module doc).

    Returns ``{"id" (short id), "snapshot_id", "started_at", "finished_at", "vm": {"name", "id"}, "tags",
    "name_id"}``; raises :class:`RestoreError` listing what exists when nothing fits.
    """
    ours = host_snapshots(snapshots, host)
    if not ours:
        hosts = sorted({str(s.get("host")) for s in snapshots if TAG in (s.get("tags") or [])}, key=str.casefold)
        raise RestoreError(
            f"the repository holds no snapshot of host {host} made by win_vss_backup"
            + (f" (hosts with snapshots: {', '.join(hosts)})" if hosts else "")
            + ". Set backup_host to restore another host's backup (the computer name its backup ran on)."
        )
    wanted = vm.casefold()
    mine = [s for s in ours if str(s["vm_name"]).casefold() == wanted]

    def chosen(snapshot: Mapping[str, Any]) -> Dict[str, Any]:
        summary = snapshot.get("summary") or {}
        end = parse_snapshot_time(summary.get("backup_end"))
        return {
            "id": _short(snapshot),
            "snapshot_id": str(snapshot["id"]),
            "started_at": _time(snapshot).astimezone(datetime.timezone.utc),
            "finished_at": end.astimezone(datetime.timezone.utc) if end else None,
            "vm": {"name": str(snapshot["vm_name"]), "id": snapshot.get("vm_id")},
            "tags": list(snapshot.get("tags") or []),
            "name_id": snapshot_name_id(snapshot),
        }

    if generation != "latest":
        matches = [s for s in ours if str(s.get("id") or "").startswith(generation)]
        if len(matches) > 1:
            raise RestoreError(f"snapshot id {generation} is ambiguous: {_describe(matches)}; give more digits")
        if not matches:
            raise RestoreError(
                f"snapshot {generation} is not a snapshot of host {host} made by win_vss_backup; snapshots of VM "
                f"{vm!r}: {_describe(mine)}"
            )
        if str(matches[0]["vm_name"]).casefold() != wanted:
            raise RestoreError(f"snapshot {generation} holds VM {matches[0]['vm_name']!r}, not {vm!r}")
        problem = _incomplete(matches[0])
        if problem:
            raise RestoreError(f"cannot restore from snapshot {generation}: {problem}")
        return chosen(matches[0])
    if not mine:
        names = sorted({str(s["vm_name"]) for s in ours}, key=str.casefold)
        raise RestoreError(
            f"the repository holds no snapshot of VM {vm!r} of host {host}; VMs with snapshots: {', '.join(names)}"
        )
    candidates = mine
    if before is not None:
        candidates = [s for s in mine if _time(s) < before]
        if not candidates:
            raise RestoreError(
                f"no snapshot of VM {vm!r} was taken before {before.strftime('%Y-%m-%dT%H:%M:%SZ')}; "
                f"snapshots: {_describe(mine)}"
            )
    skipped = []
    for snapshot in candidates:
        problem = _incomplete(snapshot)
        if problem is None:
            return chosen(snapshot)
        skipped.append(f"snapshot {_short(snapshot)}: {problem}")
    raise RestoreError(f"no complete snapshot of VM {vm!r}: " + "; ".join(skipped[:10]))


def restorable_snapshot_vms(snapshots: Sequence[Mapping[str, Any]], host: str) -> List[Dict[str, Any]]:
    """The VMs of ``host`` with a snapshot, sorted by name (the shape of ``select.restorable_vms``).

    Each item: ``{"name", "latest_generation", "generations"}`` with snapshot short ids, newest first, and
    ``latest_time``. Snapshots whose own summary shows them incomplete are left out, and so are restored
    copies (:func:`is_restored_name`).
    """
    found: Dict[str, Dict[str, Any]] = {}
    for snapshot in host_snapshots(snapshots, host):
        name = str(snapshot["vm_name"])
        if is_restored_name(name) or _incomplete(snapshot):
            continue
        item = found.setdefault(
            name.casefold(),
            {
                "name": name,
                "latest_generation": _short(snapshot),
                "latest_time": snapshot.get("time"),
                "generations": [],
            },
        )
        item["generations"].append(_short(snapshot))
    return sorted(found.values(), key=lambda v: v["name"].casefold())


def _relative(path: Any) -> str:
    text = str(path or "").replace("/", "\\").strip("\\")
    if not text or any(part in ("", ".", "..") for part in text.split("\\")):
        raise RestoreError(f"restic ls: {path!r} is not a plain path inside the snapshot")
    return text


def snapshot_files(listing: Mapping[str, Any], folder: str, selected: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The VM's files as they will be after ``restic restore --target folder`` (the shape of ``verify.backup_files``).

    ``listing``: ``messages.parse_ls`` of the snapshot. Each file: ``relative_path`` (inside the snapshot),
    ``path`` (below ``folder``), ``kind`` (``vhd`` by extension, else ``config``), ``original_path`` (from the
    ``dir:`` tags; None when the snapshot has none for its folder), ``size``, ``sha256`` None (restic checks
    every blob it restores against its hash).
    """
    origins = original_dirs_from_tags(selected.get("tags"))
    files = []
    for entry in listing.get("files") or []:
        rel = _relative(entry.get("path"))
        inside, _sep, name = rel.rpartition("\\")
        origin = origins.get(inside.casefold())
        files.append(
            {
                "relative_path": rel,
                "path": join(folder, rel),
                "kind": "vhd" if name.casefold().endswith(_DISK_EXTENSIONS) else "config",
                "original_path": None if origin is None else f"{origin}\\{name}",
                "size": entry.get("size"),
                "sha256": None,
            }
        )
    if not files:
        raise RestoreError(f"snapshot {selected['id']} holds no files")
    planned = file_count_from_tags(selected.get("tags"))
    if planned is not None and len(files) != planned:
        raise RestoreError(
            f"snapshot {selected['id']} holds {len(files)} of the {planned} files its backup planned (the backup "
            "could not read them all); nothing was changed. Restore an older snapshot (generation or before)."
        )
    return files


def staging_folder(restore_path: str, name: str, short_id: str) -> str:
    """Where the import modes restore the snapshot before importing from it: ``<restore_path>\\<name>.restic-<id>``."""
    return join(restore_path, f"{name}.restic-{short_id}")


def restore_job_id(host: str, snapshot_id: str, target: str) -> str:
    """The restore job's id (16 hex digits): the same snapshot into the same folder is the same job, so a second
    run finds the first one's job on the host instead of restoring into the folder a second time at once."""
    digest = hashlib.sha256("\n".join((host.casefold(), snapshot_id, target.casefold())).encode("utf-8"))
    return digest.hexdigest()[:16]
