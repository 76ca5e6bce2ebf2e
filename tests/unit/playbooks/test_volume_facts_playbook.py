"""playbooks/volume_facts.yml prints a readable table: run its table task with recorded facts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "win_volume_guid_facts"


def run_table_task(tmp_path, facts):
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({"ansible_facts": {"win_volumes": facts}}), encoding="utf-8")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_HOME=str(tmp_path / "home"),
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    proc = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "ansible-playbook"),
            str(ROOT / "playbooks" / "volume_facts.yml"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "volume_facts_hosts=localhost",
            "-e",
            f"@{facts_file}",
            "--start-at-task",
            "Print the volume table",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = proc.stdout.split("ok: [localhost] => ", 1)[1].split("\n\nPLAY RECAP", 1)[0]
    return json.loads(body)["msg"]


def test_table_has_one_row_per_volume_with_placement(tmp_path):
    raw = json.loads((FIXTURES / "hyperv_host.json").read_text(encoding="utf-8"))
    facts = normalize_volumes(raw["volumes"], raw["mount_points"], raw["virtual_systems"])
    lines = run_table_task(tmp_path, facts)
    assert lines[0].split() == [
        "LABEL",
        "DRV",
        "GUID",
        "PATH",
        "SIZE",
        "GiB",
        "FREE",
        "GiB",
        "USED",
        "MOUNT",
        "POINTS",
        "VMS",
    ]
    assert len(lines) == 1 + len(facts)
    backup = next(line for line in lines if line.startswith("Backup "))
    assert "\\\\?\\Volume{d00dfeed-4444-4d44-b444-444444444444}\\" in backup
    assert "3726.0" in backup and "2794.5" in backup and "25%" in backup
    assert "E:\\, D:\\Mounts\\Backup\\" in backup and backup.endswith("SQL-Prod, Web 01")
    reserved = next(line for line in lines if line.startswith("System Reserved"))
    assert "(GUID path only)" in reserved
    assert sum(line.startswith("(no media)") for line in lines) == 2
    assert any(line.startswith("Données ünd 日本") for line in lines)


def test_table_without_vm_placement(tmp_path):
    raw = json.loads((FIXTURES / "single_volume.json").read_text(encoding="utf-8"))
    lines = run_table_task(tmp_path, normalize_volumes(raw["volumes"], raw["mount_points"]))
    assert len(lines) == 2
    assert lines[1].split()[:2] == ["-", "C:"] and lines[1].endswith(" -")
