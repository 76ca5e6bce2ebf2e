"""Backup generations for the restore tests: real manifests built by the backup engine itself."""

from __future__ import annotations

import datetime
import hashlib
import json

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import build_manifest
from ansible_collections.vaware.hyperv.tests.support import backup_samples as samples

DESTINATION = "\\\\nas01\\backups"
HOST = "HV01"
HOST_PATH = DESTINATION + "\\" + HOST


def at(day, hour=2, minute=0):
    return datetime.datetime(2026, 11, day, hour, minute, 0, tzinfo=datetime.timezone.utc)


def fake_size(relative_path):
    return 1_000_000 + 17 * len(relative_path)


def fake_sha(relative_path, generation):
    return hashlib.sha256(f"{generation}|{relative_path}".encode()).hexdigest()


def manifest(started, vm_list=None, *, hashes=False, failed_vm=None, error=None):
    """The manifest a backup started at ``started`` writes; ``failed_vm`` is missing at the destination."""
    plan = samples.plan(vm_list, now=started)
    files = {}
    sources = []  # the copy wrapper's digests of the files in the shadow copy (verify: hash)
    for vm in plan["vms"]:
        if vm["name"] == failed_vm:
            continue
        entries = []
        for planned in vm["files"]:
            size = planned["size"] if planned["size"] is not None else fake_size(planned["relative_path"])
            entry = {"relative_path": planned["relative_path"], "size": size, "source_size": size}
            if hashes:
                entry["sha256"] = fake_sha(planned["relative_path"], plan["generation"])
                sources.append(
                    {"path": planned["shadow_path"], "sha256": entry["sha256"], "exit_code": 0, "error": None}
                )
            entries.append(entry)
        files[vm["name"]] = entries
    step_ids = [s["id"] for s in plan["steps"]]
    exit_codes = {
        "runs": [{"step": s, "pass": "all", "code": 1} for s in step_ids],
        "steps": dict.fromkeys(step_ids, 1),
        "finished": True,
        "exit_code": 0,
    }
    return build_manifest(
        plan,
        started_at=started,
        finished_at=started + datetime.timedelta(hours=1),
        files=files,
        exit_codes=exit_codes,
        writer={"included": True, "state": 1, "state_name": "stable"},
        verify="hash" if hashes else "size",
        source_hashes=sources,
        error=error,
    )


def folder(generation_manifest, *, text=None, error=None, name=None):
    """One generation folder as the generations payload lists it."""
    return {
        "name": name or generation_manifest["generation"],
        "manifest": text if text is not None else json.dumps(generation_manifest),
        "error": error,
    }


def vm_files(generation_manifest, vm_name):
    """Full paths in the generation and the manifest entries of ``vm_name``'s files."""
    vm = next(v for v in generation_manifest["vms"] if v["name"] == vm_name)
    base = f"{HOST_PATH}\\{generation_manifest['generation']}\\{vm['name']}"
    return [(f"{base}\\{f['relative_path']}", f) for f in vm["files"]]


def listing(generation_manifest, vm_name, *, hashes=False, change=None):
    """The verify payload's ``files`` for the backup of ``vm_name``; ``change``: path suffix -> overrides."""
    entries = []
    for path, entry in vm_files(generation_manifest, vm_name):
        item = {"path": path, "exists": True, "size": entry["size"], "sha256": entry.get("sha256") if hashes else None}
        for suffix, override in (change or {}).items():
            if path.endswith(suffix):
                item.update(override)
        entries.append(item)
    return entries
