"""``ansible-playbook vaware.hyperv.backup`` with one host switched to restic by hyperv_backup_repository.

The Windows side is the scripted host (restic's outputs recorded from the real restic, see
``tests/support/restic_backup_host.py``); the role, the action plugin and the report are real.
"""

from __future__ import annotations

import json

from ansible_collections.vaware.hyperv.tests.functional.playbooks import fleet
from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection
from ansible_collections.vaware.hyperv.tests.functional.playbooks.test_backup_playbook import run_backup, validate
from ansible_collections.vaware.hyperv.tests.support import restic_backup_host as rh


def test_one_variable_switches_a_host_to_restic(tmp_path):
    scenario = fleet._tokens({"win_volume_guid_facts": [fleet.volume_facts()], **rh.scenario(forget=rh.FORGET)})
    host_vars = {"hv01": {"hyperv_backup_destination": None, "hyperv_backup_repository": dict(rh.REPOSITORY)}}
    setup, proc, _output, report_dir = run_backup(tmp_path, {"hv01": scenario}, host_vars=host_vars)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    calls = scripted_collection.calls(setup["hosts_dir"], "hv01")
    preflight = next(c for c in calls if c["payload"] == "win_vss_backup_preflight")
    assert preflight["parameters"]["Destination"] == ""
    assert preflight["parameters"]["ResticPath"] == "C:\\Program Files\\restic\\restic.exe"  # the role's default
    # the probe's outputs before the snapshot, the job's files, the backups' outputs, the forget outputs
    assert [c["payload"] for c in calls].count("win_vss_backup_collect") == 4
    signals = [c["parameters"]["Name"] for c in calls if c["payload"] == "win_vss_backup_signal"]
    assert signals == ["restic_plan.json", "verdict.json"]
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    validate(report)
    (host,) = report["hosts"]
    assert host["status"] == "ok", host
    assert sorted(vm["name"] for vm in host["vms"]) == ["db01", "web01"]
    assert {vm["name"]: vm["bytes_added"] for vm in host["vms"]} == {
        "web01": rh.summary("job_backup_web01")["data_added"],
        "db01": rh.summary("job_backup_db01")["data_added"],
    }
    assert rh.PASSWORD not in proc.stdout and rh.PASSWORD not in (report_dir / "backup-report.json").read_text()
    assert rh.PASSWORD not in (tmp_path / "ansible.log").read_text(encoding="utf-8")
