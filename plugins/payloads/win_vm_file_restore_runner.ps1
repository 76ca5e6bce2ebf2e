# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore, the detached copy job: run by its scheduled task (as SYSTEM) from the job folder the
# start payload wrote (runner.ps1, mount.ps1 = the win_vm_file_restore_mount payload as the collection ships
# it, job.json). It runs mount.ps1 with Action Copy, so the disk is mounted read-only, recorded for the sweep
# and dismounted in its finally exactly as in a direct call, and writes that payload's result to status.json
# (replaced atomically) for the controller to poll. Not a win_powershell payload: it defines the $Ansible
# object mount.ps1 reports to.
param(
    [Parameter(Mandatory)][string]$JobDir
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$status = New-RunnerStatus

function Write-Status {
    Write-FileAtomically -Path (Join-Path $JobDir 'status.json') -Text ($status | ConvertTo-Json -Depth 8 -Compress)
}

Write-Status
try {
    $job = [IO.File]::ReadAllText((Join-Path $JobDir 'job.json')) | ConvertFrom-Json
    $items = @(foreach ($item in $job.items) {
            @{ source = [string]$item.source; type = [string]$item.type; destination = [string]$item.destination }
        })
    $Ansible = [pscustomobject]@{ Changed = $false; Result = $null; Failed = $false }
    $mountPayload = Join-Path $JobDir 'mount.ps1'
    $null = & $mountPayload -Action Copy -Disks @([string]$job.disk) -RunId ([string]$job.run_id) `
        -PartitionNumber ([int]$job.partition_number) -Items $items
    $status.result = $Ansible.Result
    $status.state = 'finished'
} catch {
    $status.error = $_.Exception.Message
    $status.state = 'failed'
}
$status.finished_at = [DateTime]::UtcNow.ToString('o')
Write-Status
