"""Record the real restic's output for the win_vss_backup restic job tests (tests/unit/fixtures/restic/job_*).

Run: ``.venv/bin/python tests/support/record_restic_job.py`` (needs the Debian package ``restic``). It makes
HV01's restic plan (``restic_job.plan``), a stand-in of its exposed shadow folders and a throwaway repository,
and runs the plan's steps with the real restic, as the job runner would, writing each step's stdout, stderr
and exit code (``<case>.stdout``, ``.stderr``, ``.rc``):

* ``job_night1_<vm>``, ``job_backup_<vm>``: each VM's backup, the first night and a second one after 10 % of
  the disks' 1 MiB blocks changed; ``job_check``: the plan's ``restic check`` after them;
* ``job_forget_<vm>``: the ``forget --json`` step of ``retention_steps`` with keep_last 1;
* ``job_backup_wrong_password``: web01's backup with another password in the password file;
* ``job_backup_locked``: web01's backup while ``restic check --read-data`` holds the exclusive lock (the check
  is stopped with SIGSTOP once its lock file exists, and resumed after).

``record_restic_job.py probe`` records (only) the probe before the snapshot, in a repository of its own:

* ``job_probe_config``, ``job_probe_config_v1``: ``cat config`` of a format version 2 and a version 1 repository;
* ``job_probe_parents_none``, ``job_probe_parents``: the plan's ``snapshots`` step before the first night and
  after two nights (each VM's newest snapshot);
* ``job_backup_parent_missing``: web01's backup naming a parent that was forgotten and pruned.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import conftest  # noqa: E402,F401  # pylint: disable=unused-import  # makes vaware.hyperv importable
import restic_job  # noqa: E402
import restic_tools  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import retention_steps  # noqa: E402

OUT = ROOT / "tests" / "unit" / "fixtures" / "restic"


def save(case: str, done: subprocess.CompletedProcess) -> None:
    (OUT / f"{case}.stdout").write_text(done.stdout, encoding="utf-8")
    (OUT / f"{case}.stderr").write_text(done.stderr, encoding="utf-8")
    (OUT / f"{case}.rc").write_text(f"{done.returncode}\n", encoding="utf-8")
    print(f"{case}: exit {done.returncode}")


def record_probe() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        repo = restic_job.repository(restic_tools.TEST_PASSWORD)
        job = restic_job.plan(repo)
        config, parents = job["restic"]["probe"]
        repo["location"] = str(work / "repo1")
        restic = restic_tools.Restic(repo, work / "password", work / "cache")
        assert restic.run(["init", "--repository-version", "1"]).returncode == 0
        stand_in = restic_job.StandIn(work / "job", job)
        stand_in.make_vm_files()
        save("job_probe_config_v1", stand_in.run(restic, config))
        repo["location"] = str(work / "repo")
        restic = restic_tools.Restic(repo, work / "password", work / "cache")
        assert restic.run(command.init_args(repo)).returncode == 0
        save("job_probe_config", stand_in.run(restic, config))
        save("job_probe_parents_none", stand_in.run(restic, parents))
        for _night in range(2):
            for step in job["steps"]:
                assert stand_in.run(restic, step).returncode == 0
        save("job_probe_parents", stand_in.run(restic, parents))
        newest = restic.run(["snapshots", "--json", "--latest", "1", "--tag", "vm:web01", "--group-by", "host"])
        gone = json.loads(newest.stdout)[0]["snapshots"][0]["id"]
        assert restic.run(["forget", "--prune", gone]).returncode == 0
        step = job["steps"][0]
        args = command.backup_args(repo, step["paths"], step["tags"], "HV01", parent=gone)
        save("job_backup_parent_missing", stand_in.run(restic, {**step, "args": args}))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        repo = restic_job.repository(restic_tools.TEST_PASSWORD)
        job = restic_job.plan(repo)
        repo["location"] = str(work / "repo")
        restic = restic_tools.Restic(repo, work / "password", work / "cache")
        assert restic.run(command.init_args(repo)).returncode == 0
        stand_in = restic_job.StandIn(work / "job", job)
        stand_in.make_vm_files()
        for step in job["steps"]:
            save(f"job_night1_{step['vm']}", stand_in.run(restic, step))
        stand_in.change(0.1)
        for step in job["steps"]:
            save(f"job_backup_{step['vm']}", stand_in.run(restic, step))
        save("job_check", stand_in.run(restic, job["restic"]["check"]))
        retention = retention_steps(job, {"keep_last": 1}, datetime.date(2026, 11, 25))
        for step in retention["forget"]:
            save(f"job_forget_{step['vm']}", stand_in.run(restic, step))

        wrong = dict(restic.env)
        other = work / "other-password"
        other.write_text("not the password\n", encoding="utf-8")
        wrong["RESTIC_PASSWORD_FILE"] = str(other)
        save("job_backup_wrong_password", stand_in.run(restic, job["steps"][0], env=wrong))

        # a large enough repository that `check --read-data` holds its lock for a few seconds
        bulk = work / "bulk"
        bulk.mkdir()
        (bulk / "bulk.bin").write_bytes(os.urandom(192 * 1024 * 1024))
        assert restic.run(["backup", "--host", "bulk", "--", "bulk.bin"], cwd=bulk).returncode == 0
        holder = subprocess.Popen(
            [restic_tools.RESTIC, "check", "--read-data"],
            env=restic.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            locks = pathlib.Path(repo["location"]) / "locks"
            deadline = time.monotonic() + 30
            # a lock file is written under a -tmp- name first and renamed when complete
            while not any("-tmp-" not in p.name for p in locks.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.001)
            os.kill(holder.pid, signal.SIGSTOP)
            save("job_backup_locked", stand_in.run(restic, job["steps"][0]))
        finally:
            os.kill(holder.pid, signal.SIGCONT)
            holder.wait(timeout=120)


if __name__ == "__main__":
    record_probe() if sys.argv[1:] == ["probe"] else main()
