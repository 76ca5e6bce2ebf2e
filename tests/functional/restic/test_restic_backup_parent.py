"""The parent snapshot of each VM's backup, the probe before the snapshot, and compression on old repositories,
with the real restic.

Each job exposes its shadow copies on a new folder (``<job folder>\\mnt\\VAWVOL1``), so restic, which looks for
a parent by host and paths, finds none and reads every file again. The job's probe (``restic cat config``,
``restic snapshots``) and the controller's answer (``_restic.job.plan_answer``) name each VM's newest snapshot
as ``--parent``. Here the second night's job folder is another path (the first's stand-in folder is renamed,
so the files keep their times and inodes, as the files in a new shadow copy of an unchanged volume do).
"""

from __future__ import annotations

import datetime

import restic_job
import restic_tools

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command, job
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import parse_ls, parse_snapshots

NIGHTS = ("20261125T020000Z-0123abcd", "20261126T020000Z-4567cdef", "20261127T020000Z-89ab0123")


def start(tmp_path, init_args=None, **extra):
    repo = restic_job.repository(restic_tools.TEST_PASSWORD, **extra)
    repo["location"] = str(tmp_path / "repo")
    restic = restic_tools.Restic(repo, tmp_path / "restic.pass", tmp_path / "cache")
    done = restic.run(init_args or command.init_args(repo))
    assert done.returncode == 0, done.stderr
    return repo, restic


def night(tmp_path, restic, repo, index, previous=None, use_answer=True):
    """One job of HV01 (its own job id, so its own mount folder path): probe, answer, backups, check."""
    plan = restic_job.plan(repo, job_id=NIGHTS[index])
    root = tmp_path / f"job{index}"
    if previous is None:
        stand_in = restic_job.StandIn(root, plan)
        stand_in.make_vm_files()
    else:
        previous.root.rename(root)  # the same files below another mount folder path
        stand_in = restic_job.StandIn(root, plan)
    codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    assert answer["decision"] == "backup", answer["error"]
    steps = answer["steps"] if use_answer else plan["steps"]
    more_codes, more_texts = stand_in.run_steps(restic, [*steps, plan["restic"]["check"]])
    status = {"restic_exit_codes": {**codes, **more_codes}, "restic_plan": answer["report"] if use_answer else None}
    found = job.analyse(plan, status, {**texts, **more_texts})
    return plan, stand_in, answer, found


def summary_of(found, name):
    return next(vm for vm in found["vms"] if vm["name"] == name)


def test_second_night_from_another_mount_folder_reads_only_changed_files_with_the_parent(tmp_path):
    repo, restic = start(tmp_path)
    _plan, stand_in, answer, first = night(tmp_path, restic, repo, 0)
    assert first["verified"], first["failure"]
    # no snapshot of any VM yet: no --parent, no retry
    assert all("--parent" not in step["args"] and step["parent"] is None for step in answer["steps"])
    assert answer["report"] == {"repository_version": 2, "parents": {"r001": None, "r002": None}}
    assert all(vm["files_new"] == vm["files"] and vm["parent"] is None for vm in first["vms"])

    plan, stand_in, answer, second = night(tmp_path, restic, repo, 1, previous=stand_in)
    assert second["verified"], second["failure"]
    assert plan["steps"][0]["working_dir"] != restic_job.plan(repo, job_id=NIGHTS[0])["steps"][0]["working_dir"]
    for vm in second["vms"]:
        before = summary_of(first, vm["name"])
        # the parent is the VM's own snapshot of the night before, named on the command line
        assert vm["parent"].startswith(before["snapshot_id"])
        step = next(s for s in answer["steps"] if s["vm"] == vm["name"])
        assert step["args"][step["args"].index("--parent") + 1] == vm["parent"]
        # every file compared with the parent and found unmodified: nothing read again, next to nothing added
        assert vm["files_unmodified"] == vm["files"] == before["files"] and vm["files_new"] == 0
        assert vm["files_changed"] == 0
        assert vm["bytes_added"] < before["bytes_added"] / 100

    # the same night without the parent, from a third path: restic finds no parent and reads every file again
    _plan, _stand_in, _answer, control = night(tmp_path, restic, repo, 2, previous=stand_in, use_answer=False)
    assert control["verified"], control["failure"]
    for vm in control["vms"]:
        assert vm["parent"] is None
        assert vm["files_new"] == vm["files"] and vm["files_unmodified"] == 0


def test_changed_disks_are_read_again_with_the_parent_and_the_rest_is_not(tmp_path):
    repo, restic = start(tmp_path)
    _plan, stand_in, _answer, first = night(tmp_path, restic, repo, 0)
    stand_in.change(0.1)
    _plan, _stand_in, _answer, second = night(tmp_path, restic, repo, 1, previous=stand_in)
    assert second["verified"], second["failure"]
    for vm in second["vms"]:
        disks = sum(1 for f in next(v for v in _plan["vms"] if v["name"] == vm["name"])["files"] if f["kind"] == "vhd")
        assert vm["files_changed"] == disks and vm["files_unmodified"] == vm["files"] - disks
        assert 0 < vm["bytes_added"] < summary_of(first, vm["name"])["bytes_added"]


def test_the_newest_snapshot_left_is_the_parent_after_a_forget_and_none_after_all_are_gone(tmp_path):
    repo, restic = start(tmp_path)
    _plan, stand_in, _answer, first = night(tmp_path, restic, repo, 0)
    _plan, stand_in, _answer, second = night(tmp_path, restic, repo, 1, previous=stand_in)
    web_second = summary_of(second, "web01")["snapshot_id"]
    web_first = summary_of(first, "web01")["snapshot_id"]
    assert restic.run(["forget", web_second]).returncode == 0
    db_ids = [vm["snapshot_id"] for vm in (summary_of(first, "db01"), summary_of(second, "db01"))]
    assert restic.run(["forget", *db_ids]).returncode == 0

    plan = restic_job.plan(repo, job_id=NIGHTS[2])
    codes, texts = restic_job.StandIn(stand_in.root, plan).run_steps(restic, plan["restic"]["probe"])
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    assert answer["decision"] == "backup"
    assert answer["report"]["parents"]["r001"]["id"].startswith(web_first)
    assert answer["report"]["parents"]["r002"] is None
    assert "--parent" not in answer["steps"][1]["args"]


def test_a_parent_forgotten_after_the_probe_is_backed_up_again_without_it(tmp_path):
    repo, restic = start(tmp_path)
    plan0, stand_in, _answer, first = night(tmp_path, restic, repo, 0)
    plan = restic_job.plan(repo, job_id=NIGHTS[1])
    stand_in.root.rename(tmp_path / "job1")
    stand_in = restic_job.StandIn(tmp_path / "job1", plan)
    codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    web_parent = answer["report"]["parents"]["r001"]["id"]
    # while the job makes its shadow copies, someone forgets and prunes web01's snapshot elsewhere
    assert restic.run(["forget", "--prune", web_parent]).returncode == 0
    more_codes, more_texts = stand_in.run_steps(restic, [*answer["steps"], plan["restic"]["check"]])
    assert more_codes["r001"] == 1 and more_codes["r001-noparent"] == 0 and "r002-noparent" not in more_codes
    status = {"restic_exit_codes": {**codes, **more_codes}, "restic_plan": answer["report"]}
    found = job.analyse(plan, status, {**texts, **more_texts})
    assert found["verified"], found["failure"]
    web, db = found["vms"]
    assert web["status"] == "complete" and web["parent"] is None and web["files_new"] == web["files"]
    assert db["parent"].startswith(summary_of(first, "db01")["snapshot_id"]) and db["files_unmodified"] == db["files"]
    assert len(found["warnings"]) == 1
    assert f"VM web01: its newest snapshot {web_parent[:8]} was removed" in found["warnings"][0]
    assert "without a parent" in found["warnings"][0]
    left = {s["vm_name"]: s for s in parse_snapshots(restic.run(["snapshots", "--json"]).stdout) if s["vm_name"]}
    assert left["web01"]["id"].startswith(web["snapshot_id"])
    assert plan0["job_dir"] != plan["job_dir"]


def test_compression_max_on_a_version_1_repository_is_refused_before_the_snapshot(tmp_path):
    repo, restic = start(tmp_path, init_args=["init", "--repository-version", "1"], compression="max")
    plan = restic_job.plan(repo)
    (tmp_path / "job").mkdir()
    stand_in = restic_job.StandIn(tmp_path / "job", plan)
    codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
    assert codes == {"config": 0, "parents": 0}
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    assert answer["decision"] == "refuse" and answer["steps"] == []
    assert answer["report"]["repository_version"] == 1
    assert "repository.compression max needs a restic repository of format version 2" in answer["error"]
    assert "is format version 1" in answer["error"] and "no shadow copy was made" in answer["error"]

    # auto and off are what a version 1 repository does anyway: the job goes on
    for mode in ("auto", "off"):
        plan = restic_job.plan({**repo, "compression": mode})
        answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
        assert answer["decision"] == "backup", answer["error"]


def test_compression_max_on_a_version_2_repository_goes_on_and_a_missing_repository_is_refused(tmp_path):
    repo, restic = start(tmp_path, compression="max")
    plan = restic_job.plan(repo)
    (tmp_path / "job").mkdir()
    stand_in = restic_job.StandIn(tmp_path / "job", plan)
    codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    assert answer["decision"] == "backup" and answer["report"]["repository_version"] == 2

    restic.env["RESTIC_REPOSITORY"] = str(tmp_path / "nothing-here")
    codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
    answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
    assert answer["decision"] == "refuse"
    assert "there is no restic repository" in answer["error"] and "repository.init" in answer["error"]


def test_extra_paths_are_their_own_snapshots_with_a_parent_and_their_own_retention(tmp_path):
    repo, restic = start(tmp_path)
    extra = ["D:\\Scripts"]
    plan = restic_job.plan(repo, job_id=NIGHTS[0], extra_paths=extra)
    stand_in = restic_job.StandIn(tmp_path / "job0", plan)
    stand_in.make_vm_files()
    stand_in.make_extra_files()
    results = []
    for index in range(2):
        plan = restic_job.plan(repo, job_id=NIGHTS[index], extra_paths=extra)
        if index:
            stand_in.root.rename(tmp_path / f"job{index}")
            stand_in = restic_job.StandIn(tmp_path / f"job{index}", plan)
        codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
        answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
        assert answer["decision"] == "backup", answer["error"]
        more_codes, more_texts = stand_in.run_steps(restic, [*answer["steps"], plan["restic"]["check"]])
        status = {"restic_exit_codes": {**codes, **more_codes}, "restic_plan": answer["report"]}
        found = job.analyse(plan, status, {**texts, **more_texts})
        assert found["verified"], found["failure"]
        results.append(found)
    first, second = (found["extra_paths"][0] for found in results)
    assert [vm["name"] for vm in results[1]["vms"]] == ["web01", "db01"]
    assert first["path"] == "D:\\Scripts" and first["files"] == 5 and first["parent"] is None
    assert second["parent"].startswith(first["snapshot_id"]) and second["files_unmodified"] == 5

    # the snapshot holds the folder below the volume root, tagged as an extra path
    snaps = {s["short_id"]: s for s in parse_snapshots(restic.run(["snapshots", "--json"]).stdout)}
    tags = snaps[second["snapshot_id"]]["tags"]
    assert tags == ["vaware.hyperv", "extra", "extra-path:d:\\scripts"]
    listing = parse_ls(restic.run(["ls", "--json", second["snapshot_id"]]).stdout)
    assert "/Scripts/sub/file1.ps1" in [f["path"] for f in listing["files"]]
    assert not any("mnt" in path for path in listing["dirs"])

    # retention keep_last 1: the extra path's own group loses its first snapshot, the VMs theirs
    retention = job.retention_steps(plan, {"keep_last": 1}, datetime.date(2026, 11, 26))
    codes, texts = stand_in.run_steps(restic, retention["forget"])
    forgotten = job.forget_results(retention, {"restic_exit_codes": codes}, texts, plan["repository"]["location"])
    assert forgotten["errors"] == []
    entry = next(e for e in forgotten["forget"] if e.get("extra_path"))
    assert entry["extra_path"] == "D:\\Scripts" and [r[:8] for r in entry["removed"]] == [first["snapshot_id"]]
    left = parse_snapshots(restic.run(["snapshots", "--json"]).stdout)
    assert len(left) == 3 and sum(1 for s in left if "extra" in s["tags"]) == 1
