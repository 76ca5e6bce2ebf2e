"""Which backup job runs and whose lock is dead, decided from a preflight answer (no host)."""

from __future__ import annotations

import datetime

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import jobs

NOW = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.timezone.utc)
JOB = "20261125T015000Z-0a1b2c3d"


def pre(lock_written_at, host_now="2026-11-25T02:00:00Z", **job):
    answer = {"now": host_now, "lock": {"job_id": JOB}, "lock_written_at": lock_written_at, "jobs": []}
    if job:
        answer["jobs"].append(dict(job_id=JOB, **job))
    return answer


def test_a_lock_younger_than_the_grace_is_a_start_in_progress():
    answer = pre("2026-11-25T01:59:00Z")
    assert jobs.young_lock(answer, NOW) == (JOB, 60.0)
    assert jobs.dead_lock(answer, NOW) is None


def test_a_lock_older_than_the_grace_without_a_running_job_is_dead():
    answer = pre("2026-11-25T01:40:00Z", task_state="Ready", runner_alive=False)
    assert jobs.young_lock(answer, NOW) is None
    assert jobs.dead_lock(answer, NOW) == JOB


def test_a_lock_whose_job_runs_is_neither_young_nor_dead():
    answer = pre("2026-11-25T01:40:00Z", task_state="Running")
    assert jobs.running_job(answer)["job_id"] == JOB
    assert jobs.young_lock(answer, NOW) is None
    assert jobs.dead_lock(answer, NOW) is None


def test_without_host_times_the_lock_age_uses_the_controller_clock():
    answer = {"lock": {"job_id": JOB, "started_at": "2026-11-25T01:55:00Z"}, "jobs": []}
    assert jobs.lock_age(answer, NOW) == 300.0
    assert jobs.lock_age({"lock": {"job_id": JOB}}, NOW) is None


def test_a_lock_without_a_job_id_is_dead_as_unknown():
    assert jobs.dead_lock({"lock": {"pid": 4}}, NOW) == "unknown"
    assert jobs.dead_lock({}, NOW) is None


def test_stale_finds_shadows_of_dead_jobs_and_spares_those_of_running_ones():
    root = "C:\\ProgramData\\vaware.hyperv\\jobs"
    answer = {
        "jobs": [
            {
                "job_id": JOB,
                "task_state": "Ready",
                "status": {"shadow_set_ids": ["{AAAAAAAA-0000-0000-0000-000000000001}"]},
            },
            {"job_id": "20261125T015900Z-00000000", "runner_alive": True},
        ],
        "shadows": [
            {"id": "{11111111-0000-0000-0000-000000000001}", "set_id": "{aaaaaaaa-0000-0000-0000-000000000001}"},
            {
                "id": "{22222222-0000-0000-0000-000000000002}",
                "set_id": "{bbbbbbbb-0000-0000-0000-000000000002}",
                "exposed_name": root + "\\20261125T015900Z-00000000\\mnt\\VAWVOL1",
            },
            {"id": "{33333333-0000-0000-0000-000000000003}", "set_id": "{cccccccc-0000-0000-0000-000000000003}"},
        ],
    }
    found = jobs.stale(answer, root)
    assert [s["id"] for s in found["shadows"]] == ["11111111-0000-0000-0000-000000000001"]
    assert found["jobs"] == [JOB]
