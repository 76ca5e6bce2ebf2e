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

$ErrorActionPreference = 'Stop'
$root = Join-Path $env:ProgramData 'vaware.hyperv'
$jobsRoot = Join-Path $root 'jobs'
$lockPath = Join-Path $root 'backup.lock'
$taskPath = '\vaware.hyperv\'
$jobIdPattern = '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$'
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

function Invoke-Tool {
    # Runs a console tool. Its stderr lines become text, never error records, which the 'Stop'
    # preference (and win_powershell) would otherwise turn into a failure of the whole script.
    param([string]$FilePath, [string[]]$Arguments)
    $ErrorActionPreference = 'Continue'
    $lines = @(& $FilePath @Arguments 2>&1 | ForEach-Object { [string]$_ })
    return [pscustomobject]@{ exit_code = $LASTEXITCODE; output = ($lines -join "`r`n").Trim() }
}

function Test-InJobsRoot {
    param([string]$Path)
    $p = $Path.TrimEnd('\').ToLowerInvariant()
    return $p.StartsWith($jobsRoot.TrimEnd('\').ToLowerInvariant() + '\') -and -not $p.Contains('\..')
}

# Shadow copies, each by its own id (never "all").
$existing = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue)
foreach ($id in $ShadowIds) {
    $parsed = [guid]::Empty
    if (-not [guid]::TryParse($id.Trim('{}'), [ref]$parsed)) {
        $result.shadow_errors += [ordered]@{ id = $id; error = 'not a shadow copy id'; vssadmin = $null }
        continue
    }
    $braced = '{' + $parsed.ToString() + '}'
    $shadow = $existing | Where-Object { ([string]$_.ID).ToLowerInvariant() -eq $braced } | Select-Object -First 1
    if (-not $shadow) {
        $result.shadows_missing += $braced
        continue
    }
    try {
        Remove-CimInstance -InputObject $shadow -ErrorAction Stop
        $result.shadows_deleted += $braced
    } catch {
        $cimError = $_.Exception.Message
        $tool = Invoke-Tool -FilePath 'vssadmin.exe' -Arguments @('delete', 'shadows', "/shadow=$braced", '/quiet')
        if ($tool.exit_code -eq 0) {
            $result.shadows_deleted += $braced
        } else {
            $result.shadow_errors += [ordered]@{ id = $braced; error = $cimError; vssadmin = $tool.output }
        }
    }
}

# Mount folders of our jobs: unmount if still mounted, then remove the (empty) folder.
foreach ($folder in $MountFolders) {
    if (-not (Test-InJobsRoot -Path $folder)) {
        $result.mount_folder_errors += [ordered]@{ path = $folder; error = "not inside $jobsRoot" }
        continue
    }
    if (-not (Test-Path -LiteralPath $folder)) { continue }
    try {
        $item = Get-Item -LiteralPath $folder -Force
        if ($item.Attributes -band [IO.FileAttributes]::ReparsePoint) {
            $null = Invoke-Tool -FilePath 'mountvol.exe' -Arguments @(($folder.TrimEnd('\') + '\'), '/D')
        }
        [IO.Directory]::Delete($folder, $false)
        $result.mount_folders_removed += $folder
    } catch {
        $result.mount_folder_errors += [ordered]@{ path = $folder; error = $_.Exception.Message }
    }
}

# Whole jobs: scheduled task, then the job folder (kept when asked, e.g. keep_failed_job).
foreach ($jobId in $RemoveJobs) {
    if ($jobId -notmatch $jobIdPattern) { throw "invalid job id '$jobId'" }
    try {
        $task = Get-ScheduledTask -TaskPath $taskPath -TaskName ('backup-' + $jobId) -ErrorAction SilentlyContinue
        if ($task) {
            if ($task.State.ToString() -eq 'Running') { Stop-ScheduledTask -InputObject $task }
            Unregister-ScheduledTask -InputObject $task -Confirm:$false
        }
        $jobDir = Join-Path $jobsRoot $jobId
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
if ($ReleaseLockOf -and (Test-Path -LiteralPath $lockPath -PathType Leaf)) {
    $lock = $null
    try { $lock = [IO.File]::ReadAllText($lockPath) | ConvertFrom-Json } catch { $lock = $null }
    if ($lock -and $lock.job_id -eq $ReleaseLockOf) {
        Remove-Item -LiteralPath $lockPath -Force
        $result.lock_released = $true
    }
}

$Ansible.Changed = ($result.shadows_deleted.Count + $result.mount_folders_removed.Count + $result.jobs_removed.Count) -gt 0 -or $result.lock_released
$Ansible.Result = $result | ConvertTo-Json -Depth 5 -Compress
