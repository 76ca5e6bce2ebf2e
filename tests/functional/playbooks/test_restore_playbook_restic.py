"""``ansible-playbook vaware.hyperv.test_restore`` for a host backed up to restic: the one variable is enough.

hv01's snapshots are made with the real restic by the backup plan's own steps; the restore actions run once
in-process against them (``tests/support/restic_restore_host.py``, whose restic payloads run the real restic)
and what each payload answered is replayed by the scripted Windows host of the playbook tests, so the role,
the action plugins and the proofs run for real on what restic printed and restored.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "support"))

import restic_restore_host
from restic_restore_host import PASSWORD, ResticRestoreHost

from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore import ActionModule as Restore
from ansible_collections.vaware.hyperv.plugins.action.win_vm_restore_info import (
    ActionModule as RestoreInfo,
)
from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import (
    scripted_collection,
)
from ansible_collections.vaware.hyperv.tests.functional.playbooks.test_restore_playbooks import (
    run_playbook,
)
from ansible_collections.vaware.hyperv.tests.support.restore_answers import boot

TEST_PATH = restic_restore_host.RESTORE


def test_one_variable_test_restores_every_vm_from_its_newest_snapshot(tmp_path, monkeypatch):
    from ansible_collections.vaware.hyperv.plugins.action import win_vm_restore

    monkeypatch.setattr(win_vm_restore, "sleep", lambda _seconds: None)
    hv01 = ResticRestoreHost(tmp_path / "hv01", nights=2)
    repository = hv01.task_repository()
    common = {"repository": repository, "restore_path": TEST_PATH, "mode": "test", "poll_interval": 1}
    recorded = hv01.record(
        [(RestoreInfo, {"repository": repository}), (Restore, {"vm": "db01", **common}),
         (Restore, {"vm": "web01", **common})],
        win_vm_restore_boot=[boot(), boot(heartbeat="OkApplicationsHealthy")] * 2,
    )  # fmt: skip
    proofs_dir = tmp_path / "proofs"
    setup, proc, _output = run_playbook(
        tmp_path,
        {"hv01": recorded},
        "vaware.hyperv.test_restore",
        "-e", json.dumps({"hyperv_restore_path": TEST_PATH, "hyperv_restore_poll_interval": 1,
                          "hyperv_restore_proofs_dir": str(proofs_dir)}),
        host_vars={"hv01": {"hyperv_backup_repository": repository}},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proofs = json.loads((proofs_dir / "restore-proofs.json").read_text(encoding="utf-8"))
    newest = hv01.snapshots[-1]
    assert sorted((e["vm"], e["last_test"]["generation"], e["last_test"]["passed"]) for e in proofs["vms"]) == [
        ("db01", newest["db01"], True),
        ("web01", newest["web01"], True),
    ]
    calls = scripted_collection.calls(setup["hosts_dir"], "hv01")
    # the playbook asked what the recording asked, as often: every recorded answer was used
    payloads = [c["payload"] for c in calls]
    assert {name: payloads.count(name) for name in set(payloads)} == {n: len(a) for n, a in recorded.items()}
    assert "win_vm_restore_generations" not in [c["payload"] for c in calls]
    assert [c["payload"] for c in calls].count("win_vm_restore_restic_start") == 2
    assert PASSWORD not in proc.stdout and PASSWORD not in (tmp_path / "ansible.log").read_text(encoding="utf-8")
