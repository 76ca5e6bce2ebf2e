# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "poll": the job runner's status file, its scheduled task and whether the runner
# process is still alive. Small and read-only: called every poll_interval seconds.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$JobId
)

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
if ($JobId -notmatch '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$') {
    throw "invalid job id '$JobId'"
}
$root = Join-Path $env:ProgramData 'vaware.hyperv'
$jobDir = Join-Path (Join-Path $root 'jobs') $JobId
$lockPath = Join-Path $root 'backup.lock'

$status = $null
$statusPath = Join-Path $jobDir 'status.json'
if (Test-Path -LiteralPath $statusPath -PathType Leaf) {
    # The runner replaces the file atomically; a read racing it is simply retried once.
    try { $status = [IO.File]::ReadAllText($statusPath) | ConvertFrom-Json } catch {
        Start-Sleep -Milliseconds 200
        $status = [IO.File]::ReadAllText($statusPath) | ConvertFrom-Json
    }
}
$alive = $false
if ($status -and $status.pid) {
    $proc = Get-Process -Id ([int]$status.pid) -ErrorAction SilentlyContinue
    if ($proc) {
        # Same process only if it started when the runner recorded (a PID can be reused).
        try {
            $delta = $proc.StartTime.ToUniversalTime().Ticks - [long]$status.pid_started_ticks
            $alive = ([Math]::Abs($delta) -lt 10000000)
        } catch {
            $alive = $false
        }
    }
}
$task = Get-ScheduledTask -TaskPath '\vaware.hyperv\' -TaskName ('backup-' + $JobId) -ErrorAction SilentlyContinue
$lastResult = $null
if ($task) {
    $info = $task | Get-ScheduledTaskInfo -ErrorAction SilentlyContinue
    if ($info) { $lastResult = $info.LastTaskResult }
}
$lock = $null
if (Test-Path -LiteralPath $lockPath -PathType Leaf) {
    try { $lock = [IO.File]::ReadAllText($lockPath) | ConvertFrom-Json } catch { $lock = $null }
}

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
