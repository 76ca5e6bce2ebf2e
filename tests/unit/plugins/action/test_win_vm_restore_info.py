"""Action plugin win_vm_restore_info against a scripted Hyper-V host (recorded win_powershell answers)."""

from __future__ import annotations

from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore_info import ActionModule
from ansible_collections.vaware.hyperv.tests.support import backup_samples as backup
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.restore_answers import (
    GEN,
    OLD,
    generations,
    live_vm,
)
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedHost, make_action


def run(scenario, check_mode=False, **args):
    args.setdefault("destination", samples.DESTINATION)
    host = ScriptedHost(scenario)
    action = host.install(make_action(ActionModule, args, check_mode=check_mode))
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def test_lists_the_vms_with_a_complete_backup_not_the_registered_ones():
    copy = backup.vm(f"web01-restored-{OLD}", "D:\\Hyper-V\\copy\\Virtual Hard Disks\\copy.vhdx")
    older = samples.manifest(samples.at(20), [backup.WEB01, backup.SQL01])
    newer = samples.manifest(samples.at(21), [backup.WEB01, copy], failed_vm=None)
    broken = samples.manifest(samples.at(22), [backup.WEB01, backup.SQL01], failed_vm="sql01")
    folders = [samples.folder(m) for m in (older, newer, broken)]
    folders.append({"name": "20261123T020000Z", "manifest": None, "error": None})
    registered = [live_vm(), live_vm("neverbacked", "3b3b3b3b-0000-4000-8000-00000000003b")]
    host, result = run({"win_vm_restore_generations": [generations(folders, vms=registered)]}, check_mode=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["vms"] == [
        {"name": "sql01", "latest_generation": OLD, "generations": [OLD]},
        {"name": "web01", "latest_generation": GEN, "generations": [GEN, OLD]},
    ]
    assert [g["id"] for g in result["generations"] if not g["complete"]] == ["20261123T020000Z", "20261122T020000Z"]
    assert [v["name"] for v in result["registered_vms"]] == ["web01", "neverbacked"]
    assert host.calls[0].parameters == {"Destination": samples.DESTINATION, "BackupHost": ""}
    assert "2 VM(s) can be restored from 2 complete generation(s) of 4" in result["msg"]


def test_an_unreadable_destination_fails_naming_it():
    _host, result = run({"win_vm_restore_generations": [generations(destination_exists=False)]})
    assert result["failed"] is True and result["step"] == "read generations"
    assert f"the backup destination {samples.DESTINATION} cannot be read from the host" in result["msg"]


def test_a_missing_host_folder_names_the_folders_found():
    _host, result = run({"win_vm_restore_generations": [generations(host_path_exists=False)]}, backup_host="HV09")
    assert result["failed"] is True and "host folders found: HV01, HV02" in result["msg"]


def test_bad_options_fail_before_the_host_is_contacted():
    host, result = run({}, destination="relative\\path")
    assert result["failed"] is True and "destination" in result["msg"] and "relative" in result["msg"]
    assert host.calls == []
