from __future__ import annotations

import datetime
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import plan as backup_plan
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import BackupPlanError
from ansible_collections.vaware.hyperv.tests.support.backup_samples import (
    GUID_D,
    GUID_DATA,
    JOB_DIR,
    NOW,
    VOLUMES,
    plan,
    vm,
    vms,
)

GEN = "\\\\nas01\\backups\\HV01\\20261125T020000Z"


def _vm(p, name):
    return next(v for v in p["vms"] if v["name"] == name)


def _steps(p, name):
    return [s for s in p["steps"] if s["vm"] == name]


def test_drive_letter_and_guid_only_volumes_are_snapshotted_and_exposed_on_job_folders():
    p = plan(include_vms=["web01", "sql01"])
    assert [(v["alias"], v["add_as"]) for v in p["volumes"]] == [
        ("VAWVOL1", "D:"),
        ("VAWVOL2", f"\\\\?\\Volume{GUID_DATA}\\"),
    ]
    assert p["volumes"][1]["drive_letter"] is None
    assert p["volumes"][0]["key"] == "D"
    assert p["volumes"][1]["key"] == f"Volume{GUID_DATA}"
    for volume in p["volumes"]:
        assert volume["mount_folder"] == f"{JOB_DIR}\\mnt\\{volume['alias']}"
        assert not re.fullmatch(r"[A-Za-z]:\\?", volume["mount_folder"])
    # the GUID-only volume's files are read through its mount folder, relative to the volume root
    sql = _steps(p, "sql01")
    assert {s["source_dir"] for s in sql} == {
        f"{JOB_DIR}\\mnt\\VAWVOL2\\sql01\\Virtual Machines",
        f"{JOB_DIR}\\mnt\\VAWVOL2\\sql01\\Virtual Hard Disks",
    }
    disks = next(s for s in sql if s["files"] and s["files"][0].endswith(".vhdx"))
    assert disks["files"] == ["sql01-os.vhdx", "sql01-data.vhdx"]
    assert disks["destination_dir"] == f"{GEN}\\sql01\\Virtual Hard Disks"
    assert disks["original_dir"] == "C:\\ClusterStorage\\Data\\sql01\\Virtual Hard Disks"


def test_vm_layout_is_kept_below_the_vm_folder():
    p = plan(include_vms=["web01"])
    web = _vm(p, "web01")
    assert web["destination"] == f"{GEN}\\web01"
    assert sorted(f["relative_path"] for f in web["files"]) == [
        "Virtual Hard Disks\\web01.vhdx",
        "Virtual Machines\\5F3C0C4E-1B2A-4C3D-9E8F-0A1B2C3D4E5F.vmcx",
        "Virtual Machines\\5F3C0C4E-1B2A-4C3D-9E8F-0A1B2C3D4E5F.vmrs",
    ]
    vhd = next(f for f in web["files"] if f["kind"] == "vhd")
    assert vhd["shadow_path"] == f"{JOB_DIR}\\mnt\\VAWVOL1\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    assert vhd["size"] == 42949672960
    assert p["total_bytes"] is None  # the config files have no size in the inventory
    assert [s["id"] for s in p["steps"]] == web["steps"] == ["s001", "s002"]


def test_vm_spanning_volumes_pulls_in_every_volume_and_separates_them_by_volume_key():
    p = plan(include_vms=["app01"])
    assert [v["add_as"] for v in p["volumes"]] == ["D:", f"\\\\?\\Volume{GUID_DATA}\\"]
    app = _vm(p, "app01")
    assert app["aliases"] == ["VAWVOL1", "VAWVOL2"]
    assert sorted(f["relative_path"] for f in app["files"]) == [
        "D\\Snapshots\\B1B1B1B1-0000-4000-8000-0000000000B1.vmcx",
        "D\\Virtual Hard Disks\\app01.vhdx",
        "D\\Virtual Machines\\A0A0A0A0-0000-4000-8000-0000000000A0.vmcx",
        f"Volume{GUID_DATA}\\app01-logs.vhdx",
    ]
    logs = next(s for s in p["steps"] if s["alias"] == "VAWVOL2")
    assert logs["destination_dir"] == f"{GEN}\\app01\\Volume{GUID_DATA}"
    assert logs["source_dir"] == f"{JOB_DIR}\\mnt\\VAWVOL2\\app01"
    assert p["volumes"][1]["used_by"] == ["vm:app01"]


def test_include_and_exclude_globs_are_case_insensitive():
    p = plan(include_vms=["WEB*", "sql0?", "test01"], exclude_vms=["sql*"])
    assert [v["name"] for v in p["vms"]] == ["web01", "Test01"]
    assert p["excluded_vms"] == ["sql01", "app01"]
    everything = plan()
    assert [v["name"] for v in everything["vms"]] == ["web01", "sql01", "app01", "Test01"]


def test_exclude_pattern_matching_nothing_is_a_warning():
    p = plan(include_vms=["web01"], exclude_vms=["nosuch*"])
    assert any("nosuch*" in w for w in p["warnings"])


def test_unknown_vm_names_are_named_with_the_vms_that_exist():
    with pytest.raises(BackupPlanError) as err:
        plan(include_vms=["web01", "dc01", "mail*"])
    message = str(err.value)
    assert "'dc01'" in message and "'mail*'" in message and "web01" not in message.split("(", maxsplit=1)[0]
    assert "app01, sql01, Test01, web01" in message


def test_literal_name_with_glob_characters_matches_itself():
    labs = vms(vm("lab[1]", "D:\\Lab\\x.vhdx"), vm("lab1", "D:\\Lab\\lab1.vhdx"))
    assert [v["name"] for v in plan(labs, include_vms=["lab[1]"])["vms"]] == ["lab[1]"]
    assert [v["name"] for v in plan(labs, include_vms=["lab[0-9]"])["vms"]] == ["lab1"]
    assert "lab[1]" in plan(labs, exclude_vms=["lab[1]"])["excluded_vms"]


@pytest.mark.parametrize(
    "destination",
    [
        "D:\\Hyper-V\\web01\\Backups",
        "d:/hyper-v/WEB01",
        "D:\\Hyper-V\\web01\\Virtual Hard Disks\\bk",
    ],
)
def test_destination_inside_a_vm_folder_is_refused(destination):
    with pytest.raises(
        BackupPlanError, match=r"destination: .* is inside the folder of VM 'web01' \(D:\\Hyper-V\\web01\)"
    ):
        plan(include_vms=["web01"], destination=destination)


def test_destination_inside_a_vm_folder_on_a_folder_mounted_volume_is_refused():
    with pytest.raises(BackupPlanError, match=r"VM 'sql01' \(C:\\ClusterStorage\\Data\\sql01\)"):
        plan(include_vms=["sql01"], destination="C:\\ClusterStorage\\Data\\sql01\\bk")


def test_destination_beside_the_vm_folders_on_a_snapshotted_volume_warns():
    p = plan(include_vms=["web01"], destination="D:\\Backups")
    assert p["generation_path"] == "D:\\Backups\\HV01\\20261125T020000Z"
    assert any("D:" in w and "snapshotted" in w for w in p["warnings"])
    assert not plan(include_vms=["web01"], destination="E:\\Backups")["warnings"]


def test_destination_inside_an_extra_path_is_refused():
    with pytest.raises(BackupPlanError, match="is inside extra path"):
        plan(include_vms=[], extra_paths=["D:\\Data"], destination="D:\\Data\\Backups")


def test_path_on_no_volume_is_refused_naming_the_vm_and_path():
    lost = vm("lost01", "Z:\\VMs\\lost01.vhdx")
    with pytest.raises(BackupPlanError) as err:
        plan(vms(lost), include_vms=["lost01"])
    assert "lost01" in str(err.value) and "'Z:\\VMs\\lost01.vhdx'" in str(err.value)
    with pytest.raises(BackupPlanError, match="Q:"):
        plan(include_vms=["web01"], destination="Q:\\Backups")


def test_vm_paths_must_be_local_absolute_file_paths():
    for bad in (
        "VMs\\a.vhdx",
        "D:\\VMs\\..\\a.vhdx",
        "",
        "D:\\a.vhdx:ads",
        "D:\\a?.vhdx",
    ):
        with pytest.raises(BackupPlanError, match="bad01"):
            plan(vms(vm("bad01", bad)), include_vms=["bad01"])


@pytest.mark.parametrize("device_path", ["\\\\?\\D:\\VMs\\a.vhdx", "\\\\.\\D:\\VMs\\a.vhdx"])
def test_a_device_path_is_refused_not_skipped_as_an_smb_disk(device_path):
    """Device paths (long-path and device namespaces) start with two backslashes but are not shares."""
    with pytest.raises(BackupPlanError, match=r"bad01.*expected an absolute local path"):
        plan(vms(vm("bad01", "D:\\VMs\\bad01\\os.vhdx", device_path)), include_vms=["bad01"])


def test_a_disk_on_an_smb_share_is_skipped_for_that_vm_with_a_warning_and_the_rest_is_backed_up():
    p = plan(
        vms(
            vm("app07", "D:\\VMs\\app07\\os.vhdx", "\\\\fs01\\vms\\data.vhdx"),
            vm("sql07", "D:\\VMs\\sql07\\db.vhdx", vm_id="00000000-0000-4000-8000-000000000007"),
        )
    )
    backed_up = {v["name"]: [f["original_path"] for f in v["files"]] for v in p["vms"]}
    assert backed_up["app07"] == ["D:\\VMs\\app07\\os.vhdx"]
    assert backed_up["sql07"] == ["D:\\VMs\\sql07\\db.vhdx"]
    (warning,) = [w for w in p["warnings"] if "SMB share" in w]
    assert "'app07'" in warning and "\\\\fs01\\vms\\data.vhdx" in warning


def test_a_pass_through_disk_is_skipped_for_that_vm_with_a_warning():
    web = vm("app07", "D:\\VMs\\app07\\os.vhdx")
    # listed for the VM and again for each of its checkpoints: one warning
    web["skipped_disks"] = [{"disk": "SCSI 0:1", "disk_number": 3, "reason": "pass-through"}] * 3
    p = plan(vms(web, vm("sql07", "D:\\VMs\\sql07\\db.vhdx", vm_id="00000000-0000-4000-8000-000000000007")))
    assert {"sql07", "app07"} <= {v["name"] for v in p["vms"]}
    (warning,) = [w for w in p["warnings"] if "pass-through" in w]
    assert "'app07'" in warning and "SCSI 0:1" in warning and "host disk 3" in warning


def test_an_inventory_the_host_could_not_read_fails_naming_the_vm_and_the_error():
    """Get-VMSnapshot or Get-VHD failing would otherwise end a chain silently (a backup without its parent)."""
    web = vm("app07", "D:\\VMs\\app07\\os.avhdx")
    web["inventory_errors"] = ["Get-VHD D:\\VMs\\app07\\os.avhdx failed: The file is in use"]
    with pytest.raises(BackupPlanError, match=r"VM 'app07': its inventory is incomplete.*Get-VHD .*in use"):
        plan(vms(web))


@pytest.mark.parametrize("name", ["a:b", "web/01", "CON", "lpt1.old", "trailing.", " lead", "tab\tname", "..", "x?"])
def test_vm_names_unsafe_as_folder_names_are_refused(name):
    with pytest.raises(BackupPlanError, match="cannot be a folder name"):
        plan(vms(vm(name, "D:\\VMs\\x.vhdx")), include_vms=[name])


def test_an_unsafe_vm_that_is_excluded_does_not_matter():
    p = plan(vms(vm("a:b", "D:\\VMs\\x.vhdx")), exclude_vms=["a:b"])
    assert "a:b" in p["excluded_vms"]


@pytest.mark.parametrize("name", ["_extra_paths", "MANIFEST.json"])
def test_names_reserved_by_the_layout_are_refused(name):
    with pytest.raises(BackupPlanError, match="reserved"):
        plan(vms(vm(name, "D:\\VMs\\x.vhdx")), include_vms=[name])


def test_duplicate_vm_names_are_refused_case_insensitively():
    twin = vm("WEB01", "D:\\Other\\web01.vhdx", vm_id="99999999-0000-4000-8000-000000000009")
    with pytest.raises(BackupPlanError, match="two VMs would share one backup folder") as err:
        plan(vms(twin), include_vms=["web01"])
    assert "99999999-0000-4000-8000-000000000009" in str(err.value)


def test_vms_sharing_a_configuration_folder_copy_only_their_own_files():
    shared = "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\Virtual Machines"
    a = vm("a1", f"{shared}\\AAAA.vmcx", "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\a1.vhdx")
    b = vm("b1", f"{shared}\\BBBB.vmcx")
    p = plan([a, b], destination="E:\\Backups")
    a_steps, b_steps = _steps(p, "a1"), _steps(p, "b1")
    assert [s["files"] for s in b_steps] == [["BBBB.vmcx"]]
    assert ["AAAA.vmcx"] in [s["files"] for s in a_steps]
    assert all(not s["recurse"] for s in p["steps"])
    # a1's files only share the volume root: layout relative to that root
    assert sorted(f["relative_path"] for f in _vm(p, "a1")["files"]) == [
        "ProgramData\\Microsoft\\Windows\\Hyper-V\\Virtual Machines\\AAAA.vmcx",
        "Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\a1.vhdx",
    ]


def test_extra_paths_copy_whole_folders_below_their_own_folder():
    p = plan(include_vms=["web01"], extra_paths=["D:/Scripts/", "C:\\ClusterStorage\\Data\\Tools"])
    extras = [s for s in p["steps"] if s["kind"] == "extra"]
    assert [(s["original_dir"], s["destination_dir"], s["recurse"], s["files"]) for s in extras] == [
        ("D:\\Scripts", f"{GEN}\\_extra_paths\\D\\Scripts", True, None),
        ("C:\\ClusterStorage\\Data\\Tools", f"{GEN}\\_extra_paths\\Volume{GUID_DATA}\\Tools", True, None),
    ]
    assert extras[1]["source_dir"] == f"{JOB_DIR}\\mnt\\VAWVOL2\\Tools"
    assert p["extra_paths"][0] == {
        "path": "D:\\Scripts",
        "alias": "VAWVOL1",
        "destination": f"{GEN}\\_extra_paths\\D\\Scripts",
        "step": extras[0]["id"],
    }


def test_overlapping_extra_paths_are_refused():
    with pytest.raises(BackupPlanError, match="overlap"):
        plan(include_vms=[], extra_paths=["D:\\Data", "d:\\data\\sub"])


def test_nothing_to_back_up_is_an_error():
    with pytest.raises(BackupPlanError, match="nothing to back up"):
        plan(include_vms=[])
    with pytest.raises(BackupPlanError, match="nothing to back up"):
        plan(exclude_vms=["*"])


def test_total_bytes_is_summed_when_every_size_is_known():
    sized = vm("s1", {"path": "D:\\S\\a.vhdx", "size": 10}, {"path": "D:\\S\\b.vhdx", "size": 5})
    assert plan([sized])["total_bytes"] == 15
    assert plan([sized], extra_paths=["D:\\Scripts"])["total_bytes"] is None


def test_same_file_listed_twice_is_copied_once():
    twice = vm("t1", "D:\\T\\t1.vhdx", "d:\\t\\T1.VHDX")
    p = plan([twice])
    assert [f["original_path"] for f in p["vms"][0]["files"]] == ["D:\\T\\t1.vhdx"]


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"backup_type": "incremental"}, "backup_type: expected one of copy, full, got 'incremental'"),
        ({"copy_threads": 0}, "copy_threads: expected a whole number from 1 to 128, got 0"),
        ({"copy_threads": 129}, "copy_threads"),
        ({"retry": -1}, "retry"),
        ({"wait": "30"}, "wait"),
        ({"unbuffered_min_size": -5}, "unbuffered_min_size"),
        ({"destination": "Backups"}, "destination: expected a local path"),
        ({"destination": "\\\\?\\Volume{x}\\b"}, "destination: expected a local path"),
        ({"job_id": "a b"}, "job_id"),
        ({"job_dir": "\\\\srv\\share\\job"}, "job_dir"),
        ({"destination": "E:\\B", "job_dir": "E:\\B\\HV01\\20261125T020000Z\\x"}, "must not contain each other"),
        ({"destination": "C:\\ProgramData\\vaware.hyperv\\jobs"}, "must not contain each other"),
        ({"require_hyperv_writer": "yes"}, "require_hyperv_writer"),
        ({"include_vms": "web01", "exclude_vms": [1]}, "exclude_vms"),
        ({"extra_paths": "D:\\Scripts"}, "extra_paths: expected a list"),
        ({"now": datetime.datetime(2026, 11, 25, 2, 0)}, "timezone-aware"),
    ],
)
def test_bad_options_are_named(options, pattern):
    with pytest.raises(BackupPlanError, match=re.escape(pattern)):
        plan(**options)


def test_plan_is_json_serializable_and_round_trips():
    p = plan(extra_paths=["D:\\Scripts"])
    assert json.loads(json.dumps(p)) == p


def test_generation_ids_sort_by_time_and_are_unique():
    later = NOW + datetime.timedelta(hours=1)
    assert backup_plan.generation_id(NOW) == "20261125T020000Z"
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    assert backup_plan.generation_id(later.astimezone(plus_one)) == "20261125T030000Z"
    assert backup_plan.generation_id(NOW, ["20261125T020000Z"]) == "20261125T020000Z-01"
    assert backup_plan.generation_id(NOW, ["20261125t020000z", "20261125T020000Z-01"]) == "20261125T020000Z-02"
    ids = [
        backup_plan.generation_id(NOW + datetime.timedelta(seconds=s), existing)
        for s, existing in ((0, ()), (0, ("20261125T020000Z",)), (1, ()), (86400 * 40, ()))
    ]
    assert ids == sorted(ids)
    assert plan(existing_generations=["20261125T020000Z"])["generation"] == "20261125T020000Z-01"


def test_parse_generation_id_accepts_only_our_ids():
    assert backup_plan.parse_generation_id("20261125T020000Z-01") == NOW
    for other in ("20261325T020000Z", "latest", "20261125T020000Z-1", "20261125T020000", ""):
        assert backup_plan.parse_generation_id(other) is None


def test_volumes_from_the_volume_facts_module_are_accepted():
    from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import volume_for_path

    assert volume_for_path(VOLUMES, "D:\\Hyper-V")["guid"] == GUID_D
    p = plan(include_vms=["web01"])
    assert p["volumes"][0]["guid"] == GUID_D


_ROOTS = ["D:\\", "E:\\", "C:\\ClusterStorage\\Data\\", "C:\\"]
_SEGMENT = st.sampled_from(["Hyper-V", "VMs", "Virtual Hard Disks", "Snapshots", "web", "WEB", "a b", "x.y"])
_FILE = st.tuples(
    st.sampled_from(_ROOTS),
    st.lists(_SEGMENT, min_size=0, max_size=3),
    st.sampled_from(["a.vhdx", "B.avhdx", "c.vmcx"]),
).map(lambda t: t[0] + "".join(s + "\\" for s in t[1]) + t[2])


@settings(max_examples=100, deadline=None)
@given(layout=st.lists(st.lists(_FILE, min_size=1, max_size=6), min_size=1, max_size=3))
def test_every_planned_file_lands_where_its_step_copies_it(layout):
    inventory = [vm(f"vm{n}", *files) for n, files in enumerate(layout)]
    try:
        p = plan(inventory, destination="\\\\nas01\\backups")
    except BackupPlanError as exc:  # the only refusal possible here: a destination inside a VM folder
        raise AssertionError(f"valid layout refused: {exc}") from exc
    steps = {s["id"]: s for s in p["steps"]}
    for planned in p["vms"]:
        seen = set()
        for f in planned["files"]:
            parent, name = f["original_path"].rsplit("\\", 1)
            covering = [
                steps[i]
                for i in planned["steps"]
                if name in steps[i]["files"] and steps[i]["original_dir"].rstrip("\\").casefold() == parent.casefold()
            ]
            assert len(covering) == 1, f
            step = covering[0]
            assert step["destination_dir"] + "\\" + name == planned["destination"] + "\\" + f["relative_path"]
            assert step["source_dir"] + "\\" + name == f["shadow_path"]
            assert f["shadow_path"].startswith(JOB_DIR + "\\mnt\\VAWVOL")
            assert f["relative_path"].casefold() not in seen
            seen.add(f["relative_path"].casefold())
        # every volume the VM touches is snapshotted
        assert set(planned["aliases"]) <= {v["alias"] for v in p["volumes"]}
    copied = sum(len(s["files"]) for s in p["steps"])
    assert copied == sum(len(v["files"]) for v in p["vms"])
