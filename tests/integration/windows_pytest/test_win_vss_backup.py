"""win_vss_backup on a real Hyper-V host: a small test VM backed up twice into a test folder; each run reports the
restore points the destination keeps and its free space, leaves no shadow copy behind, and retention keeps two.
Creates and removes the VM and the folder, so it runs only with VAWARE_WINDOWS_DESTRUCTIVE=1."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.tests.integration.windows_pytest.conftest import every_host, run

TEST_DIR = "C:\\ansible-pytest-win_vss_backup"
DESTINATION = TEST_DIR + "\\backups"
VM = "vaware-pytest-vss-backup"

SETUP = r"""
param([string]$Dir, [string]$Name)
$Ansible.Result = [bool](Get-Module -ListAvailable -Name Hyper-V)
if (-not $Ansible.Result) { $Ansible.Changed = $false; return }
$null = New-Item -ItemType Directory -Path $Dir, (Join-Path $Dir 'backups') -Force
if (-not (Get-VM -Name $Name -ErrorAction SilentlyContinue)) {
    $vhd = Join-Path $Dir "$Name.vhdx"
    $null = New-VHD -Path $vhd -SizeBytes 64MB -Dynamic
    $null = New-VM -Name $Name -Generation 2 -MemoryStartupBytes 512MB -VHDPath $vhd -Path $Dir
}
"""
TEARDOWN = r"""
param([string]$Dir, [string]$Name)
Get-VM -Name $Name -ErrorAction SilentlyContinue | Remove-VM -Force
if (Test-Path -LiteralPath $Dir) { Remove-Item -LiteralPath $Dir -Recurse -Force }
"""
SHADOWS = r"""
[CmdletBinding(SupportsShouldProcess)]
param()
$Ansible.Changed = $false
$Ansible.Result = @(Get-CimInstance Win32_ShadowCopy | ForEach-Object { [string]$_.ID })
"""


@pytest.fixture
def test_vm(windows, destructive):
    params = {"Dir": TEST_DIR, "Name": VM}
    created = run(windows, "ansible.windows.win_powershell", script=SETUP, parameters=params)
    for host, result in created.items():
        assert not result.is_failed, f"{host}: {result.get('msg')}"
        if not result["result"]:
            pytest.skip(f"{host} has no Hyper-V")
    yield
    run(windows, "ansible.windows.win_powershell", script=TEARDOWN, parameters=params)


def test_two_backups_report_their_restore_points_and_the_free_space(windows, test_vm):
    before = {
        host: set(r["result"]) for host, r in run(windows, "ansible.windows.win_powershell", script=SHADOWS).items()
    }
    retention = {"keep_last": 2}
    first = run(windows, "vaware.hyperv.win_vss_backup", destination=DESTINATION, vms=[VM], retention=retention)
    second = run(windows, "vaware.hyperv.win_vss_backup", destination=DESTINATION, vms=[VM], retention=retention)
    third = run(windows, "vaware.hyperv.win_vss_backup", destination=DESTINATION, vms=[VM], retention=retention)
    after = {
        host: set(r["result"]) for host, r in run(windows, "ansible.windows.win_powershell", script=SHADOWS).items()
    }

    def check_first(host, result):
        assert result["generation_status"] == "complete"
        assert result["restore_points"] == [{"name": VM, "count": 1, "oldest": result["generation"]}]
        assert 0 < result["destination_free_bytes"] < result["destination_total_bytes"]

    def check_second(host, result):
        assert [p["count"] for p in result["restore_points"]] == [2]
        assert result["restore_points"][0]["oldest"] == first[host]["generation"]

    def check_third(host, result):
        # keep_last 2: the first generation expired, the second is now the oldest of two
        assert result["expired"] == [first[host]["generation"]]
        assert result["restore_points"] == [{"name": VM, "count": 2, "oldest": second[host]["generation"]}]
        assert after[host] == before[host], "a shadow copy was left behind"

    every_host(first, check_first)
    every_host(second, check_second)
    every_host(third, check_third)
