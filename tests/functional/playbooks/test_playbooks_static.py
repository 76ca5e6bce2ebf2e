"""Every playbook passes ``ansible-playbook --syntax-check``; the execution environment definition builds a context.

ansible-lint (production profile) over roles/ and playbooks/ is a stage of ``make test``
(scripts/test.sh), not repeated here.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv" / "bin"
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.yml"))


def env(tmp: pathlib.Path):
    e = dict(os.environ)
    e.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tmp" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        }
    )
    return e


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_syntax_check(playbook, tmp_path):
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", str(playbook)],
        env=env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_playbook_runs_by_collection_name(playbook, tmp_path):
    """``ansible-playbook vaware.hyperv.<name>`` resolves to playbooks/<name>.yml of the installed collection."""
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--list-tasks", f"vaware.hyperv.{playbook.stem}"],
        env=env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"/vaware/hyperv/playbooks/{playbook.name}" in proc.stdout
    if playbook.stem == "backup":
        assert "Back up Hyper-V hosts" in proc.stdout and "Write the fleet backup report" in proc.stdout


def test_execution_environment_context_is_created(tmp_path):
    context = tmp_path / "context"
    proc = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(ROOT / "meta" / "execution-environment.yml"),
         "--context", str(context)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (context / "Dockerfile").is_file() or (context / "Containerfile").is_file()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    names = {c["name"] for c in galaxy["collections"]}
    # the role mails with community.general.mail; the modules run win_powershell from ansible.windows
    assert {"ansible.windows", "community.general", "vaware.hyperv"} <= names
    python = (context / "_build" / "requirements.txt").read_text(encoding="utf-8")
    assert "pywinrm" in python
    assert (context / "_build" / "bindep.txt").is_file()
