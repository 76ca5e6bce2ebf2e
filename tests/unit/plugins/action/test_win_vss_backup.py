"""win_vss_backup action plugin against a scripted Hyper-V host (every payload call recorded and answered).

The plugin runs for real down to ``_execute_module``; the host's answers are in the formats the
payloads produce (see ``vss_backup_host.py``). A fake clock makes polling instant.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.vaware.hyperv.plugins.action import win_vss_backup as plugin
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import load_payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import outcome
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
    ScriptedHost,
    _Connection,
    make_action,
    ps_error,
    unreachable,
)

PAYLOADS = pathlib.Path(plugin.__file__).resolve().parents[1] / "payloads"
ARGS = {"destination": hv.DESTINATION}
CHANGING_PAYLOADS = {"win_vss_backup_start", "win_vss_backup_signal", "win_vss_backup_cleanup"}


@pytest.fixture
def clock(monkeypatch):
    return hv.install_clock(monkeypatch, plugin)


class ResettableConnection(_Connection):
    """The scripted connection plus ``reset()``, which the plugin calls after a lost poll."""

    def __init__(self):
        self.resets = 0

    def reset(self):
        self.resets += 1


def run(scenario, args=None, check_mode=False, connection=None):
    host = ScriptedHost(scenario)
    action = host.install(make_action(plugin.ActionModule, {**ARGS, **(args or {})}, check_mode=check_mode))
    if connection is not None:
        action._connection = connection
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def verdict_of(host):
    (call,) = host.calls_to("win_vss_backup_signal")
    assert call.parameters["Name"] == "verdict.json"
    return json.loads(call.parameters["Text"])


def success_scenario(**overrides):
    scenario = {
        "win_vss_backup_preflight": [hv.preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        "win_vss_backup_status": [
            hv.status("diskshadow"),
            hv.status("diskshadow", vm_bytes={"web01": 20 * hv.GIB}, bytes_copied=20 * hv.GIB),
            hv.status("awaiting_verdict"),
            hv.final_status(expired_deleted=[hv.HOST_PATH + "\\20261123T020000Z"]),
        ],
        "win_vss_backup_collect": [hv.collect()],
        "win_vss_backup_signal": [hv.signal_ok()],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }
    scenario.update(overrides)
    return scenario


# ------------------------------------------------------------------------------------ success


def test_success_two_vms_drive_letter_and_guid_only_volume(clock):
    host, result = run(success_scenario(), {"retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True
    assert result["job_id"] == hv.JOB_ID
    assert result["generation"] == hv.GENERATION
    assert result["destination_path"] == hv.GENERATION_PATH
    assert result["manifest_path"] == hv.GENERATION_PATH + "\\manifest.json"
    assert [v["name"] for v in result["vms"]] == ["web01", "db01"]
    assert all(v["status"] == "complete" for v in result["vms"])
    web01 = result["vms"][0]
    assert web01["bytes"] == 40 * hv.GIB + 65536 + 1048576 and web01["files"] == 3
    assert web01["seconds"] and web01["mb_per_s"] == pytest.approx(400.0, rel=0.01)
    assert result["shadows_created"] == [hv.SHADOW_D, hv.SHADOW_FAST]
    assert result["shadows_deleted"] == sorted([hv.SHADOW_D, hv.SHADOW_FAST])
    assert result["writer"]["included"] is True and result["writer"]["state"] == 1
    assert result["writer"]["outcome"] == "included"
    assert result["expired"] == ["20261123T020000Z"]

    # the plan: D: by drive letter, the folder-mounted volume by its GUID path, mount folders in the job dir
    start = host.calls_to("win_vss_backup_start")[0].parameters
    script = start["Files"]["backup.dsh"]["text"]
    assert "ADD VOLUME D: ALIAS VAWVOL1\r\n" in script
    assert f"ADD VOLUME \\\\?\\Volume{hv.GUID_FAST}\\ ALIAS VAWVOL2\r\n" in script
    assert "DELETE SHADOWS ALL" not in script.upper()
    params = json.loads(start["Files"]["params.json"]["text"])
    assert params["mount_folders"] == [hv.JOB_DIR + "\\mnt\\VAWVOL1", hv.JOB_DIR + "\\mnt\\VAWVOL2"]
    assert params["required_bytes"] == hv.TOTAL_BYTES
    # the runner goes out as the collection ships it: the file with the shared library spliced in
    runner = start["Files"]["runner.ps1"]["text"]
    assert runner == load_payload("win_vss_backup_runner")
    assert "function Remove-ShadowCopiesById" in runner and "#vaware:include" not in runner
    assert json.loads(start["LockText"])["job_id"] == hv.JOB_ID

    # the verdict: manifest complete, the one generation beyond keep_last 2 expires
    verdict = verdict_of(host)
    manifest = json.loads(verdict["manifest_text"])
    assert manifest["status"] == "complete"
    assert verdict["delete_generations"] == [hv.HOST_PATH + "\\20261123T020000Z"]
    assert verdict["manifest_path"] == hv.GENERATION_PATH + "\\manifest.json"
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["RemoveJobs"] == [hv.JOB_ID]
    assert "ShadowIds" not in cleanup.parameters  # the runner deleted them all

    # order of the calls: preflight, start, polls, collect, verdict, poll, cleanup
    assert [c.payload for c in host.calls] == [
        "win_vss_backup_preflight",
        "win_vss_backup_start",
        "win_vss_backup_status",
        "win_vss_backup_status",
        "win_vss_backup_status",
        "win_vss_backup_collect",
        "win_vss_backup_signal",
        "win_vss_backup_status",
        "win_vss_backup_cleanup",
    ]
    assert clock.sleeps == [30, 30]  # poll_interval between polls, nothing else


def test_number_of_calls_does_not_grow_with_vms(clock):
    _host, two = run(success_scenario(), {"retention": {"keep_last": 2}})
    one_vm = success_scenario()
    one_vm["win_vss_backup_collect"] = [hv.collect(files=[f for f in hv.listing() if f["path"].startswith("web01\\")])]
    _host, one = run(one_vm, {"vms": ["web01"], "retention": {"keep_last": 2}})
    assert not one.get("failed"), one["msg"]
    assert one["remote_calls"] == two["remote_calls"] == 9


@pytest.mark.parametrize("old_format", [False, True])
def test_verify_hash_compares_each_copy_with_its_source_in_the_shadow(clock, old_format):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [
        hv.collect(files=hv.listing(hashes=True), hashes=hv.source_hashes(old_format=old_format))
    ]
    host, result = run(scenario, {"verify": "hash", "retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    start = host.calls_to("win_vss_backup_start")[0].parameters["Files"]
    params = json.loads(start["params.json"]["text"])
    assert params["hash"] is True and params["verify"] == "hash"
    # the wrapper diskshadow EXECs hashes every VM file in the exposed shadow, into the job's hash file
    wrapper = start["copy.cmd"]["text"]
    hashed = re.findall(r'certutil -hashfile "([^"]+)" SHA256\r\n', wrapper)
    assert sorted(hashed) == sorted(hv.shadow_path(n, rel) for n, _p, _s, rel in hv.FILES)
    assert f'>>"{hv.JOB_DIR}\\source-hashes.txt" 2>&1 certutil' in wrapper
    assert "source-hashes.txt" in [f["name"] for f in host.calls_to("win_vss_backup_collect")[0].parameters["Files"]]
    manifest = json.loads(verdict_of(host)["manifest_text"])
    assert manifest["status"] == "complete" and manifest["verify"] == "hash"
    recorded = {vm["name"] + "\\" + f["relative_path"]: f["sha256"] for vm in manifest["vms"] for f in vm["files"]}
    assert recorded == {n + "\\" + rel: hv.digest(n + "\\" + rel) for n, _p, _s, rel in hv.FILES}
    assert result["expired"] == ["20261123T020000Z"]  # a verified generation lets retention run


def test_verify_size_does_not_hash_the_sources(clock):
    host, result = run(success_scenario())
    assert not result.get("failed"), result["msg"]
    wrapper = host.calls_to("win_vss_backup_start")[0].parameters["Files"]["copy.cmd"]["text"]
    assert "certutil" not in wrapper and "source-hashes" not in wrapper


def test_verify_hash_mismatch_fails_names_vm_and_file_and_expires_nothing(clock):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [
        hv.collect(files=hv.listing(hashes=True), hashes=hv.source_hashes(changed=("db01.vhdx",)))
    ]
    host, result = run(scenario, {"verify": "hash", "retention": {"keep_last": 1}})
    copy_sha = hv.digest("db01\\Virtual Hard Disks\\db01.vhdx")
    hv.assert_failure_safe(
        host,
        result,
        rf"^verify: VM db01: Virtual Hard Disks\\db01\.vhdx: SHA-256 of the copy {copy_sha} differs from the"
        r" shadow copy's [0-9a-f]{64}$",
    )
    verdict = verdict_of(host)
    manifest = json.loads(verdict["manifest_text"])
    assert verdict["decision"] == manifest["status"] == "partial"  # web01 verified, db01 not: not complete
    assert [v["status"] for v in result["vms"]] == ["complete", "failed"]
    assert result["generation_status"] == "partial"
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["RemoveJobs"] == [hv.JOB_ID]


@pytest.mark.parametrize(
    ("hashes", "reason"),
    [
        ({"missing": ("web01.vhdx",)}, r"\(the copy wrapper recorded no digest for it\)"),
        ({"denied": ("web01.vhdx",)}, r"\(certutil exit code -2147024891: .*ERROR_ACCESS_DENIED"),
    ],
)
def test_verify_hash_without_a_source_digest_fails(clock, hashes, reason):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(files=hv.listing(hashes=True), hashes=hv.source_hashes(**hashes))]
    host, result = run(scenario, {"verify": "hash", "retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host,
        result,
        r"^verify: VM web01: Virtual Hard Disks\\web01\.vhdx: no SHA-256 of the file in the shadow copy " + reason,
    )
    assert json.loads(verdict_of(host)["manifest_text"])["status"] == "partial"


def test_verify_hash_with_no_source_hash_file_at_all_fails_every_vm(clock):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(files=hv.listing(hashes=True))]
    host, result = run(scenario, {"verify": "hash", "retention": {"keep_last": 1}})
    hv.assert_failure_safe(host, result, r"^verify: VM web01: .*no SHA-256 of the file in the shadow copy.*; VM db01: ")
    assert json.loads(verdict_of(host)["manifest_text"])["status"] == "failed"


def test_verify_hash_without_digests_fails_and_keeps_old_generations(clock):
    scenario = success_scenario()
    scenario["win_vss_backup_status"][-1] = hv.final_status(manifest_written=True)
    host, result = run(scenario, {"verify": "hash", "retention": {"keep_last": 1}})
    hv.assert_failure_safe(host, result, r"no SHA-256")
    assert json.loads(verdict_of(host)["manifest_text"])["status"] == "failed"


def test_size_mismatch_between_the_shadow_copy_and_the_destination_fails_verification(clock):
    scenario = success_scenario()
    sizes = {"db01\\Virtual Hard Disks\\db01.vhdx": 20 * hv.GIB - 4096}
    scenario["win_vss_backup_collect"] = [hv.collect(files=hv.listing(sizes=sizes))]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host,
        result,
        r"db01: Virtual Hard Disks\\db01\.vhdx: 21474832384 bytes at the destination, 21474836480 in the shadow",
    )
    assert {v["name"]: v["status"] for v in result["vms"]} == {"web01": "complete", "db01": "failed"}


def test_robocopy_counting_the_files_its_other_pass_copies_does_not_fail_a_good_copy(clock):
    """With unbuffered_min_size each step runs a /MIN and a /MAX pass; robocopy may count the files a pass
    leaves out in its Total. Sizes are compared per file with the shadow copy, so that cannot matter."""
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(copy=hv.copy_outputs(counts_excluded=True))]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    assert not result.get("failed"), result["msg"]
    manifest = json.loads(verdict_of(host)["manifest_text"])
    assert manifest["status"] == "complete"
    assert verdict_of(host)["delete_generations"]  # verified, so retention ran


def test_a_source_size_the_wrapper_could_not_read_fails_the_vm(clock):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(sizes=hv.source_sizes(unreadable=("db01.vhdx",)))]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host, result, r"db01: Virtual Hard Disks\\db01\.vhdx: size in the shadow copy unknown \(cmd\.exe could not read"
    )


def test_a_source_size_never_recorded_fails_the_vm(clock):
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(sizes=hv.source_sizes(cut_after=len(hv.FILES) - 1))]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host, result, r"size in the shadow copy unknown \(the copy wrapper recorded no size for it\)"
    )


def test_a_job_without_a_size_file_is_checked_by_exit_codes_with_a_warning(clock):
    """A job started by an earlier version of the module (attached to) has no size file."""
    scenario = success_scenario()
    scenario["win_vss_backup_collect"] = [hv.collect(sizes=None)]
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    assert any("recorded no sizes of the files in the shadow copy" in w for w in result["warnings"])
    asked = [f["name"] for f in host.calls_to("win_vss_backup_collect")[0].parameters["Files"]]
    assert "source-sizes.txt" in asked


@pytest.mark.parametrize("verify", ["none", "size"])
def test_retention_after_verify_none_warns_but_deletes_the_same(clock, verify):
    host, result = run(success_scenario(), {"verify": verify, "retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert result["expired"] == ["20261123T020000Z"]  # behaviour unchanged
    assert verdict_of(host)["delete_generations"]
    warned = [w for w in result["warnings"] if "verified with verify: none" in w]
    if verify == "none":
        (warning,) = warned
        assert "20261123T020000Z" in warning and hv.GENERATION in warning and "exit codes" in warning
    else:
        assert warned == []


def test_retention_warns_about_a_kept_older_generation_verified_only_by_exit_codes(clock):
    listed = hv.generation_list()
    older = listed[1]
    older["manifest"]["verify"] = "none"
    collected = hv.collect(generations=hv.generations_json(listed))
    host, result = run(success_scenario(win_vss_backup_collect=[collected]), {"retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert result["expired"] == ["20261123T020000Z"]
    assert verdict_of(host)["delete_generations"]
    assert any(older["name"] in w and "verified with verify: none" in w for w in result["warnings"])


# ------------------------------------------------------------------------------------ check mode


def test_check_mode_returns_the_plan_and_changes_nothing(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight()]}, check_mode=True)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True
    assert [v["name"] for v in result["plan"]["vms"]] == ["web01", "db01"]
    assert result["plan"]["total_bytes"] == hv.TOTAL_BYTES
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]
    assert not CHANGING_PAYLOADS & {c.payload for c in host.calls}
    # the read-only payload declares SupportsShouldProcess so win_powershell runs it in check mode
    assert "[CmdletBinding(SupportsShouldProcess)]" in host.calls[0].script


def test_check_mode_payloads_that_change_things_are_not_read_only():
    for name in CHANGING_PAYLOADS | {"win_vss_backup_runner"}:
        assert "SupportsShouldProcess" not in load_payload(name)


# ------------------------------------------------------------------------------------ failures


def test_hyperv_writer_failed_before_start(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight(writers="vssadmin_writers_hyperv_failed.txt")]})
    hv.assert_failure_safe(host, result, r"^preflight: the Microsoft Hyper-V VSS Writer is in state 8")
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]
    # the message names the service to restart and how to check it worked
    assert (
        "last error: Retryable error; before backing up, restart the Hyper-V Virtual Machine Management service"
        " (vmms) on the host (`Restart-Service -Name vmms`), then `vssadmin list writers` must show"
        " 'Microsoft Hyper-V VSS Writer' as [1] Stable" in result["msg"]
    )
    [problem] = result["writer_problems"]
    assert {k: problem[k] for k in ("name", "id", "state", "last_error", "service", "problem", "found_by")} == {
        "name": "Microsoft Hyper-V VSS Writer",
        "id": "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de",
        "state": 8,
        "last_error": "Retryable error",
        "service": "vmms",
        "problem": "failed",
        "found_by": "preflight",
    }
    assert "wait ten minutes" in problem["remedy"]


def test_hyperv_writer_missing_on_a_german_host_names_the_service_to_start(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight(writers="vssadmin_writers_de_no_hyperv.txt")]})
    hv.assert_failure_safe(
        host, result, r"^preflight: the Microsoft Hyper-V VSS Writer \(\{66841cd4-[0-9a-f-]+\}\) is not listed"
    )
    assert "start the Hyper-V Virtual Machine Management service (vmms) or restart it" in result["msg"]
    [problem] = result["writer_problems"]
    assert (problem["problem"], problem["service"], problem["state"]) == ("missing", "vmms", None)
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


def test_missing_hyperv_writer_not_required_is_a_warning_with_the_remedy(clock):
    _host, result = run(
        {"win_vss_backup_preflight": [hv.preflight(writers="vssadmin_writers_de_no_hyperv.txt")]},
        {"require_hyperv_writer": False},
        check_mode=True,
    )
    assert not result.get("failed"), result["msg"]
    assert result["writer_problems"][0]["problem"] == "missing"
    assert any(w.startswith("VSS writer 'Microsoft Hyper-V VSS Writer' is not listed") for w in result["warnings"])


def test_another_failed_writer_does_not_stop_the_backup_but_is_reported_with_its_service(clock):
    _host, result = run(
        success_scenario(win_vss_backup_preflight=[hv.preflight(writers="vssadmin_writers_sql_failed.txt")])
    )
    assert not result.get("failed"), result["msg"]
    [problem] = result["writer_problems"]
    assert (problem["name"], problem["service"], problem["state"], problem["found_by"]) == (
        "SqlServerWriter",
        "SQLWriter",
        11,
        "preflight",
    )
    [warning] = [w for w in result["warnings"] if "SqlServerWriter" in w]
    assert warning.startswith(
        "VSS writer 'SqlServerWriter' is in state 11 (VSS_WS_FAILED_AT_POST_SNAPSHOT), last error: Non-retryable error:"
        " restart the SQL Server VSS Writer service (SQLWriter) on the host"
    )
    assert result["writer"]["outcome"] == "included"


def test_hyperv_writer_excluded_fails_and_cleans_up(clock):
    scenario = success_scenario(
        win_vss_backup_status=[
            hv.status("awaiting_verdict"),
            hv.final_status(manifest_written=True, shadows_deleted=[]),
        ],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name="diskshadow_hyperv_excluded.txt",
                copy={},
                files=[],
                status_fields={"shadows_deleted": []},
            )
        ],
    )
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(host, result, r"^snapshot: the Microsoft Hyper-V VSS Writer was excluded.*5F3C0C4E")
    assert result["writer"]["included"] is False and result["writer"]["outcome"] == "excluded"
    assert (
        "no application-consistent copy was made; restart the Hyper-V Virtual Machine Management service"
        in (result["msg"])
    )
    [problem] = result["writer_problems"]
    assert (problem["name"], problem["service"], problem["found_by"], problem["state"]) == (
        "Microsoft Hyper-V VSS Writer",
        "vmms",
        "job",
        1,
    )
    assert json.loads(verdict_of(host)["manifest_text"])["status"] == "failed"
    assert host.calls_to("win_vss_backup_cleanup")[0].parameters["RemoveJobs"] == [hv.JOB_ID]


def test_diskshadow_create_fails(clock):
    scenario = success_scenario(
        win_vss_backup_status=[
            hv.status("diskshadow"),
            hv.status("awaiting_verdict"),
            hv.final_status(shadows_deleted=[]),
        ],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name="diskshadow_create_failed.txt", copy={}, files=[], status_fields={"shadows_deleted": []}
            )
        ],
    )
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host, result, r"^snapshot: diskshadow failed for VMs web01, db01: VSS_E_PROVIDER_VETO \(HRESULT 80042306\)"
    )
    # what a veto usually means and what to do
    assert "; VSS_E_PROVIDER_VETO (0x80042306): the shadow copy provider refused the snapshot" in result["msg"]
    assert "vssadmin list providers" in result["msg"]
    assert result["writer_problems"] == []  # a provider veto is not a writer problem
    assert result["shadows_created"] == []
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["RemoveJobs"] == [hv.JOB_ID]


def test_diskshadow_that_cannot_run_is_reported_with_its_own_words(clock):
    scenario = success_scenario(
        win_vss_backup_status=[hv.status("awaiting_verdict"), hv.final_status(shadows_deleted=[])],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name=None,
                copy={},
                files=[],
                status_fields={"diskshadow_started_at": "2026-11-25T02:00:05Z", "diskshadow_exit_code": 5},
                stderr="DISKSHADOW.EXE: access is denied. You must run this tool as an administrator.",
            )
        ],
    )
    host, result = run(scenario)
    hv.assert_failure_safe(
        host, result, r"^snapshot: diskshadow created no shadow copy \(exit code 5\): DISKSHADOW.EXE: access"
    )


@pytest.mark.parametrize("code", [8, 16])
def test_robocopy_failure_on_one_vm(clock, code):
    """EXEC aborted: shadows stayed exposed; the runner's finally deleted them; db01 fails, web01 is fine."""
    copy = hv.copy_outputs(fail_step="s004", fail_code=code)
    files = hv.listing(missing=("db01.vhdx",))
    leftover = hv.shadow(hv.SHADOW_FAST, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL2\\", volume=hv.GUID_FAST)
    scenario = success_scenario(
        win_vss_backup_status=[
            hv.status("diskshadow"),
            hv.status("awaiting_verdict"),
            hv.final_status(
                shadows_deleted=["{" + hv.SHADOW_D.upper() + "}"],
                mount_folders_left=[{"path": hv.JOB_DIR + "\\mnt\\VAWVOL2"}],
            ),
        ],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name="diskshadow_exec_failed.txt",
                copy=copy,
                files=files,
                shadows=[leftover],
                status_fields={"shadows_deleted": ["{" + hv.SHADOW_D.upper() + "}"]},
            )
        ],
        win_vss_backup_cleanup=[hv.cleanup_ok(shadows_deleted=["{" + hv.SHADOW_FAST.upper() + "}"])],
    )
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    cause = {
        8: r"some files or directories could not be copied.*error 32 on C:\\Mounts\\Fast\\db01\\Virtual Hard Disks"
        r"\\db01\.vhdx \(in the shadow copy\): The process cannot access",
        16: r"fatal error.*error 5 on C:\\Mounts\\Fast\\db01\\Virtual Hard Disks.* \(in the shadow copy\)"
        r": Access is denied",
    }[code]
    hv.assert_failure_safe(host, result, rf"^copy: VM db01: robocopy exit code {code} \({cause}")
    assert "web01" not in result["msg"]
    statuses = {v["name"]: v["status"] for v in result["vms"]}
    assert statuses == {"web01": "complete", "db01": "failed"}
    assert result["vms"][1]["errors"] and not result["vms"][0]["errors"]
    assert json.loads(verdict_of(host)["manifest_text"])["status"] == "partial"
    # the shadow the runner could not delete is deleted by id, with its mount folders
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["ShadowIds"] == [hv.SHADOW_FAST]
    assert hv.JOB_DIR + "\\mnt\\VAWVOL2" in cleanup.parameters["MountFolders"]
    assert result["shadows_deleted"] == sorted([hv.SHADOW_D, hv.SHADOW_FAST])


def test_destination_too_small_fails_before_anything_runs(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight(free_bytes=50 * hv.GIB)]})
    hv.assert_failure_safe(
        host,
        result,
        r"^preflight: destination too small: E:\\Backups has 50\.0 GiB free of 3\.9 TiB; this backup needs 60\.0 GiB"
        rf" \({hv.TOTAL_BYTES} bytes\), 10\.0 GiB \({hv.TOTAL_BYTES - 50 * hv.GIB} bytes\) more",
    )
    # no retention given: the message says so rather than offering an option that would not help
    assert "Counting this backup, no retention (every generation is kept) expires no generation" in result["msg"]
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]
    assert result["changed"] is False


def test_a_destination_that_does_not_exist_yet_is_created_by_the_job(clock):
    pre = hv.preflight()
    body = json.loads(pre["result"])
    body["destination"].update(exists=False, existing_parent="E:\\")
    pre["result"] = json.dumps(body)
    _host, result = run({"win_vss_backup_preflight": [pre]}, check_mode=True)
    assert not result.get("failed"), result["msg"]
    assert any("does not exist yet: the job creates it" in w for w in result["warnings"])


def test_a_local_destination_on_no_volume_fails_in_preflight(clock):
    pre = hv.preflight()
    body = json.loads(pre["result"])
    body["destination"].update(reachable=False, error="neither the folder nor any parent of it exists or can be read")
    pre["result"] = json.dumps(body)
    host, result = run({"win_vss_backup_preflight": [pre]})
    hv.assert_failure_safe(host, result, r"^preflight: destination E:\\Backups is not reachable on the host: neither")


def too_small(generation_path, phase, **more):
    """The runner's status after its space check failed (1 GiB free): its error and its numbers."""
    return {
        "error": f"destination too small: {hv.GIB} bytes free of {4000 * hv.GIB} at {generation_path},"
        f" {hv.TOTAL_BYTES} bytes to copy",
        "error_phase": phase,
        "destination_free_bytes": hv.GIB,
        "destination_total_bytes": 4000 * hv.GIB,
        "required_bytes": hv.TOTAL_BYTES,
        "shadows_deleted": [],
        "shadow_set_ids": [],
        **more,
    }


def test_destination_too_small_seen_by_the_job_account(clock):
    """A UNC destination the session cannot read is checked again by the runner as the job account."""
    fields = too_small("\\\\nas\\backups\\HV01\\" + hv.GENERATION, "destination")
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(reachable=False)],
        win_vss_backup_status=[hv.status("done", alive=False, outcome="failed", **fields)],
        win_vss_backup_collect=[
            hv.collect(transcript_name=None, copy={}, files=[], status_fields={**fields, "phase": "done"})
        ],
        win_vss_backup_signal=[],
    )
    host, result = run(scenario, {"destination": "\\\\nas\\backups", "retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host,
        result,
        r"^destination: destination too small: \\\\nas\\backups has 1\.0 GiB free of 3\.9 TiB; this backup needs"
        rf" 60\.0 GiB .*, 59\.0 GiB \({hv.TOTAL_BYTES - hv.GIB} bytes\) more.* \(checked as NT AUTHORITY\\SYSTEM\)$",
    )
    # what the policy would expire, from the job's own list, and why the option would not help here
    assert "retention (keep_last: 1) expires 20261123T020000Z, which frees 40.0 GiB" in result["msg"]
    assert "not enough even with expire_before_copy_when_short" in result["msg"]
    assert any("not reachable from the remote session" in w for w in result["warnings"])
    assert host.calls_to("win_vss_backup_cleanup")[0].parameters["RemoveJobs"] == [hv.JOB_ID]


def test_runner_killed_mid_copy_its_shadows_lock_and_mount_folders_are_removed(clock):
    """The host rebooted or the runner was killed: no finally ran, so the controller cleans up by id."""
    exposed = [
        hv.shadow(hv.SHADOW_D, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL1\\"),
        hv.shadow(hv.SHADOW_FAST, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL2\\", volume=hv.GUID_FAST),
        hv.shadow(OTHER_SHADOW, "11111111-0000-4000-8000-000000000011"),
    ]
    scenario = success_scenario(
        win_vss_backup_status=[hv.status("diskshadow"), hv.status("diskshadow", alive=False)],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name="diskshadow_exec_failed.txt",
                copy=hv.copy_outputs(),
                files=hv.listing(missing=("db01.vhdx",)),
                shadows=exposed,
                status_fields={
                    "phase": "diskshadow",
                    "shadows_deleted": [],
                    "shadow_set_ids": [],
                    "listing_written": False,
                },
            )
        ],
        win_vss_backup_signal=[],
        win_vss_backup_cleanup=[
            hv.cleanup_ok(
                shadows_deleted=["{" + hv.SHADOW_D.upper() + "}", "{" + hv.SHADOW_FAST.upper() + "}"],
                lock_released=True,
            )
        ],
    )
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(
        host, result, r"^job: the job runner of job 20261125T020000Z-0123abcd ended without finishing"
    )
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert sorted(cleanup.parameters["ShadowIds"]) == sorted([hv.SHADOW_D, hv.SHADOW_FAST])
    assert cleanup.parameters["MountFolders"] == [hv.JOB_DIR + "\\mnt\\VAWVOL1", hv.JOB_DIR + "\\mnt\\VAWVOL2"]
    assert cleanup.parameters["ReleaseLockOf"] == hv.JOB_ID
    assert host.calls_to("win_vss_backup_signal") == []  # no verdict: nothing is written, nothing expires
    assert result["shadows_deleted"] == sorted([hv.SHADOW_D, hv.SHADOW_FAST])


def test_a_runner_that_never_started_is_reported_with_the_task_result(clock):
    """powershell.exe failed at once (e.g. blocked by policy): no status file, the task is back to Ready."""
    never = hv.status("starting", alive=False)
    body = json.loads(never["result"])
    body.update(status=None, task_last_result=1)
    never["result"] = json.dumps(body)
    scenario = success_scenario(
        win_vss_backup_status=[never] * 6,  # 0 ... 150 s: still nothing after the 120 s grace period
        win_vss_backup_collect=[
            hv.collect(transcript_name=None, copy={}, files=[], status_fields={"phase": None, "shadow_set_ids": []})
        ],
        win_vss_backup_signal=[],
    )
    host, result = run(scenario)
    hv.assert_failure_safe(host, result, r"^job: .*never started, scheduled task result 0x00000001")
    assert host.calls_to("win_vss_backup_cleanup")[0].parameters["ReleaseLockOf"] == hv.JOB_ID


def test_failed_job_folder_is_kept_with_keep_failed_job(clock):
    scenario = success_scenario(
        win_vss_backup_status=[hv.status("awaiting_verdict"), hv.final_status(shadows_deleted=[])],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name="diskshadow_create_failed.txt", copy={}, files=[], status_fields={"shadows_deleted": []}
            )
        ],
    )
    host, result = run(scenario, {"keep_failed_job": True})
    assert result["failed"] and result["job_kept"] is True
    assert host.calls_to("win_vss_backup_cleanup")[0].parameters["KeepJobFolders"] == [hv.JOB_ID]


def test_a_start_racing_another_start_fails_on_the_lock(clock):
    scenario = {
        "win_vss_backup_preflight": [hv.preflight()],
        "win_vss_backup_start": [
            ps_error("another backup job holds the lock C:\\ProgramData\\vaware.hyperv\\backup.lock")
        ],
    }
    host, result = run(scenario)
    hv.assert_failure_safe(host, result, r"^start: .*another backup job holds the lock")
    assert result["changed"] is False


# ------------------------------------------------------------------------------------ polling


def test_connection_lost_during_three_polls_then_back(clock):
    connection = ResettableConnection()
    scenario = success_scenario()
    scenario["win_vss_backup_status"] = [
        hv.status("diskshadow"),
        unreachable(),
        unreachable(),
        unreachable(),
        hv.status("awaiting_verdict"),
        hv.final_status(),
    ]
    host, result = run(scenario, connection=connection)
    assert not result.get("failed"), result["msg"]
    assert connection.resets == 3  # the broken session is dropped after each lost poll
    # poll_interval, then backoff 30, 60, 120 after each lost poll
    assert clock.sleeps == [30, 30, 60, 120]
    assert len(host.calls_to("win_vss_backup_status")) == 6


def test_timeout_leaves_the_job_running(clock):
    scenario = {
        "win_vss_backup_preflight": [hv.preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        # polls at 0, 30, 60, 90 and a last one at the deadline (100)
        "win_vss_backup_status": [hv.status("diskshadow", vm_bytes={"web01": hv.GIB}, bytes_copied=hv.GIB)] * 5,
    }
    host, result = run(scenario, {"timeout": 100, "poll_interval": 30})
    hv.assert_failure_safe(host, result, r"^poll: timeout after 100s waiting for job 20261125T020000Z-0123abcd")
    assert "keeps running on the host" in result["msg"] and "1.0 GiB copied" in result["msg"]
    assert result["job_id"] == hv.JOB_ID
    assert not {"win_vss_backup_signal", "win_vss_backup_cleanup"} & {c.payload for c in host.calls}
    assert sum(clock.sleeps) == pytest.approx(100)


def test_timeout_while_the_host_is_unreachable(clock):
    scenario = {
        "win_vss_backup_preflight": [hv.preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        # polls at 0, 30 (lost, backoff 30), 60 (lost, backoff 60), 120 (lost, backoff cut to 80), 200 (lost)
        "win_vss_backup_status": [hv.status("diskshadow"), unreachable(), unreachable(), unreachable(), unreachable()],
    }
    host, result = run(scenario, {"timeout": 200, "poll_interval": 30})
    hv.assert_failure_safe(host, result, r"^poll: timeout after 200s .*last poll error: host unreachable")


def test_a_poll_script_that_keeps_failing_is_not_retried_until_the_timeout(clock):
    scenario = {
        "win_vss_backup_preflight": [hv.preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        "win_vss_backup_status": [hv.status("diskshadow")] + [ps_error("Access to the path is denied.")] * 3,
    }
    host, result = run(scenario)
    hv.assert_failure_safe(host, result, r"^poll: .*Access to the path is denied.*3 times in a row")
    assert sum(clock.sleeps) < 300


# ------------------------------------------------------------------------------------ attach, cancel


def running_job(**status):
    return hv.job_entry(hv.JOB_ID, alive=True, **status)


def test_second_run_attaches_to_the_running_job(clock):
    _plan_host, checked = run({"win_vss_backup_preflight": [hv.preflight()]}, check_mode=True)
    plan = checked["plan"]
    lock = {"job_id": hv.JOB_ID}
    scenario = {
        "win_vss_backup_preflight": [hv.preflight(lock=lock, jobs=[running_job()])],
        "win_vss_backup_status": [hv.status("diskshadow"), hv.status("awaiting_verdict"), hv.final_status()],
        "win_vss_backup_collect": [hv.collect(plan=plan)],
        "win_vss_backup_signal": [hv.signal_ok()],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    assert result["attached"] is True and result["job_id"] == hv.JOB_ID
    assert "win_vss_backup_start" not in {c.payload for c in host.calls}
    assert any("attached to it" in w for w in result["warnings"])
    # collect asked for plan.json because this run did not plan the job
    names = [f["name"] for f in host.calls_to("win_vss_backup_collect")[0].parameters["Files"]]
    assert "plan.json" in names


def test_attaching_verifies_with_the_options_the_job_was_started_with(clock):
    """A job started with verify: hash is verified with hash even when the attaching run says size."""
    checked = run({"win_vss_backup_preflight": [hv.preflight()]}, check_mode=True)[1]
    scenario = {
        "win_vss_backup_preflight": [hv.preflight(lock={"job_id": hv.JOB_ID}, jobs=[running_job()])],
        "win_vss_backup_status": [hv.status("awaiting_verdict"), hv.final_status()],
        "win_vss_backup_collect": [hv.collect(plan=checked["plan"], verify="hash")],
        "win_vss_backup_signal": [hv.signal_ok()],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }
    host, result = run(scenario, {"verify": "size"})
    hv.assert_failure_safe(host, result, r"no SHA-256 although verify is hash")
    assert json.loads(verdict_of(host)["manifest_text"])["verify"] == "hash"


def test_job_id_attaches_in_check_mode_without_changes(clock):
    scenario = {"win_vss_backup_preflight": [hv.preflight(lock={"job_id": hv.JOB_ID}, jobs=[running_job()])]}
    host, result = run(scenario, {"job_id": hv.JOB_ID}, check_mode=True)
    assert result["changed"] is False and result["job_id"] == hv.JOB_ID
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


def test_unknown_job_id_is_an_error(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight()]}, {"job_id": "20261125T020000Z-ffffffff"})
    hv.assert_failure_safe(host, result, r"^attach: job 20261125T020000Z-ffffffff does not exist")


def test_cancel_stops_the_runner_and_cleans_up(clock):
    checked = run({"win_vss_backup_preflight": [hv.preflight()]}, check_mode=True)[1]
    scenario = {
        "win_vss_backup_preflight": [hv.preflight(lock={"job_id": hv.JOB_ID}, jobs=[running_job()])],
        "win_vss_backup_signal": [hv.signal_ok("cancel.request")],
        "win_vss_backup_status": [
            hv.status("cancelling"),
            hv.final_status(outcome="cancelled", cancelled=True, manifest_written=False),
        ],
        "win_vss_backup_collect": [
            hv.collect(
                plan=checked["plan"],
                status_fields={"phase": "done", "cancelled": True},
                transcript_name="diskshadow_exec_failed.txt",
            )
        ],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }
    scenario["win_vss_backup_collect"] = [
        hv.collect(
            plan=checked["plan"],
            status_fields={
                "phase": "done",
                "cancelled": True,
                "unattributed_shadows": ["{" + OTHER_SHADOW.upper() + "}"],
            },
            transcript_name="diskshadow_exec_failed.txt",
        )
    ]
    host, result = run(scenario, {"state": "absent"})
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True and result["cancelled"] is True
    assert any(OTHER_SHADOW in w and "left alone" in w for w in result["warnings"])
    assert host.calls_to("win_vss_backup_signal")[0].parameters == {"JobId": hv.JOB_ID, "Name": "cancel.request"}
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["RemoveJobs"] == [hv.JOB_ID]
    assert "ShadowIds" not in cleanup.parameters  # the runner's finally deleted both
    assert result["shadows_deleted"] == sorted([hv.SHADOW_D, hv.SHADOW_FAST])


def test_cancel_of_a_job_whose_runner_died_cleans_up_by_id(clock):
    checked = run({"win_vss_backup_preflight": [hv.preflight()]}, check_mode=True)[1]
    dead = hv.job_entry(
        hv.JOB_ID, alive=False, phase="diskshadow", transcript_text=hv.transcript("diskshadow_exec_failed.txt")
    )
    left = [hv.shadow(hv.SHADOW_D, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL1\\")]
    scenario = {
        "win_vss_backup_preflight": [hv.preflight(lock={"job_id": hv.JOB_ID}, jobs=[dead], shadows=left)],
        "win_vss_backup_collect": [
            hv.collect(
                plan=checked["plan"],
                transcript_name="diskshadow_exec_failed.txt",
                shadows=left,
                status_fields={"phase": "diskshadow", "shadows_deleted": [], "shadow_set_ids": []},
            )
        ],
        "win_vss_backup_cleanup": [
            hv.cleanup_ok(shadows_deleted=["{" + hv.SHADOW_D.upper() + "}"], lock_released=True)
        ],
    }
    host, result = run(scenario, {"state": "absent"})
    assert not result.get("failed"), result["msg"]
    assert result["cancelled"] is True and "runner had already ended" in result["msg"]
    assert host.calls_to("win_vss_backup_signal") == []  # nobody left to read a cancel request
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["ShadowIds"] == [hv.SHADOW_D]
    assert cleanup.parameters["ReleaseLockOf"] == hv.JOB_ID
    assert hv.SHADOW_D in result["shadows_deleted"]


def test_cancel_with_nothing_running_changes_nothing(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight()]}, {"state": "absent"})
    assert result["changed"] is False and not result.get("failed")
    assert len(host.calls) == 1


def test_cancel_in_check_mode(clock):
    scenario = {"win_vss_backup_preflight": [hv.preflight(lock={"job_id": hv.JOB_ID}, jobs=[running_job()])]}
    host, result = run(scenario, {"state": "absent"}, check_mode=True)
    assert result["changed"] is True and "would cancel" in result["msg"]
    assert len(host.calls) == 1


# ------------------------------------------------------------------------------------ leftovers


DEAD_JOB = "20261120T020000Z-deadbeef"
DEAD_SET = "9d9d9d9d-0000-4000-8000-00000000009d"
DEAD_SHADOW = "8c8c8c8c-0000-4000-8000-00000000008c"
OTHER_SHADOW = "7b7b7b7b-0000-4000-8000-00000000007b"  # Previous Versions: not ours, must stay


def dead_transcript():
    text = hv.transcript("diskshadow_exec_failed.txt", hv.JOBS_ROOT + "\\" + DEAD_JOB)
    return text.replace(hv.SET_ID, DEAD_SET).replace(hv.SHADOW_D, DEAD_SHADOW)


def test_lock_left_by_a_dead_job_is_cleared_with_its_shadows(clock):
    dead = hv.job_entry(DEAD_JOB, alive=False, phase="diskshadow", transcript_text=dead_transcript())
    shadows = [
        hv.shadow(DEAD_SHADOW, DEAD_SET, exposed=hv.JOBS_ROOT + "\\" + DEAD_JOB + "\\mnt\\VAWVOL1\\"),
        hv.shadow(OTHER_SHADOW, "11111111-0000-4000-8000-000000000011"),
    ]
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(lock={"job_id": DEAD_JOB}, jobs=[dead], shadows=shadows)],
        win_vss_backup_cleanup=[
            hv.cleanup_ok(
                shadows_deleted=["{" + DEAD_SHADOW.upper() + "}"], lock_released=True, jobs_removed=[DEAD_JOB]
            ),
            hv.cleanup_ok(),
        ],
    )
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    sweep = host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert sweep["ReleaseLockOf"] == DEAD_JOB
    assert sweep["RemoveJobs"] == [DEAD_JOB]
    assert sweep["ShadowIds"] == [DEAD_SHADOW]  # by id; the other product's shadow is not touched
    assert hv.JOBS_ROOT + "\\" + DEAD_JOB + "\\mnt\\VAWVOL1" in sweep["MountFolders"]
    assert any(f"held by job {DEAD_JOB}" in w for w in result["warnings"])
    assert result["stale_shadows_deleted"] == ["{" + DEAD_SHADOW.upper() + "}"]
    order = [c.payload for c in host.calls]
    assert order.index("win_vss_backup_cleanup") < order.index("win_vss_backup_start")


def test_stale_shadows_from_an_earlier_crash_are_swept_by_id(clock):
    """No lock (the crash happened after it was released by hand), but the job folder names the shadow set."""
    crashed = hv.job_entry(DEAD_JOB, alive=False, phase="cleanup", shadow_set_ids=["{" + DEAD_SET + "}"])
    shadows = [hv.shadow(DEAD_SHADOW, DEAD_SET), hv.shadow(OTHER_SHADOW, "11111111-0000-4000-8000-000000000011")]
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(jobs=[crashed], shadows=shadows)],
        win_vss_backup_cleanup=[
            hv.cleanup_ok(shadows_deleted=["{" + DEAD_SHADOW.upper() + "}"], jobs_removed=[]),
            hv.cleanup_ok(),
        ],
    )
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    sweep = host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert sweep["ShadowIds"] == [DEAD_SHADOW]
    assert "ReleaseLockOf" not in sweep
    assert [s["id"] for s in result["stale_shadows"]] == [DEAD_SHADOW]


def test_a_shadow_known_only_by_its_mount_folder_is_swept_by_its_exposed_name(clock):
    """The dead job left no set id (killed during CREATE's output); Windows names the mount folder in
    ExposedName. A shadow exposed elsewhere (ExposedName another folder) is not ours and stays."""
    dead = hv.job_entry(DEAD_JOB, alive=False, phase="diskshadow")
    mine = hv.shadow(DEAD_SHADOW, DEAD_SET, exposed=hv.JOBS_ROOT + "\\" + DEAD_JOB + "\\mnt\\VAWVOL1\\")
    shared = hv.shadow(OTHER_SHADOW, "11111111-0000-4000-8000-000000000011", exposed="D:\\Data\\")
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(lock={"job_id": DEAD_JOB}, jobs=[dead], shadows=[mine, shared])],
        win_vss_backup_cleanup=[
            hv.cleanup_ok(
                shadows_deleted=["{" + DEAD_SHADOW.upper() + "}"], lock_released=True, jobs_removed=[DEAD_JOB]
            ),
            hv.cleanup_ok(),
        ],
    )
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    sweep = host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert sweep["ShadowIds"] == [DEAD_SHADOW]
    (stale,) = result["stale_shadows"]
    assert stale["exposed_path"] == hv.JOBS_ROOT + "\\" + DEAD_JOB + "\\mnt\\VAWVOL1\\"


def test_a_shadow_on_this_jobs_mount_folder_is_deleted_even_when_no_set_id_was_recorded(clock):
    """The runner died before diskshadow printed the set id: the shadow is found by ExposedName."""
    unnamed_set = "3c3c3c3c-0000-4000-8000-00000000003c"
    left = [hv.shadow(hv.SHADOW_FAST, unnamed_set, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL2\\", volume=hv.GUID_FAST)]
    scenario = success_scenario(
        win_vss_backup_status=[hv.status("diskshadow"), hv.status("diskshadow", alive=False)],
        win_vss_backup_collect=[
            hv.collect(
                transcript_name=None,
                files=hv.listing(missing=("db01.vhdx",)),
                shadows=left,
                status_fields={"phase": "diskshadow", "shadow_set_ids": [], "listing_written": False},
            )
        ],
        win_vss_backup_signal=[],
        win_vss_backup_cleanup=[
            hv.cleanup_ok(shadows_deleted=["{" + hv.SHADOW_FAST.upper() + "}"], lock_released=True)
        ],
    )
    host, result = run(scenario)
    assert result["failed"] is True
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert cleanup.parameters["ShadowIds"] == [hv.SHADOW_FAST]
    assert hv.SHADOW_FAST in result["shadows_deleted"]


def test_no_payload_reads_the_exposedpath_property_win32_shadowcopy_does_not_have():
    for ps1 in PAYLOADS.rglob("*.ps1"):
        assert "ExposedPath" not in ps1.read_text(encoding="utf-8"), ps1


def test_the_start_payload_secures_the_state_root_before_it_writes_anything():
    """ProgramData lets Users create files in new subfolders; the runner runs as SYSTEM from this root."""
    start = (PAYLOADS / "win_vss_backup_start.ps1").read_text(encoding="utf-8")
    first_write = min(
        start.index(w) for w in ("New-Item", "[IO.File]::Open", "Set-Content", "WriteAllText") if w in start
    )
    assert start.index("Initialize-VawareRoot -Root $paths.root") < first_write
    lib = (PAYLOADS / "lib" / "vss_common.ps1").read_text(encoding="utf-8")
    body = lib[lib.index("function Initialize-VawareRoot") :]
    body = body[: body.index("\nfunction ")]
    assert "SetAccessRuleProtection($true, $false)" in body  # inheritance cut, nothing copied
    assert body.count("FileSystemAccessRule(") == 1 and "foreach ($sid in @($system, $admins))" in body
    assert "$trusted = @('S-1-5-18', 'S-1-5-32-544')" in body  # well-known SIDs: no localized names
    for refusal in ("is owned by", "could not be replaced", "lets $(", "is not a plain folder"):
        assert refusal in body
    # the checks also run on a root that already existed (created first by someone else); the owner is
    # checked before an inherited ACL of an earlier version's root is replaced
    assert body.index("if (-not (Test-Path -LiteralPath $Root))") < body.index("$current = Get-Acl")
    assert body.index("is owned by") < body.index("if (-not $current.AreAccessRulesProtected)")


def _function_body(text, name):
    body = text[text.index(f"function {name}") :]
    return body[: body.index("\nfunction ")] if "\nfunction " in body else body


def test_each_job_gets_a_random_key_made_on_the_host_before_any_controller_file():
    """The key never travels: the controller cannot be asked for it and cannot overwrite it."""
    start = (PAYLOADS / "win_vss_backup_start.ps1").read_text(encoding="utf-8")
    made = start.index("[System.Security.Cryptography.RandomNumberGenerator]::Create()")
    written = start.index("[IO.File]::WriteAllBytes((Join-Path $jobDir 'job.key'), $key)")
    assert made < written < start.index("foreach ($name in $Files.Keys)")
    assert (
        "$name -in @('job.key', 'verdict.json', 'space.json', 'cancel.request', 'generations.json',"
        " 'restic.pass', 'restic.env.json')" in start
    )
    assert "$key = New-Object byte[] 32" in start


def test_the_runner_acts_only_on_a_verdict_signed_with_its_job_key():
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    # verdict.json is read in one place only, and that place checks job id and signature first
    assert runner.count("ReadAllText($Path)") == 1 and "ReadAllText($verdictPath)" not in runner
    reader = _function_body(runner, "Read-SignedVerdict")
    check = reader.index("[string]$envelope.mac -ne $expected")
    assert reader.index("[string]$envelope.job_id -ne [string]$params.job_id") < check
    assert check < reader.index("return ([string]$envelope.body | ConvertFrom-Json)")
    assert "Remove-Item -LiteralPath $Path" in reader and "$status.rejected_verdicts +=" in reader
    # the manifest is written and generations deleted only under an answer that reader returned
    waiter = _function_body(runner, "Wait-SignedVerdict")
    assert "$answer = Read-SignedVerdict -Path $path" in waiter
    assert runner.count("Read-SignedVerdict -Path") == 1
    wait = runner[runner.index("$verdict = Wait-SignedVerdict -Name 'verdict.json'") :]
    assert wait.index("if ($null -ne $verdict) {") < wait.index("WriteAllText($manifest + '.tmp'")
    assert wait.index("if ($null -ne $verdict) {") < wait.index(
        "Remove-Generations -Paths @($verdict.delete_generations)"
    )
    space = runner[runner.index("$answer = Wait-SignedVerdict -Name 'space.json'") :]
    assert space.index("if ($null -eq $answer) {") < space.index(
        "Remove-Generations -Paths @($answer.delete_generations)"
    )
    # generations are deleted in one place, and never the one this job writes
    assert runner.count("Remove-Item -LiteralPath $old -Recurse -Force") == 1
    assert "$old.TrimEnd('\\') -eq ([string]$params.generation_path).TrimEnd('\\')" in _function_body(
        runner, "Remove-Generations"
    )
    assert "$jobKey = [IO.File]::ReadAllBytes((Join-Path $jobDir 'job.key'))" in runner


def test_the_finalize_step_signs_the_verdict_with_the_job_key_on_the_host():
    signal = (PAYLOADS / "win_vss_backup_signal.ps1").read_text(encoding="utf-8")
    assert "Get-VerdictMac -Key ([IO.File]::ReadAllBytes($keyPath)) -JobId $JobId -Text $Text" in signal
    assert "[ordered]@{ job_id = $JobId; body = $Text; mac = $mac }" in signal
    lib = (PAYLOADS / "lib" / "vss_common.ps1").read_text(encoding="utf-8")
    mac = _function_body(lib, "Get-VerdictMac")
    assert "HMACSHA256" in mac and '$JobId + "`n" + $Text' in mac


def test_a_rejected_verdict_is_reported_as_a_warning(clock):
    final = hv.final_status(
        expired_deleted=[hv.HOST_PATH + "\\20261123T020000Z"],
        rejected_verdicts=[{"at": "2026-11-25T02:09:00Z", "reason": "its signature does not match this job's key"}],
    )
    scenario = success_scenario()
    scenario["win_vss_backup_status"] = [*scenario["win_vss_backup_status"][:3], final]
    _host, result = run(scenario, {"retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert any("not signed for this job" in w and "its signature does not match" in w for w in result["warnings"]), (
        result["warnings"]
    )


def test_the_job_task_runs_at_normal_priority():
    """The scheduled task default (7) lowers I/O priority; the start payload's task (lib/job_task.ps1) sets 4."""
    start = load_payload("win_vss_backup_start")
    body = start[start.index("$settingsArgs = @{") :]
    body = body[: body.index("}")]
    assert re.search(r"^\s*Priority = 4$", body, re.M), body


def test_the_runner_finds_its_exposed_shadows_by_exposed_name():
    """Remove-JobShadows matches this job's mount folders on ExposedName; Win32_ShadowCopy has no ExposedPath."""
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    body = runner[runner.index("function Remove-JobShadows") :]
    body = body[: body.index("$status.shadow_set_ids")]
    assert "$mountFolders -contains ([string]$_.ExposedName)" in body
    assert "ExposedPath" not in runner


@pytest.mark.parametrize(
    ("jobs", "written_at", "lock_extra"),
    [
        ([], "2026-11-25T01:57:00.0000000Z", {}),  # start took the lock, has not written the job folder yet
        ("registered", "2026-11-25T01:51:00.0000000Z", {}),  # job folder and task there, task not started yet
        ([], None, {"started_at": "2026-11-25T01:58:00+00:00"}),  # no file time: the lock's own start time
    ],
)
def test_a_young_lock_is_a_start_in_progress_not_a_dead_job(clock, jobs, written_at, lock_extra):
    if jobs == "registered":
        jobs = [hv.job_entry(DEAD_JOB, alive=False, phase="starting")]
    pre = hv.preflight(lock={"job_id": DEAD_JOB, **lock_extra}, jobs=jobs, lock_written_at=written_at)
    host, result = run({"win_vss_backup_preflight": [pre]})
    hv.assert_failure_safe(
        host, result, rf"^preflight: job {DEAD_JOB} took the backup lock \d+ s ago and is still starting"
    )
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]  # lock kept, nothing started


def test_a_young_lock_is_not_cancelled_as_dead(clock):
    pre = hv.preflight(lock={"job_id": DEAD_JOB}, lock_written_at="2026-11-25T01:59:00.0000000Z")
    host, result = run({"win_vss_backup_preflight": [pre]}, {"state": "absent"})
    assert result["failed"] is True and "still starting" in result["msg"] and "to cancel it" in result["msg"]
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


def test_a_lock_older_than_the_grace_without_a_running_job_is_dead(clock):
    pre = hv.preflight(lock={"job_id": DEAD_JOB}, lock_written_at="2026-11-25T01:49:00.0000000Z")  # 11 minutes
    scenario = success_scenario(
        win_vss_backup_preflight=[pre],
        win_vss_backup_cleanup=[hv.cleanup_ok(lock_released=True, jobs_removed=[]), hv.cleanup_ok()],
    )
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    assert host.calls_to("win_vss_backup_cleanup")[0].parameters["ReleaseLockOf"] == DEAD_JOB


def test_unreadable_lock_stops_before_anything_changes(clock):
    host, result = run({"win_vss_backup_preflight": [hv.preflight(lock={"unreadable": "Unexpected character"})]})
    hv.assert_failure_safe(host, result, r"^preflight: the backup lock .*backup\.lock names no job")
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


def test_dead_lock_without_cleanup_stale_keeps_the_job_folder_that_names_its_shadows(clock):
    dead = hv.job_entry(DEAD_JOB, alive=False, phase="diskshadow", transcript_text=dead_transcript())
    shadows = [hv.shadow(DEAD_SHADOW, DEAD_SET)]
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(lock={"job_id": DEAD_JOB}, jobs=[dead], shadows=shadows)],
        win_vss_backup_cleanup=[hv.cleanup_ok(lock_released=True, jobs_removed=[DEAD_JOB]), hv.cleanup_ok()],
    )
    host, result = run(scenario, {"cleanup_stale": False})
    assert not result.get("failed"), result["msg"]
    sweep = host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert sweep["ReleaseLockOf"] == DEAD_JOB
    assert sweep["KeepJobFolders"] == [DEAD_JOB]
    assert "ShadowIds" not in sweep
    assert any(DEAD_SHADOW in w for w in result["warnings"])


def test_stale_shadows_only_reported_without_cleanup_stale(clock):
    crashed = hv.job_entry(DEAD_JOB, alive=False, phase="cleanup", shadow_set_ids=["{" + DEAD_SET + "}"])
    scenario = {"win_vss_backup_preflight": [hv.preflight(jobs=[crashed], shadows=[hv.shadow(DEAD_SHADOW, DEAD_SET)])]}
    host, result = run(scenario, {"cleanup_stale": False}, check_mode=True)
    assert any(DEAD_SHADOW in w and "cleanup_stale is false" in w for w in result["warnings"])
    assert len(host.calls) == 1


def test_an_abandoned_finished_job_is_removed_by_the_next_run(clock):
    """The controller died while the runner waited for its verdict: the runner gave up, the task stayed."""
    abandoned = hv.job_entry(DEAD_JOB, alive=False, phase="done", verdict="timed_out")
    scenario = success_scenario(
        win_vss_backup_preflight=[hv.preflight(jobs=[abandoned])],
        win_vss_backup_cleanup=[hv.cleanup_ok(jobs_removed=[DEAD_JOB]), hv.cleanup_ok()],
    )
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    sweep = host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert sweep["RemoveJobs"] == [DEAD_JOB]
    assert sweep["ShadowIds"] == []
    assert "ReleaseLockOf" not in sweep


def test_every_payload_parses_with_the_powershell_grammar():
    import tree_sitter
    import tree_sitter_pwsh

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))
    names = sorted(p.name for p in PAYLOADS.glob("win_vss_backup_*.ps1"))
    assert len(names) == 7, names
    for name in names:
        tree = parser.parse((PAYLOADS / name).read_bytes())
        assert not tree.root_node.has_error, name
    broken = parser.parse(b"if ($a) { Write-Output 'x' ")
    assert broken.root_node.has_error  # the check can fail


# ------------------------------------------------------------------------------------ values & validation

HOSTILE = "x'; Remove-Item C:\\ -Recurse; '"


def test_hostile_vm_name_reaches_the_host_only_as_a_parameter_value(clock):
    """The name comes from the host's inventory; the plan records it as excluded and sends it back as data."""
    vms = [hv.vm("web01", hv.WEB01_ID), {**hv.vm("db01", hv.DB01_ID), "name": HOSTILE}]
    scenario = {"win_vss_backup_preflight": [hv.preflight(vms=vms)], "win_vss_backup_start": [ps_error("stop here")]}
    host, result = run(scenario, {"exclude_vms": ["x'*"]})
    assert result["failed"] and result["step"] == "start"
    start = host.calls_to("win_vss_backup_start")[0]
    plan = json.loads(start.parameters["Files"]["plan.json"]["text"])
    assert plan["excluded_vms"] == [HOSTILE]
    for call in host.calls:
        # ScriptedHost recognised every script as the stored file: nothing was formatted into it
        assert call.payload is not None
        assert "Remove-Item C:\\ -Recurse" not in call.script
    for name, entry in start.parameters["Files"].items():
        if name not in ("plan.json", "runner.ps1"):
            assert "Remove-Item" not in entry["text"], name


def test_hostile_vm_name_to_back_up_is_refused_before_anything_changes(clock):
    """Such a name cannot become a backup folder: the plan refuses it, naming it, before any change."""
    vms = [hv.vm("web01", hv.WEB01_ID), {**hv.vm("db01", hv.DB01_ID), "name": HOSTILE}]
    host, result = run({"win_vss_backup_preflight": [hv.preflight(vms=vms)]}, {"vms": [HOSTILE]})
    assert result["failed"] and result["step"] == "plan"
    assert "Remove-Item C:" in result["msg"] and "cannot be a folder name" in result["msg"]
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]
    assert all("Remove-Item C:\\ -Recurse" not in c.script for c in host.calls)


def test_run_as_password_goes_only_as_a_sensitive_parameter(clock):
    secret = "S3cret!pw"
    scenario = {"win_vss_backup_preflight": [hv.preflight()], "win_vss_backup_start": [ps_error(f"bad {secret}")]}
    host, result = run(scenario, {"run_as": "CORP\\svc-backup", "run_as_password": secret})
    start = host.calls_to("win_vss_backup_start")[0]
    assert start.parameters["RunAs"] == "CORP\\svc-backup"
    assert secret not in json.dumps(start.parameters)
    assert start.sensitive_parameters == [{"name": "RunAsPassword", "value": secret}]
    assert secret not in json.dumps(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"copy_threads": 0}, r"copy_threads: expected a whole number from 1 to 128, got 0"),
        ({"poll_interval": 0}, r"poll_interval: expected a whole number from 1 to 3600, got 0"),
        ({"timeout": 10, "poll_interval": 30}, r"poll_interval: 30 is longer than timeout 10"),
        ({"retention": {"keep_daily": -1}}, r"retention.keep_daily: expected a whole number from 0 to 100000, got -1"),
        ({"job_id": "../../x"}, r"job_id: expected a job id .* got '../../x'"),
        ({"run_as": "CORP\\svc"}, r"run_as and run_as_password: give both"),
        ({"destination": "backups"}, r"destination: expected a local path .* got 'backups'$"),
        # what -e destination=\\nas01\backups leaves: shown as it arrived, with how to pass it
        (
            {"destination": "\\nas01\u0008ackups"},
            r"got '\\nas01\\u0008ackups'\. Backslashes look decoded: .*\(-e @vars\.yml\)",
        ),
        ({"destination": None}, r"destination: required"),
        ({"backup_type": "incremental"}, r"backup_type"),
        ({"verify": "crc"}, r"verify"),
    ],
)
def test_bad_options_fail_before_any_call(clock, args, message):
    host = ScriptedHost({})
    action = host.install(make_action(plugin.ActionModule, {**ARGS, **args}))
    with pytest.raises(AnsibleActionFail, match=message):
        action.run(task_vars={})
    assert host.calls == []


# ------------------------------------------------------------------------------------ payload text


def test_payloads_never_delete_all_shadows_and_the_runner_cleans_up_in_finally():
    for path in PAYLOADS.glob("win_vss_backup_*.ps1"):
        text = load_payload(path.stem)  # as sent: with the shared library spliced in
        assert not re.search(r"delete\s+shadows\s+(/)?all", text, re.IGNORECASE), path.name
        assert "Invoke-Expression" not in text and "iex " not in text.lower(), path.name
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    finally_block = runner[runner.index("} finally {") :]
    assert finally_block.index("Remove-JobShadows") < finally_block.index("Remove-MountFolders")
    assert "release the lock" in runner


def test_the_job_task_runs_as_system_by_a_name_that_is_not_localized():
    """'NT AUTHORITY' is translated on non-English Windows; the account name SYSTEM is not."""
    start = load_payload("win_vss_backup_start")
    principals = re.findall(r"New-ScheduledTaskPrincipal (.*)", start)
    assert principals == ["-UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest"]
    assert not re.search(r"(?mi)^[^#\n]*NT AUTHORITY", start)  # only in the comment saying why


# ---------------------------------------------------------- retention from the job account's list

UNC = "\\\\nas01\\hyperv-backup"
UNC_HOST_PATH = UNC + "\\HV01"


def unc_success(**overrides):
    """A share the WinRM session cannot read (no credential delegation); the job account can."""
    scenario = success_scenario(win_vss_backup_preflight=[hv.preflight(reachable=False)])
    scenario["win_vss_backup_status"] = [
        *scenario["win_vss_backup_status"][:3],
        hv.final_status(expired_deleted=[UNC_HOST_PATH + "\\20261123T020000Z"]),
    ]
    scenario.update(overrides)
    return scenario


def test_the_test_host_lists_no_generations_for_a_destination_it_cannot_read():
    body = json.loads(hv.preflight(reachable=False)["result"])
    assert body["destination"]["reachable"] is False and body["destination"]["generations"] == []


def test_retention_runs_from_the_job_accounts_list_when_the_session_cannot_read_the_share(clock):
    host, result = run(unc_success(), {"destination": UNC, "retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert verdict_of(host)["delete_generations"] == [UNC_HOST_PATH + "\\20261123T020000Z"]
    assert result["expired"] == ["20261123T020000Z"]
    assert result["retention_skipped"] is False
    assert not any("retention did not run" in w for w in result["warnings"])
    # the listing is collected from the job folder, where the job account wrote it
    (collect,) = host.calls_to("win_vss_backup_collect")
    assert "generations.json" in [f["name"] for f in collect.parameters["Files"]]


@pytest.mark.parametrize(
    ("generations", "why"),
    [
        (hv.generations_json(error="Access to the path '\\\\nas01\\hyperv-backup\\HV01' is denied."), "is denied"),
        (None, "started by an earlier version"),
    ],
    ids=["listing-failed", "no-listing"],
)
def test_retention_that_cannot_list_generations_says_so_and_expires_nothing(clock, generations, why):
    scenario = unc_success(win_vss_backup_collect=[hv.collect(generations=generations)])
    scenario["win_vss_backup_status"][-1] = hv.final_status()
    host, result = run(scenario, {"destination": UNC, "retention": {"keep_last": 1}})
    assert not result.get("failed"), result["msg"]
    assert verdict_of(host)["delete_generations"] == []
    assert result["expired"] == [] and result["retention_skipped"] is True
    (warning,) = [w for w in result["warnings"] if "retention did not run" in w]
    assert UNC_HOST_PATH in warning and why in warning and "NT AUTHORITY\\SYSTEM" in warning


def test_without_retention_an_unlisted_destination_is_no_warning(clock):
    scenario = unc_success(win_vss_backup_collect=[hv.collect(generations=None)])
    scenario["win_vss_backup_status"][-1] = hv.final_status()
    _host, result = run(scenario, {"destination": UNC})
    assert not result.get("failed"), result["msg"]
    assert result["retention_skipped"] is False
    assert not any("retention" in w for w in result["warnings"])


def test_the_runner_lists_generations_as_the_job_account_before_the_snapshot():
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    listed = runner.index("$listing.generations = Get-GenerationList -HostFolder ([string]$params.host_path)")
    written = runner.index("[IO.File]::WriteAllText((Join-Path $jobDir 'generations.json')")
    assert listed < written < runner.index("Start-Process -FilePath 'diskshadow.exe'")
    # one listing function for preflight and job
    preflight = (PAYLOADS / "win_vss_backup_preflight.ps1").read_text(encoding="utf-8")
    assert (
        "Get-GenerationList -HostFolder" in preflight
        and "Get-ChildItem" not in preflight.split("Get-GenerationList")[1][:200]
    )


# ------------------------------------------------------------- a full destination: making room


def space_scenario(free_bytes, answer_status_fields, final, collect_after=None):
    """The runner finds too little space, asks (space.json), then runs on as ``final`` says."""
    return success_scenario(
        win_vss_backup_status=[
            hv.status("destination"),
            hv.status(
                "awaiting_space_verdict",
                destination_free_bytes=free_bytes,
                destination_total_bytes=4000 * hv.GIB,
                required_bytes=hv.TOTAL_BYTES,
            ),
            *answer_status_fields,
            final,
        ],
        win_vss_backup_collect=[hv.space_collect(free_bytes=free_bytes), *(collect_after or [hv.collect()])],
        win_vss_backup_signal=[hv.signal_ok("space.json"), hv.signal_ok()],
    )


def signals(host, name):
    return [
        json.loads(c.parameters["Text"]) for c in host.calls_to("win_vss_backup_signal") if c.parameters["Name"] == name
    ]


def test_short_of_space_the_job_expires_what_retention_would_and_keeps_the_newest(clock):
    made_room = [hv.HOST_PATH + "\\20261123T020000Z"]
    scenario = space_scenario(
        30 * hv.GIB,
        [
            hv.status("diskshadow", expired_before_copy=made_room),
            hv.status("awaiting_verdict", expired_before_copy=made_room),
        ],
        hv.final_status(expired_before_copy=made_room, expired_deleted=[hv.HOST_PATH + "\\20261124T020000Z"]),
        collect_after=[hv.collect(status_fields={"expired_before_copy": made_room})],
    )
    host, result = run(scenario, {"retention": {"keep_last": 1}, "expire_before_copy_when_short": True})
    assert not result.get("failed"), result["msg"]
    (answer,) = signals(host, "space.json")
    # keep_last 1 counting this backup expires both; the newest complete one there (1124) is kept until verified
    assert answer == {"decision": "expire", "delete_generations": made_room}
    assert result["expired_before_copy"] == ["20261123T020000Z"]
    # after verification retention expires 1124 too, and does not ask to delete 1123 again
    (verdict,) = signals(host, "verdict.json")
    assert verdict["delete_generations"] == [hv.HOST_PATH + "\\20261124T020000Z"]
    assert result["expired"] == ["20261124T020000Z"]
    (warning,) = [w for w in result["warnings"] if "short of space" in w]
    assert "20261123T020000Z" in warning and "kept the newest complete generation 20261124T020000Z" in warning


def test_short_of_space_with_too_little_to_expire_deletes_nothing_and_shows_the_arithmetic(clock):
    fields = too_small(hv.GENERATION_PATH, "making_space", space_verdict="refuse")
    scenario = space_scenario(
        hv.GIB,
        [],
        hv.status("done", alive=False, outcome="failed", **fields),
        collect_after=[hv.collect(transcript_name=None, copy={}, files=[], status_fields={**fields, "phase": "done"})],
    )
    scenario["win_vss_backup_signal"] = [hv.signal_ok("space.json")]
    # the session saw plenty of space (the share filled meanwhile): the job's own numbers decide
    host, result = run(scenario, {"retention": {"keep_last": 1}, "expire_before_copy_when_short": True})
    hv.assert_failure_safe(
        host, result, r"^destination: destination too small: E:\\Backups has 1\.0 GiB free of 3\.9 TiB"
    )
    (answer,) = signals(host, "space.json")
    assert answer == {"decision": "refuse", "delete_generations": []}
    assert "expires 20261123T020000Z, which frees 40.0 GiB: not enough, so nothing was deleted" in result["msg"]
    assert result["expired_before_copy"] == []


def test_short_of_space_seen_in_preflight_fails_at_once_when_expiring_would_not_help(clock):
    host, result = run(
        {"win_vss_backup_preflight": [hv.preflight(free_bytes=10 * hv.GIB)]},
        {"retention": {"keep_last": 1}, "expire_before_copy_when_short": True},
    )
    hv.assert_failure_safe(host, result, r"^preflight: destination too small: E:\\Backups has 10\.0 GiB free")
    assert "frees 40.0 GiB: not enough, so nothing was deleted" in result["msg"]
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


def test_short_of_space_without_the_option_names_it_when_it_would_help(clock):
    host, result = run(
        {"win_vss_backup_preflight": [hv.preflight(free_bytes=30 * hv.GIB)]}, {"retention": {"keep_last": 1}}
    )
    hv.assert_failure_safe(host, result, r"^preflight: destination too small")
    assert "expire_before_copy_when_short: true would delete those before the copy" in result["msg"]


def test_check_mode_says_which_generations_would_make_room(clock):
    host, result = run(
        {"win_vss_backup_preflight": [hv.preflight(free_bytes=30 * hv.GIB)]},
        {"retention": {"keep_last": 1}, "expire_before_copy_when_short": True},
        check_mode=True,
    )
    assert not result.get("failed"), result["msg"]
    assert result["expired_before_copy"] == ["20261123T020000Z"]
    assert "first expiring 20261123T020000Z to make room" in result["msg"]
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


@pytest.mark.parametrize(
    ("option", "retention", "asks"),
    [(True, {"keep_last": 1}, True), (True, None, False), (False, {"keep_last": 1}, False)],
)
def test_the_job_asks_to_make_room_only_with_the_option_and_a_policy(clock, option, retention, asks):
    args = {"expire_before_copy_when_short": option}
    if retention:
        args["retention"] = retention
    host, result = run(success_scenario(), args)
    assert not result.get("failed"), result["msg"]
    (start,) = host.calls_to("win_vss_backup_start")
    params = json.loads(start.parameters["Files"]["params.json"]["text"])
    assert params["expire_when_short"] is asks


def test_the_runner_deletes_to_make_room_only_under_the_signed_answer_before_the_snapshot():
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    ask = runner.index("if (-not (Test-Space) -and $params.expire_when_short -and $status.generations_listed) {")
    wait = runner.index("$answer = Wait-SignedVerdict -Name 'space.json'")
    delete = runner.index("Remove-Generations -Paths @($answer.delete_generations) -Into 'expired_before_copy'")
    recheck = runner.index("if (-not (Test-Space)) {", delete)
    assert ask < wait < delete < recheck < runner.index("Start-Process -FilePath 'diskshadow.exe'")
    assert "$answer.decision -eq 'expire'" in runner[wait:delete]
    signal = (PAYLOADS / "win_vss_backup_signal.ps1").read_text(encoding="utf-8")
    assert "[ValidateSet('cancel.request', 'space.json', 'restic_plan.json', 'verdict.json')]" in signal
    assert "if ($Name -ne 'cancel.request') {" in signal


# ------------------------------------------------------- excluded VMs are not quiesced by the writer

TEST01_ID = "7e570000-0000-4000-8000-000000000001"


def with_test01():
    test01 = {
        "name": "test01",
        "id": TEST01_ID,
        "state": "Running",
        "config_paths": [{"path": f"D:\\Hyper-V\\test01\\Virtual Machines\\{TEST01_ID.upper()}.vmcx", "size": 4096}],
        "checkpoint_paths": [],
        "vhd_paths": [{"path": "D:\\Hyper-V\\test01\\Virtual Hard Disks\\test01.vhdx", "size": hv.GIB}],
    }
    return hv.preflight(vms=[hv.vm("web01", hv.WEB01_ID), hv.vm("db01", hv.DB01_ID, "Off"), test01])


def test_an_excluded_vm_on_a_snapshotted_volume_is_excluded_from_the_writer_and_that_is_no_failure(clock):
    scenario = success_scenario(
        win_vss_backup_preflight=[with_test01()],
        win_vss_backup_collect=[hv.collect(transcript_name="diskshadow_success_writer_exclude.txt")],
    )
    host, result = run(scenario, {"exclude_vms": ["test01"], "retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    (start,) = host.calls_to("win_vss_backup_start")
    script = start.parameters["Files"]["backup.dsh"]["text"]
    assert f"WRITER EXCLUDE {{66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}}:\\{TEST01_ID.upper()}" in script
    assert result["writer"]["included"] is True
    assert not any("excluded component" in w for w in result["warnings"])


def test_a_backed_up_vm_left_out_by_the_writer_still_fails_the_writer_check(clock):
    """Only the components the script left out on purpose are expected; any other is a real exclusion."""
    plan = {"writer_excluded_components": [{"vm": "test01", "component": "\\" + TEST01_ID.upper()}]}
    ds = {
        "excluded_components": [
            {"component": "\\\\" + TEST01_ID.upper(), "writer": "Microsoft Hyper-V VSS Writer"},
            {"component": "\\\\" + hv.WEB01_ID.upper(), "writer": "Microsoft Hyper-V VSS Writer"},
            {"component": "\\BCD\\BCD", "writer": "ASR Writer"},
        ]
    }
    left = outcome.hyperv_components_excluded(ds, plan)
    assert [c["component"] for c in left] == ["\\\\" + hv.WEB01_ID.upper()]


def test_restore_points_after_retention_count_the_generations_kept_per_vm(clock):
    """The job listed 20261123 and 20261124 (web01 complete in both), an unfinished one and one holding only old01 (a
    VM no longer backed up); keep_last 2 expires 20261122 and 20261123 and deletes 20261123 (20261122 stays, its
    deletion is not recorded): web01 has 20261124 and the new generation, db01 the new one, old01 its own."""
    listed = hv.generation_list()
    other = hv.manifest_of("20261122T020000Z")
    other["vms"][0]["name"] = "old01"
    listed.append({"name": "20261122T020000Z", "path": "", "created": "", "manifest": other})
    listed.append({"name": "20261121T020000Z", "path": "", "created": "", "manifest": None})  # unfinished
    free = {"destination_free_bytes": 1500 * hv.GIB, "destination_total_bytes": 4000 * hv.GIB}
    scenario = success_scenario(
        win_vss_backup_collect=[hv.collect(generations=hv.generations_json(listed), status_fields=free)]
    )
    _host, result = run(scenario, {"retention": {"keep_last": 2}})
    assert not result.get("failed"), result["msg"]
    assert result["expired"] == ["20261123T020000Z"]
    by_name = {p["name"]: p for p in result["restore_points"]}
    assert by_name["web01"] == {"name": "web01", "count": 2, "oldest": "20261124T020000Z"}
    assert by_name["db01"] == {"name": "db01", "count": 1, "oldest": hv.GENERATION}
    assert by_name["old01"] == {"name": "old01", "count": 1, "oldest": "20261122T020000Z"}
    assert result["destination_free_bytes"] == 1500 * hv.GIB and result["destination_total_bytes"] == 4000 * hv.GIB


def test_no_restore_points_without_a_listing_and_no_free_space_when_not_measured(clock):
    scenario = success_scenario(win_vss_backup_collect=[hv.collect(generations=None)])
    scenario["win_vss_backup_status"][-1] = hv.final_status()
    _host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    assert "restore_points" not in result
    assert result["destination_free_bytes"] is None and result["destination_total_bytes"] is None
