"""The gates `make test` relies on must catch what they are for."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ps1_gate(*paths):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_ps1_syntax.py"), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_ps1_gate_names_file_line_and_column_of_a_broken_payload(tmp_path):
    good = tmp_path / "good.ps1"
    good.write_text(
        "[CmdletBinding(SupportsShouldProcess)]\nparam([string]$Name)\n"
        "try { $v = Get-CimInstance -ClassName Win32_Volume | Select-Object DeviceID, Label }\n"
        "finally { & robocopy.exe $Name 'C:\\x' /R:1 /W:1 }\n"
        "$Ansible.Result = @{ n = $Name } | ConvertTo-Json -Compress\n"
    )
    bad = tmp_path / "bad.ps1"
    bad.write_text("param([string]$a)\nif ($a) { Write-Output $a\n")
    res = _ps1_gate(good)
    assert res.returncode == 0, res.stdout
    res = _ps1_gate(tmp_path)
    assert res.returncode == 1
    assert f"{bad}:2:" in res.stdout
    assert str(good) not in res.stdout.split("check_ps1_syntax:")[0]


def test_ps1_gate_refuses_to_pass_when_it_found_nothing(tmp_path):
    assert _ps1_gate(tmp_path).returncode == 2


def test_every_payload_in_the_collection_parses():
    res = _ps1_gate(ROOT / "plugins")
    assert res.returncode == 0, res.stdout


def test_no_payload_or_template_deletes_every_shadow_copy():
    # Python code may name the command to refuse it; what runs on a host must never contain it.
    import re

    pattern = re.compile(r"delete\s+shadows\s+all", re.IGNORECASE)
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("plugins", "roles", "playbooks")
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix in {".ps1", ".psm1", ".cmd", ".dsh", ".j2"} and pattern.search(p.read_text())
    ]
    assert offenders == []
