"""Recorded win_powershell answers of a Hyper-V host for win_vm_restore tests (unit and playbook tests)."""

from __future__ import annotations

from ansible_collections.vaware.hyperv.tests.support import backup_samples as backup
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok

GEN = "20261121T020000Z"
OLD = "20261120T020000Z"
RESTORE = "E:\\Restore"
WEB01_ID = backup.WEB01["id"]
NEW_ID = "9d9d9d9d-0000-4000-8000-00000000009d"
VHDX = 42949672960


def manifests(vm_list=None, **kwargs):
    return [samples.manifest(samples.at(20), vm_list, **kwargs), samples.manifest(samples.at(21), vm_list, **kwargs)]


def generations(folders=None, vms=(), *, vm_list=None, hyperv=True, **extra):
    answer = {
        "computer_name": "HV01",
        "backup_host": "HV01",
        "host_path": samples.HOST_PATH,
        "destination_exists": True,
        "host_path_exists": True,
        "hosts": ["HV01", "HV02"],
        "generations": folders if folders is not None else [samples.folder(m) for m in manifests(vm_list)],
        "hyperv": hyperv,
        "vms": list(vms),
    }
    answer.update(extra)
    return ok(answer)


def live_vm(name="web01", vm_id=WEB01_ID, state="Running", notes=""):
    return {"name": name, "id": vm_id, "state": state, "path": f"D:\\Hyper-V\\{name}", "notes": notes}


def verified(manifest=None, vm="web01", *, folder_entries=None, folder=None, **kwargs):
    manifest = manifest or samples.manifest(samples.at(21))
    folder = folder or f"{RESTORE}\\{vm}-restored-{manifest['generation']}"
    state = {"path": folder, "exists": folder_entries is not None, "entries": folder_entries or 0}
    return ok({"files": samples.listing(manifest, vm, **kwargs), "folders": [state]})


def imported(name, folder, *, vm_id=NEW_ID, size=VHDX, disk=None):
    return ok(
        {
            "id": vm_id,
            "name": name,
            "state": "Off",
            "path": folder,
            "disks": [{"path": disk or f"{folder}\\Virtual Hard Disks\\web01.vhdx", "size": size}],
            "adapters": [{"name": "Network Adapter", "switch": None, "connected": False}],
        },
        changed=True,
    )


def removed():
    return ok({"vm_found": True, "vm_removed": True, "folder_removed": True}, changed=True)


def boot(state="Running", heartbeat="NoContact", enabled=True, uptime=0):
    return ok({"state": state, "heartbeat": heartbeat, "heartbeat_enabled": enabled, "uptime_seconds": uptime})
