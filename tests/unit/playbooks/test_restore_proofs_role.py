"""Role hyperv_restore, entry point proofs: restore-proofs.json is merged, written, and failures fail the run."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import sys

from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import (
    merge_proofs,
    proven_restore,
)

ROOT = pathlib.Path(__file__).resolve().parents[3]
UTC = datetime.timezone.utc

PLAYBOOK = """
- name: Hosts that ran the test entry point (their facts, recorded)
  hosts: hv01,hv02,hv03
  gather_facts: false
  tasks:
    - name: Set the facts tasks_from test leaves behind
      ansible.builtin.set_fact:
        hyperv_restore_proven: "{{ facts_by_host[inventory_hostname].proven }}"
        hyperv_restore_failed_vms: "{{ facts_by_host[inventory_hostname].failed }}"
        hyperv_restore_host_error: "{{ facts_by_host[inventory_hostname].error }}"
      when: inventory_hostname in facts_by_host

- name: Controller
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Record the proofs
      ansible.builtin.include_role:
        name: vaware.hyperv.hyperv_restore
        tasks_from: proofs
      vars:
        hyperv_restore_report_hosts: [hv01, hv02, hv03]
"""


def host_facts(host, *tests, error=None):
    records = [
        proven_restore(
            host,
            vm,
            "20261125T020000Z",
            {"outcome": "passed" if passed else "failed", "check": "heartbeat", "reason": "r"},
            when,
            backup_host=host.upper(),
        )
        for vm, passed, when in tests
    ]
    return {
        "proven": merge_proofs(None, records, now=datetime.datetime(2026, 11, 25, 10, tzinfo=UTC)) if records else {},
        "failed": [f"{host}/{vm}" for vm, passed, _when in tests if not passed],
        "error": error,
    }


def run_proofs(tmp_path, facts_by_host):
    playbook = tmp_path / "proofs.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({"facts_by_host": facts_by_host, "hyperv_restore_proofs_dir": str(tmp_path / "reports")}),
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_HOME=str(tmp_path / "home"),
    )
    proc = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "ansible-playbook"),
            str(playbook),
            "-i",
            "hv01,hv02,hv03,localhost,",
            "-c",
            "local",
            "-e",
            f"@{extra}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    path = tmp_path / "reports" / "restore-proofs.json"
    written = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    return proc, written


T1 = datetime.datetime(2026, 11, 24, 9, tzinfo=UTC)
T2 = datetime.datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_proofs_are_merged_across_runs_and_failures_fail_the_run(tmp_path):
    passing = {
        "hv01": host_facts("hv01", ("web01", True, T1), ("sql01", True, T1)),
        "hv02": host_facts("hv02", ("app01", True, T1)),
        "hv03": host_facts("hv03", ("file01", True, T1)),
    }
    proc, written = run_proofs(tmp_path, passing)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(e["host"], e["vm"]) for e in written["vms"]] == [
        ("hv01", "sql01"),
        ("hv01", "web01"),
        ("hv02", "app01"),
        ("hv03", "file01"),
    ]
    assert all(e["last_passed"]["tested_at"] == "2026-11-24T09:00:00Z" for e in written["vms"])

    # second run: web01 fails its test, hv02 could not be tested, hv03 gave no result at all
    second = {
        "hv01": host_facts("hv01", ("web01", False, T2)),
        "hv02": host_facts("hv02", error="the backup destination cannot be read"),
    }
    proc, written = run_proofs(tmp_path, second)
    assert proc.returncode != 0
    assert "Test restore FAILED for hv01/web01" in proc.stdout
    assert "hosts with an error or no result: hv02, hv03" in proc.stdout
    web = next(e for e in written["vms"] if e["vm"] == "web01")
    assert web["last_test"]["passed"] is False and web["last_test"]["tested_at"] == "2026-11-25T09:00:00Z"
    assert web["last_passed"]["tested_at"] == "2026-11-24T09:00:00Z"  # the last proven restore is kept
    assert len(written["vms"]) == 4
