# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "poll": the job runner's status file, its scheduled task and whether the runner
# process is still alive. Small and read-only: called every poll_interval seconds.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$JobId
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$paths = Get-VawarePaths -JobId $JobId
$jobDir = $paths.job_dir

# The runner replaces status.json atomically; a read racing it is simply retried once.
$status = Read-JsonFile -Path (Join-Path $jobDir 'status.json') -Retries 1 -ThrowIfUnreadable
$alive = Test-RunnerAlive -Status $status
$task = Get-ScheduledTask -TaskPath $paths.task_path -TaskName $paths.task_name -ErrorAction SilentlyContinue
$lastResult = $null
if ($task) {
    $info = $task | Get-ScheduledTaskInfo -ErrorAction SilentlyContinue
    if ($info) { $lastResult = $info.LastTaskResult }
}
$lock = $null
try { $lock = Read-JsonFile -Path $paths.lock_path -ThrowIfUnreadable } catch { $lock = $null }

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{
    job_id = $JobId
    job_dir_exists = (Test-Path -LiteralPath $jobDir -PathType Container)
    status = $status
    runner_alive = $alive
    task_state = if ($task) { $task.State.ToString() } else { $null }
    task_last_result = $lastResult
    lock_job_id = if ($lock) { $lock.job_id } else { $null }
    cancel_requested = (Test-Path -LiteralPath (Join-Path $jobDir 'cancel.request') -PathType Leaf)
    now = [DateTime]::UtcNow.ToString('o')
} | ConvertTo-Json -Depth 6 -Compress
