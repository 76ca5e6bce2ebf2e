"""_restic/job.py: the restic steps of a win_vss_backup plan and the reading of what they printed.

Outputs are the real restic's (tests/unit/fixtures/restic/job_*, recorded with this plan's argument lists).
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import job
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    ResticOptionError,
    file_count_from_tags,
    original_dirs_from_tags,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import build_plan
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import render_script
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes
from ansible_collections.vaware.hyperv.tests.support import restic_backup_host as rh
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv

PRE = json.loads(hv.preflight()["result"])
VOLUMES = normalize_volumes(PRE["volumes"], PRE["mount_points"])


def repository(**extra):
    return job.check_repository_option({**rh.REPOSITORY, **extra})


def restic_plan(vms=None, repo=None, **kwargs):
    base = build_plan(
        "HV01",
        PRE["vms"] if vms is None else vms,
        VOLUMES,
        destination=None,
        job_id=hv.JOB_ID,
        job_dir=hv.JOB_DIR,
        now=hv.NOW,
        **kwargs,
    )
    return job.add_restic_steps(base, repo or repository())


@pytest.mark.parametrize(
    "args",
    [
        ["backup", "--json", "--", "Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"],
        ["--tag", "vm:a b", "C:\\path with space\\", "", 'say "hi"', "trail\\\\", 'x\\"y', "tab\there"],
        ["-o", "sftp.command=ssh -i C:\\keys\\id backup@nas -s sftp"],
    ],
)
def test_command_line_splits_back_into_the_argument_list(args):
    # Python's subprocess quotes for CreateProcess by the same rules (MS C runtime, CommandLineToArgvW)
    assert job.windows_command_line(args) == subprocess.list2cmdline(args)


def test_plan_has_one_backup_step_per_vm_from_its_mount_folder():
    plan = restic_plan()
    assert [s["vm"] for s in plan["steps"]] == ["web01", "db01"]
    assert [vm["steps"] for vm in plan["vms"]] == [["r001"], ["r002"]]
    db01 = plan["steps"][1]
    assert db01["working_dir"] == hv.JOB_DIR + "\\mnt\\VAWVOL2"
    assert db01["args"][db01["args"].index("--") + 1 :] == [
        f"db01\\Virtual Machines\\{hv.DB01_ID.upper()}.vmcx",
        "db01\\Virtual Hard Disks\\db01.vhdx",
    ]
    assert db01["tags"][:3] == ["vaware.hyperv", f"vm-id:{hv.DB01_ID}", "vm:db01"]
    # what the restore needs: how many files, and the folder on the host each snapshot folder came from
    originals = {f["original_path"].rpartition("\\")[0] for f in plan["vms"][1]["files"]}
    assert file_count_from_tags(db01["tags"]) == 2
    assert original_dirs_from_tags(db01["tags"]) == {
        "db01\\virtual machines": next(o for o in originals if o.endswith("Virtual Machines")),
        "db01\\virtual hard disks": next(o for o in originals if o.endswith("Virtual Hard Disks")),
    }
    assert db01["stdout"] == hv.JOB_DIR + "\\restic-r002.out" and db01["command_line"] == subprocess.list2cmdline(
        db01["args"]
    )
    assert plan["generation_path"] is None and plan["host_path"] is None
    assert set(plan["job_files"]) == {"script", "metadata", "transcript"}
    # no secret in the plan: location shown, password nowhere
    assert rh.PASSWORD not in json.dumps(plan) and plan["repository"]["location"] == rh.LOCATION
    script = render_script(plan)
    assert script.rstrip().endswith(f"EXPOSE %VAWVOL2% {hv.JOB_DIR}\\mnt\\VAWVOL2")
    assert "EXEC" not in script and "DELETE SHADOWS" not in script


def test_a_vm_spanning_volumes_is_one_snapshot_from_the_mount_root():
    web01 = json.loads(json.dumps(PRE["vms"][0]))
    web01["vhd_paths"].append({"path": "C:\\Mounts\\Fast\\web01-data.vhdx", "size": 1024})
    plan = restic_plan(vms=[web01])
    (step,) = plan["steps"]
    assert step["working_dir"] == hv.JOB_DIR + "\\mnt"
    paths = step["args"][step["args"].index("--") + 1 :]
    assert "VAWVOL1\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx" in paths
    assert "VAWVOL2\\web01-data.vhdx" in paths


def test_repository_tags_and_options_reach_the_backup_arguments():
    plan = restic_plan(repo=repository(tags=["nightly"], options={"sftp.command": "ssh nas -s sftp"}))
    args = plan["steps"][0]["args"]
    assert args[:2] == ["-o", "sftp.command=ssh nas -s sftp"]
    assert args[args.index("nightly") - 1] == "--tag"


def test_credentials_in_a_location_are_not_shown():
    shown = job.display_location("rest:https://backup:t0ps3cret@restic.example.net:8000/hv01")
    assert shown == "rest:https://***@restic.example.net:8000/hv01"
    assert job.display_location("sftp:backup@nas:/srv/restic") == "sftp:***@nas:/srv/restic"
    plan = restic_plan(repo=repository(location="rest:https://backup:t0ps3cret@restic.example.net/hv01"))
    assert "t0ps3cret" not in json.dumps(plan)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "tape"}, "repository.type must be files or restic"),
        ({"type": "files", "password": "x"}, "apply to type restic only"),
        ({"type": "restic", "location": rh.LOCATION}, "repository.password is required"),
        ({**rh.REPOSITORY, "environment": {"RESTIC_PASSWORD": "x"}}, "set by the collection itself"),
        ({**rh.REPOSITORY, "prune_weekdays": ["someday"]}, "'someday' is not one of monday"),
    ],
)
def test_bad_repository_option_is_named(value, message):
    with pytest.raises(ResticOptionError, match=message):
        job.check_repository_option(value)


def test_files_is_the_default():
    assert job.check_repository_option(None) is None
    assert job.check_repository_option({"type": "files"}) is None


def test_secrets_go_as_sensitive_parameters_only():
    plan = restic_plan(repo=repository(environment={"AWS_SECRET_ACCESS_KEY": "aws-secret"}))
    secret = job.secret_parameters(plan, repository(environment={"AWS_SECRET_ACCESS_KEY": "aws-secret"}))
    assert secret["ResticPassword"] == rh.PASSWORD
    assert json.loads(secret["ResticEnvironment"])["AWS_SECRET_ACCESS_KEY"] == "aws-secret"
    params = job.runner_parameters(plan)
    assert "aws-secret" not in json.dumps(params) and rh.PASSWORD not in json.dumps(params)
    assert plan["repository"]["environment_names"] == ["AWS_SECRET_ACCESS_KEY"]


def test_analyse_reads_the_recorded_night():
    plan = restic_plan()
    runs = rh.outputs(rh.NIGHT)
    texts = {}
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    outcome = job.analyse(plan, {"restic_exit_codes": rh.exit_codes(runs)}, texts)
    assert outcome["verified"] is True and outcome["failure"] is None
    assert outcome["check"]["ok"] is True
    web01 = outcome["vms"][0]
    assert web01["snapshot_id"] == rh.summary("job_backup_web01")["snapshot_id"]
    assert web01["files_changed"] == 1 and web01["files_unmodified"] == 2
    # a step the job never ran: that VM failed, nothing verified
    partial = job.analyse(plan, {"restic_exit_codes": {"r001": 0, "check": 0}}, texts)
    assert partial["verified"] is False and partial["vms"][1]["status"] == "failed"
    assert "restic did not run for this VM" in partial["failure"][1]
    unchecked = job.analyse(plan, {"restic_exit_codes": {"r001": 0, "r002": 0}}, texts)
    assert unchecked["verified"] is False and unchecked["failure"][0] == "restic check"


def test_retention_steps_forget_per_vm_and_prune_on_its_weekdays():
    plan = restic_plan(repo=repository(prune_weekdays=["sunday", "wednesday"]))
    wednesday = datetime.date(2026, 11, 25)
    steps = job.retention_steps(plan, {"keep_daily": 7, "keep_weekly": 4}, wednesday)
    assert [s["vm"] for s in steps["forget"]] == ["web01", "db01"]
    assert steps["forget"][1]["args"][-4:] == ["--keep-daily", "7", "--keep-weekly", "4"]
    assert steps["prune"]["args"] == ["prune"] and steps["weekday"] == "wednesday"
    thursday = job.retention_steps(plan, {"keep_daily": 7}, datetime.date(2026, 11, 26))
    assert thursday["prune"] is None
    nothing = job.retention_steps(plan, {"keep_last": 0}, wednesday)
    assert nothing == {"forget": [], "prune": None, "weekday": "wednesday"}


def probe_texts(probe):
    runs = rh.outputs(probe)
    texts = {}
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    return {"restic_exit_codes": rh.exit_codes(runs)}, texts


def test_the_probe_is_read_only_and_goes_to_the_runner():
    plan = restic_plan()
    config, parents = plan["restic"]["probe"]
    assert config["args"] == ["--no-lock", "cat", "config"] and config["working_dir"] == hv.JOB_DIR
    assert parents["args"][:2] == ["--no-lock", "snapshots"] and "--latest" in parents["args"]
    assert parents["stdout"] == hv.JOB_DIR + "\\restic-parents.out"
    params = job.runner_parameters(plan)["restic"]
    assert params["probe"] == [config, parents] and params["plan_answer_file"] == "restic_plan.json"
    # backend options come first, as for every step
    with_options = restic_plan(repo=repository(options={"sftp.connections": "2"}))
    assert with_options["restic"]["probe"][0]["args"][:3] == ["-o", "sftp.connections=2", "--no-lock"]


def test_plan_answer_names_the_newest_snapshot_of_each_vm_as_parent():
    plan = restic_plan()
    status, texts = probe_texts(rh.PROBE)
    answer = job.plan_answer(plan, status, texts)
    assert answer["decision"] == "backup" and answer["report"]["repository_version"] == 2
    groups = json.loads(rh.recorded("job_probe_parents")[0])
    by_vm = {t: s["id"] for g in groups for s in g["snapshots"] for t in s["tags"] if t.startswith("vm-id:")}
    for planned, step in zip(plan["steps"], answer["steps"]):
        parent = by_vm["vm-id:" + planned["vm_id"].lower()]
        assert step["parent"] == parent and answer["report"]["parents"][step["id"]]["id"] == parent
        # the planned step with --parent before the paths; the rest unchanged
        without = [a for a in step["args"] if a not in ("--parent", parent)]
        assert without == planned["args"]
        assert step["retry_without_parent"]["args"] == planned["args"]
        assert step["retry_without_parent"]["stdout"] == hv.JOB_DIR + f"\\restic-{planned['id']}-noparent.out"
        assert {k: step[k] for k in ("id", "vm", "vm_id", "working_dir", "paths")} == {
            k: planned[k] for k in ("id", "vm", "vm_id", "working_dir", "paths")
        }


def test_plan_answer_ignores_snapshots_of_other_hosts_and_without_a_vm_id():
    plan = restic_plan()
    status, texts = probe_texts(rh.PROBE)
    groups = json.loads(texts["restic-parents.out"])
    for group in groups:
        for snap in group["snapshots"]:
            snap["hostname"] = "HV02"
    groups.append(
        {
            "group_key": {},
            "snapshots": [
                {"id": "a" * 64, "time": "2030-01-01T00:00:00Z", "hostname": "HV01", "tags": ["vaware.hyperv"]}
            ],
        }
    )
    texts["restic-parents.out"] = json.dumps(groups)
    answer = job.plan_answer(plan, status, texts)
    assert answer["decision"] == "backup"
    assert answer["report"]["parents"] == {"r001": None, "r002": None}


@pytest.mark.parametrize(
    ("probe", "compression", "named"),
    [
        ({"config": "job_probe_config_v1", "parents": "job_probe_parents"}, "max", "is format version 1"),
        ({"config": "no_repository", "parents": "no_repository"}, "auto", "there is no restic repository"),
        ({"config": "job_probe_config", "parents": "wrong_password"}, "auto", "wrong password"),
        ({"config": "job_probe_config"}, "auto", "the job did not run listing the host's snapshots"),
        ({"config": "job_probe_parents", "parents": "job_probe_parents"}, "auto", "config .* cannot be read"),
    ],
)
def test_plan_answer_refuses_what_would_fail(probe, compression, named):
    plan = restic_plan(repo=repository(compression=compression))
    status, texts = probe_texts(probe)
    answer = job.plan_answer(plan, status, texts)
    assert answer["decision"] == "refuse" and answer["steps"] == []
    assert re.search(named, answer["error"]) and answer["error"].endswith("no shadow copy was made")


def test_compression_problem_only_for_max_on_version_1():
    assert job.compression_problem("max", 2, "X") is None
    assert job.compression_problem("auto", 1, "X") is None and job.compression_problem("off", 1, "X") is None
    assert "repository.compression max" in job.compression_problem("max", 1, "X")


def test_analyse_takes_the_retry_when_the_parent_was_gone():
    plan = restic_plan()
    status, texts = probe_texts(rh.PROBE)
    answer = job.plan_answer(plan, status, texts)
    gone = rh.recorded("job_backup_parent_missing")[1].split('"')[1]
    answer["report"]["parents"]["r001"] = {"id": gone, "time": None}
    runs = rh.outputs(
        {
            "r001": "job_backup_parent_missing",
            "r001-noparent": "job_night1_web01",
            "r002": "job_backup_db01",
            "check": "job_check",
        }
    )
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    status = {
        "restic_exit_codes": {**status["restic_exit_codes"], **rh.exit_codes(runs)},
        "restic_plan": answer["report"],
    }
    found = job.analyse(plan, status, texts)
    assert found["verified"] is True
    web, db = found["vms"]
    assert web["parent"] is None and web["snapshot_id"] == rh.summary("job_night1_web01")["snapshot_id"]
    assert db["parent"] == answer["report"]["parents"]["r002"]["id"]
    assert found["warnings"] == [
        f"VM web01: its newest snapshot {gone[:8]} was removed from the repository after the job listed it"
        " (restic forget elsewhere); backed up without a parent, so restic read every file"
    ]
    # without the retry's exit code (the runner did not run it) the VM failed
    del status["restic_exit_codes"]["r001-noparent"]
    found = job.analyse(plan, status, texts)
    assert found["vms"][0]["status"] == "failed" and "did not run" in found["warnings"][0]
    # the retry's outputs are among what the controller collects
    assert "restic-r001-noparent.out" in [e["name"] for e in job.collect_entries(job.output_steps(plan))]


def test_each_extra_path_is_its_own_snapshot_from_its_mount_folder():
    plan = restic_plan(extra_paths=["D:/Scripts/", "C:\\ClusterStorage\\Data\\Tools"], repo=repository(tags=["site-a"]))
    web, db, scripts, tools = plan["steps"]
    assert [s["id"] for s in plan["steps"]] == ["r001", "r002", "e001", "e002"]
    assert scripts["extra_path"] == "D:\\Scripts" and scripts["vm"] is None and scripts["vm_id"] is None
    assert scripts["working_dir"] == web["working_dir"] == hv.JOB_DIR + "\\mnt\\VAWVOL1"
    assert scripts["paths"] == ["Scripts"] and tools["paths"] == ["ClusterStorage\\Data\\Tools"]
    assert scripts["tags"] == ["vaware.hyperv", "extra", "extra-path:d:\\scripts", "site-a"]
    assert scripts["args"][scripts["args"].index("--") + 1 :] == ["Scripts"]
    assert [e["step"] for e in plan["extra_paths"]] == ["e001", "e002"]
    assert all(e["destination"] is None for e in plan["extra_paths"])
    assert not any(t.startswith("vm-id:") for t in scripts["tags"])
    assert db["vm"] == "db01"

    # retention: one forget per VM and one per extra path, each its own group
    steps = job.retention_steps(plan, {"keep_last": 3}, datetime.date(2026, 11, 25))["forget"]
    assert [s.get("extra_path") for s in steps] == [None, None, "D:\\Scripts", "C:\\ClusterStorage\\Data\\Tools"]
    assert steps[2]["args"] == [
        "forget",
        "--json",
        "--host",
        "HV01",
        "--tag",
        "extra-path:d:\\scripts",
        "--group-by",
        "host",
        "--keep-last",
        "3",
    ]


def test_extra_path_results_are_reported_apart_from_the_vms():
    plan = restic_plan(extra_paths=["D:\\Scripts"])
    runs = rh.outputs({**rh.NIGHT, "e001": "job_night1_web01"})
    texts = {}
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    found = job.analyse(plan, {"restic_exit_codes": rh.exit_codes(runs)}, texts)
    assert found["verified"] is True
    assert [vm["name"] for vm in found["vms"]] == ["web01", "db01"]
    (extra,) = found["extra_paths"]
    assert extra["path"] == "D:\\Scripts" and extra["status"] == "complete" and "name" not in extra
    assert extra["snapshot_id"] == rh.summary("job_night1_web01")["snapshot_id"]
    # a failed extra path fails the job by its path
    runs = rh.outputs({**rh.NIGHT, "e001": "job_backup_wrong_password"})
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    found = job.analyse(plan, {"restic_exit_codes": rh.exit_codes(runs)}, texts)
    assert found["verified"] is False
    assert found["failure"][1].startswith("extra path D:\\Scripts: wrong password")
