# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "cleanup": remove what the controller names and nothing else. Used after a job
# was collected (its scheduled task and job folder), for a job whose runner died (its lock, its
# shadows, its mount folders) and to sweep stale shadows of earlier crashed jobs. Shadow copies are
# deleted one by one by id; mount folders must lie inside our jobs folder and are only unmounted and
# removed when empty; a job folder is only removed once no mount point is left inside it.
param(
    [string[]]$ShadowIds = @(),
    [string[]]$MountFolders = @(),
    [string[]]$RemoveJobs = @(),
    [string[]]$KeepJobFolders = @(),
    [string]$ReleaseLockOf = ''
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$paths = Get-VawarePaths
$result = [ordered]@{
    shadows_deleted = @()
    shadows_missing = @()
    shadow_errors = @()
    mount_folders_removed = @()
    mount_folder_errors = @()
    jobs_removed = @()
    job_errors = @()
    lock_released = $false
}

# Shadow copies, each by its own id (never "all").
$shadows = Remove-ShadowCopiesById -Ids $ShadowIds
$result.shadows_deleted = @($shadows.deleted)
$result.shadows_missing = @($shadows.missing)
$result.shadow_errors = @($shadows.errors)

# Mount folders of our jobs: unmount if still mounted, then remove the (empty) folder.
foreach ($folder in $MountFolders) {
    try {
        if (Remove-MountFolder -Path $folder -Within $paths.jobs_root) { $result.mount_folders_removed += $folder }
    } catch {
        $result.mount_folder_errors += [ordered]@{ path = $folder; error = $_.Exception.Message }
    }
}

# Whole jobs: scheduled task, then the job folder (kept when asked, e.g. keep_failed_job).
foreach ($jobId in $RemoveJobs) {
    $job = Get-VawarePaths -JobId $jobId
    try {
        $task = Get-ScheduledTask -TaskPath $job.task_path -TaskName $job.task_name -ErrorAction SilentlyContinue
        if ($task) {
            if ($task.State.ToString() -eq 'Running') { Stop-ScheduledTask -InputObject $task }
            Unregister-ScheduledTask -InputObject $task -Confirm:$false
        }
        $jobDir = $job.job_dir
        # A kept job folder keeps no secret: a restic job's password and environment files go in any case.
        foreach ($secret in @('restic.pass', 'restic.env.json')) {
            $secretPath = Join-Path $jobDir $secret
            if (Test-Path -LiteralPath $secretPath) { Remove-Item -LiteralPath $secretPath -Force }
        }
        if (($KeepJobFolders -notcontains $jobId) -and (Test-Path -LiteralPath $jobDir)) {
            # Mount folders live directly in <job>\mnt; never recurse into them (a mounted shadow is a whole volume).
            $mountRoot = Join-Path $jobDir 'mnt'
            $mounted = @()
            if (Test-Path -LiteralPath $mountRoot) {
                $mounted = @(Get-ChildItem -LiteralPath $mountRoot -Force -Directory | Where-Object {
                        $_.Attributes -band [IO.FileAttributes]::ReparsePoint
                    })
            }
            if ($mounted.Count -gt 0) {
                throw "job folder $jobDir still holds a mount point ($($mounted[0].FullName)); not removed"
            }
            Remove-Item -LiteralPath $jobDir -Recurse -Force
        }
        $result.jobs_removed += $jobId
    } catch {
        $result.job_errors += [ordered]@{ job_id = $jobId; error = $_.Exception.Message }
    }
}

# The lock, only while it still names the job the controller found dead or finished.
try {
    $result.lock_released = Remove-LockOf -LockPath $paths.lock_path -JobId $ReleaseLockOf
} catch {
    $result.lock_released = $false  # an unreadable lock cannot be proven to be that job's: left alone
}

$Ansible.Changed = ($result.shadows_deleted.Count + $result.mount_folders_removed.Count + $result.jobs_removed.Count) -gt 0 -or $result.lock_released
$Ansible.Result = $result | ConvertTo-Json -Depth 5 -Compress
