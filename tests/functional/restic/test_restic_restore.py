"""win_vm_restore and win_vm_restore_info with a restic repository: HV01's snapshots in a real restic repository.

The snapshots are made by the backup plan's own ``restic backup`` steps; the restore action's restic payloads
run the real restic (``tests/support/restic_restore_host.py``), so what the action parses is what restic printed,
and what it imports is what ``restic restore`` wrote.
"""

from __future__ import annotations

import json

import pytest
import restic_restore_host
from restic_restore_host import NEW_ID, PASSWORD, RESTORE, ResticRestoreHost

from ansible_collections.vaware.hyperv.plugins.action import win_vm_restore
from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore import ActionModule as Restore
from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore_info import ActionModule as RestoreInfo
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command as restic_command
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import restic_secrets, windows_command_line
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import validate_repository
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import marker
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.restic import restore_job_id
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.fake_clock import FakeClock
from ansible_collections.vaware.hyperv.tests.support.restore_answers import boot
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedCall, ScriptedHost, make_action


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    return FakeClock.install(monkeypatch, win_vm_restore)


@pytest.fixture(name="hv01", scope="module")
def fixture_hv01(tmp_path_factory):
    """HV01 after two nights (two snapshots of each VM)."""
    return ResticRestoreHost(tmp_path_factory.mktemp("hv01"), nights=2)


def run(stand_in, action=Restore, check_mode=False, **args):
    args.setdefault("repository", stand_in.task_repository())
    if action is Restore:
        args.setdefault("vm", "web01")
        args.setdefault("restore_path", RESTORE)
    host = ScriptedHost(stand_in.scenario())
    task = host.install(make_action(action, args, check_mode=check_mode))
    result = task.run(task_vars={"inventory_hostname": "hv01"})
    return host, result


def order(host):
    return [c.payload for c in host.calls]


def no_secret_outside_sensitive_parameters(host, result):
    assert PASSWORD not in json.dumps(result)
    for call in host.calls:
        assert PASSWORD not in json.dumps(call.parameters), call.payload
        assert "nas01" not in str(call.parameters.get("CommandLine", "")), "the location goes in the environment"


def test_copy_restore_from_the_newest_snapshot_imports_what_restic_restored(hv01):
    host, result = run(hv01)
    assert not result.get("failed"), result.get("msg")
    newest = hv01.snapshots[-1]["web01"]
    assert result["snapshot_id"].startswith(newest) and len(result["snapshot_id"]) == 64
    assert result["generation"] == newest
    assert result["changed"] is True and result["vm_id"] == NEW_ID
    name = result["name"]
    assert name.startswith("web01-restored-") and result["path"] == f"{RESTORE}\\{name}"
    assert result["staging_path"] == f"{RESTORE}\\{name}.restic-{newest}"
    assert order(host) == [
        "win_restic_read",  # computer name, VMs
        "win_restic_read",  # restic snapshots
        "win_restic_read",  # restic ls
        "win_vm_restore_verify",  # the folders are free
        "win_vm_file_restore_status",  # no earlier job
        "win_vm_restore_restic_start",
        "win_vm_file_restore_status",
        "win_vm_file_restore_cleanup",
        "win_vm_restore_verify",  # the restored files, by size
        "win_vm_restore_import",
        "win_vm_restore_restic_unstage",
    ]
    # the import was told to use the restored copies for the disks the configuration names by their original path
    params = host.calls_to("win_vm_restore_import")[0].parameters
    staging = result["staging_path"]
    assert params["Disks"] == [
        {
            "original": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
            "backup": f"{staging}\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
        }
    ]
    assert params["ConfigPath"] == f"{staging}\\Hyper-V\\web01\\Virtual Machines\\{hv.WEB01_ID.upper()}.vmcx"
    assert params["Marker"] == marker("HV01", newest, "web01")
    assert result["verification"]["staged"]["ok"] and result["verification"]["staged"]["files"] == 3
    # the staging folder is gone again, and the password never left the sensitive parameters
    assert not hv01.local(staging).exists()
    no_secret_outside_sensitive_parameters(host, result)
    assert restic_restore_host.secrets_of(host.calls) == {"ResticPassword": 3, "ResticEnvironment": 3}
    hv01.registered.clear()


def test_files_mode_restores_the_snapshot_straight_into_the_folder_byte_for_byte(hv01):
    first = hv01.snapshots[0]["db01"]
    host, result = run(hv01, vm="db01", mode="files", generation=first)
    assert not result.get("failed"), result.get("msg")
    assert result["generation"] == first and result["selected_by"] == "id"
    folder = hv01.local(result["path"])
    restored = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    expected = {
        original.split("\\", 3)[3].replace("\\", "/"): data  # C:\Mounts\Fast\db01\... -> db01/...
        for original, data in hv01.original_data("db01", night=0).items()
    }
    assert restored == expected
    assert "win_vm_restore_import" not in order(host) and "win_vm_restore_restic_unstage" not in order(host)
    assert result["verification"]["restored"]["ok"] is True


def test_check_mode_reads_the_snapshot_and_changes_nothing(hv01):
    before = sorted(hv01.restore_root.rglob("*"))
    host, result = run(hv01, check_mode=True, mode="test")
    assert not result.get("failed"), result.get("msg")
    assert "win_vm_restore_restic_start" not in order(host)
    assert any("restore snapshot" in step and "with restic" in step for step in result["plan"])
    assert sorted(hv01.restore_root.rglob("*")) == before


def test_before_picks_the_older_snapshot(hv01):
    snapshots = json.loads(hv01.restic.run(["snapshots", "--json", "--tag", "vm:web01"]).stdout)
    newest = max(snapshots, key=lambda s: s["time"])
    _host, result = run(hv01, check_mode=True, before=newest["time"])
    assert not result.get("failed"), result.get("msg")
    assert result["generation"] == hv01.snapshots[0]["web01"] and result["selected_by"] == "before"


def test_an_unknown_snapshot_id_lists_the_vms_snapshots(hv01):
    host, result = run(hv01, generation="0123abcd")
    assert result["failed"] and result["step"] == "select"
    assert "snapshot 0123abcd is not a snapshot of host HV01" in result["msg"]
    assert hv01.snapshots[0]["web01"] in result["msg"]
    assert "win_vm_restore_restic_start" not in order(host)


def test_a_wrong_password_is_named_before_anything_changes(hv01):
    host, result = run(hv01, repository=hv01.task_repository(password="not the password"))
    assert result["failed"] and result["step"] == "read snapshots"
    assert "wrong password" in result["msg"] and "repository.password" in result["msg"]
    assert "not the password" not in json.dumps(result)
    assert order(host) == ["win_restic_read", "win_restic_read"]


def test_restore_info_lists_each_vms_snapshots_newest_first(hv01):
    _host, result = run(hv01, action=RestoreInfo)
    assert not result.get("failed"), result.get("msg")
    vms = {vm["name"]: vm for vm in result["vms"]}
    assert set(vms) == {"web01", "db01"}
    assert vms["web01"]["generations"] == [hv01.snapshots[1]["web01"], hv01.snapshots[0]["web01"]]
    assert vms["web01"]["latest_generation"] == hv01.snapshots[1]["web01"]
    assert result["backup_host"] == "HV01" and len(result["generations"]) == 4
    assert "4 snapshot(s)" in result["msg"]


def test_a_snapshot_missing_a_file_is_refused_and_nothing_is_restored(tmp_path):
    stand_in = ResticRestoreHost(tmp_path, nights=1)
    stand_in.night(drop_last_file_of="web01")  # newest web01 snapshot: 2 of its 3 files
    host, result = run(stand_in)
    assert result["failed"] and result["step"] == "select"
    assert "holds 2 of the 3 files its backup planned" in result["msg"]
    assert "win_vm_restore_restic_start" not in order(host)
    # the older, complete snapshot is still there to restore by id
    _host, again = run(stand_in, generation=stand_in.snapshots[0]["web01"], check_mode=True)
    assert not again.get("failed"), again.get("msg")


def test_a_damaged_repository_fails_the_restore_and_removes_the_staging_folder(tmp_path):
    stand_in = ResticRestoreHost(tmp_path, nights=1)

    def damage():
        for pack in (stand_in.tmp / "repo" / "data").rglob("*"):
            if pack.is_file():
                pack.chmod(0o644)
                pack.write_bytes(b"\0" * pack.stat().st_size)

    stand_in.before_restore = damage
    host, result = run(stand_in)
    assert result["failed"] and result["step"] == "restic restore", result["msg"]
    assert "nothing was imported" in result["msg"]
    assert "win_vm_restore_import" not in order(host)
    assert order(host)[-1] == "win_vm_restore_restic_unstage"
    assert not stand_in.local(result["staging_path"]).exists()


def test_a_test_restore_from_a_snapshot_boots_the_copy_proves_it_and_leaves_nothing(hv01):
    newest = hv01.snapshots[-1]["db01"]
    scenario = hv01.scenario(
        win_vm_restore_boot=[boot(), boot(heartbeat="OkApplicationsHealthy")],
    )
    host = ScriptedHost(scenario)
    args = {"vm": "db01", "repository": hv01.task_repository(), "restore_path": RESTORE, "mode": "test"}
    result = host.install(make_action(Restore, args)).run(task_vars={"inventory_hostname": "hv01"})
    assert not result.get("failed"), result.get("msg")
    assert result["test"]["outcome"] == "passed" and result["test"]["removed"] is True
    proof = result["proven_restore"]
    assert proof["passed"] is True and proof["vm"] == "db01" and proof["generation"] == newest
    # the disk the configuration names on the folder-mounted volume is the restored copy
    disks = host.calls_to("win_vm_restore_import")[0].parameters["Disks"]
    assert [d["original"] for d in disks] == ["C:\\Mounts\\Fast\\db01\\Virtual Hard Disks\\db01.vhdx"]
    assert not hv01.local(result["staging_path"]).exists()
    assert result["changed"] is False  # the copy and the staging folder are gone
    assert hv01.registered == [] and not hv01.local(result["path"]).exists()


@pytest.mark.parametrize(
    "args",
    [
        ["restore", "--json", "abcd1234", "--target", "E:\\Restore Folder\\web 01.restic-abcd1234"],
        ["-o", "sftp.command=ssh -i C:\\keys\\id backup@nas -s sftp", "snapshots", "--json"],
        ["--tag", 'say "hi"', "", "trail\\\\", 'x\\"y', "tab\there"],
    ],
)
def test_the_stand_in_splits_command_lines_as_windows_does(args):
    assert restic_restore_host.split_command_line(windows_command_line(args)) == args


def test_a_restore_path_with_spaces_reaches_restic_as_one_argument(tmp_path):
    stand_in = ResticRestoreHost(tmp_path, nights=1)
    host, result = run(stand_in, restore_path="E:\\Restore\\Hyper V copies", name="web 01 copy")
    assert not result.get("failed"), result.get("msg")
    (job,) = [c.parameters for c in host.calls_to("win_vm_restore_restic_start")]
    assert job["Target"] == "E:\\Restore\\Hyper V copies\\web 01 copy.restic-" + stand_in.snapshots[0]["web01"]
    assert f'--target "{job["Target"]}"' in job["CommandLine"]
    assert result["path"] == "E:\\Restore\\Hyper V copies\\web 01 copy"


def test_a_restore_job_of_an_earlier_run_that_still_runs_is_followed_not_started_again(tmp_path):
    stand_in = ResticRestoreHost(tmp_path, nights=1)
    _host, planned = run(stand_in, check_mode=True)
    staging, snapshot_id = planned["staging_path"], planned["snapshot_id"]
    # an earlier run started the job for this snapshot and folder, then lost its connection; the job still runs
    repository = validate_repository(stand_in.task_repository())
    args = restic_command.restore_args(repository, snapshot_id, staging)
    job_id = restore_job_id("HV01", snapshot_id, staging)
    earlier = ScriptedCall(
        "win_vm_restore_restic_start",
        "ansible.windows.win_powershell",
        {
            "parameters": {"JobId": job_id, "CommandLine": windows_command_line(args), "Target": staging},
            "sensitive_parameters": [{"name": k, "value": v} for k, v in restic_secrets(repository, "x").items()],
        },
        {},
    )
    stand_in.start(earlier)
    stand_in.running_polls = 2  # this run's first look and its first poll find it still running
    host = ScriptedHost(stand_in.scenario())
    task = {"vm": "web01", "repository": stand_in.task_repository(), "restore_path": RESTORE}
    result = host.install(make_action(Restore, task)).run(task_vars={"inventory_hostname": "hv01"})
    assert not result.get("failed"), result.get("msg")
    assert host.calls_to("win_vm_restore_restic_start") == []  # followed, not started a second time
    assert any(f"({job_id}) of an earlier run into {staging} still runs: following it" in w for w in result["warnings"])
    assert result["verification"]["staged"]["ok"] and result["vm_id"] == NEW_ID


def test_a_restore_path_without_room_for_the_vm_twice_is_refused_before_anything_changes(tmp_path):
    stand_in = ResticRestoreHost(tmp_path, nights=1)
    _host, planned = run(stand_in, check_mode=True)
    size = planned["verification"]["backup"]["bytes"]
    stand_in.free_bytes = 2 * size - 1  # enough for the staging folder, not for the import's copy as well
    host, result = run(stand_in)
    assert result["failed"] and result["step"] == "plan"
    assert "the restore needs" in result["msg"] and "staging folder, then the import's copy" in result["msg"]
    assert "win_vm_restore_restic_start" not in order(host)
    stand_in.free_bytes = 2 * size
    _host, fits = run(stand_in, check_mode=True)
    assert not fits.get("failed"), fits.get("msg")
