"""HV01's win_vss_backup restic plan run with the real restic, read back with the controller's code.

The argument lists, working directories and environment are the plan's (``_restic/job.py``); only the
exposed shadow folders are a Linux folder tree standing in for them (``tests/support/restic_job.py``).
"""

from __future__ import annotations

import datetime
import json

import restic_job
import restic_tools

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import job
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import parse_ls, parse_snapshots
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import restic_environment
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv

WEDNESDAY = datetime.date(2026, 11, 25)


def night(stand_in, restic, plan):
    """What the runner does for one night: each backup step, then the check; returns status and outputs."""
    codes, texts = {}, {}
    for step in [*plan["steps"], plan["restic"]["check"]]:
        done = stand_in.run(restic, step)
        codes[step["id"]] = done.returncode
        texts[step["stdout"].rsplit("\\", 1)[1]] = done.stdout
        texts[step["stderr"].rsplit("\\", 1)[1]] = done.stderr
    return {"restic_exit_codes": codes}, texts


def setup(tmp_path, **extra):
    repo = restic_job.repository(restic_tools.TEST_PASSWORD, **extra)
    plan = restic_job.plan(repo)
    # the environment the start payload writes for the runner, with Linux paths for the repository and password
    environment = json.loads(job.secret_parameters(plan, repo)["ResticEnvironment"])
    assert sorted(environment) == ["RESTIC_PASSWORD_FILE", "RESTIC_REPOSITORY"]
    repo["location"] = str(tmp_path / "repo")
    restic = restic_tools.Restic(repo, tmp_path / "restic.pass", tmp_path / "cache")
    assert sorted(k for k in restic.env if k.startswith("RESTIC_")) == sorted(restic_environment(repo, "x", "y"))
    stand_in = restic_job.StandIn(tmp_path / "job", plan)
    stand_in.make_vm_files()
    return repo, plan, restic, stand_in


def test_two_nights_then_forget_keeps_the_newest_snapshot_of_each_vm(tmp_path):
    repo, plan, restic, stand_in = setup(tmp_path, init=True)
    init = stand_in.run(restic, plan["restic"]["init"])
    assert init.returncode == 0, init.stderr

    status, texts = night(stand_in, restic, plan)
    first = job.analyse(plan, status, texts)
    assert first["verified"], first["failure"]
    assert [vm["name"] for vm in first["vms"]] == ["web01", "db01"]
    assert all(vm["bytes_added"] > 0 and vm["files"] >= 2 for vm in first["vms"])

    # the snapshot holds the VM's folders below the volume root, not the job's mount folder
    listing = parse_ls(restic.run(["ls", "--json", first["vms"][0]["snapshot_id"]]).stdout)
    assert "/Hyper-V/web01/Virtual Hard Disks/web01.vhdx" in [f["path"] for f in listing["files"]]
    assert not any("mnt" in path for path in listing["dirs"])

    stand_in.change(0.1)
    status, texts = night(stand_in, restic, plan)
    second = job.analyse(plan, status, texts)
    assert second["verified"], second["failure"]
    for vm in second["vms"]:
        assert vm["bytes_added"] < vm["bytes_processed"]  # only the changed chunks are stored again

    retention = job.retention_steps(plan, {"keep_last": 1}, WEDNESDAY)
    codes, texts = {}, {}
    for step in retention["forget"]:
        done = stand_in.run(restic, step)
        codes[step["id"]] = done.returncode
        texts[step["stdout"].rsplit("\\", 1)[1]] = done.stdout
        texts[step["stderr"].rsplit("\\", 1)[1]] = done.stderr
    forgotten = job.forget_results(retention, {"restic_exit_codes": codes}, texts, plan["repository"]["location"])
    assert forgotten["errors"] == []
    first_ids = {vm["snapshot_id"] for vm in first["vms"]}
    removed = [snap_id[:8] for entry in forgotten["forget"] for snap_id in entry["removed"]]
    assert sorted(removed) == sorted(first_ids)
    left = parse_snapshots(restic.run(["snapshots", "--json"]).stdout)
    assert sorted(s["short_id"] for s in left) == sorted(vm["snapshot_id"] for vm in second["vms"])
    assert {s["vm_name"] for s in left} == {"web01", "db01"}
    assert {s["vm_id"] for s in left} == {hv.WEB01_ID, hv.DB01_ID}

    # the password and the repository never on a command line
    for argv in restic.calls:
        assert restic_tools.TEST_PASSWORD not in " ".join(argv)
        assert repo["location"] not in argv


def test_wrong_password_is_named_for_every_vm_and_nothing_is_verified(tmp_path):
    repo, plan, restic, stand_in = setup(tmp_path)
    assert restic.run(["init"]).returncode == 0
    restic.password_file.write_text("another password\n", encoding="utf-8")
    status, texts = night(stand_in, restic, plan)
    outcome = job.analyse(plan, status, texts)
    assert outcome["verified"] is False
    assert [vm["failure_kind"] for vm in outcome["vms"]] == ["wrong_password", "wrong_password"]
    assert outcome["failure"][0] == "restic backup"
    assert "wrong password: repository.password does not open the repository" in outcome["failure"][1]
    assert repo["password"] not in json.dumps(outcome)


def test_no_repository_without_init_is_named(tmp_path):
    _repo, plan, restic, stand_in = setup(tmp_path)
    status, texts = night(stand_in, restic, plan)
    outcome = job.analyse(plan, status, texts)
    assert [vm["failure_kind"] for vm in outcome["vms"]] == ["no_repository", "no_repository"]
    assert "repository.init" in outcome["failure"][1]
