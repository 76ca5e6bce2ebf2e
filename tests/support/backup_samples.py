"""Sample host inventory and volume facts for the backup engine tests (shapes documented in backup_plan.py)."""

from __future__ import annotations

import copy
import datetime

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import plan as backup_plan

GUID_C = "{0c0c0c0c-1111-2222-3333-444444444444}"
GUID_D = "{6cd5140b-0000-0000-0000-602200000000}"
GUID_DATA = "{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}"  # no drive letter, mounted on a folder
GUID_E = "{e1e1e1e1-0000-4000-8000-000000000001}"
NOW = datetime.datetime(2026, 11, 25, 2, 0, 0, tzinfo=datetime.timezone.utc)
JOB_ID = "3f2a9c1e7b"
JOB_DIR = "C:\\ProgramData\\vaware.hyperv\\jobs\\" + JOB_ID


def _volume(guid, letter, mounts):
    return {
        "guid": guid,
        "path": f"\\\\?\\Volume{guid}\\",
        "drive_letter": letter,
        "mount_points": mounts,
        "label": "",
        "file_system": "NTFS",
    }


VOLUMES = [
    _volume(GUID_C, "C:", ["C:\\"]),
    _volume(GUID_D, "D:", ["D:\\"]),
    _volume(GUID_DATA, None, ["C:\\ClusterStorage\\Data\\"]),
    _volume(GUID_E, "E:", ["E:\\"]),
]

WEB01 = {
    "name": "web01",
    "id": "5f3c0c4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
    "state": "Running",
    "config_paths": [
        "D:\\Hyper-V\\web01\\Virtual Machines\\5F3C0C4E-1B2A-4C3D-9E8F-0A1B2C3D4E5F.vmcx",
        "D:\\Hyper-V\\web01\\Virtual Machines\\5F3C0C4E-1B2A-4C3D-9E8F-0A1B2C3D4E5F.vmrs",
    ],
    "checkpoint_paths": [],
    "vhd_paths": [{"path": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx", "size": 42949672960}],
}
SQL01 = {
    "name": "sql01",
    "id": "77aa0000-0000-4000-8000-000000000077",
    "state": "Off",
    "config_paths": ["C:\\ClusterStorage\\Data\\sql01\\Virtual Machines\\77AA0000-0000-4000-8000-000000000077.vmcx"],
    "checkpoint_paths": [],
    "vhd_paths": [
        "C:\\ClusterStorage\\Data\\sql01\\Virtual Hard Disks\\sql01-os.vhdx",
        "C:\\ClusterStorage\\Data\\sql01\\Virtual Hard Disks\\sql01-data.vhdx",
    ],
}
# Configuration on D:, one disk on the folder-mounted GUID-only volume.
APP01 = {
    "name": "app01",
    "id": "a0a0a0a0-0000-4000-8000-0000000000a0",
    "state": "Running",
    "config_paths": ["D:\\Hyper-V\\app01\\Virtual Machines\\A0A0A0A0-0000-4000-8000-0000000000A0.vmcx"],
    "checkpoint_paths": ["D:\\Hyper-V\\app01\\Snapshots\\B1B1B1B1-0000-4000-8000-0000000000B1.vmcx"],
    "vhd_paths": [
        "D:\\Hyper-V\\app01\\Virtual Hard Disks\\app01.vhdx",
        "C:\\ClusterStorage\\Data\\app01\\app01-logs.vhdx",
    ],
}
TEST01 = {
    "name": "Test01",
    "id": "7e570000-0000-4000-8000-000000000001",
    "state": "Off",
    "config_paths": ["D:\\Hyper-V\\Test01\\Virtual Machines\\7E570000-0000-4000-8000-000000000001.vmcx"],
    "vhd_paths": ["D:\\Hyper-V\\Test01\\Virtual Hard Disks\\Test01.vhdx"],
}


def vms(*extra):
    return copy.deepcopy([WEB01, SQL01, APP01, TEST01, *extra])


def vm(name, *paths, vm_id="00000000-0000-4000-8000-000000000000"):
    return {"name": name, "id": vm_id, "state": "Off", "config_paths": [], "vhd_paths": list(paths)}


def plan(vm_list=None, volumes=None, **options):
    options.setdefault("destination", "\\\\nas01\\backups")
    options.setdefault("job_id", JOB_ID)
    options.setdefault("job_dir", JOB_DIR)
    options.setdefault("now", NOW)
    return backup_plan.build_plan(
        "HV01", vms() if vm_list is None else vm_list, VOLUMES if volumes is None else volumes, **options
    )
