"""Unit tests of the file-level restore logic: options, guest paths, globs, disks and chains, guest volumes, results."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore import files
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import RestoreError

GEN_PATH = "\\\\nas01\\backups\\HV01\\20261121T020000Z"
VM_PATH = GEN_PATH + "\\web01"


def options(**args):
    args.setdefault("vm", "web01")
    args.setdefault("destination", "\\\\nas01\\backups")
    return files.validate_file_options(args)


# ------------------------------------------------------------------------------------ options


def test_list_defaults_to_the_volume_root_and_the_latest_generation():
    opts = options()
    assert opts["mode"] == "list" and opts["generation"] == "latest" and opts["before"] is None
    assert opts["paths"] == [{"text": "\\", "letter": None, "parts": [], "glob": False}]
    assert opts["volume"] is None and opts["target"] is None


def test_a_path_with_a_guest_drive_letter_selects_that_volume():
    opts = options(paths=["C:\\inetpub\\wwwroot\\web.config"])
    assert opts["volume"] == {"letter": "C", "text": "C:"}
    assert opts["paths"][0]["parts"] == ["inetpub", "wwwroot", "web.config"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"mode": "restore"}, "mode: expected one of list, copy, got 'restore'"),
        ({"vm": "we/b"}, "vm: 'we/b' cannot be a folder name"),
        ({"generation": "yesterday"}, "generation: expected 'latest' or a generation id"),
        ({"generation": "20261121T020000Z", "before": "2026-11-22"}, "were both given"),
        ({"before": "soon"}, "before: expected a timestamp"),
        ({"destination": "backups"}, "destination: expected an absolute local path"),
        ({"mode": "copy", "paths": ["\\a"]}, "target: mode copy needs a folder on the host"),
        ({"mode": "copy", "paths": ["\\a"], "target": "relative"}, "target: expected an absolute local path"),
        (
            {"mode": "copy", "paths": ["\\a"], "target": "\\\\nas01\\backups\\HV01\\restore"},
            "is inside the backup destination",
        ),
        ({"mode": "copy"}, "paths: give at least one file"),
        ({"paths": "C:\\x"}, "paths: expected a list of paths inside the guest, got 'C:\\x'"),
        ({"paths": ["\\a", "\\b"]}, "mode list shows one folder"),
        ({"paths": ["\\logs\\*.log"]}, "mode list shows one folder"),
        ({"mode": "copy", "target": "E:\\R", "paths": ["C:\\a", "D:\\b"]}, "drive letters C:, D:"),
        ({"paths": ["C:\\a"], "volume": "D:"}, "name different volumes"),
        ({"paths": ["C:\\a"], "volume": "Data"}, "were both given"),
        ({"disk": "a|b.vhdx"}, "disk: expected the file name"),
        ({"verify": "crc"}, "verify: expected one of size, hash, got 'crc'"),
        ({"volume": "partition 0"}, "partition numbers start at 1"),
    ],
)
def test_bad_options_are_named(args, expected):
    with pytest.raises(ValueError) as err:  # RestoreError, or the backup checks' BackupPlanError
        options(**args)
    assert expected in str(err.value)


# -------------------------------------------------------------------------------- guest paths


@pytest.mark.parametrize(
    ("value", "letter", "parts", "glob"),
    [
        ("C:\\inetpub\\wwwroot\\web.config", "C", ["inetpub", "wwwroot", "web.config"], False),
        ("c:\\", "C", [], False),
        ("\\inetpub\\", None, ["inetpub"], False),
        ("inetpub/logs/*.log", None, ["inetpub", "logs", "*.log"], True),
        ("D:\\data\\report-??.xlsx", "D", ["data", "report-??.xlsx"], True),
        ("\\Program Files\\App [x]\\a.txt", None, ["Program Files", "App [x]", "a.txt"], False),
    ],
)
def test_guest_paths(value, letter, parts, glob):
    assert files.parse_guest_path(value) == {"text": value, "letter": letter, "parts": parts, "glob": glob}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\\\\server\\share\\x", "is a UNC or device path"),
        ("C:relative", "a drive letter must be followed by"),
        ("\\a\\..\\b", "contains a '..' component"),
        ("\\a\\*\\b", "wildcards (* ?) are allowed only in the last part"),
        ("\\a\\b|c", "contains '|'"),
        ("\\a\\b\nc", "contains '\\u000a'"),
        ("", "expected a path inside the guest"),
        (7, "expected a path inside the guest"),
    ],
)
def test_bad_guest_paths_are_named(value, expected):
    with pytest.raises(RestoreError) as err:
        files.parse_guest_path(value)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("*.log", "u_ex261120.log", True),
        ("*.log", "U_EX261120.LOG", True),
        ("*.log", "u_ex261120.log.gz", False),
        ("report-??.xlsx", "report-07.xlsx", True),
        ("report-??.xlsx", "report-7.xlsx", False),
        ("[a].txt", "[a].txt", True),  # brackets are plain characters in Windows names
        ("[a].txt", "a.txt", False),
        ("*", "anything", True),
        ("a.b", "axb", False),  # the dot is a dot
    ],
)
def test_glob_match(pattern, name, matches):
    assert files.glob_match(pattern, name) is matches


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C:", {"letter": "C"}),
        ("c", {"letter": "C"}),
        ("D:\\", {"letter": "D"}),
        ("2", {"partition": 2}),
        (3, {"partition": 3}),
        ("Partition 4", {"partition": 4}),
        ("Data", {"label": "Data"}),
        ("label:2", {"label": "2"}),
        ("LABEL: C", {"label": "C"}),
        ("System Reserved", {"label": "System Reserved"}),
    ],
)
def test_volume_selectors(value, expected):
    selector = files.parse_volume_selector(value)
    selector.pop("text")
    assert selector == expected


# ------------------------------------------------------------------------------ disks / chains


def disk(rel, kind="vhd"):
    return {"relative_path": rel, "path": VM_PATH + "\\" + rel, "kind": kind, "size": 1}


BASE = disk("Virtual Hard Disks\\web01.vhdx")
TOP = disk("Virtual Hard Disks\\web01_6F1B.avhdx")
DATA = disk("Virtual Hard Disks\\web01-data.vhdx")
CONFIG = disk("Virtual Machines\\x.vmcx", "config")


def info(item, parent="", attached=False, exists=True):
    return {"path": item["path"], "exists": exists, "parent_path": parent, "attached": attached, "vhd_type": "Dynamic"}


def test_select_disks_by_name_or_relative_path():
    everything = [CONFIG, BASE, DATA]
    assert files.select_disks(everything, None) == [BASE, DATA]
    assert files.select_disks(everything, "WEB01-DATA.vhdx") == [DATA]
    assert files.select_disks(everything, "Virtual Hard Disks/web01.vhdx") == [BASE]
    with pytest.raises(RestoreError) as err:
        files.select_disks(everything, "sql01.vhdx")
    assert "no disk 'sql01.vhdx'; its disks: web01.vhdx, web01-data.vhdx" in str(err.value)


def test_the_top_of_a_chain_inside_the_generation_is_mounted():
    disks = [BASE, TOP, DATA]
    infos = [info(BASE), info(TOP, parent=BASE["path"]), info(DATA)]
    tops = files.chain_tops(infos, [BASE], GEN_PATH, disks)
    assert tops == [{"path": TOP["path"], "name": "web01_6F1B.avhdx", "chain": [TOP["path"], BASE["path"]]}]
    assert [t["path"] for t in files.chain_tops(infos, disks, GEN_PATH, disks)] == [TOP["path"], DATA["path"]]


def test_a_chain_reaching_the_live_vm_is_refused():
    live = "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    with pytest.raises(RestoreError) as err:
        files.chain_tops([info(TOP, parent=live)], [TOP], GEN_PATH, [TOP])
    message = str(err.value)
    assert TOP["path"] in message and live in message and "outside the generation" in message


def test_an_attached_or_unreadable_disk_is_refused():
    with pytest.raises(RestoreError) as err:
        files.chain_tops([info(BASE, attached=True)], [BASE], GEN_PATH, [BASE])
    assert f"{BASE['path']} is already attached" in str(err.value)
    with pytest.raises(RestoreError) as err:
        files.chain_tops([info(BASE, exists=False)], [BASE], GEN_PATH, [BASE])
    assert "could not be read on the host" in str(err.value)


# -------------------------------------------------------------------------------------- volumes


def partition(number, fs="NTFS", label="", windows=False, **extra):
    part = {
        "partition_number": number,
        "type": "Basic",
        "gpt_type": "{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}",
        "size": 10 * 2**30,
        "volume_path": f"\\\\?\\Volume{{0000000{number}-0000-0000-0000-000000000000}}\\",
        "file_system": fs,
        "label": label,
        "windows": windows,
        "bitlocker": None,
    }
    part.update(extra)
    return part


def volumes_answer(*disks):
    return {"disks": [{"path": path, "offline": False, "partitions": parts} for path, parts in disks]}


def web01_volumes():
    return files.describe_volumes(
        volumes_answer(
            (
                BASE["path"],
                [
                    partition(1, "FAT32", "", type="System"),
                    partition(2, "", "", type="Reserved", gpt_type="{e3c9e316-0b5c-4db8-817d-f92df00215ae}"),
                    partition(3, "NTFS", "Windows", windows=True),
                    partition(4, "NTFS", "Recovery"),
                ],
            ),
            (
                DATA["path"],
                [partition(1, "ReFS", "Data"), partition(2, "", "Locked", bitlocker={"protection_status": 1})],
            ),
        )
    )


def test_volumes_are_named_by_partition_label_and_guest_letter():
    volumes = web01_volumes()
    names = [v["name"] for v in volumes]
    assert names == [
        "web01.vhdx partition 1",
        "web01.vhdx partition 2",
        "web01.vhdx partition 3 (label 'Windows', C: in the guest)",
        "web01.vhdx partition 4 (label 'Recovery')",
        "web01-data.vhdx partition 1 (label 'Data')",
        "web01-data.vhdx partition 2 (label 'Locked')",
    ]
    reasons = [v["reason"] for v in volumes]
    assert reasons[0] == "file system FAT32: a file restore reads only NTFS and ReFS volumes"
    assert reasons[1] == "a Microsoft reserved partition, which holds no files"
    assert reasons[2] is None and reasons[3] is None and reasons[4] is None
    assert reasons[5].startswith("BitLocker-encrypted")


def test_one_disk_names_volumes_without_the_disk():
    volumes = files.describe_volumes(volumes_answer((BASE["path"], [partition(2, label="OS", windows=True)])))
    assert volumes[0]["name"] == "partition 2 (label 'OS', C: in the guest)"


def test_a_volume_without_a_readable_file_system_says_why():
    volumes = files.describe_volumes(volumes_answer((BASE["path"], [partition(1, fs="Unknown")])))
    assert "no file system Windows can read: BitLocker-encrypted (locked)" in volumes[0]["reason"]
    offline = files.describe_volumes(
        {
            "disks": [
                {
                    "path": BASE["path"],
                    "offline": True,
                    "offline_reason": "SignatureCollision",
                    "partitions": [partition(1)],
                }
            ]
        }
    )
    assert offline[0]["reason"] == "the disk is offline on the host (SignatureCollision)"


@pytest.mark.parametrize(
    ("selector", "partition_name"),
    [
        ({"letter": "C", "text": "C:"}, "web01.vhdx partition 3 (label 'Windows', C: in the guest)"),
        ({"label": "data", "text": "data"}, "web01-data.vhdx partition 1 (label 'Data')"),
    ],
)
def test_choose_volume(selector, partition_name):
    assert files.choose_volume(web01_volumes(), selector)["name"] == partition_name


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, "several volumes; give volume"),
        ({"label": "Locked", "text": "Locked"}, "cannot read the guest volume web01-data.vhdx partition 2 (label"),
        ({"label": "Locked", "text": "Locked"}, "BitLocker-encrypted"),
        ({"partition": 1, "text": "1"}, "the VM has several disks, set disk"),
        ({"letter": "E", "text": "E:"}, "the letter in the guest is known only for its Windows volume"),
        ({"label": "Backups", "text": "Backups"}, "no volume with label 'Backups'"),
    ],
)
def test_choose_volume_refusals_name_the_volume(selector, expected):
    with pytest.raises(RestoreError) as err:
        files.choose_volume(web01_volumes(), selector)
    assert expected in str(err.value)
    assert "web01.vhdx partition 1 [not readable: file system FAT32" in str(err.value) or "Locked" in str(err.value)


def test_choose_volume_alone_and_by_partition_on_one_disk():
    volumes = files.describe_volumes(
        volumes_answer((DATA["path"], [partition(1, "FAT32"), partition(2, "NTFS", "Data")]))
    )
    assert files.choose_volume(volumes, None)["partition"] == 2
    assert files.choose_volume(volumes, {"partition": 2, "text": "2"})["label"] == "Data"
    with pytest.raises(RestoreError) as err:
        files.choose_volume(volumes, {"partition": 1, "text": "1"})
    assert "cannot read the guest volume partition 1 of disk web01-data.vhdx: file system FAT32" in str(err.value)


def test_two_volumes_of_one_label_need_the_disk():
    volumes = files.describe_volumes(
        volumes_answer((BASE["path"], [partition(1, label="Data")]), (DATA["path"], [partition(1, label="Data")]))
    )
    with pytest.raises(RestoreError) as err:
        files.choose_volume(volumes, {"label": "Data", "text": "Data"})
    assert "several volumes have label 'Data'" in str(err.value)


# ------------------------------------------------------------------------------------ list / copy


def entry(name, folder=False, size=10, modified="2026-11-20T10:11:12Z"):
    return {"name": name, "folder": folder, "size": None if folder else size, "modified": modified}


def test_list_requests():
    paths = [files.parse_guest_path(p) for p in ("\\inetpub\\web.config", "\\logs\\*.log", "\\")]
    assert files.list_requests("copy", paths) == [
        {"path": "inetpub\\web.config", "children": False},
        {"path": "logs", "children": True},
        {"path": "", "children": False},
    ]
    assert files.list_requests("list", paths[:1]) == [{"path": "inetpub\\web.config", "children": True}]


def test_list_entries_folders_first():
    answer = {
        "items": [
            dict(entry("wwwroot", True), exists=True, children=[entry("b.txt"), entry("A", True), entry("a.txt")])
        ]
    }
    path = files.parse_guest_path("\\inetpub\\wwwroot")
    result = files.list_entries(answer, path, "partition 2")
    assert [(e["name"], e["type"], e["path"]) for e in result] == [
        ("A", "folder", "\\inetpub\\wwwroot\\A"),
        ("a.txt", "file", "\\inetpub\\wwwroot\\a.txt"),
        ("b.txt", "file", "\\inetpub\\wwwroot\\b.txt"),
    ]
    assert result[1]["size"] == 10 and result[1]["modified"] == "2026-11-20T10:11:12Z" and result[0]["size"] is None


def test_list_of_a_missing_or_unreadable_folder_names_it():
    path = files.parse_guest_path("\\Users\\alice")
    with pytest.raises(RestoreError) as err:
        files.list_entries({"items": [{"exists": False}]}, path, "partition 2")
    assert str(err.value) == "\\Users\\alice does not exist on partition 2"
    with pytest.raises(RestoreError) as err:
        files.list_entries({"items": [{"exists": True, "error": "Access to the path is denied."}]}, path, "p2")
    assert "\\Users\\alice on p2 could not be read: Access to the path is denied." in str(err.value)


def test_resolve_copy_expands_globs_and_keeps_literal_paths():
    paths = [files.parse_guest_path(p) for p in ("C:\\inetpub\\wwwroot\\web.config", "\\logs\\*.LOG", "\\site")]
    answer = {
        "items": [
            dict(entry("web.config", size=2048), exists=True),
            dict(entry("logs", True), exists=True, children=[entry("a.log"), entry("b.txt"), entry("c.log", size=5)]),
            dict(entry("site", True), exists=True),
        ]
    }
    items, links = files.resolve_copy(answer, paths, "E:\\Restore\\web01", "p2")
    assert links == []
    assert [(i["source"], i["type"], i["size"], i["destination"]) for i in items] == [
        ("inetpub\\wwwroot\\web.config", "file", 2048, "E:\\Restore\\web01\\web.config"),
        ("logs\\a.log", "file", 10, "E:\\Restore\\web01\\a.log"),
        ("logs\\c.log", "file", 5, "E:\\Restore\\web01\\c.log"),
        ("site", "folder", None, "E:\\Restore\\web01\\site"),
    ]


@pytest.mark.parametrize(
    ("path", "item", "expected"),
    [
        ("\\a.txt", {"exists": False}, "paths: '\\a.txt': \\a.txt does not exist on p2"),
        ("\\logs\\*.log", {"exists": True, "folder": True, "children": [entry("x.txt")]}, "matches nothing in \\logs"),
        ("\\logs\\*.log", {"exists": False}, "the folder \\logs does not exist on p2"),
        ("\\", {"exists": True, "folder": True}, "is the root of the volume"),
        ("\\secret", {"exists": True, "error": "Access denied"}, "\\secret on p2 could not be read: Access denied"),
    ],
)
def test_resolve_copy_refusals(path, item, expected):
    with pytest.raises(RestoreError) as err:
        files.resolve_copy({"items": [item]}, [files.parse_guest_path(path)], "E:\\R", "p2")
    assert expected in str(err.value)


def test_two_sources_of_one_name_are_refused():
    paths = [files.parse_guest_path(p) for p in ("\\a\\web.config", "\\b\\web.config")]
    answer = {"items": [dict(entry("web.config"), exists=True), dict(entry("web.config"), exists=True)]}
    with pytest.raises(RestoreError) as err:
        files.resolve_copy(answer, paths, "E:\\R", "p2")
    assert "\\b\\web.config and another source are both named 'web.config'" in str(err.value)


def test_the_same_file_named_twice_is_copied_once():
    paths = [files.parse_guest_path(p) for p in ("\\a\\web.config", "\\a\\*.config")]
    answer = {
        "items": [
            dict(entry("web.config"), exists=True),
            dict(entry("a", True), exists=True, children=[entry("web.config")]),
        ]
    }
    assert len(files.resolve_copy(answer, paths, "E:\\R", "p2")[0]) == 1


def test_existing_targets_and_copy_outcome():
    items = [
        {"source": "a\\x.txt", "path": "\\a\\x.txt", "type": "file", "destination": "E:\\R\\x.txt"},
        {"source": "site", "path": "\\site", "type": "folder", "destination": "E:\\R\\site"},
    ]
    listing = {
        "files": [{"path": "E:\\R\\x.txt", "exists": True}],
        "folders": [{"path": "E:\\R\\site", "exists": False}],
    }
    assert files.existing_targets(items, listing) == ["E:\\R\\x.txt"]
    copied, changed = files.copy_outcome({"copied": [{"source": "a\\x.txt", "code": 0}]}, items)
    assert copied == [{"source": "\\a\\x.txt", "destination": "E:\\R\\x.txt", "type": "file", "exit_code": 0}]
    assert changed is False  # robocopy 0: the same file was already there
    assert files.copy_outcome({"copied": [{"source": "A\\X.TXT", "code": 1}]}, items)[1] is True


def test_dismount_problem_and_sweep_warnings():
    assert files.dismount_problem({"mounts": [{"path": "X.vhdx", "dismounted": True}]}) is None
    message = files.dismount_problem({"mounts": [{"path": "X.vhdx", "dismounted": False, "error": "in use"}]})
    assert "could NOT be dismounted: X.vhdx (in use)" in message and "next run of this module dismounts it" in message
    assert files.sweep_warnings(
        {"swept": [{"path": "Y.vhdx", "dismounted": True}, {"marker": "m", "dismounted": False, "error": "denied"}]}
    ) == [
        "dismounted Y.vhdx, left mounted read-only by an earlier file restore",
        "a disk left mounted by an earlier file restore (m) could not be dismounted: denied",
    ]


def test_junctions_are_listed_as_links_and_never_copied():
    answer = {
        "items": [
            dict(
                entry("C:", True),
                exists=True,
                children=[
                    dict(entry("Documents and Settings", True), link=True),
                    dict(entry("Users", True)),
                ],
            )
        ]
    }
    listed = files.list_entries(answer, files.parse_guest_path("\\"), "p2")
    assert [(e["name"], e["type"]) for e in listed] == [("Documents and Settings", "link"), ("Users", "folder")]
    items, links = files.resolve_copy(answer, [files.parse_guest_path("\\*s")], "E:\\R", "p2")
    assert [i["source"] for i in items] == ["Users"] and links == ["\\Documents and Settings"]
    with pytest.raises(RestoreError) as err:
        files.resolve_copy(answer, [files.parse_guest_path("\\Doc*")], "E:\\R", "p2")
    assert "match only junctions or folder links (\\Documents and Settings)" in str(err.value)
