"""``ansible-playbook vaware.hyperv.restore_files`` for real, against a scripted host.

The Windows side is the scripted host (``scripted_windows_host/``, a TEST-ONLY STAND-IN for
ansible.windows.win_powershell) answering with the recorded outputs of the win_vm_file_restore action tests;
ansible-playbook, the playbook, the role's ``files`` entry point, the action plugin and the payload runner are real.
The command lines are those the playbook's header and the restore runbook show.
"""

from __future__ import annotations

import json

from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection
from ansible_collections.vaware.hyperv.tests.functional.playbooks.test_restore_playbooks import run_playbook
from ansible_collections.vaware.hyperv.tests.support import file_restore_answers as a
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples

MOUNT = "win_vm_file_restore_mount"
HOST_VARS = {"hv01": {"hyperv_backup_destination": samples.DESTINATION, "hyperv_restore_path": "E:\\Restore"}}


def scenario(*mount_answers, targets=None, copy=None):
    found = {
        "win_vm_restore_generations": [a.generations()],
        "win_vm_restore_verify": [a.verified()],
        "win_vm_file_restore_disks": [a.disks()],
        MOUNT: [a.volumes(), *mount_answers],
    }
    if targets is not None:
        found["win_vm_restore_verify"].append(targets)
    if copy is not None:
        found.update(a.copy_job(copy))
    return found


def last_task(output):
    return output["plays"][-1]["tasks"][-1]["hosts"]["hv01"]


def module_result(output):
    for task in output["plays"][-1]["tasks"]:
        result = task["hosts"].get("hv01", {})
        if task["task"]["name"].endswith("List or copy the files from the backup"):
            return result
    raise AssertionError("the module task did not run")


def test_one_run_copies_a_file_out_of_last_nights_backup(tmp_path):
    target = "E:\\Restore\\web01-files"
    copy = a.copied(("inetpub\\wwwroot\\web.config", f"{target}\\web.config", 1))
    setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")), copy=copy,
                          targets=a.targets([f"{target}\\web.config"])), "hv02": {}},
        "vaware.hyperv.restore_files",
        "-l", "hv01", "-e", "vm=web01", "-e", json.dumps({"path": "C:\\inetpub\\wwwroot\\web.config"}),
        host_vars=HOST_VARS,
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(output["plays"][-1]["tasks"][-2:])[-3000:]
    result = module_result(output)
    assert result["changed"] is True and result["generation"] == a.GEN
    assert result["copied"] == [
        {"source": "\\inetpub\\wwwroot\\web.config", "destination": f"{target}\\web.config", "type": "file",
         "exit_code": 1}
    ]  # fmt: skip
    calls = scripted_collection.calls(setup["hosts_dir"], "hv01")
    job = ["win_vm_file_restore_start", "win_vm_file_restore_status", "win_vm_file_restore_status"]
    assert [c["payload"] for c in calls][-5:] == ["win_vm_restore_verify", *job, "win_vm_file_restore_cleanup"]
    copy_call = [c for c in calls if c["payload"] == "win_vm_file_restore_start"][-1]["parameters"]
    assert copy_call["Disk"] == a.WEB01_VHDX and copy_call["Items"] == [
        {"source": "inetpub\\wwwroot\\web.config", "type": "file", "destination": f"{target}\\web.config"}
    ]
    assert f"\\inetpub\\wwwroot\\web.config -> {target}\\web.config" in last_task(output)["msg"]


def test_list_mode_prints_the_folder(tmp_path):
    setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": scenario(a.listed(a.wwwroot()))},
        "vaware.hyperv.restore_files",
        "-l", "hv01", "-e", "vm=web01", "-e", "mode=list", "-e", json.dumps({"path": "C:\\inetpub\\wwwroot"}),
        host_vars=HOST_VARS,
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(output["plays"][-1]["tasks"][-2:])[-3000:]
    assert [e["name"] for e in module_result(output)["entries"]] == ["bin", "index.html", "web.config"]
    shown = last_task(output)["msg"]
    assert "web.config  2048  2026-11-20T10:11:12Z" in shown
    assert [c["parameters"]["Action"] for c in scripted_collection.calls(setup["hosts_dir"], "hv01")
            if c["payload"] == MOUNT] == ["Volumes", "List"]  # fmt: skip


def test_check_mode_copies_nothing(tmp_path):
    setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": scenario(a.listed(a.item("inetpub\\wwwroot\\web.config")),
                          targets=a.targets(["E:\\Restore\\web01-files\\web.config"]))},
        "vaware.hyperv.restore_files",
        "--check", "-l", "hv01", "-e", "vm=web01", "-e", json.dumps({"path": "C:\\inetpub\\wwwroot\\web.config"}),
        host_vars=HOST_VARS,
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(output["plays"][-1]["tasks"][-2:])[-3000:]
    assert module_result(output)["items"][0]["destination"] == "E:\\Restore\\web01-files\\web.config"
    actions = [c["parameters"]["Action"] for c in scripted_collection.calls(setup["hosts_dir"], "hv01")
               if c["payload"] == MOUNT]  # fmt: skip
    assert "Copy" not in actions
    payloads = [c["payload"] for c in scripted_collection.calls(setup["hosts_dir"], "hv01")]
    assert "win_vm_file_restore_start" not in payloads


def test_a_copy_without_a_target_folder_fails_before_the_host_is_asked(tmp_path):
    setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": {}},
        "vaware.hyperv.restore_files",
        "-l", "hv01", "-e", "vm=web01", "-e", json.dumps({"path": "C:\\inetpub\\wwwroot\\web.config"}),
        host_vars={"hv01": {"hyperv_backup_destination": samples.DESTINATION}},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "hyperv_restore_path or hyperv_restore_files_target" in json.dumps(output)
    assert scripted_collection.calls(setup["hosts_dir"], "hv01") == []
