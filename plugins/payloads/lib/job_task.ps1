# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Functions of the payloads that start a detached job (spliced in by their include line for job_task): the
# account a job runs as, a secret written into a file only that account may read, and the one-shot
# scheduled task that runs the job's runner.ps1, so the work goes on when the WinRM connection drops.

function Get-JobAccountSid {
    # The SID of the account the job runs as: -RunAs, or LocalSystem (S-1-5-18) when it is empty.
    param([string]$RunAs = '')
    if ($RunAs) {
        return (New-Object Security.Principal.NTAccount($RunAs)).Translate([Security.Principal.SecurityIdentifier])
    }
    return New-Object Security.Principal.SecurityIdentifier('S-1-5-18')
}

function Write-SecretFile {
    # The file is created with its ACL in one call: protected (nothing inherited), one rule for -Sid (read,
    # delete), so no other account can read it, not even for a moment.
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][securestring]$Secret,
        [Parameter(Mandatory)][Security.Principal.SecurityIdentifier]$Sid
    )
    $security = New-Object Security.AccessControl.FileSecurity
    $security.SetAccessRuleProtection($true, $false)
    $rights = [Security.AccessControl.FileSystemRights]'Read, Delete'
    $security.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($Sid, $rights, 'Allow')))
    $plain = (New-Object System.Net.NetworkCredential('', $Secret)).Password
    $stream = [IO.File]::Create($Path, 4096, [IO.FileOptions]::None, $security)
    try {
        $bytes = (New-Object Text.UTF8Encoding($false)).GetBytes($plain)
        $stream.Write($bytes, 0, $bytes.Length)
    } finally {
        $stream.Dispose()
        $plain = $null
    }
}

function Register-JobTask {
    # Register the job's scheduled task (powershell.exe -File <runner> <arguments>, from the job folder) as
    # SYSTEM, or as -RunAs with -RunAsPassword, and start it. Returns the task.
    param(
        [Parameter(Mandatory)][string]$TaskPath,
        [Parameter(Mandatory)][string]$TaskName,
        [Parameter(Mandatory)][string]$JobDir,
        [Parameter(Mandatory)][string]$Runner,
        [string]$RunnerArguments = '',
        [string]$RunAs = '',
        [securestring]$RunAsPassword,
        [int]$ExecutionTimeLimitSeconds = 0
    )
    $argument = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $Runner + '"'
    if ($RunnerArguments) { $argument += ' ' + $RunnerArguments }
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $argument -WorkingDirectory $JobDir
    $settingsArgs = @{
        AllowStartIfOnBatteries = $true
        DontStopIfGoingOnBatteries = $true
        MultipleInstances = 'IgnoreNew'
        ExecutionTimeLimit = [TimeSpan]::FromSeconds($ExecutionTimeLimitSeconds)
        # Normal priority: the task default (7) also lowers the runner's I/O and memory priority,
        # which stretches a large copy far past its window.
        Priority = 4
    }
    $settings = New-ScheduledTaskSettingsSet @settingsArgs
    if ($RunAs) {
        $plain = (New-Object System.Net.NetworkCredential('', $RunAsPassword)).Password
        $null = Register-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Action $action -Settings $settings `
            -User $RunAs -Password $plain -RunLevel Highest
        $plain = $null
    } else {
        # 'SYSTEM' (LocalSystem, S-1-5-18) is the same word in every Windows language; the domain part
        # 'NT AUTHORITY' is localized (e.g. 'NT-AUTORITAET' in German) and would not resolve there.
        $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        $null = Register-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Action $action -Settings $settings `
            -Principal $principal
    }
    Start-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName
    return Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName
}

function Undo-JobStart {
    # After a failed start: unregister the job's task (when it got that far) and delete the job folder, so the
    # next run starts clean. Errors here are ignored: the start's own error is the one to report.
    param(
        [Parameter(Mandatory)][string]$TaskPath,
        [Parameter(Mandatory)][string]$TaskName,
        [Parameter(Mandatory)][string]$JobDir,
        [bool]$Registered = $false
    )
    if ($Registered) {
        Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
    }
    if (Test-Path -LiteralPath $JobDir) {
        Remove-Item -LiteralPath $JobDir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Get-JobStartResult {
    # What a start payload returns: the job's id, folder, task name and the task's state.
    param([string]$JobId, [string]$JobDir, [string]$TaskPath, [string]$TaskName, $Task)
    return [ordered]@{
        job_id = $JobId
        job_dir = $JobDir
        task_name = $TaskPath + $TaskName
        task_state = $Task.State.ToString()
    } | ConvertTo-Json -Compress
}
