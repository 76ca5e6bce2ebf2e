"""Action plugin win_vm_file_restore against a scripted Hyper-V host (recorded win_powershell answers).

Covers the mount discipline as the controller sees it: every mount goes through the one mount payload whose text
mounts read-only and dismounts in ``finally``; a failed read, a failed copy and a disk that could not be dismounted
fail the task and say where the disk stands; the sweep of an earlier run's leftover is reported; check mode mounts
only to read and never copies.
"""

from __future__ import annotations

import re

import pytest
import tree_sitter
import tree_sitter_pwsh

from ansible_collections.vaware.hyperv.plugins.action import win_vm_file_restore
from ansible_collections.vaware.hyperv.plugins.action.win_vm_file_restore import ActionModule
from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload
from ansible_collections.vaware.hyperv.tests.support import backup_samples as backup
from ansible_collections.vaware.hyperv.tests.support import file_restore_answers as a
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.fake_clock import FakeClock
from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
    ScriptedHost,
    make_action,
    ps_error,
    unreachable,
)

MOUNT = "win_vm_file_restore_mount"
START = "win_vm_file_restore_start"
STATUS = "win_vm_file_restore_status"
CLEANUP = "win_vm_file_restore_cleanup"
CONFIG = f"{a.TARGET}\\web.config"


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    return FakeClock.install(monkeypatch, win_vm_file_restore)


def run(scenario, check_mode=False, **args):
    args.setdefault("vm", "web01")
    args.setdefault("destination", samples.DESTINATION)
    host = ScriptedHost(scenario)
    action = host.install(make_action(ActionModule, args, check_mode=check_mode))
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def order(host):
    return [c.payload if c.payload != MOUNT else f"{MOUNT}:{c.parameters['Action']}" for c in host.calls]


def before_mounting():
    return {
        "win_vm_restore_generations": [a.generations()],
        "win_vm_restore_verify": [a.verified()],
        "win_vm_file_restore_disks": [a.disks()],
    }


def list_scenario(*listed):
    scenario = before_mounting()
    scenario[MOUNT] = [a.volumes(), *listed]
    return scenario


def copy_scenario(listed, copy=None, targets=None, **job):
    scenario = list_scenario(listed)
    scenario["win_vm_restore_verify"].append(targets or a.targets([CONFIG]))
    if copy is not None:
        scenario.update(a.copy_job(copy, **job))
    return scenario


def copy_call(host):
    (call,) = host.calls_to(START)
    return call.parameters


# ------------------------------------------------------------------------------ read-only mount


def _mount_commands(script):
    tree = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language())).parse(script.encode())
    found = []

    def walk(node):
        if node.type == "command":
            name = node.child_by_field_name("command_name")
            if name is not None and name.text.decode().split("\\")[-1].lower() == "mount-vhd":
                found.append(node)
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def _enclosing_try_finally(node):
    while node is not None:
        if node.type == "try_statement":
            finally_clause = next((c for c in node.children if c.type == "finally_clause"), None)
            if finally_clause is not None:
                return finally_clause.text.decode()
        node = node.parent
    return None


def test_every_mount_the_host_receives_is_read_only_without_drive_letters_and_undone_in_finally():
    host, result = run(list_scenario(a.listed(a.wwwroot())), paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    sent = [c for c in host.calls if c.payload == MOUNT]
    assert len(sent) == 2
    for call in sent:
        commands = _mount_commands(call.script)
        assert len(commands) == 1, "one Mount-VHD, in the mount payload only"
        words = commands[0].text.decode().split()
        assert "-ReadOnly" in words and "-NoDriveLetter" in words, words
        cleanup = _enclosing_try_finally(commands[0])
        assert cleanup is not None and "Dismount-IfAttached" in cleanup
        assert not re.search(
            r"Set-VHD|Set-Disk|Set-Partition|Repair-Volume|Format-Volume|Initialize-Disk", call.script, re.I
        )
        # the sweep of a crashed run's mounts runs before this run mounts anything
        assert call.script.index("$result.swept = Invoke-MountSweep") < call.script.index("Hyper-V\\Mount-VHD -Path")
    # no other payload the module sends mounts anything
    for call in host.calls:
        if call.payload != MOUNT:
            assert not _mount_commands(call.script), call.payload


def test_the_read_only_check_would_notice_a_writable_mount():
    """The test above can fail: a Mount-VHD without -ReadOnly is seen."""
    script = _payload.load_payload(MOUNT).replace("-ReadOnly -NoDriveLetter", "-NoDriveLetter")
    (command,) = _mount_commands(script)
    assert "-ReadOnly" not in command.text.decode().split()
    ours = "    $result.error = $_.Exception.Message\n} finally {"
    assert ours in _payload.load_payload(MOUNT)
    moved = _payload.load_payload(MOUNT).replace(ours, "    $result.error = $_.Exception.Message\n}\nif ($true) {")
    assert _enclosing_try_finally(_mount_commands(moved)[0]) is None


# ------------------------------------------------------------------------------------------ list


def test_list_a_folder_of_the_guests_windows_volume():
    host, result = run(list_scenario(a.listed(a.wwwroot())), paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    assert order(host) == [
        "win_vm_restore_generations",
        "win_vm_restore_verify",
        "win_vm_file_restore_disks",
        f"{MOUNT}:Volumes",
        f"{MOUNT}:List",
    ]
    assert result["changed"] is False
    assert result["generation"] == a.GEN and result["path"] == "\\inetpub\\wwwroot"
    assert result["volume"] == "partition 3 (label 'Windows', C: in the guest)"
    assert [(e["name"], e["type"], e["size"]) for e in result["entries"]] == [
        ("bin", "folder", None),
        ("index.html", "file", 512),
        ("web.config", "file", 2048),
    ]
    assert result["entries"][2] == {
        "name": "web.config",
        "path": "\\inetpub\\wwwroot\\web.config",
        "type": "file",
        "size": 2048,
        "modified": "2026-11-20T10:11:12Z",
    }
    assert [v["readable"] for v in result["volumes"]] == [False, False, True, True]

    verify = host.calls[1].parameters
    assert a.WEB01_VHDX in verify["Paths"] and verify["Hash"] is False  # the disk against the manifest, first
    assert host.calls[2].parameters == {"Paths": [a.WEB01_VHDX]}
    volumes, listing = host.calls[3].parameters, host.calls[4].parameters
    assert volumes["Disks"] == [a.WEB01_VHDX] and re.fullmatch(r"[0-9a-f]{16}", volumes["RunId"])
    assert listing == {
        "Action": "List",
        "Disks": [a.WEB01_VHDX],
        "RunId": volumes["RunId"],
        "PartitionNumber": 3,
        "Items": [{"path": "inetpub\\wwwroot", "children": True}],
    }


def test_check_mode_list_mounts_read_only_and_reads():
    host, result = run(list_scenario(a.listed(a.wwwroot())), check_mode=True, paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and len(result["entries"]) == 3
    assert order(host)[-1] == f"{MOUNT}:List"


def test_a_failed_list_fails_the_task_and_says_the_disk_was_dismounted():
    broken = a.listed(error="Get-Partition : No MSFT_Partition objects found with property 'PartitionNumber' equal 3")
    _host, result = run(list_scenario(broken), paths=["C:\\inetpub"])
    assert result["failed"] is True and result["step"] == "read guest files"
    assert "No MSFT_Partition objects found" in result["msg"]
    assert "the disk was dismounted again" in result["msg"]


def test_a_folder_that_cannot_be_read_is_named():
    denied = a.item("Users\\alice", folder=True, error="Access to the path '...\\Users\\alice' is denied.")
    _host, result = run(list_scenario(a.listed(denied)), paths=["C:\\Users\\alice"])
    assert result["failed"] is True
    assert result["msg"].startswith("\\Users\\alice on partition 3 (label 'Windows', C: in the guest)")
    assert "is denied" in result["msg"]


def test_a_disk_that_could_not_be_dismounted_fails_the_task_and_says_so():
    stuck = a.listed(a.wwwroot(), dismounted=False, dismount_error="The process cannot access the file")
    _host, result = run(list_scenario(stuck), paths=["C:\\inetpub\\wwwroot"])
    assert result["failed"] is True and result["step"] == "read guest files"
    assert f"could NOT be dismounted: {a.WEB01_VHDX} (The process cannot access the file)" in result["msg"]
    assert "the next run of this module dismounts it" in result["msg"]


def test_a_disk_left_mounted_by_a_crashed_run_is_swept_by_the_next_run():
    # first run: the connection drops while the disk is mounted for listing
    first = list_scenario(unreachable())
    _first_host, result = run(first, paths=["C:\\inetpub\\wwwroot"])
    assert result["failed"] is True and result.get("host_unreachable") is True
    # the next run's first mount payload dismounts it before mounting anything
    swept = [{"marker": "0123abcd-0.mount.json", "path": a.WEB01_VHDX, "dismounted": True, "error": None}]
    scenario = before_mounting()
    scenario[MOUNT] = [a.volumes(swept=swept), a.listed(a.wwwroot())]
    _host, result = run(scenario, paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    assert f"dismounted {a.WEB01_VHDX}, left mounted read-only by an earlier file restore" in result["warnings"]


def test_a_leftover_the_sweep_cannot_dismount_is_a_warning():
    swept = [{"marker": "0123abcd-0.mount.json", "path": "X:\\old.vhdx", "dismounted": False, "error": "in use"}]
    scenario = before_mounting()
    scenario[MOUNT] = [a.volumes(swept=swept), a.listed(a.wwwroot())]
    _host, result = run(scenario, paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    assert any("(X:\\old.vhdx) could not be dismounted: in use" in w for w in result["warnings"])


def test_a_mount_payload_that_errors_out_is_a_failed_step():
    scenario = before_mounting()
    scenario[MOUNT] = [ps_error("Mount-VHD : The file is in use", line=160)]
    _host, result = run(scenario)
    assert result["failed"] is True and result["step"] == "read volumes"
    assert "The file is in use" in result["msg"]


# ------------------------------------------------------------------------------------------ copy


def test_copy_a_file_and_a_glob():
    logs = a.item(
        "inetpub\\logs",
        folder=True,
        children=[a.entry("u_ex261119.log"), a.entry("u_ex261120.log"), a.entry("readme.txt")],
    )
    listed = a.listed(a.item("inetpub\\wwwroot\\web.config"), logs)
    outputs = [CONFIG, f"{a.TARGET}\\u_ex261119.log", f"{a.TARGET}\\u_ex261120.log"]
    copy = a.copied(
        ("inetpub\\wwwroot\\web.config", outputs[0], 1),
        ("inetpub\\logs\\u_ex261119.log", outputs[1], 1),
        ("inetpub\\logs\\u_ex261120.log", outputs[2], 1),
    )
    host, result = run(
        copy_scenario(listed, copy, a.targets(outputs)),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config", "C:\\inetpub\\logs\\*.log"],
        target=a.TARGET,
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host)[-6:] == [f"{MOUNT}:List", "win_vm_restore_verify", START, STATUS, STATUS, CLEANUP]
    assert host.calls[4].parameters["Items"] == [
        {"path": "inetpub\\wwwroot\\web.config", "children": False},
        {"path": "inetpub\\logs", "children": True},
    ]
    assert host.calls[5].parameters == {"Paths": outputs, "Hash": False, "Folders": []}
    job = copy_call(host)
    assert job["Disk"] == a.WEB01_VHDX and job["PartitionNumber"] == 3
    assert re.fullmatch(r"[0-9a-f]{16}", job["JobId"]) and job["RunId"] == host.calls[3].parameters["RunId"]
    # the job runs the mount payload exactly as the collection ships it: read-only mount, dismount in finally
    assert job["Mount"] == _payload.load_payload(MOUNT)
    assert job["Runner"] == _payload.load_payload("win_vm_file_restore_runner")
    assert "$mountPayload = Join-Path $JobDir 'mount.ps1'" in job["Runner"]
    assert "& $mountPayload -Action Copy" in job["Runner"]
    assert [c.parameters for c in host.calls_to(STATUS)] == [{"JobId": job["JobId"]}] * 2
    assert host.calls_to(CLEANUP)[0].parameters == {"JobId": job["JobId"]}
    assert result["job_id"] == job["JobId"]
    assert job["Items"] == [
        {"source": "inetpub\\wwwroot\\web.config", "type": "file", "destination": outputs[0]},
        {"source": "inetpub\\logs\\u_ex261119.log", "type": "file", "destination": outputs[1]},
        {"source": "inetpub\\logs\\u_ex261120.log", "type": "file", "destination": outputs[2]},
    ]
    assert result["changed"] is True and result["target"] == a.TARGET
    assert [c["exit_code"] for c in result["copied"]] == [1, 1, 1]
    assert [i["path"] for i in result["items"]] == [
        "\\inetpub\\wwwroot\\web.config",
        "\\inetpub\\logs\\u_ex261119.log",
        "\\inetpub\\logs\\u_ex261120.log",
    ]


def test_a_glob_leaves_out_junctions_with_a_warning():
    root = a.item(
        "",
        folder=True,
        children=[dict(a.entry("Documents and Settings", folder=True), link=True), a.entry("Users", folder=True)],
    )
    copy = a.copied(("Users", f"{a.TARGET}\\Users", 1))
    host, result = run(
        copy_scenario(a.listed(root), copy, a.targets(folders=[f"{a.TARGET}\\Users"])),
        mode="copy",
        paths=["C:\\*s"],
        target=a.TARGET,
    )
    assert not result.get("failed"), result.get("msg")
    assert [i["source"] for i in copy_call(host)["Items"]] == ["Users"]
    assert any(w.startswith("not copied: \\Documents and Settings (junctions") for w in result["warnings"])


def test_check_mode_copy_returns_what_would_be_copied_and_copies_nothing():
    host, result = run(
        copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config"))),
        check_mode=True,
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config"],
        target=a.TARGET,
    )
    assert not result.get("failed"), result.get("msg")
    assert START not in order(host)
    assert result["changed"] is True and result["msg"].startswith("check mode: would copy 1 item(s)")
    assert result["items"][0]["destination"] == CONFIG and result["items"][0]["size"] == 2048
    assert "copied" not in result


def test_a_failed_copy_fails_the_task_after_the_disk_was_dismounted():
    failed = a.copied(
        ("inetpub\\wwwroot\\web.config", CONFIG, 16),
        error="robocopy exit code 16 copying 'inetpub\\wwwroot\\web.config' to 'E:\\Restore\\web01-files\\web.config'",
    )
    _host, result = run(
        copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), failed),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config"],
        target=a.TARGET,
    )
    assert result["failed"] is True and result["step"] == "copy guest files"
    assert "robocopy exit code 16" in result["msg"] and "the disk was dismounted again" in result["msg"]
    assert result["copied"] == [
        {"source": "\\inetpub\\wwwroot\\web.config", "destination": CONFIG, "type": "file", "exit_code": 16}
    ]


def test_a_failed_copy_with_a_disk_left_mounted_says_both():
    failed = a.copied(
        ("inetpub\\wwwroot\\web.config", CONFIG, 8),
        error="robocopy exit code 8",
        dismounted=False,
        dismount_error="Dismount-VHD : access denied",
    )
    _host, result = run(
        copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), failed),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config"],
        target=a.TARGET,
    )
    assert result["failed"] is True
    assert "robocopy exit code 8" in result["msg"] and "could NOT be dismounted" in result["msg"]


def test_an_existing_target_is_not_overwritten_without_force():
    host, result = run(
        copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), targets=a.targets([CONFIG], existing=[CONFIG])),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config"],
        target=a.TARGET,
    )
    assert result["failed"] is True and result["step"] == "check target"
    assert f"{CONFIG} already exist(s) in the target" in result["msg"]
    assert START not in order(host)


def test_force_overwrites_with_a_warning():
    copy = a.copied(("inetpub\\wwwroot\\web.config", CONFIG, 0))
    _host, result = run(
        copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), copy, a.targets([CONFIG], existing=[CONFIG])),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot\\web.config"],
        target=a.TARGET,
        force=True,
    )
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False  # robocopy 0: the file there was the same
    assert any(w.startswith("overwriting what already exists") for w in result["warnings"])


def test_a_folder_is_copied_whole():
    listed = a.listed(a.item("inetpub\\wwwroot", folder=True))
    copy = a.copied(("inetpub\\wwwroot", f"{a.TARGET}\\wwwroot", 1))
    host, result = run(
        copy_scenario(listed, copy, a.targets(folders=[f"{a.TARGET}\\wwwroot"])),
        mode="copy",
        paths=["C:\\inetpub\\wwwroot"],
        target=a.TARGET,
    )
    assert not result.get("failed"), result.get("msg")
    assert host.calls[5].parameters == {"Paths": [], "Hash": False, "Folders": [f"{a.TARGET}\\wwwroot"]}
    assert copy_call(host)["Items"] == [
        {"source": "inetpub\\wwwroot", "type": "folder", "destination": f"{a.TARGET}\\wwwroot"}
    ]


# --------------------------------------------------------------------------- refusals before a mount


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"mode": "copy", "paths": ["C:\\x"]}, "target: mode copy needs a folder"),
        ({"paths": ["C:\\a\\..\\Windows"]}, "contains a '..' component"),
        ({"mode": "copy", "paths": ["C:\\x"], "target": "\\\\nas01\\backups\\x"}, "inside the backup destination"),
    ],
)
def test_bad_options_fail_before_the_host_is_contacted(args, expected):
    host, result = run({}, **args)
    assert result["failed"] is True and result["msg"].startswith("invalid options: ")
    assert expected in result["msg"] and host.calls == []


def test_disks_that_do_not_match_the_manifest_are_not_mounted():
    scenario = {
        "win_vm_restore_generations": [a.generations()],
        "win_vm_restore_verify": [a.verified(change={"web01.vhdx": {"size": 1}})],
    }
    host, result = run(scenario)
    assert result["failed"] is True and result["step"] == "verify backup"
    assert "nothing was mounted" in result["msg"]
    assert MOUNT not in [c.payload for c in host.calls]


def test_an_unknown_disk_is_named_with_the_vms_disks():
    _host, result = run({"win_vm_restore_generations": [a.generations()]}, disk="web01-data.vhdx")
    assert result["failed"] is True and result["step"] == "select"
    assert "no disk 'web01-data.vhdx'; its disks: web01.vhdx" in result["msg"]


def test_an_attached_disk_is_left_alone():
    scenario = before_mounting()
    answer = a.disks()
    answer["result"] = answer["result"].replace('"attached":false', '"attached":true')
    scenario["win_vm_file_restore_disks"] = [answer]
    host, result = run(scenario)
    assert result["failed"] is True and f"{a.WEB01_VHDX} is already attached" in result["msg"]
    assert MOUNT not in [c.payload for c in host.calls]


def chain_backup():
    """web01 backed up with a checkpoint: its base disk and the differencing disk on top of it."""
    vm = dict(
        backup.WEB01,
        vhd_paths=[
            "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
            "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01_6F1B.avhdx",
        ],
    )
    manifest = samples.manifest(samples.at(21), [vm])
    base, top = [path for path, entry in samples.vm_files(manifest, "web01") if entry["kind"] == "vhd"]
    scenario = {
        "win_vm_restore_generations": [a.generations(vm_list=[vm])],
        "win_vm_restore_verify": [a.verified(manifest)],
    }
    return scenario, base, top


def test_a_chain_whose_parent_is_the_live_disk_is_not_mounted():
    scenario, base, top = chain_backup()
    live = "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    scenario["win_vm_file_restore_disks"] = [a.disks(base, (top, live))]
    host, result = run(scenario)
    assert result["failed"] is True and result["step"] == "read disks"
    assert f"the differencing disk {top} has the parent {live}, outside the generation" in result["msg"]
    assert MOUNT not in [c.payload for c in host.calls]


def test_the_top_of_a_chain_inside_the_generation_is_what_gets_mounted():
    scenario, base, top = chain_backup()
    scenario["win_vm_file_restore_disks"] = [a.disks(base, (top, base))]
    scenario[MOUNT] = [a.volumes({top: a.gen2_windows_disk()}), a.listed(a.wwwroot(), disk=top)]
    host, result = run(scenario, paths=["C:\\inetpub\\wwwroot"])
    assert not result.get("failed"), result.get("msg")
    assert top.endswith("web01_6F1B.avhdx")
    assert [c.parameters["Disks"] for c in host.calls if c.payload == MOUNT] == [[top], [top]]
    assert result["disks"] == [{"path": top, "name": "web01_6F1B.avhdx", "chain": [top, base]}]


# ------------------------------------------------------------------------------ guest volumes


def volume_scenario(layout):
    scenario = before_mounting()
    scenario[MOUNT] = [a.volumes(layout)]
    return scenario


def test_a_bitlocker_volume_is_refused_by_name():
    layout = {a.WEB01_VHDX: [a.partition(1, "NTFS", "Secure", bitlocker={"protection_status": 1})]}
    host, result = run(volume_scenario(layout), volume="Secure")
    assert result["failed"] is True and result["step"] == "choose volume"
    assert result["msg"].startswith("cannot read the guest volume partition 1 (label 'Secure') of disk web01.vhdx")
    assert "BitLocker-encrypted" in result["msg"]
    assert order(host)[-1] == f"{MOUNT}:Volumes"  # nothing else was mounted


def test_a_locked_volume_without_a_file_system_is_refused_by_name():
    layout = {a.WEB01_VHDX: [a.partition(2, "", "")]}
    _host, result = run(volume_scenario(layout), volume="2")
    assert result["failed"] is True
    assert "partition 2 of disk web01.vhdx: no file system Windows can read: BitLocker-encrypted" in result["msg"]


def test_a_fat_volume_is_refused_by_name():
    layout = {a.WEB01_VHDX: a.gen2_windows_disk()}
    _host, result = run(volume_scenario(layout), volume="1")
    assert result["failed"] is True
    assert "partition 1 of disk web01.vhdx: file system FAT32: a file restore reads only NTFS and ReFS" in result["msg"]


def test_several_volumes_without_a_selector_are_listed():
    layout = {a.WEB01_VHDX: a.gen2_windows_disk()}
    _host, result = run(volume_scenario(layout))
    assert result["failed"] is True and "several volumes; give volume" in result["msg"]
    assert "partition 3 (label 'Windows', C: in the guest)" in result["msg"]
    assert len(result["volumes"]) == 4


# ------------------------------------------------------------------------------ the detached copy job


def one_file_copy(**job):
    copy = a.copied(("inetpub\\wwwroot\\web.config", CONFIG, 1))
    return copy_scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), copy, **job)


def run_copy(scenario, **args):
    return run(scenario, mode="copy", paths=["C:\\inetpub\\wwwroot\\web.config"], target=a.TARGET, **args)


def test_the_job_is_polled_every_poll_interval(fake_time):
    _host, result = run_copy(one_file_copy(polls=3), poll_interval=7)
    assert not result.get("failed"), result.get("msg")
    assert fake_time.sleeps == [7, 7, 7]  # the first poll right after the start, then every poll_interval
    assert result["changed"] is True and result["copied"][0]["exit_code"] == 1


def test_a_dropped_connection_while_polling_is_retried_and_the_copy_goes_on():
    scenario = one_file_copy()
    scenario[STATUS].insert(1, unreachable())
    _host, result = run_copy(scenario)
    assert not result.get("failed"), result.get("msg")
    assert any(
        w.startswith("status poll failed, retrying (the copy job goes on on the host)") for w in result["warnings"]
    )
    assert result["copied"][0]["destination"] == CONFIG


def test_a_runner_that_died_fails_the_task_and_the_clean_up_dismounts_its_disk():
    scenario = one_file_copy()
    scenario[STATUS] = [a.job_status(), a.job_status("running", alive=False, task_state="Ready", last_result=1)]
    swept = {"marker": "r-0.mount.json", "path": a.WEB01_VHDX, "dismounted": True, "error": None}
    scenario[CLEANUP] = [a.cleaned(swept)]
    _host, result = run_copy(scenario)
    assert result["failed"] is True and result["step"] == "copy guest files"
    assert "stopped before it finished (its runner is gone, task result 1)" in result["msg"]
    assert f"the clean-up dismounted the disk it had left mounted ({a.WEB01_VHDX})" in result["msg"]


def test_a_runner_that_never_started_is_noticed():
    scenario = one_file_copy()
    scenario[STATUS] = [a.job_status(None, alive=False, task_state="Ready", last_result=2147942402)] * 3
    _host, result = run_copy(scenario)
    assert result["failed"] is True and "task result 2147942402" in result["msg"]
    assert "no disk was left mounted" in result["msg"]


def test_a_dead_runner_whose_disk_cannot_be_dismounted_says_so():
    scenario = one_file_copy()
    scenario[STATUS] = [a.job_status("running", alive=False, task_state="Ready")]
    stuck = {"marker": "r-0.mount.json", "path": a.WEB01_VHDX, "dismounted": False, "error": "in use"}
    scenario[CLEANUP] = [a.cleaned(stuck)]
    _host, result = run_copy(scenario)
    assert result["failed"] is True
    assert f"a disk it had mounted could NOT be dismounted: {a.WEB01_VHDX} (in use)" in result["msg"]


def test_a_job_whose_runner_failed_before_copying_names_the_reason():
    scenario = one_file_copy()
    scenario[STATUS] = [a.job_status("failed", alive=False, task_state="Ready", error="job.json: access denied")]
    _host, result = run_copy(scenario)
    assert result["failed"] is True
    assert (
        "the copy job" in result["msg"] and "failed: job.json: access denied; no disk was left mounted" in result["msg"]
    )


def test_a_clean_up_that_fails_is_a_warning():
    scenario = one_file_copy()
    scenario[CLEANUP] = [ps_error("Unregister-ScheduledTask : Access is denied")]
    _host, result = run_copy(scenario)
    assert not result.get("failed"), result.get("msg")
    assert any("could not be cleaned up" in w and "Access is denied" in w for w in result["warnings"])


def test_a_job_running_past_copy_timeout_fails_and_is_still_cleaned_up(fake_time):
    scenario = one_file_copy()
    scenario[STATUS] = [a.job_status() for _poll in range(13)]  # at 0, 5, ... 60 s
    scenario[CLEANUP] = [ps_error("the copy job's task file-restore-x is still running")]
    host, result = run_copy(scenario, poll_interval=5, copy_timeout=60)
    assert result["failed"] is True and result["step"] == "poll copy"
    assert "did not finish within copy_timeout (60 s)" in result["msg"]
    assert len(host.calls_to(STATUS)) == 13 and len(host.calls_to(CLEANUP)) == 1
    assert fake_time.now - 1000.0 == 60
    assert any("could not be cleaned up" in w for w in result["warnings"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"poll_interval": 0}, "poll_interval: expected a whole number of seconds from 1 to 600, got 0"),
        ({"copy_timeout": 10}, "copy_timeout: expected a whole number of seconds from 60 to 604800"),
    ],
)
def test_bad_job_timing_is_refused_before_the_host_is_contacted(args, expected):
    host, result = run({}, **args)
    assert result["failed"] is True and expected in result["msg"] and host.calls == []
