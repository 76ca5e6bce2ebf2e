"""The restic_version filter: the output of the real restic here, and the failures a host can give."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.filter.restic_version import FilterModule

FILTER = FilterModule().filters()["restic_version"]
RECORDED = (pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "restic" / "version.stdout").read_text()
PATH = "C:\\Program Files\\restic\\restic.exe"


def test_installed_restic_is_read():
    restic = shutil.which("restic")
    assert restic, "restic is not installed: scripts/setup.sh installs it (bindep.txt)"
    done = subprocess.run([restic, "version"], capture_output=True, text=True, check=True)
    found = FILTER({"rc": 0, "stdout": done.stdout, "stderr": done.stderr}, path=restic)
    assert found["version"] == done.stdout.split()[1]
    assert found["os"] == "linux"


def test_registered_result_and_plain_text():
    assert FILTER({"rc": 0, "stdout": RECORDED, "stderr": "", "changed": False}) == {
        "version": "0.14.0",
        "os": "linux",
        "arch": "amd64",
    }
    assert FILTER(RECORDED)["version"] == "0.14.0"


def test_missing_binary_names_the_path():
    # win_command with failed_when: false on a path that does not exist
    result = {"rc": 2, "stdout": "", "stderr": "", "failed": False, "msg": "The system cannot find the file specified."}
    with pytest.raises(AnsibleFilterError) as caught:
        FILTER(result, path=PATH)
    text = str(caught.value)
    assert PATH in text and "cannot find the file" in text and "0.14.0 or newer" in text


def test_too_old_and_minimum():
    old = "restic 0.13.1 compiled with go1.18 on windows/amd64"
    with pytest.raises(AnsibleFilterError, match=r"restic 0\.13\.1 is too old"):
        FILTER({"rc": 0, "stdout": old}, path=PATH)
    with pytest.raises(AnsibleFilterError, match=r"restic 0\.14\.0 is too old: vaware.hyperv needs restic 0\.16\.0"):
        FILTER(RECORDED, minimum="0.16.0")
    assert FILTER(old, minimum="0.12.0")["version"] == "0.13.1"
    with pytest.raises(AnsibleFilterError, match=r"minimum must be major\.minor\.patch"):
        FILTER(RECORDED, minimum="0.16")


def test_something_else_answered():
    with pytest.raises(AnsibleFilterError, match="not the output of 'restic version'"):
        FILTER({"rc": 0, "stdout": "Usage: rustic [OPTIONS]"}, path=PATH)
