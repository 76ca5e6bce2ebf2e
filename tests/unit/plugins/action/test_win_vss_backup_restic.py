"""win_vss_backup with a restic repository against the scripted HV01 (restic's output recorded from the real restic).

What is promised: one snapshot per VM from the shadow copies, restic's summary per VM in the result, failures
named (wrong password, locked repository, damaged repository), retention (``forget`` per VM, never
``--prune``) only after every new snapshot is verified by ``restic check``, and after any failure no shadow
copy is left and nothing is forgotten. The password reaches the host only as a sensitive parameter.
"""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.vaware.hyperv.plugins.action import win_vss_backup as plugin
from ansible_collections.vaware.hyperv.tests.support import restic_backup_host as rh
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedHost, make_action, ok

PAYLOADS = pathlib.Path(plugin.__file__).resolve().parents[1] / "payloads"


@pytest.fixture
def clock(monkeypatch):
    """The files tests' fake clock: polling is instant, hv.NOW is the job's start."""
    return hv.install_clock(monkeypatch, plugin)


def run(scenario, args=None, check_mode=False):
    host = ScriptedHost(scenario)
    task_args = {"repository": dict(rh.REPOSITORY), **(args or {})}
    action = host.install(make_action(plugin.ActionModule, task_args, check_mode=check_mode))
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def verdict_of(host):
    (call,) = [c for c in host.calls_to("win_vss_backup_signal") if c.parameters["Name"] == "verdict.json"]
    return json.loads(call.parameters["Text"])


def everything_sent(host):
    """Every plain parameter of every call, and the result of each file the job got, as one text."""
    return json.dumps([c.parameters for c in host.calls])


def test_success_one_snapshot_per_vm_verified_then_forget_per_vm(clock):
    host, result = run(rh.scenario(forget=rh.FORGET), {"retention": {"keep_last": 1}})
    assert not result.get("failed"), result["msg"]
    web01, db01 = result["vms"]
    for vm, case in ((web01, "job_backup_web01"), (db01, "job_backup_db01")):
        summary = rh.summary(case)
        assert vm["status"] == "complete" and vm["errors"] == []
        assert vm["snapshot_id"] == summary["snapshot_id"]
        assert vm["bytes_added"] == summary["data_added"] < vm["bytes_processed"] == summary["total_bytes_processed"]
        assert vm["files"] == summary["total_files_processed"]
        assert vm["seconds"] == round(summary["total_duration"], 1)
        assert vm["dedup_ratio"] == round(summary["total_bytes_processed"] / summary["data_added"], 2)
    assert result["restic"]["verified"] is True and result["restic"]["check"]["ok"] is True
    assert result["restic"]["snapshots"] == {"web01": web01["snapshot_id"], "db01": db01["snapshot_id"]}
    assert result["generation_status"] == "complete"
    assert result["destination_path"] is None and result["manifest_path"] is None

    # the plan: diskshadow only creates and exposes; restic runs once per VM from its mount folder
    start = host.calls_to("win_vss_backup_start")[0]
    script = start.parameters["Files"]["backup.dsh"]["text"]
    assert "EXPOSE %VAWVOL1%" in script and "EXEC" not in script and "copy.cmd" not in start.parameters["Files"]
    params = json.loads(start.parameters["Files"]["params.json"]["text"])
    web_step, db_step = params["restic"]["steps"]
    assert web_step["working_dir"] == hv.JOB_DIR + "\\mnt\\VAWVOL1"
    assert web_step["args"][web_step["args"].index("--") + 1 :] == [
        f"Hyper-V\\web01\\Virtual Machines\\{hv.WEB01_ID.upper()}.vmcx",
        f"Hyper-V\\web01\\Virtual Machines\\{hv.WEB01_ID.upper()}.vmgs",
        "Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
    ]
    assert web_step["args"][:4] == ["backup", "--json", "--host", "HV01"]
    assert f"vm-id:{hv.WEB01_ID}" in web_step["args"] and "vm:web01" in web_step["args"]
    assert db_step["working_dir"] == hv.JOB_DIR + "\\mnt\\VAWVOL2"
    assert '"Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"' in web_step["command_line"]
    assert params["restic"]["check"]["args"] == ["check"]

    # the password and the location only as sensitive parameters, nowhere else
    sensitive = {e["name"]: e["value"] for e in start.sensitive_parameters}
    assert sensitive["ResticPassword"] == rh.PASSWORD
    environment = json.loads(sensitive["ResticEnvironment"])
    assert environment == {
        "RESTIC_REPOSITORY": rh.LOCATION,
        "RESTIC_PASSWORD_FILE": hv.JOB_DIR + "\\restic.pass",
    }
    assert rh.PASSWORD not in everything_sent(host) and rh.PASSWORD not in json.dumps(result)
    assert "RESTIC_REPOSITORY" not in everything_sent(host)

    # retention after the check: one forget per VM, its own group, never --prune; no prune on a Wednesday
    verdict = verdict_of(host)
    assert verdict["decision"] == "complete" and verdict["delete_generations"] == []
    assert [s["vm"] for s in verdict["restic_forget"]] == ["web01", "db01"]
    assert verdict["restic_forget"][0]["args"] == [
        "forget",
        "--json",
        "--host",
        "HV01",
        "--tag",
        f"vm-id:{hv.WEB01_ID}",
        "--group-by",
        "host",
        "--keep-last",
        "1",
    ]
    assert not any("--prune" in s["args"] for s in verdict["restic_forget"])
    assert verdict["restic_prune"] is None and result["restic"]["prune"] is None
    removed = [json.loads(rh.recorded(c)[0])[0]["remove"][0]["id"] for c in ("job_forget_web01", "job_forget_db01")]
    assert result["expired"] == removed
    assert [f["removed"] for f in result["restic"]["forget"]] == [[removed[0]], [removed[1]]]
    assert result["shadows_created"] == [hv.SHADOW_D, hv.SHADOW_FAST]
    assert set(result["shadows_created"]) <= set(result["shadows_deleted"])
    assert "ShadowIds" not in host.calls_to("win_vss_backup_cleanup")[0].parameters
    assert [c.payload for c in host.calls].count("win_vss_backup_collect") == 4


def test_prune_runs_after_forget_on_a_prune_weekday(clock):
    # hv.NOW, 2026-11-25, is a Wednesday
    repository = {**rh.REPOSITORY, "prune_weekdays": ["wednesday"]}
    scenario = rh.scenario(forget={**rh.FORGET, "prune": "job_check"})
    host, result = run(scenario, {"repository": repository, "retention": {"keep_last": 1}})
    assert not result.get("failed"), result["msg"]
    verdict = verdict_of(host)
    assert verdict["restic_prune"]["args"] == ["prune"]
    assert result["restic"]["prune"] == {"ran": True, "exit_code": 0}


def test_without_retention_nothing_is_forgotten(clock):
    host, result = run(rh.scenario())
    assert not result.get("failed"), result["msg"]
    assert verdict_of(host)["restic_forget"] == [] and result["expired"] == []


@pytest.mark.parametrize(
    ("case", "kind", "named"),
    [
        ("job_backup_wrong_password", "wrong_password", r"wrong password: repository.password does not open"),
        ("job_backup_locked", "locked", r"repository .* is locked by PID \d+ on vm \(root\).*restic unlock"),
    ],
)
def test_a_failed_backup_is_named_and_forgets_nothing(clock, case, kind, named):
    night = {**rh.NIGHT, "r001": case}
    host, result = run(rh.scenario(night=night), {"retention": {"keep_last": 1}})
    assert result["step"] == "restic backup"
    hv.assert_failure_safe(host, result, "VM web01: " + named)
    web01, db01 = result["vms"]
    assert web01["status"] == "failed" and web01["failure_kind"] == kind and web01["snapshot_id"] is None
    assert db01["status"] == "complete"
    verdict = verdict_of(host)
    assert verdict["decision"] == "failed" and verdict["restic_forget"] == [] and verdict["restic_prune"] is None
    assert result["restic"]["verified"] is False and result["expired"] == []


def test_a_damaged_repository_fails_the_check_and_forgets_nothing(clock):
    night = {**rh.NIGHT, "check": "check_damaged"}
    host, result = run(rh.scenario(night=night), {"retention": {"keep_last": 1}})
    assert result["step"] == "restic check"
    hv.assert_failure_safe(host, result, "restic check after the backup: repository .* is damaged")
    assert all(vm["status"] == "complete" for vm in result["vms"])
    assert verdict_of(host)["restic_forget"] == []


def test_a_failure_leaves_no_shadow_copy_behind(clock):
    """The runner could not delete the shadows (still listed at collect): the cleanup call deletes them by id."""
    left = [
        hv.shadow(hv.SHADOW_D, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL1"),
        hv.shadow(hv.SHADOW_FAST, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL2", volume=hv.GUID_FAST),
    ]
    night = {**rh.NIGHT, "r001": "job_backup_locked"}
    runs = rh.outputs(night)
    scenario = rh.scenario(night=night)
    scenario["win_vss_backup_collect"][1] = rh.collect(
        runs, shadows_deleted=[], shadow_delete_errors=[{"id": hv.SHADOW_D, "error": "busy"}], host_shadows=left
    )
    scenario["win_vss_backup_cleanup"] = [hv.cleanup_ok(shadows_deleted=[hv.SHADOW_D, hv.SHADOW_FAST])]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    hv.assert_failure_safe(host, result, "locked")
    (cleanup,) = host.calls_to("win_vss_backup_cleanup")
    assert sorted(cleanup.parameters["ShadowIds"]) == sorted([hv.SHADOW_D, hv.SHADOW_FAST])
    assert cleanup.parameters["MountFolders"] == [hv.JOB_DIR + "\\mnt\\VAWVOL1", hv.JOB_DIR + "\\mnt\\VAWVOL2"]


def test_diskshadow_exposed_nothing_restic_did_not_run(clock):
    runs = rh.outputs({})
    scenario = rh.scenario(night={})
    scenario["win_vss_backup_collect"] = [
        rh.probe_files(),
        rh.collect(
            runs,
            error=f"diskshadow exposed no shadow copy on {hv.JOB_DIR}\\mnt\\VAWVOL1; restic did not run",
            error_phase="diskshadow",
        ),
        rh.restic_files({}),  # the step files the controller asks for are not there
    ]
    host, result = run(scenario, {"retention": {"keep_last": 1}})
    assert result["step"] == "diskshadow"
    hv.assert_failure_safe(host, result, "exposed no shadow copy")
    assert all(vm["status"] == "failed" for vm in result["vms"])


def test_restic_missing_or_too_old_fails_the_preflight(clock):
    _host, result = run({"win_vss_backup_preflight": [rh.preflight(exists=False)]})
    assert result["failed"] and result["step"] == "preflight"
    assert "restic was not found on the host at C:\\Program Files\\restic\\restic.exe" in result["msg"]
    old = json.loads(rh.preflight()["result"])
    old["restic"]["version"] = "restic 0.12.1 compiled with go1.16.5 on windows/amd64"
    _host, result = run({"win_vss_backup_preflight": [ok(old)]})
    assert result["failed"] and "restic 0.12.1 is too old" in result["msg"]


def test_check_mode_plans_without_touching_the_host(clock):
    host, result = run({"win_vss_backup_preflight": [rh.preflight()]}, check_mode=True)
    assert not result.get("failed"), result["msg"]
    assert "restic repository \\\\nas01\\restic\\hyperv" in result["msg"]
    assert [s["vm"] for s in result["plan"]["steps"]] == ["web01", "db01"]
    assert rh.PASSWORD not in json.dumps(result)
    assert [c.payload for c in host.calls] == ["win_vss_backup_preflight"]


@pytest.mark.parametrize(
    ("repository", "extra", "message"),
    [
        ({"type": "restic", "location": rh.LOCATION}, {}, "repository.password is required"),
        ({**rh.REPOSITORY, "location": "relative\\repo"}, {}, "is not a restic repository location"),
        ({**rh.REPOSITORY, "check_read_data_subset": "0/3"}, {}, "check_read_data_subset"),
        ({"type": "files", "location": rh.LOCATION}, {"destination": hv.DESTINATION}, "apply to type restic"),
        (rh.REPOSITORY, {"destination": hv.DESTINATION}, "destination: not used with a restic repository"),
    ],
)
def test_bad_repository_options_fail_before_the_host_is_contacted(repository, extra, message):
    host = ScriptedHost({})
    action = host.install(make_action(plugin.ActionModule, {"repository": repository, **extra}))
    with pytest.raises(AnsibleActionFail, match=message):
        action.run(task_vars={"inventory_hostname": "hv01"})
    assert host.calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"backup_type": "full"}, "backup_type full needs the files repository"),
    ],
)
def test_what_restic_jobs_do_not_take_is_refused_in_the_plan(clock, args, message):
    _host, result = run({"win_vss_backup_preflight": [rh.preflight()]}, args)
    assert result["failed"] and result["step"] == "plan" and message in result["msg"]


# ------------------------------------------------------------------------ probe before the snapshot


LATEST = ["--group-by", "host,tags", "--latest", "1"]


def plan_answer_of(host):
    (call,) = [c for c in host.calls_to("win_vss_backup_signal") if c.parameters["Name"] == "restic_plan.json"]
    return json.loads(call.parameters["Text"])


def newest_recorded(vm_name):
    """The newest snapshot of a VM in the recorded probe's snapshot list (job_probe_parents)."""
    groups = json.loads(rh.recorded("job_probe_parents")[0])
    snaps = [s for g in groups for s in g["snapshots"] if f"vm:{vm_name}" in s["tags"]]
    return max(snaps, key=lambda s: s["time"])["id"]


def test_each_vm_backup_names_its_newest_snapshot_as_parent(clock):
    host, result = run(rh.scenario())
    assert not result.get("failed"), result["msg"]
    start = host.calls_to("win_vss_backup_start")[0]
    params = json.loads(start.parameters["Files"]["params.json"]["text"])
    # the probe is planned read-only (no lock) and the planned backups name no parent yet
    assert [s["args"] for s in params["restic"]["probe"]] == [
        ["--no-lock", "cat", "config"],
        ["--no-lock", "snapshots", "--json", "--host", "HV01", "--tag", "vaware.hyperv", *LATEST],
    ]
    assert not any("--parent" in s["args"] for s in params["restic"]["steps"])

    # the runner asked before its snapshot; the answer is signed like the verdict and names each VM's parent
    names = [c.parameters.get("Name") for c in host.calls_to("win_vss_backup_signal")]
    assert names == ["restic_plan.json", "verdict.json"]
    answer = plan_answer_of(host)
    assert answer["decision"] == "backup" and answer["error"] is None
    web, db = answer["steps"]
    for step, vm_name in ((web, "web01"), (db, "db01")):
        parent = newest_recorded(vm_name)
        assert step["args"][step["args"].index("--parent") + 1] == parent == step["parent"]
        assert step["args"].index("--parent") < step["args"].index("--")
        assert f"--parent {parent}" in step["command_line"]
        assert step["retry_without_parent"]["id"] == step["id"] + "-noparent"
        assert "--parent" not in step["retry_without_parent"]["args"]
    assert rh.PASSWORD not in json.dumps(answer)

    # the result: what each VM was compared with, and the repository's format version
    assert [vm["parent"] for vm in result["vms"]] == [newest_recorded("web01"), newest_recorded("db01")]
    assert result["restic"]["parents"] == {"web01": newest_recorded("web01"), "db01": newest_recorded("db01")}
    assert result["restic"]["repository_version"] == 2
    # the probe came before the shadow copies: the first poll stopped at the question
    assert host.calls_to("win_vss_backup_status")[0].parameters == {"JobId": hv.JOB_ID}


def test_first_backup_of_a_repository_names_no_parent(clock):
    scenario = rh.scenario()
    probe = {"config": "job_probe_config", "parents": "job_probe_parents_none"}
    scenario["win_vss_backup_collect"][0] = rh.probe_files(probe)
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    answer = plan_answer_of(host)
    assert answer["report"]["parents"] == {"r001": None, "r002": None}
    assert not any("--parent" in s["args"] or s.get("retry_without_parent") for s in answer["steps"])


def refused_scenario(probe, repository):
    """The runner got a refusing answer: it throws before diskshadow (no shadow copy), cleans up and ends."""
    runs = rh.outputs(probe)
    error = rh.plan_answer(probe, repository)["error"]
    done = {
        "restic_exit_codes": rh.exit_codes(runs),
        "error": error,
        "error_phase": "awaiting_restic_plan",
        "diskshadow_started_at": None,
        "shadow_set_ids": [],
        "shadows_deleted": [],
        "listing_written": False,
        "manifest_written": False,
    }
    return {
        "win_vss_backup_preflight": [rh.preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        "win_vss_backup_status": [
            hv.status("awaiting_restic_plan", restic_exit_codes=rh.exit_codes(runs)),
            hv.status("done", alive=False, outcome="failed", **done),
        ],
        "win_vss_backup_collect": [
            rh.probe_files(probe),
            hv.collect(
                status_fields={**done, "phase": "done", "outcome": "failed"},
                transcript_name=None,
                copy={},
                files=[],
                sizes=None,
                generations=None,
            ),
            rh.restic_files(runs),
        ],
        "win_vss_backup_signal": [hv.signal_ok("restic_plan.json")],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }


def test_compression_max_on_a_format_version_1_repository_fails_before_any_shadow_copy(clock):
    repository = {**rh.REPOSITORY, "compression": "max"}
    probe = {"config": "job_probe_config_v1", "parents": "job_probe_parents"}
    host, result = run(refused_scenario(probe, repository), {"repository": repository})
    assert result["failed"] is True and result["step"] == "awaiting_restic_plan"
    assert "repository.compression max needs a restic repository of format version 2" in result["msg"]
    assert "is format version 1" in result["msg"] and "no shadow copy was made" in result["msg"]
    answer = plan_answer_of(host)
    assert answer["decision"] == "refuse" and answer["steps"] == []
    assert answer["report"]["repository_version"] == 1
    # no verdict, nothing forgotten, no shadow copy made or left
    assert [c.parameters["Name"] for c in host.calls_to("win_vss_backup_signal")] == ["restic_plan.json"]
    assert result["shadows_created"] == [] and result["expired"] == []
    assert all(vm["status"] == "failed" for vm in result["vms"])
    hv.assert_failure_safe(host, result, "compression")


def test_compression_max_on_a_version_2_repository_goes_on(clock):
    repository = {**rh.REPOSITORY, "compression": "max"}
    host, result = run(rh.scenario(), {"repository": repository})
    assert not result.get("failed"), result["msg"]
    assert plan_answer_of(host)["decision"] == "backup"
    assert all(s["args"][s["args"].index("--compression") + 1] == "max" for s in plan_answer_of(host)["steps"])


def test_a_wrong_password_found_by_the_probe_fails_before_any_shadow_copy(clock):
    probe = {"config": "job_probe_config", "parents": "wrong_password"}
    _host, result = run(refused_scenario(probe, rh.REPOSITORY))
    assert result["failed"] is True and result["step"] == "awaiting_restic_plan"
    assert "listing the host's snapshots (restic snapshots) failed: wrong password" in result["msg"]
    assert result["shadows_created"] == []
    assert rh.PASSWORD not in json.dumps(result)


def test_the_runner_asks_before_the_snapshot_and_runs_only_the_answered_backups():
    """The runner's order (PowerShell does not run here): probe, signed answer, refusal throws, then diskshadow."""
    runner = (PAYLOADS / "win_vss_backup_runner.ps1").read_text(encoding="utf-8")
    probe = runner.index("foreach ($step in @($params.restic.probe)) {")
    wait = runner.index("$answer = Wait-SignedVerdict -Name ([string]$params.restic.plan_answer_file)")
    refuse = runner.index("if ($answer.decision -ne 'backup') { throw [string]$answer.error }")
    diskshadow = runner.index("Start-Process -FilePath 'diskshadow.exe'")
    backups = runner.index("foreach ($step in $resticSteps) {", diskshadow)
    assert probe < wait < refuse < diskshadow < backups
    assert "Invoke-Restic -Step $step.retry_without_parent" in runner[backups:]
    assert "@($params.restic.steps)" not in runner[diskshadow:]
    assert "restic_plan.json" in (PAYLOADS / "win_vss_backup_signal.ps1").read_text(encoding="utf-8")


def test_an_extra_path_is_backed_up_reported_and_forgotten_in_its_own_group(clock):
    night = {**rh.NIGHT, "e001": "job_night1_web01"}
    forget = {**rh.FORGET, "f003": "job_forget_web01"}
    host, result = run(
        rh.scenario(night=night, forget=forget), {"extra_paths": ["D:\\Scripts"], "retention": {"keep_last": 1}}
    )
    assert not result.get("failed"), result["msg"]
    assert "backed up 2 VM(s) and 1 extra path(s)" in result["msg"]
    (extra,) = result["restic"]["extra_paths"]
    assert extra["path"] == "D:\\Scripts" and extra["status"] == "complete"
    assert extra["snapshot_id"] == rh.summary("job_night1_web01")["snapshot_id"]
    assert [vm["name"] for vm in result["vms"]] == ["web01", "db01"]
    assert result["restic"]["bytes_added"] == sum(
        rh.summary(c)["data_added"] for c in ("job_backup_web01", "job_backup_db01", "job_night1_web01")
    )
    params = json.loads(host.calls_to("win_vss_backup_start")[0].parameters["Files"]["params.json"]["text"])
    assert [s["id"] for s in params["restic"]["steps"]] == ["r001", "r002", "e001"]
    assert [s["id"] for s in plan_answer_of(host)["steps"]] == ["r001", "r002", "e001"]
    verdict = verdict_of(host)
    assert verdict["restic_forget"][2]["extra_path"] == "D:\\Scripts"
    assert "extra-path:d:\\scripts" in verdict["restic_forget"][2]["args"]
    assert result["restic"]["forget"][2]["extra_path"] == "D:\\Scripts"


def test_a_run_that_attaches_while_the_job_waits_answers_from_the_jobs_own_plan(clock):
    plan = run({"win_vss_backup_preflight": [rh.preflight()]}, check_mode=True)[1]["plan"]
    scenario = rh.scenario()
    del scenario["win_vss_backup_start"]
    scenario["win_vss_backup_preflight"] = [
        rh.preflight(lock={"job_id": hv.JOB_ID}, jobs=[hv.job_entry(hv.JOB_ID, alive=True)])
    ]
    # the attaching run reads the job's plan.json first (it did not make the plan)
    own_plan = hv.collect(
        plan=plan,
        status_fields={"phase": "awaiting_restic_plan"},
        transcript_name=None,
        copy={},
        files=[],
        sizes=None,
        generations=None,
    )
    scenario["win_vss_backup_collect"].insert(0, own_plan)
    host, result = run(scenario)
    assert not result.get("failed"), result["msg"]
    assert result["attached"] is True
    answer = plan_answer_of(host)
    assert [s["parent"] for s in answer["steps"]] == [newest_recorded("web01"), newest_recorded("db01")]
    assert [vm["parent"] for vm in result["vms"]] == [newest_recorded("web01"), newest_recorded("db01")]
