"""Every payload holds to what Windows PowerShell 5.1 / Windows Server 2016 document (issue 11, item 9).

The catalogs in tests/data/windows-commands/ come from Microsoft's reference docs: a command,
named parameter, combination of parameters (one parameter set) or CIM property that is not there
would fail on a real host, which these machines do not have.
"""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.vaware.hyperv.tests.support import payload_facts as facts

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAYLOADS = sorted((ROOT / "plugins" / "payloads").rglob("*.ps1"))
# The payload library (lib/*.ps1) is spliced into the payloads: its functions are defined there.
DEFINED = facts.library_function_names(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: str(p.relative_to(ROOT)))
def test_payload_uses_only_documented_commands_parameters_and_cim_properties(payload):
    assert facts.payload_problems(payload, DEFINED) == []


@pytest.mark.parametrize(
    ("payload", "good", "bad", "expected"),
    [
        # a property of a CIM class read in a pipeline stage of a real payload
        ("win_vss_backup_runner.ps1", "[string]$_.ExposedName", "[string]$_.ExposedNam", "has no property ExposedNam"),
        # a key of a splatted hashtable in a real payload
        ("lib/job_task.ps1", "Priority = 4", "Priorty = 4", "has no parameter -Priorty"),
        # a named parameter in a real payload
        ("win_vss_backup_preflight.ps1", "Get-VMSnapshot -VM $vm", "Get-VMSnapshot -VMM $vm", "no parameter -VMM"),
    ],
)
def test_the_gate_sees_what_the_real_payloads_do(tmp_path, payload, good, bad, expected):
    """One misspelling put into a real payload is found: the gate reads the payloads' own constructs."""
    text = (ROOT / "plugins" / "payloads" / payload).read_text(encoding="utf-8")
    assert good in text
    broken = tmp_path / pathlib.Path(payload).name
    broken.write_text(text.replace(good, bad, 1), encoding="utf-8")
    assert any(expected in p for p in facts.payload_problems(broken, DEFINED))


BAD = r"""
$settingsArgs = @{ MultipleInstances = 'IgnoreNew'; Priorty = 4 }
$settings = New-ScheduledTaskSettingsSet @settingsArgs
$v = Get-CimInstance -ClassName Win32_Volume -ErrorAktion Stop | Where-Object { $_.DriveLeter }
foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy)) { $s.ExposedPath }
Get-Vhdx -Path 'D:\vm.vhdx'
$props = @('DeviceID', 'Lable')
Get-CimInstance Win32_Volume | Select-Object -Property $props
Register-ScheduledTask -TaskName t -Action $a -User u -Principal $p
Write-Status -Phase x
"""


def test_the_gate_names_each_broken_fact(tmp_path):
    bad = tmp_path / "bad.ps1"
    bad.write_text(BAD, encoding="utf-8")
    problems = "\n".join(facts.payload_problems(bad, {"Write-Status"}))
    for expected in (
        "bad.ps1:3: New-ScheduledTaskSettingsSet has no parameter -Priorty",
        "bad.ps1:4: Get-CimInstance has no parameter -ErrorAktion",
        "bad.ps1:4: CIM class Win32_Volume has no property DriveLeter",
        "bad.ps1:5: CIM class Win32_ShadowCopy has no property ExposedPath",
        "bad.ps1:6: Get-Vhdx is not a Windows PowerShell 5.1 / Server 2016 command",
        "bad.ps1:8: CIM class Win32_Volume has no property Lable",
        "bad.ps1:9: Register-ScheduledTask has no parameter set with all of",
    ):
        assert expected in problems
    assert "Write-Status" not in problems  # a function the payloads define is not a cmdlet


def test_a_correct_payload_passes(tmp_path):
    good = tmp_path / "good.ps1"
    good.write_text(
        "$a = @{ Priority = 4; MultipleInstances = 'IgnoreNew' }\n"
        "$s = New-ScheduledTaskSettingsSet @a\n"
        "$v = @(Get-CimInstance -ClassName Win32_Volume -ErrorAction Stop | Where-Object { $_.DriveLetter })\n"
        "foreach ($c in @(Get-CimInstance -ClassName Win32_ShadowCopy)) { $c.ExposedName }\n",
        encoding="utf-8",
    )
    assert facts.payload_problems(good) == []
