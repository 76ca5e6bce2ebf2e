"""normalize_volumes / volume_for_path against ConvertTo-Json output of the volume facts payload."""

from __future__ import annotations

import json
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import (
    VolumeNotFoundError,
    normalize_volumes,
    place_vm_files,
    volume_for_path,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "win_volume_guid_facts"

C_GUID = "{3f2a6b1c-0d4e-4b8a-9c7d-1e2f3a4b5c6d}"
RESERVED_GUID = "{a1b2c3d4-5e6f-4a1b-8c2d-3e4f5a6b7c8d}"
D_GUID = "{b7e1c0de-2222-4b22-9222-222222222222}"
FAST_GUID = "{c0ffee00-3333-4c33-a333-333333333333}"
E_GUID = "{d00dfeed-4444-4d44-b444-444444444444}"
F_GUID = "{e1e1e1e1-5555-4e55-8555-555555555555}"
INTL_GUID = "{f2f2f2f2-6666-4f66-9666-666666666666}"
G_GUID = "{0a0a0a0a-7777-4a77-a777-777777777777}"
H_GUID = "{0b0b0b0b-8888-4b88-b888-888888888888}"


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def host():
    raw = load("hyperv_host.json")
    return normalize_volumes(raw["volumes"], raw["mount_points"], raw["virtual_systems"])


def by_guid(volumes):
    return {v["guid"]: v for v in volumes}


def test_every_volume_kept_and_ordered_by_letter_then_mount_point(host):
    assert [v["guid"] for v in host] == [
        C_GUID,
        D_GUID,
        E_GUID,
        F_GUID,
        G_GUID,
        H_GUID,
        FAST_GUID,  # no letter, mounted in C:\ClusterStorage
        RESERVED_GUID,  # no mount point at all, then by guid
        INTL_GUID,
    ]


def test_boot_volume_fields(host):
    c = by_guid(host)[C_GUID]
    assert c == {
        "guid": C_GUID,
        "path": "\\\\?\\Volume" + C_GUID + "\\",
        "drive_letter": "C:",
        "mount_points": ["C:\\"],
        "label": "OS",
        "file_system": "NTFS",
        "capacity_bytes": 126696288256,
        "free_bytes": 61203890176,
        "used_percent": 51.7,
        "block_size": 4096,
        "drive_type": "fixed",
        "serial_number": "AA99-C38A",
        "system": False,
        "boot": True,
        "page_file": True,
        "usable": True,
        "vms": [
            {
                "name": "SQL-Prod",
                "id": "9b2e3d4c-2222-4222-8222-bbbbbbbbbbbb",
                "files": [
                    {
                        "kind": "configuration",
                        "path": "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\Virtual Machines\\"
                        "9B2E3D4C-2222-4222-8222-BBBBBBBBBBBB.vmcx",
                    },
                    {"kind": "checkpoints", "path": "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"},
                    {"kind": "smart_paging", "path": "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"},
                    {"kind": "saved_state", "path": "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"},
                ],
            }
        ],
    }


def test_system_reserved_volume_without_letter(host):
    v = by_guid(host)[RESERVED_GUID]
    assert v["drive_letter"] is None
    assert v["mount_points"] == []
    assert v["path"] == "\\\\?\\Volume{a1b2c3d4-5e6f-4a1b-8c2d-3e4f5a6b7c8d}\\"
    assert v["system"] is True and v["boot"] is False
    assert v["label"] == "System Reserved"
    assert v["serial_number"] == "54C9-2602"


def test_numbers_as_strings_and_upper_case_guid(host):
    d = by_guid(host)[D_GUID]
    assert d["capacity_bytes"] == 2198886842368
    assert d["free_bytes"] == 879554736947
    assert d["block_size"] == 65536
    assert d["used_percent"] == 60.0
    assert d["drive_type"] == "fixed"
    assert d["serial_number"] == "DEAD-BEEF"
    assert d["file_system"] == "ReFS"
    assert d["path"] == "\\\\?\\Volume{b7e1c0de-2222-4b22-9222-222222222222}\\"


def test_folder_mount_point_with_space_and_no_letter(host):
    fast = by_guid(host)[FAST_GUID]
    assert fast["drive_letter"] is None
    assert fast["mount_points"] == ["C:\\ClusterStorage\\Fast VMs\\"]


def test_volume_mounted_in_two_places(host):
    e = by_guid(host)[E_GUID]
    assert e["drive_letter"] == "E:"
    assert e["mount_points"] == ["E:\\", "D:\\Mounts\\Backup\\"]
    assert e["serial_number"] == "FFFF-FFFF"


def test_mounted_vhdx_volume(host):
    f = by_guid(host)[F_GUID]
    assert f["mount_points"] == ["F:\\"]
    assert f["label"] == "Mounted VHDX"
    assert f["serial_number"] == "0102-0304"
    assert f["vms"] == []


def test_non_ascii_label_and_signed_serial(host):
    v = by_guid(host)[INTL_GUID]
    assert v["label"] == "Données ünd 日本"
    assert v["serial_number"] == "FFFF-FFFF"  # -1 as a signed int32 is 0xFFFFFFFF


@pytest.mark.parametrize(("guid", "drive_type"), [(G_GUID, "removable"), (H_GUID, "cdrom")])
def test_volumes_without_media_are_kept_and_marked(host, guid, drive_type):
    v = by_guid(host)[guid]
    assert v["usable"] is False
    assert v["drive_type"] == drive_type
    assert v["file_system"] is None
    assert v["capacity_bytes"] is None and v["free_bytes"] is None and v["used_percent"] is None
    assert v["serial_number"] is None and v["label"] is None
    assert v["system"] is False and v["boot"] is False and v["page_file"] is False


def test_vm_files_placed_on_the_volumes_holding_them(host):
    vols = by_guid(host)
    web_id = "5c0a7e3b-1111-4111-8111-aaaaaaaaaaaa"

    (web_on_d,) = vols[D_GUID]["vms"]
    assert web_on_d["name"] == "Web 01" and web_on_d["id"] == web_id
    assert {f["kind"] for f in web_on_d["files"]} == {"configuration", "checkpoints", "smart_paging", "saved_state"}
    assert {
        "kind": "configuration",
        "path": "D:\\Hyper-V\\Web 01\\Virtual Machines\\5C0A7E3B-1111-4111-8111-AAAAAAAAAAAA.vmcx",
    } in web_on_d["files"]

    (web_on_fast,) = vols[FAST_GUID]["vms"]
    # the running differencing disk and the parent referenced by the checkpoint
    assert web_on_fast["files"] == [
        {
            "kind": "virtual_disk",
            "path": "C:\\ClusterStorage\\Fast VMs\\Web 01\\os_8A1F2C3D-0000-4000-8000-000000000001.avhdx",
        },
        {"kind": "virtual_disk", "path": "C:\\ClusterStorage\\Fast VMs\\Web 01\\os.vhdx"},
    ]
    assert vols[INTL_GUID]["vms"][0]["files"] == [
        {"kind": "virtual_disk", "path": "\\\\?\\Volume{f2f2f2f2-6666-4f66-9666-666666666666}\\Web 01\\data.vhdx"}
    ]
    # E: holds the ISO of Web 01 (E:\ mount) and a disk of SQL-Prod (its D:\Mounts\Backup mount)
    assert [(vm["name"], [f["kind"] for f in vm["files"]]) for vm in vols[E_GUID]["vms"]] == [
        ("SQL-Prod", ["virtual_disk"]),
        ("Web 01", ["iso"]),
    ]
    assert vols[RESERVED_GUID]["vms"] == []


def test_files_off_the_host_are_reported_unplaced():
    raw = load("hyperv_host.json")
    volumes = normalize_volumes(raw["volumes"], raw["mount_points"])
    assert all("vms" not in v for v in volumes)
    unplaced = place_vm_files(volumes, raw["virtual_systems"])
    assert unplaced == [
        {
            "vm": "SQL-Prod",
            "id": "9b2e3d4c-2222-4222-8222-bbbbbbbbbbbb",
            "kind": "virtual_disk",
            "path": "\\\\fs01\\vmstore\\sql-log.vhdx",
        }
    ]


def test_host_without_hyperv_gets_empty_vm_lists():
    raw = load("single_volume.json")
    (only,) = normalize_volumes(raw["volumes"], raw["mount_points"], raw["virtual_systems"])
    assert only["vms"] == []


def test_single_unwrapped_volume_with_string_values():
    raw = load("single_volume.json")
    (only,) = normalize_volumes(raw["volumes"], raw["mount_points"])
    assert only["guid"] == "{6d6d6d6d-9999-4d99-9999-999999999999}"
    assert only["label"] is None  # empty label
    assert only["capacity_bytes"] == 64422408192
    assert only["used_percent"] == 68.3
    assert only["system"] is True and only["boot"] is True and only["page_file"] is True
    assert only["serial_number"] == "4996-02D2"
    assert only["mount_points"] == ["C:\\"]


def test_ps51_value_count_wrapper_and_wmi_reference_strings():
    raw = load("ps51_wrapped.json")
    volumes = normalize_volumes(raw["volumes"], raw["mount_points"])
    assert [v["mount_points"] for v in volumes] == [
        ["C:\\"],
        ["C:\\Archive\\Old Data\\", "C:\\VMs\\Data Disk\\"],
    ]


def test_empty_input_gives_no_volumes():
    assert normalize_volumes(None, None) == []
    assert normalize_volumes([], []) == []


@pytest.mark.parametrize(
    ("volume", "needle"),
    [
        ({"DeviceID": "C:\\", "Name": "C:\\"}, "DeviceID"),
        ({"DeviceID": "\\\\?\\Volume{11111111-1111-4111-8111-111111111111}\\", "Capacity": "lots"}, "'lots'"),
    ],
)
def test_malformed_volume_is_a_clear_error(volume, needle):
    with pytest.raises(ValueError, match=needle):
        normalize_volumes([volume], [])


# ---- volume_for_path ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "guid"),
    [
        ("C:\\Windows\\System32", C_GUID),
        ("c:/windows", C_GUID),
        ("C:", C_GUID),
        ("C:\\", C_GUID),
        ("C:\\ClusterStorage\\Fast VMs\\Web 01\\os.vhdx", FAST_GUID),
        ("c:/clusterstorage/FAST VMS/web 01", FAST_GUID),
        ("C:\\ClusterStorage\\Fast VMs", FAST_GUID),
        ("C:\\ClusterStorage\\Fast VMs Old\\x", C_GUID),  # a sibling with a longer name is not under the mount
        ("C:\\ClusterStorage\\Fast VMs\\..\\Other", C_GUID),
        ("D:\\Mounts\\Backup\\sql\\a.vhdx", E_GUID),
        ("D:\\Mounts\\Backupx", D_GUID),
        ("d:\\mounts", D_GUID),
        ("E:\\isos", E_GUID),
        ("\\\\?\\Volume{F2F2F2F2-6666-4F66-9666-666666666666}\\Web 01\\data.vhdx", INTL_GUID),
        ("//?/Volume{a1b2c3d4-5e6f-4a1b-8c2d-3e4f5a6b7c8d}/", RESERVED_GUID),
        ("\\\\?\\Volume{a1b2c3d4-5e6f-4a1b-8c2d-3e4f5a6b7c8d}", RESERVED_GUID),
        ("\\\\?\\D:\\Hyper-V", D_GUID),
        ("D:\\\\Hyper-V\\\\Web 01", D_GUID),
        ("D:\\\\Mounts\\Backup\\x", E_GUID),  # a doubled separator is not a UNC prefix
        ("D://Mounts//Backup", E_GUID),
    ],
)
def test_volume_for_path(host, path, guid):
    assert volume_for_path(host, path)["guid"] == guid


def test_volume_for_path_accepts_the_facts_mapping(host):
    assert volume_for_path({"win_volumes": host}, "F:\\x")["guid"] == F_GUID


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("Z:\\nothing", "no volume holds 'Z:\\\\nothing'"),
        ("\\\\fs01\\share\\x.vhdx", "not a local Windows path"),
        ("relative\\dir", "not a local Windows path"),
        ("", "expected a Windows path"),
        (None, "expected a Windows path"),
        ("\\\\?\\Volume{99999999-9999-4999-8999-999999999999}\\", "no volume with GUID"),
    ],
)
def test_volume_for_path_failures_are_clear(host, path, needle):
    with pytest.raises(VolumeNotFoundError) as info:
        volume_for_path(host, path)
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_volume_for_path_lists_known_mount_points(host):
    with pytest.raises(VolumeNotFoundError) as info:
        volume_for_path(host, "Q:\\")
    assert "C:\\ClusterStorage\\Fast VMs\\, D:\\" in str(info.value)


def test_volume_for_path_rejects_non_facts():
    with pytest.raises(VolumeNotFoundError, match="win_volumes facts"):
        volume_for_path("C:\\", "C:\\")


# ---- properties ----------------------------------------------------------------------------------------

_SEGMENT = st.text(alphabet="abcXYZ019 _-.é日", min_size=1, max_size=8).filter(lambda s: s.strip(". ") == s)
_MOUNTS = {
    C_GUID: "C:\\",
    FAST_GUID: "C:\\ClusterStorage\\Fast VMs\\",
    D_GUID: "D:\\",
    E_GUID: "D:\\Mounts\\Backup\\",
}


def _respell(path, data):
    """Same path with random letter case, random slash kind and doubled separators."""
    out = []
    for char in path:
        if char == "\\":
            out.append(data.draw(st.sampled_from(["\\", "/", "\\\\", "//"])))
        elif char.isalpha():
            out.append(char.upper() if data.draw(st.booleans()) else char.lower())
        else:
            out.append(char)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(guid=st.sampled_from(sorted(_MOUNTS)), tail=st.lists(_SEGMENT, max_size=4), data=st.data())
def test_any_spelling_of_a_path_under_a_mount_point_finds_its_volume(host, guid, tail, data):
    path = _MOUNTS[guid] + "\\".join(tail)
    assert volume_for_path(host, _respell(path, data))["guid"] == guid


@settings(max_examples=100, deadline=None)
@given(guid=st.sampled_from(sorted(_MOUNTS)), tail=st.lists(_SEGMENT, max_size=3))
def test_guid_path_and_mount_path_agree(host, guid, tail):
    by_guid_path = volume_for_path(host, "\\\\?\\Volume" + guid.upper() + "\\" + "\\".join(tail))
    assert by_guid_path["guid"] == guid


_JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**45), st.text(max_size=12), st.sampled_from(["", "12", "True"])
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "Name",
                "DriveLetter",
                "Label",
                "FileSystem",
                "Capacity",
                "FreeSpace",
                "BlockSize",
                "DriveType",
                "SerialNumber",
                "SystemVolume",
                "BootVolume",
                "PageFilePresent",
            ]
        ),
        _JSON_SCALAR,
    ),
    mount=st.one_of(st.none(), st.text(max_size=10), st.fixed_dictionaries({"Name": _JSON_SCALAR})),
)
def test_odd_values_never_crash_the_shaping(fields, mount):
    raw = dict(fields, DeviceID="\\\\?\\Volume{11111111-1111-4111-8111-111111111111}\\")
    points = [{"Directory": mount, "Volume": raw["DeviceID"]}]
    try:
        (volume,) = normalize_volumes([raw], points)
    except ValueError as err:  # a clear error naming the field is fine; anything else is a crash
        assert any(name in str(err) for name in fields)
        return
    assert volume["guid"] == "{11111111-1111-4111-8111-111111111111}"
    assert volume["usable"] is (bool(volume["file_system"]) and bool(volume["capacity_bytes"]))
    assert all(isinstance(p, str) and p.endswith("\\") for p in volume["mount_points"])
