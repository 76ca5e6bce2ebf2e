# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore, step "poll copy": the copy job's status.json, its scheduled task and whether its
# runner process is still alive. Small and read-only: called every poll_interval seconds.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$JobId
)
#vaware:include vss_common
#vaware:include file_restore

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$paths = Get-FileRestorePaths -JobId $JobId
$status = Read-JsonFile -Path (Join-Path $paths.job_dir 'status.json') -Retries 1 -ThrowIfUnreadable
$task = Get-ScheduledTask -TaskPath $paths.task_path -TaskName $paths.task_name -ErrorAction SilentlyContinue
$lastResult = $null
if ($task) {
    $info = $task | Get-ScheduledTaskInfo -ErrorAction SilentlyContinue
    if ($info) { $lastResult = $info.LastTaskResult }
}

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{
    job_id = $JobId
    job_dir_exists = (Test-Path -LiteralPath $paths.job_dir -PathType Container)
    status = $status
    runner_alive = (Test-RunnerAlive -Status $status)
    task_state = if ($task) { $task.State.ToString() } else { $null }
    task_last_result = $lastResult
} | ConvertTo-Json -Depth 8 -Compress
