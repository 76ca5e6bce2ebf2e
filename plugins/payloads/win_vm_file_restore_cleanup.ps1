# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore, step "clean up copy": once the copy job is over (finished, failed, or its runner gone),
# remove its scheduled task and job folder, and dismount what a mount record of a process that is gone still
# names (the job's own disk when its runner was stopped before its finally ran).
param(
    [Parameter(Mandatory)][string]$JobId
)
#vaware:include vss_common
#vaware:include file_restore

$ErrorActionPreference = 'Stop'
$paths = Get-FileRestorePaths -JobId $JobId
$result = [ordered]@{ task_removed = $false; job_dir_removed = $false; swept = @() }
$task = Get-ScheduledTask -TaskPath $paths.task_path -TaskName $paths.task_name -ErrorAction SilentlyContinue
if ($task) {
    if ($task.State.ToString() -eq 'Running') { throw "the copy job's task $($paths.task_name) is still running" }
    Unregister-ScheduledTask -TaskPath $paths.task_path -TaskName $paths.task_name -Confirm:$false
}
$result.task_removed = $true
if (Test-Path -LiteralPath $paths.marker_dir -PathType Container) {
    $result.swept = Invoke-MountSweep -MarkerDir $paths.marker_dir
}
if (Test-Path -LiteralPath $paths.job_dir) {
    Remove-Item -LiteralPath $paths.job_dir -Recurse -Force
}
$result.job_dir_removed = $true

$Ansible.Changed = $true
$Ansible.Result = $result | ConvertTo-Json -Depth 4 -Compress
