"""Action plugin win_vm_restore against a scripted Hyper-V host (recorded win_powershell answers)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.vaware.hyperv.plugins.action import win_vm_restore
from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore import ActionModule
from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import marker
from ansible_collections.vaware.hyperv.tests.support import backup_samples as backup
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.fake_clock import FakeClock
from ansible_collections.vaware.hyperv.tests.support.restore_answers import (
    GEN,
    NEW_ID,
    OLD,
    RESTORE,
    VHDX,
    WEB01_ID,
    boot,
    generations,
    imported,
    live_vm,
    manifests,
    removed,
    verified,
)
from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
    ScriptedHost,
    make_action,
    ok,
    ps_error,
    unreachable,
)

READ_ONLY = {"win_vm_restore_generations", "win_vm_restore_verify"}
CHANGING = {
    "win_vm_restore_import",
    "win_vm_restore_replace",
    "win_vm_restore_remove",
    "win_vm_restore_boot",
    "win_vm_restore_files",
}


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    return FakeClock.install(monkeypatch, win_vm_restore)


def run(scenario, check_mode=False, **args):
    args.setdefault("vm", "web01")
    args.setdefault("destination", samples.DESTINATION)
    args.setdefault("restore_path", RESTORE)
    host = ScriptedHost(scenario)
    action = host.install(make_action(ActionModule, args, check_mode=check_mode))
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def order(host):
    return [c.payload for c in host.calls]


# ------------------------------------------------------------------------------------------- copy


def test_copy_restore_imports_a_verified_copy_side_by_side():
    name = f"web01-restored-{GEN}"
    folder = f"{RESTORE}\\{name}"
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(name, folder)],
        }
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host) == ["win_vm_restore_generations", "win_vm_restore_verify", "win_vm_restore_import"]
    assert result["changed"] is True
    assert result["generation"] == GEN and result["selected_by"] == "latest"
    assert result["name"] == name and result["path"] == folder and result["vm_id"] == NEW_ID
    assert result["backup_vm_id"] == WEB01_ID
    assert result["verification"]["backup"]["ok"] is True and result["verification"]["restored"]["ok"] is True
    assert result["bytes"] == VHDX and isinstance(result["seconds"], float)

    read = host.calls[0].parameters
    assert read == {"Destination": samples.DESTINATION, "BackupHost": ""}
    paths = host.calls[1].parameters["Paths"]
    assert f"{samples.HOST_PATH}\\{GEN}\\web01\\Virtual Hard Disks\\web01.vhdx" in paths
    assert host.calls[1].parameters["Folders"] == [folder]

    params = host.calls[2].parameters
    assert params["ConfigPath"] == (
        f"{samples.HOST_PATH}\\{GEN}\\web01\\Virtual Machines\\5F3C0C4E-1B2A-4C3D-9E8F-0A1B2C3D4E5F.vmcx"
    )
    assert params["VmFolder"] == folder and params["Name"] == name
    assert params["ConnectNetwork"] is False
    # the disk the configuration records is swapped for the copy in the generation, never the live one
    assert params["Disks"] == [
        {
            "original": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
            "backup": f"{samples.HOST_PATH}\\{GEN}\\web01\\Virtual Hard Disks\\web01.vhdx",
        }
    ]
    assert params["Marker"] == marker("HV01", GEN, "web01")


def test_copy_restore_with_name_and_network():
    folder = f"{RESTORE}\\web01-old"
    host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified(folder=folder)],
            "win_vm_restore_import": [imported("web01-old", folder)],
        },
        name="web01-old",
        connect_network=True,
    )
    assert not result.get("failed"), result.get("msg")
    assert host.calls[2].parameters["Name"] == "web01-old" and host.calls[2].parameters["ConnectNetwork"] is True


def test_copy_restore_already_done_is_not_changed():
    name = f"web01-restored-{GEN}"
    notes = "restored for the audit\r\n" + marker("HV01", GEN, "web01")
    host, result = run({"win_vm_restore_generations": [generations(vms=[live_vm(name, NEW_ID, "Off", notes)])]})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["vm_id"] == NEW_ID
    assert order(host) == ["win_vm_restore_generations"]


def test_copy_restore_onto_a_foreign_vm_of_the_same_name_is_refused():
    name = f"web01-restored-{GEN}"
    host, result = run({"win_vm_restore_generations": [generations(vms=[live_vm(name, NEW_ID, notes="mine")])]})
    assert result["failed"] is True and result["changed"] is False
    assert "already exists" in result["msg"] and "nothing was changed" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


def test_copy_restore_into_a_non_empty_folder_is_refused():
    host, result = run(
        {"win_vm_restore_generations": [generations()], "win_vm_restore_verify": [verified(folder_entries=4)]}
    )
    assert result["failed"] is True and "is not empty" in result["msg"]
    assert not CHANGING & set(order(host))


def test_copy_restore_whose_imported_disk_is_not_the_copy_is_removed_again():
    name = f"web01-restored-{GEN}"
    folder = f"{RESTORE}\\{name}"
    live = "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(name, folder, disk=live)],
            "win_vm_restore_remove": [removed()],
        }
    )
    assert result["failed"] is True and result["step"] == "verify restored"
    assert "not a restored copy" in result["msg"] and "removed again" in result["msg"]
    assert host.calls_to("win_vm_restore_remove")[0].parameters == {"VmId": NEW_ID, "VmFolder": folder}


def test_copy_restore_with_hash_checks_the_backup_and_the_restored_disk():
    manifest = samples.manifest(samples.at(21), hashes=True)
    name = f"web01-restored-{GEN}"
    folder = f"{RESTORE}\\{name}"
    disk = f"{folder}\\Virtual Hard Disks\\web01.vhdx"
    vhd_sha = next(f["sha256"] for f in manifest["vms"][0]["files"] if f["kind"] == "vhd")
    host, result = run(
        {
            "win_vm_restore_generations": [generations([samples.folder(manifest)])],
            "win_vm_restore_verify": [
                verified(manifest, hashes=True),
                ok({"files": [{"path": disk, "exists": True, "size": VHDX, "sha256": vhd_sha}], "folders": []}),
            ],
            "win_vm_restore_import": [imported(name, folder)],
        },
        verify="hash",
    )
    assert not result.get("failed"), result.get("msg")
    assert host.calls[1].parameters["Hash"] is True
    assert host.calls_to("win_vm_restore_verify")[1].parameters == {"Paths": [disk], "Hash": True, "Folders": []}
    assert result["verification"]["backup"]["method"] == "hash"
    assert result["verification"]["restored"]["method"] == "hash"


# ------------------------------------------------------------------------------- generation choice


def test_generation_by_id():
    name = f"web01-restored-{OLD}"
    host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified(samples.manifest(samples.at(20)))],
            "win_vm_restore_import": [imported(name, f"{RESTORE}\\{name}")],
        },
        generation=OLD,
    )
    assert not result.get("failed"), result.get("msg")
    assert result["generation"] == OLD and result["selected_by"] == "id"
    assert f"\\{OLD}\\web01\\" in host.calls[2].parameters["ConfigPath"]


def test_generation_before_a_timestamp():
    name = f"web01-restored-{OLD}"
    _host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified(samples.manifest(samples.at(20)))],
            "win_vm_restore_import": [imported(name, f"{RESTORE}\\{name}")],
        },
        before="2026-11-21T01:00:00+00:00",
    )
    assert not result.get("failed"), result.get("msg")
    assert result["generation"] == OLD and result["selected_by"] == "before"


def test_latest_skips_an_incomplete_newer_generation():
    folders = [samples.folder(m) for m in manifests()]
    folders.append(samples.folder(samples.manifest(samples.at(22), failed_vm="web01")))
    folders.append({"name": "20261123T020000Z", "manifest": None, "error": None})
    name = f"web01-restored-{GEN}"
    _host, result = run(
        {
            "win_vm_restore_generations": [generations(folders)],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(name, f"{RESTORE}\\{name}")],
        }
    )
    assert not result.get("failed"), result.get("msg")
    assert result["generation"] == GEN


def test_no_complete_generation_fails_after_reading_only():
    folders = [
        samples.folder(samples.manifest(samples.at(22), failed_vm="web01")),
        {"name": "20261123T020000Z", "manifest": None, "error": None},
    ]
    host, result = run({"win_vm_restore_generations": [generations(folders)]})
    assert result["failed"] is True and result["changed"] is False
    assert "no complete generation holds a complete backup of VM 'web01'" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


def test_unknown_generation_lists_what_exists():
    _host, result = run({"win_vm_restore_generations": [generations()]}, generation="20261101T020000Z")
    assert result["failed"] is True and f"generations found: {GEN} (complete), {OLD} (complete)" in result["msg"]


def test_missing_host_folder_names_the_hosts_found():
    _host, result = run(
        {"win_vm_restore_generations": [generations(host_path_exists=False, generations=[])]}, backup_host="HV09"
    )
    assert result["failed"] is True
    assert "host folders found: HV01, HV02" in result["msg"] and "backup_host" in result["msg"]


def test_unreachable_destination_is_a_clear_failure():
    _host, result = run({"win_vm_restore_generations": [generations(destination_exists=False, host_path_exists=False)]})
    assert result["failed"] is True and "cannot be read from the host" in result["msg"]
    # a share read through WinRM is a Kerberos double hop: the message says how to get past it
    assert "second hop" in result["msg"] and "CredSSP" in result["msg"] and "become (runas)" in result["msg"]
    _host, result = run(
        {"win_vm_restore_generations": [generations(destination_exists=False, host_path_exists=False)]},
        destination="F:\\Backups",
    )
    assert "cannot be read from the host" in result["msg"] and "second hop" not in result["msg"]


# ------------------------------------------------------------------------------ manifest mismatch


@pytest.mark.parametrize("mode", ["copy", "replace", "test", "files"])
def test_files_that_do_not_match_the_manifest_are_refused_before_anything_changes(mode):
    extra = {"force": True} if mode == "replace" else {}
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified(change={"web01.vhdx": {"size": 1024}})],
        },
        mode=mode,
        **extra,
    )
    assert result["failed"] is True and result["changed"] is False
    assert result["step"] == "verify backup"
    assert "does not match its manifest, nothing was changed" in result["msg"] and "1024 bytes" in result["msg"]
    assert set(order(host)) <= READ_ONLY


# ---------------------------------------------------------------------------------------- replace


def test_replace_removes_the_original_only_after_the_copy_is_verified():
    temp = f"web01-restored-{GEN}"
    folder = f"{RESTORE}\\{temp}"
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(temp, folder)],
            "win_vm_restore_replace": [
                ok(
                    {
                        "original_found": True,
                        "original_state": "Running",
                        "original_files": ["D:\\Hyper-V\\web01", "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"],
                        "stopped": True,
                        "removed": True,
                        "renamed": True,
                        "step": None,
                        "error": None,
                    },
                    changed=True,
                )
            ],
        },
        mode="replace",
        force=True,
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host) == [
        "win_vm_restore_generations",
        "win_vm_restore_verify",
        "win_vm_restore_import",
        "win_vm_restore_replace",
    ]
    assert host.calls[2].parameters["ConnectNetwork"] is True  # a replacement keeps its network by default
    assert host.calls[3].parameters == {"OriginalId": WEB01_ID, "RestoredId": NEW_ID, "Name": "web01"}
    assert result["name"] == "web01" and result["vm_id"] == NEW_ID
    assert result["original"]["removed"] is True and result["original"]["state"] == "Running"
    assert any("files were kept" in w for w in result["warnings"])


def test_replace_failing_at_import_leaves_the_original_registered():
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [ps_error("Hyper-V cannot import: 13000: switch 'LAN' not found", line=44)],
        },
        mode="replace",
        force=True,
    )
    assert result["failed"] is True and result["step"] == "import"
    assert "switch 'LAN' not found" in result["msg"]
    assert "win_vm_restore_replace" not in order(host) and "win_vm_restore_remove" not in order(host)


def test_replace_with_an_unverified_copy_never_touches_the_original():
    temp = f"web01-restored-{GEN}"
    folder = f"{RESTORE}\\{temp}"
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(temp, folder, size=1024)],
            "win_vm_restore_remove": [removed()],
        },
        mode="replace",
        force=True,
    )
    assert result["failed"] is True and result["step"] == "verify restored"
    assert "The original VM was not touched" in result["msg"]
    assert "win_vm_restore_replace" not in order(host)
    # only the restored copy is removed, never the original
    assert host.calls_to("win_vm_restore_remove")[0].parameters == {"VmId": NEW_ID, "VmFolder": folder}


def test_replace_failing_half_way_reports_the_original_still_registered():
    temp = f"web01-restored-{GEN}"
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(temp, f"{RESTORE}\\{temp}")],
            "win_vm_restore_replace": [
                ok(
                    {
                        "original_found": True,
                        "original_state": "Running",
                        "original_files": [],
                        "stopped": False,
                        "removed": False,
                        "renamed": False,
                        "step": "stop",
                        "error": "The operation failed because the guest did not shut down",
                    }
                )
            ],
        },
        mode="replace",
        force=True,
    )
    assert result["failed"] is True and result["step"] == "replace"
    assert "failed at step stop" in result["msg"] and "the original VM is still registered" in result["msg"]
    assert result["original"]["removed"] is False
    assert NEW_ID in result["msg"]
    assert "win_vm_restore_remove" not in order(host)  # the verified copy is kept for the admin


def replace_answer(**fields):
    answer = {
        "original_found": True,
        "original_state": "Running",
        "original_files": [],
        "stopped": True,
        "removed": False,
        "restarted": False,
        "restart_error": None,
        "state_now": None,
        "renamed": False,
        "step": "remove",
        "error": "The operation cannot be performed while the object is in use",
    }
    answer.update(fields)
    return ok(answer, changed=True)


def run_replace(answer):
    temp = f"web01-restored-{GEN}"
    return run(
        {
            "win_vm_restore_generations": [generations(vms=[live_vm()])],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_import": [imported(temp, f"{RESTORE}\\{temp}")],
            "win_vm_restore_replace": [answer],
        },
        mode="replace",
        force=True,
    )


def test_replace_whose_remove_fails_after_the_stop_says_the_original_was_started_again():
    host, result = run_replace(replace_answer(restarted=True, state_now="Running"))
    assert result["failed"] is True and result["step"] == "replace"
    assert "failed at step remove" in result["msg"]
    assert f"the original VM web01 (id {WEB01_ID}) is still registered" in result["msg"]
    assert "started again as it was Running before (state now Running)" in result["msg"]
    assert NEW_ID in result["msg"]
    assert result["original"]["stopped"] is True and result["original"]["removed"] is False
    assert result["original"]["restarted"] is True and result["original"]["state_now"] == "Running"
    assert "win_vm_restore_remove" not in order(host)


def test_replace_whose_restart_fails_says_the_original_is_off():
    _host, result = run_replace(replace_answer(restart_error="Not enough memory", state_now="Off"))
    assert "starting it again FAILED (Not enough memory); it is Off, it was Running: start it by hand" in result["msg"]
    assert "still registered" in result["msg"] and result["original"]["restarted"] is False


def test_replace_of_an_original_that_was_off_does_not_start_it():
    _host, result = run_replace(replace_answer(original_state="Off", state_now="Off"))
    assert "it was stopped (it was Off) and is now Off" in result["msg"]


def test_the_replace_payload_restarts_only_a_running_original_it_stopped_and_could_not_remove():
    text = _payload.load_payload("win_vm_restore_replace")
    catch = text[text.index("} catch {") :]
    assert "if ($result.stopped -and -not $result.removed)" in catch
    assert "if ($result.original_state -eq 'Running')" in catch and "Hyper-V\\Start-VM -VM $vm" in catch
    assert "$result.state_now" in catch


def test_replace_refuses_a_different_vm_with_the_same_name():
    other = "11111111-0000-4000-8000-000000000000"
    host, result = run(
        {"win_vm_restore_generations": [generations(vms=[live_vm(vm_id=other)])]}, mode="replace", force=True
    )
    assert result["failed"] is True and "it is a different VM" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


@pytest.mark.parametrize("state", ["Saved", "Paused", "SavedCritical"])
def test_replace_refuses_a_saved_or_paused_original_before_any_change(state):
    host, result = run(
        {"win_vm_restore_generations": [generations(vms=[live_vm(state=state)])]}, mode="replace", force=True
    )
    assert result["failed"] is True and f"is {state}" in result["msg"] and "nothing was changed" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


def test_replace_already_done_is_not_changed():
    live = live_vm(vm_id=NEW_ID, notes=marker("HV01", GEN, "web01"))
    host, result = run({"win_vm_restore_generations": [generations(vms=[live])]}, mode="replace", force=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and order(host) == ["win_vm_restore_generations"]


def test_replace_without_force_contacts_no_host():
    host, result = run({}, mode="replace")
    assert result["failed"] is True and "force: true" in result["msg"]
    assert host.calls == []


# ------------------------------------------------------------------------------------------- test

TEST_COPY = f"web01-restoretest-{GEN}"
TEST_FOLDER = f"{RESTORE}\\{TEST_COPY}"


def copy_test_scenario(boot_answers, remove_answers=None, vms=None):
    """A test-mode restore of web01 up to its boot polls: generations, verify, import, then the given answers."""
    return {
        "win_vm_restore_generations": [generations(vms=vms) if vms is not None else generations()],
        "win_vm_restore_verify": [verified(folder=TEST_FOLDER)],
        "win_vm_restore_import": [imported(TEST_COPY, TEST_FOLDER)],
        "win_vm_restore_boot": boot_answers,
        "win_vm_restore_remove": remove_answers if remove_answers is not None else [removed()],
    }


def test_mode_test_boots_waits_for_heartbeat_and_deletes_the_copy(fake_time):
    host, result = run(
        copy_test_scenario([boot(), boot(), boot(heartbeat="OkApplicationsHealthy")], vms=[live_vm()]),
        mode="test",
        poll_interval=5,
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host)[-5:] == [
        "win_vm_restore_import",
        "win_vm_restore_boot",
        "win_vm_restore_boot",
        "win_vm_restore_boot",
        "win_vm_restore_remove",
    ]
    assert host.calls[2].parameters["ConnectNetwork"] is False
    assert [c.parameters["Action"] for c in host.calls_to("win_vm_restore_boot")] == ["Start", "Status", "Status"]
    assert host.calls_to("win_vm_restore_remove")[0].parameters == {"VmId": NEW_ID, "VmFolder": TEST_FOLDER}
    assert result["test"]["outcome"] == "passed" and result["test"]["seconds_to_heartbeat"] == 10.0
    assert result["test"]["heartbeat"] == "OkApplicationsHealthy" and result["test"]["removed"] is True
    assert result["changed"] is False  # nothing is left behind
    proof = result["proven_restore"]
    assert proof["passed"] is True and proof["vm"] == "web01" and proof["generation"] == GEN
    assert proof["host"] == "hv01" and proof["backup_host"] == "HV01"  # inventory name, and the backup's folder
    assert fake_time.sleeps == [5, 5]


def test_mode_test_without_heartbeat_is_a_failed_test_that_still_deletes_the_copy(fake_time):
    polls = 60 // 10
    host, result = run(
        copy_test_scenario([boot()] * (polls + 1)),
        mode="test",
        boot_timeout=60,
        poll_interval=10,
    )
    assert result["failed"] is True
    assert result["test"]["outcome"] == "failed" and result["test"]["removed"] is True
    assert "no heartbeat OK within 60 s (last: NoContact)" in result["msg"]
    assert "the test copy was removed" in result["msg"]
    assert result["proven_restore"]["passed"] is False
    assert order(host)[-1] == "win_vm_restore_remove"
    assert sum(fake_time.sleeps) == 60


def test_mode_test_copy_removed_even_when_the_start_fails():
    host, result = run(
        copy_test_scenario([ps_error("Not enough memory in the system to start the virtual machine")]),
        mode="test",
    )
    assert result["failed"] is True and "Not enough memory" in result["msg"]
    assert host.calls_to("win_vm_restore_remove")[0].parameters["VmId"] == NEW_ID


def test_mode_test_with_an_application_critical_passes_and_warns():
    _host, result = run(
        copy_test_scenario([boot(heartbeat="OkApplicationsCritical")]),
        mode="test",
    )
    assert not result.get("failed"), result.get("msg")
    assert result["test"]["outcome"] == "passed" and result["proven_restore"]["passed"] is True
    assert "warning" not in result["test"]
    (warning,) = [w for w in result.get("warnings", []) if "OkApplicationsCritical" in w]
    assert warning.startswith("test restore of web01: heartbeat OkApplicationsCritical")


def test_mode_test_survives_a_lost_connection_during_polls():
    _host, result = run(
        copy_test_scenario([boot(), unreachable(), boot(heartbeat="OkApplicationsUnknown")]),
        mode="test",
    )
    assert not result.get("failed"), result.get("msg")
    assert any("status poll failed" in w for w in result["warnings"])


def test_mode_test_running_check_for_vms_without_integration_services():
    _host, result = run(
        copy_test_scenario([boot(uptime=1), boot(uptime=11), boot(uptime=21), boot(uptime=31)]),
        mode="test",
        test_check="running",
        stable_seconds=30,
        poll_interval=10,
    )
    assert not result.get("failed"), result.get("msg")
    assert result["test"]["check"] == "running" and "running for 31 s" in result["msg"]


def test_mode_test_reports_a_copy_it_could_not_remove():
    _host, result = run(
        copy_test_scenario(
            [boot(heartbeat="OkApplicationsHealthy")],
            [ps_error("The process cannot access the file because it is being used")],
        ),
        mode="test",
    )
    assert result["failed"] is True and result["changed"] is True
    assert "passed" in result["msg"] and "could not be removed" in result["msg"] and NEW_ID in result["msg"]


def test_mode_test_removes_a_copy_left_by_an_interrupted_run_first():
    name = f"web01-restoretest-{GEN}"
    folder = f"{RESTORE}\\{name}"
    leftover = live_vm(name, "22222222-0000-4000-8000-000000000022", "Running", marker("HV01", GEN, "web01"))
    host, result = run(
        {
            "win_vm_restore_generations": [generations(vms=[leftover])],
            "win_vm_restore_remove": [removed(), removed()],
            "win_vm_restore_verify": [verified(folder=folder)],
            "win_vm_restore_import": [imported(name, folder)],
            "win_vm_restore_boot": [boot(heartbeat="OkApplicationsHealthy")],
        },
        mode="test",
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host)[1] == "win_vm_restore_remove"
    # removed from the folder the leftover itself lives in (an earlier run used another restore_path)
    assert host.calls[1].parameters == {
        "VmId": "22222222-0000-4000-8000-000000000022",
        "VmFolder": f"D:\\Hyper-V\\{name}",
    }
    assert host.calls_to("win_vm_restore_remove")[1].parameters == {"VmId": NEW_ID, "VmFolder": folder}
    assert any(f"its folder D:\\Hyper-V\\{name}" in w for w in result["warnings"])


def test_mode_test_leaves_a_leftover_copy_outside_a_folder_of_its_own_alone():
    name = f"web01-restoretest-{GEN}"
    leftover = dict(
        live_vm(name, "22222222-0000-4000-8000-000000000022", "Off", marker("HV01", GEN, "web01")),
        path="D:\\Hyper-V",
    )
    host, result = run({"win_vm_restore_generations": [generations(vms=[leftover])]}, mode="test")
    assert result["failed"] is True and result["step"] == "remove leftover test copy"
    assert "lives in D:\\Hyper-V" in result["msg"] and "Remove it by hand" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


# ------------------------------------------------------------------------------------------ files


def test_files_mode_copies_and_verifies_without_importing():
    manifest = samples.manifest(samples.at(21))
    folder = f"{RESTORE}\\web01-restored-{GEN}"
    copies = [
        {"path": f"{folder}\\{entry['relative_path']}", "exists": True, "size": entry["size"], "sha256": None}
        for _path, entry in samples.vm_files(manifest, "web01")
    ]
    host, result = run(
        {
            "win_vm_restore_generations": [generations(hyperv=False)],
            "win_vm_restore_verify": [verified(), ok({"files": copies, "folders": []})],
            "win_vm_restore_files": [
                ok({"copied": [{"source": "s", "destination": c["path"], "code": 1} for c in copies], "error": None})
            ],
        },
        mode="files",
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host) == [
        "win_vm_restore_generations",
        "win_vm_restore_verify",
        "win_vm_restore_files",
        "win_vm_restore_verify",
    ]
    items = host.calls_to("win_vm_restore_files")[0].parameters["Items"]
    assert items[-1] == {
        "source": f"{samples.HOST_PATH}\\{GEN}\\web01\\Virtual Hard Disks\\web01.vhdx",
        "destination": f"{folder}\\Virtual Hard Disks\\web01.vhdx",
    }
    assert result["changed"] is True and result["verification"]["restored"]["ok"] is True
    assert [f["path"] for f in result["files"]] == [c["path"] for c in copies]


def test_files_mode_already_there_is_not_changed():
    manifest = samples.manifest(samples.at(21))
    folder = f"{RESTORE}\\web01-restored-{GEN}"
    backup_listing = samples.listing(manifest, "web01")
    copies = [
        {"path": f"{folder}\\{entry['relative_path']}", "exists": True, "size": entry["size"], "sha256": None}
        for _path, entry in samples.vm_files(manifest, "web01")
    ]
    answer = ok({"files": backup_listing + copies, "folders": [{"path": folder, "exists": True, "entries": 2}]})
    host, result = run({"win_vm_restore_generations": [generations()], "win_vm_restore_verify": [answer]}, mode="files")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and "already" in result["msg"]
    assert "win_vm_restore_files" not in order(host)


def test_files_mode_robocopy_failure():
    _host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified()],
            "win_vm_restore_files": [
                ok({"copied": [{"source": "s", "destination": "d", "code": 16}], "error": "robocopy exit code 16"})
            ],
        },
        mode="files",
    )
    assert result["failed"] is True and result["step"] == "copy files" and "exit code 16" in result["msg"]


def test_modes_that_import_need_hyperv():
    _host, result = run({"win_vm_restore_generations": [generations(hyperv=False)]})
    assert result["failed"] is True and "Hyper-V PowerShell module" in result["msg"]
    _host, result = run(
        {
            "win_vm_restore_generations": [
                generations(
                    hyperv=False, hyperv_error="Hyper-V was unable to find a virtual machine management service"
                )
            ]
        }
    )
    assert result["failed"] is True and "virtual machine management service" in result["msg"]


# ------------------------------------------------------------------------------------- check mode


@pytest.mark.parametrize("mode", ["copy", "replace", "test", "files"])
def test_check_mode_runs_only_read_only_payloads_and_returns_the_plan(mode):
    extra = {"force": True} if mode == "replace" else {}
    host, result = run(
        {"win_vm_restore_generations": [generations(vms=[live_vm()])], "win_vm_restore_verify": [verified()]},
        check_mode=True,
        mode=mode,
        **extra,
    )
    assert not result.get("failed"), result.get("msg")
    assert order(host) == ["win_vm_restore_generations", "win_vm_restore_verify"]
    assert result["changed"] is (mode != "test")
    assert result["plan"][0].startswith(f"read generation {GEN}")
    for call in host.calls:
        # win_powershell runs a script in check mode only when it declares SupportsShouldProcess
        assert "[CmdletBinding(SupportsShouldProcess)]" in call.script


def test_payloads_that_change_the_host_do_not_claim_check_mode_support():
    for name in CHANGING:
        assert "SupportsShouldProcess" not in _payload.load_payload(name), name
    for name in READ_ONLY:
        assert "[CmdletBinding(SupportsShouldProcess)]" in _payload.load_payload(name), name


# --------------------------------------------------------------------------------------- injection

HOSTILE = "web'; Stop-Computer -Force; $(Remove-Item -Recurse -Force ~) '01"


def test_a_hostile_vm_name_reaches_the_host_only_as_a_parameter():
    vm = backup.vm(HOSTILE, "D:\\Hyper-V\\evil\\Virtual Hard Disks\\evil.vhdx", vm_id=WEB01_ID)
    vm["config_paths"] = [f"D:\\Hyper-V\\evil\\Virtual Machines\\{WEB01_ID.upper()}.vmcx"]
    manifest = samples.manifest(samples.at(21), [vm])
    name = f"{HOSTILE}-restored-{GEN}"
    folder = f"{RESTORE}\\{name}"
    disk_size = next(f["size"] for f in manifest["vms"][0]["files"] if f["kind"] == "vhd")
    host, result = run(
        {
            "win_vm_restore_generations": [generations([samples.folder(manifest)])],
            "win_vm_restore_verify": [verified(manifest, HOSTILE, folder=folder)],
            "win_vm_restore_import": [imported(name, folder, size=disk_size)],
        },
        vm=HOSTILE,
    )
    assert not result.get("failed"), result.get("msg")
    import_call = host.calls_to("win_vm_restore_import")[0]
    assert import_call.parameters["Name"] == name
    assert HOSTILE in import_call.parameters["Marker"]
    for call in host.calls:
        # the scripted host already matched every script byte for byte with a file in plugins/payloads
        assert call.script == _payload.load_payload(call.payload)
        assert "Stop-Computer" not in call.script
    assert all("Stop-Computer" not in str(c.module_args.get("script")) for c in host.calls)


def test_a_name_windows_cannot_hold_is_refused_before_the_host_is_contacted():
    host, result = run({}, vm='web"01; Remove-Item C:\\ -Recurse')
    assert result["failed"] is True and "cannot be a folder name" in result["msg"]
    assert host.calls == []


def test_unknown_option_fails_before_the_host_is_contacted():
    host = ScriptedHost({})
    action = host.install(
        make_action(ActionModule, {"vm": "web01", "destination": "X:\\", "restore_path": "E:\\", "mdoe": "copy"})
    )
    with pytest.raises(AnsibleActionFail):
        action.run(task_vars={})
    assert host.calls == []


def test_unreachable_host_is_reported():
    _host, result = run({"win_vm_restore_generations": [unreachable("winrm: connection refused")]})
    assert result["failed"] is True and result["host_unreachable"] is True and result["step"] == "read generations"


def test_files_mode_with_a_changed_copy_in_the_folder_is_refused_by_hash():
    manifest = samples.manifest(samples.at(21), hashes=True)
    folder = f"{RESTORE}\\web01-restored-{GEN}"
    copies = [
        {"path": f"{folder}\\{entry['relative_path']}", "exists": True, "size": entry["size"], "sha256": "0" * 64}
        for _path, entry in samples.vm_files(manifest, "web01")
    ]
    backup_listing = samples.listing(manifest, "web01", hashes=True)
    answer = ok({"files": backup_listing + copies, "folders": [{"path": folder, "exists": True, "entries": 2}]})
    host, result = run(
        {"win_vm_restore_generations": [generations([samples.folder(manifest)])], "win_vm_restore_verify": [answer]},
        mode="files",
        verify="hash",
    )
    assert result["failed"] is True and "is not empty" in result["msg"]
    assert "win_vm_restore_files" not in order(host)


def test_payloads_never_build_commands_from_text():
    for name in READ_ONLY | CHANGING:
        text = _payload.load_payload(name)
        assert "Invoke-Expression" not in text and "iex " not in text.lower(), name
        assert "[ScriptBlock]::Create" not in text, name


def test_a_vm_with_checkpoints_is_not_imported_but_files_work():
    app01 = samples.manifest(samples.at(21))  # app01 has a checkpoint and a differencing disk in the samples
    folders = [samples.folder(app01)]
    host, result = run({"win_vm_restore_generations": [generations(folders)]}, vm="app01")
    assert result["failed"] is True and result["step"] == "plan"
    assert "backed up with checkpoints" in result["msg"] and "mode files" in result["msg"]
    assert order(host) == ["win_vm_restore_generations"]


# ----------------------------------------------------------------------------- failed import clean-up


def _commands(node, source):
    """Names of the commands under ``node`` (tree-sitter PowerShell tree), in order."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "command_name":
            found.append(source[current.start_byte : current.end_byte].decode())
        stack.extend(reversed(current.children))
    return found


def test_the_import_payload_cleans_its_folder_when_import_vm_fails():
    """Import-VM itself (a copy that runs out of disk space) is inside the try whose catch empties the folder."""
    import tree_sitter
    import tree_sitter_pwsh

    source = _payload.load_payload("win_vm_restore_import").encode()
    tree = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language())).parse(source)
    guarded = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "try_statement":
            body = next(c for c in node.children if c.type == "statement_block")
            catches = [c for c in node.children if c.type == "catch_clauses"]
            guarded.append((_commands(body, source), _commands(catches[0], source) if catches else []))
        stack.extend(node.children)
    (cleanup,) = [catch for body, catch in guarded if "Hyper-V\\Import-VM" in body]
    assert "Hyper-V\\Remove-VM" in cleanup and "Remove-Item" in cleanup
    # nothing outside a try changes the host after the compatibility checks
    top = _commands(tree.root_node, source)
    assert top.count("Hyper-V\\Import-VM") == 1
    assert "$folderExisted" in source.decode()  # a folder that was there (empty) is emptied, not deleted


def test_a_failed_import_leaves_no_folder_behind_and_the_next_run_restores():
    name = f"web01-restoretest-{GEN}"
    folder = f"{RESTORE}\\{name}"
    disk_full = (
        f"import into '{folder}' failed: There is not enough space on the disk.; the restore folder was cleaned up, "
        "nothing of this restore is left on the host"
    )
    host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified(folder=folder)],
            "win_vm_restore_import": [ps_error(disk_full, line=57)],
        },
        mode="test",
    )
    assert result["failed"] is True and result["step"] == "import" and result["changed"] is False
    assert "not enough space on the disk" in result["msg"] and "cleaned up" in result["msg"]
    assert "win_vm_restore_remove" not in order(host)  # the payload undid its own import
    assert host.calls_to("win_vm_restore_import")[0].parameters["VmFolder"] == folder

    # the next scheduled run finds the folder empty (the payload emptied it) and is not refused
    host, result = run(
        {
            "win_vm_restore_generations": [generations()],
            "win_vm_restore_verify": [verified(folder=folder, folder_entries=0)],
            "win_vm_restore_import": [imported(name, folder)],
            "win_vm_restore_boot": [boot(heartbeat="OkApplicationsHealthy")],
            "win_vm_restore_remove": [removed()],
        },
        mode="test",
    )
    assert not result.get("failed"), result.get("msg")


@pytest.mark.parametrize("stub", ["win_vm_restore", "win_vm_restore_info"])
def test_documentation_examples_and_return_are_yaml(stub):
    import importlib

    import yaml

    module = importlib.import_module(f"ansible_collections.vaware.hyperv.plugins.modules.{stub}")
    for part in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(module, part)), f"{stub}.{part}"
