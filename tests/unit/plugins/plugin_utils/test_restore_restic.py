"""Choosing and reading a restic snapshot for a restore (``_restore/restic.py``), on snapshots as restic lists them."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import parse_ls, parse_snapshots
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import dir_tags, vm_tags
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
    check_snapshot_choice,
    validate_options,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.restic import (
    restorable_snapshot_vms,
    restore_job_id,
    select_snapshot,
    snapshot_files,
    staging_folder,
)

WEB01 = "5f3c0c4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
DB01 = "7a7a7a7a-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
FOLDERS = {"Hyper-V\\web01\\Virtual Machines": "D:\\Hyper-V\\web01\\Virtual Machines",
           "Hyper-V\\web01\\Virtual Hard Disks": "D:\\Hyper-V\\web01\\Virtual Hard Disks"}  # fmt: skip


def snapshot(short, day, vm="web01", vm_id=WEB01, host="HV01", files=3, summary=None, extra=()):
    doc = {
        "time": f"2026-11-{day:02d}T02:00:05.123456789+01:00",
        "tree": "ab" * 32,
        "paths": ["C:\\ProgramData\\vaware.hyperv\\jobs\\x\\mnt\\VAWVOL1\\Hyper-V\\web01"],
        "hostname": host,
        "username": "SYSTEM",
        "tags": [*vm_tags(vm, vm_id), *dir_tags(FOLDERS, files), *extra],
        "id": short + "0" * (64 - len(short)),
        "short_id": short,
    }
    if summary is not None:
        doc["summary"] = summary
    return doc


def snapshots(*docs):
    return parse_snapshots(json.dumps(list(docs)))


NIGHTS = snapshots(
    snapshot("aaaa0001", 20),
    snapshot("aaaa0002", 21),
    snapshot("bbbb0001", 21, vm="db01", vm_id=DB01),
    snapshot("cccc0001", 22, host="HV02"),
)


def test_latest_is_the_newest_snapshot_of_the_vm_on_the_host():
    chosen = select_snapshot(NIGHTS, "hv01", "WEB01")
    assert chosen["id"] == "aaaa0002" and chosen["vm"] == {"name": "web01", "id": WEB01}
    assert chosen["name_id"] == "20261121T010005Z"  # the snapshot's time in UTC, as restored copies are named
    assert chosen["started_at"] == datetime.datetime(2026, 11, 21, 1, 0, 5, 123456, tzinfo=datetime.timezone.utc)


def test_an_id_prefix_before_and_their_errors():
    assert select_snapshot(NIGHTS, "HV01", "web01", "aaaa0001")["id"] == "aaaa0001"
    before = datetime.datetime(2026, 11, 21, tzinfo=datetime.timezone.utc)
    assert select_snapshot(NIGHTS, "HV01", "web01", before=before)["id"] == "aaaa0001"
    with pytest.raises(RestoreError, match="ambiguous"):
        select_snapshot(NIGHTS, "HV01", "web01", "aaaa000")
    with pytest.raises(RestoreError, match="holds VM 'db01', not 'web01'"):
        select_snapshot(NIGHTS, "HV01", "web01", "bbbb0001")
    with pytest.raises(RestoreError, match="no snapshot of VM 'web01' was taken before 2026-11-19"):
        select_snapshot(NIGHTS, "HV01", "web01", before=datetime.datetime(2026, 11, 19, tzinfo=datetime.timezone.utc))
    with pytest.raises(RestoreError, match=r"VMs with snapshots: db01, web01"):
        select_snapshot(NIGHTS, "HV01", "sql01")
    with pytest.raises(RestoreError, match=r"no snapshot of host HV03 .*hosts with snapshots: HV01, HV02"):
        select_snapshot(NIGHTS, "HV03", "web01")


def test_latest_passes_over_a_snapshot_whose_own_summary_shows_it_incomplete():
    listed = snapshots(
        snapshot("aaaa0001", 20, summary={"total_files_processed": 3}),
        snapshot("aaaa0002", 21, summary={"total_files_processed": 2}),  # restic >= 0.17 records a summary
    )
    assert select_snapshot(listed, "HV01", "web01")["id"] == "aaaa0001"
    with pytest.raises(RestoreError, match="holds 2 of the 3 files"):
        select_snapshot(listed, "HV01", "web01", "aaaa0002")
    assert restorable_snapshot_vms(listed, "HV01")[0]["generations"] == ["aaaa0001"]


def test_restorable_vms_are_named_newest_first_without_restored_copies():
    listed = snapshots(*[snapshot(f"dddd000{i}", 20 + i) for i in range(3)],
                       snapshot("eeee0001", 21, vm="web01-restored-20261120T020000Z", vm_id=DB01))  # fmt: skip
    assert restorable_snapshot_vms(listed, "HV01") == [
        {
            "name": "web01",
            "latest_generation": "dddd0002",
            "latest_time": "2026-11-22T01:00:05.123456Z",
            "generations": ["dddd0002", "dddd0001", "dddd0000"],
        }
    ]


LS = "\n".join(
    [
        '{"time":"2026-11-21T02:00:05+01:00","tree":"ab","paths":["x"],"hostname":"HV01","id":"aaaa0002","short_id":'
        '"aaaa0002","struct_type":"snapshot"}',
        '{"name":"Hyper-V","type":"dir","path":"/Hyper-V","struct_type":"node"}',
        '{"name":"A.vmcx","type":"file","path":"/Hyper-V/web01/Virtual Machines/A.vmcx","size":49152,'
        '"struct_type":"node"}',
        '{"name":"A.vmgs","type":"file","path":"/Hyper-V/web01/Virtual Machines/A.vmgs","size":16384,'
        '"struct_type":"node"}',
        '{"name":"web01.vhdx","type":"file","path":"/Hyper-V/web01/Virtual Hard Disks/web01.vhdx","size":3145728,'
        '"struct_type":"node"}',
    ]
)


def test_snapshot_files_are_where_restic_restores_them_with_the_original_paths_from_the_tags():
    chosen = select_snapshot(NIGHTS, "HV01", "web01")
    files = snapshot_files(parse_ls(LS), "E:\\Restore\\x.restic-aaaa0002", chosen)
    disk = files[2]
    assert disk == {
        "relative_path": "Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
        "path": "E:\\Restore\\x.restic-aaaa0002\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
        "kind": "vhd",
        "original_path": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
        "size": 3145728,
        "sha256": None,
    }
    assert [f["kind"] for f in files] == ["config", "config", "vhd"]
    # a snapshot holding fewer files than its backup planned is refused
    short = dict(chosen, tags=[*vm_tags("web01", WEB01), *dir_tags(FOLDERS, 4)])
    with pytest.raises(RestoreError, match="holds 3 of the 4 files its backup planned"):
        snapshot_files(parse_ls(LS), "E:\\R", short)
    with pytest.raises(RestoreError, match="not a plain path"):
        snapshot_files(parse_ls(LS.replace("/Hyper-V/web01/Virtual Machines/A.vmgs", "/../A.vmgs")), "E:\\R", chosen)


def test_staging_folder_and_job_id():
    assert staging_folder("E:\\Restore", "web01-restored-20261121T010005Z", "aaaa0002") == (
        "E:\\Restore\\web01-restored-20261121T010005Z.restic-aaaa0002"
    )
    first = restore_job_id("HV01", "a" * 64, "E:\\R\\x")
    assert first == restore_job_id("hv01", "a" * 64, "e:\\r\\X") and len(first) == 16
    assert first != restore_job_id("HV01", "b" * 64, "E:\\R\\x")


def test_options_with_a_restic_repository():
    args = {"vm": "web01", "restore_path": "E:\\Restore", "repository": {"type": "restic", "location": "D:\\r",
            "password": "pw"}, "generation": "AAAA0002"}  # fmt: skip
    options = validate_options(args)
    assert options["repository"]["location"] == "D:\\r" and options["generation"] == "aaaa0002"
    assert options["destination"] is None and options["restore_timeout"] == 86400
    for bad, message in [
        ({"destination": "E:\\B"}, "destination: not used with a restic repository"),
        ({"generation": "20261121T020000Z"}, "expected 'latest' or a snapshot id"),
        ({"run_as": "CORP\\svc"}, "give both"),
        ({"generation": "latest", "before": "2026-11-21", "restore_timeout": 30}, "restore_timeout"),
        ({"repository": {"type": "restic", "location": "D:\\r"}}, "repository.password is required"),
    ]:
        with pytest.raises(RestoreError, match=message):
            validate_options({**args, **bad})
    with pytest.raises(RestoreError, match="destination: required"):
        validate_options({"vm": "web01", "restore_path": "E:\\R"})
    with pytest.raises(RestoreError, match="run_as: only used with a restic repository"):
        validate_options({"vm": "web01", "restore_path": "E:\\R", "destination": "E:\\B", "run_as": "x"})
    assert check_snapshot_choice(None, "2026-11-21")[1] == datetime.datetime(2026, 11, 21, tzinfo=datetime.timezone.utc)
