# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Functions of the win_vm_file_restore payloads (spliced in by their include line for file_restore; they use
# Get-VawarePaths of the vss_common library): where mounts are recorded, the copy jobs' folders and
# scheduled tasks, and the sweep that dismounts what a run whose process is gone left mounted.

function Get-FileRestorePaths {
    # %ProgramData%\vaware.hyperv\file-restore: <run>-<n>.mount.json records every mount this module made until
    # it is undone; jobs\<job id>\ holds a detached copy job (its runner, job.json, status.json). With -JobId
    # (16 hex digits, checked) also that job's folder and scheduled-task name.
    param([string]$JobId = '')
    $root = (Get-VawarePaths).root
    $base = Join-Path $root 'file-restore'
    $paths = [ordered]@{
        root = $root
        marker_dir = $base
        jobs_root = (Join-Path $base 'jobs')
        task_path = '\vaware.hyperv\'
        job_dir = $null
        task_name = $null
    }
    if ($JobId) {
        if ($JobId -notmatch '^[0-9a-f]{16}$') { throw "invalid file restore job id '$JobId': expected 16 hex digits" }
        $paths.job_dir = Join-Path $paths.jobs_root $JobId
        $paths.task_name = 'file-restore-' + $JobId
    }
    return [pscustomobject]$paths
}

function Test-MountOwnerAlive {
    # The process that recorded a mount (its PID and start time, so a reused PID does not count) still runs.
    param($Data)
    $process = Get-Process -Id ([int]$Data.pid) -ErrorAction SilentlyContinue
    return ($null -ne $process -and [long]$process.StartTime.ToUniversalTime().Ticks -eq [long]$Data.process_started_ticks)
}

function Dismount-IfAttached {
    # Dismount-VHD when the disk is attached; $true when it was.
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $false }
    if (-not (Hyper-V\Get-VHD -Path $Path).Attached) { return $false }
    Hyper-V\Dismount-VHD -Path $Path
    return $true
}

function Invoke-MountSweep {
    # Dismount every disk a mount record names whose recording process is gone (a run cut off by a dropped
    # connection or a stopped job), and remove its record. Records of running processes are left alone.
    param([Parameter(Mandatory)][string]$MarkerDir)
    $swept = @()
    foreach ($marker in @(Get-ChildItem -LiteralPath $MarkerDir -Filter '*.mount.json' -File)) {
        $entry = [ordered]@{ marker = $marker.Name; path = $null; dismounted = $false; error = $null }
        try {
            $data = [IO.File]::ReadAllText($marker.FullName) | ConvertFrom-Json
            $entry.path = [string]$data.path
            if (Test-MountOwnerAlive -Data $data) { continue }
            if ($entry.path -notmatch '\.a?vhdx?$') { throw "the record names '$($entry.path)', not a virtual disk" }
            $entry.dismounted = Dismount-IfAttached -Path $entry.path
            Remove-Item -LiteralPath $marker.FullName -Force
        } catch {
            $entry.error = $_.Exception.Message
        }
        $swept += , $entry
    }
    return , $swept
}
