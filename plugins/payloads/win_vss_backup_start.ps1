# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "start": take the backup lock, write the job folder the controller prepared
# (runner, diskshadow script, copy wrapper, parameters) plus the job's own key (job.key, made here)
# and start the job runner as a one-shot
# scheduled task (SYSTEM, or the run_as account). Every file's content comes from the controller.
# If anything fails after the lock was taken, the lock, the task and the job folder are removed again.
# A restic job also gets its password (restic.pass) and restic's environment (restic.env.json) from the
# sensitive parameters, each written into a file only the job account may read (no inherited rule).
param(
    [Parameter(Mandatory)][string]$JobId,
    [Parameter(Mandatory)][hashtable]$Files,
    [Parameter(Mandatory)][string]$LockText,
    [string]$RunAs = '',
    [securestring]$RunAsPassword,
    [int]$ExecutionTimeLimitSeconds = 0,
    [securestring]$ResticPassword,
    [securestring]$ResticEnvironment
)
#vaware:include vss_common
#vaware:include job_task

$ErrorActionPreference = 'Stop'

$paths = Get-VawarePaths -JobId $JobId
$lockPath = $paths.lock_path
$jobDir = $paths.job_dir

Initialize-VawareRoot -Root $paths.root
$null = New-Item -ItemType Directory -Path $paths.jobs_root -Force

# The lock is created exclusively: a second start racing this one fails here instead of running twice.
try {
    $stream = [IO.File]::Open($lockPath, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
} catch {
    if (-not (Test-Path -LiteralPath $lockPath -PathType Leaf)) { throw }
    $holder = ''
    try { $holder = [IO.File]::ReadAllText($lockPath) } catch { $holder = '(unreadable)' }
    throw "another backup job holds the lock ${lockPath}: $holder"
}
try {
    $bytes = (New-Object Text.UTF8Encoding($false)).GetBytes($LockText)
    $stream.Write($bytes, 0, $bytes.Length)
} finally {
    $stream.Dispose()
}

$registered = $false
try {
    if (Test-Path -LiteralPath $jobDir) {
        throw "job folder $jobDir already exists"
    }
    $null = New-Item -ItemType Directory -Path $jobDir
    # The job's key, made here and never sent anywhere: the runner accepts a verdict only when it is
    # signed with it (Get-VerdictMac), which the finalize step does on this host.
    $key = New-Object byte[] 32
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    try { $rng.GetBytes($key) } finally { $rng.Dispose() }
    [IO.File]::WriteAllBytes((Join-Path $jobDir 'job.key'), $key)
    foreach ($name in $Files.Keys) {
        if ($name -notmatch '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' -or $name -in @('job.key', 'verdict.json', 'space.json', 'cancel.request', 'generations.json', 'restic.pass', 'restic.env.json')) {
            throw "invalid job file name '$name'"
        }
        $entry = $Files[$name]
        $encoding = switch ($entry.encoding) {
            'ascii' { New-Object Text.ASCIIEncoding }
            'utf8bom' { New-Object Text.UTF8Encoding($true) }
            default { New-Object Text.UTF8Encoding($false) }
        }
        [IO.File]::WriteAllText((Join-Path $jobDir $name), [string]$entry.text, $encoding)
    }
    if ($ResticPassword) {
        $sid = Get-JobAccountSid -RunAs $RunAs
        Write-SecretFile -Path (Join-Path $jobDir 'restic.pass') -Secret $ResticPassword -Sid $sid
        Write-SecretFile -Path (Join-Path $jobDir 'restic.env.json') -Secret $ResticEnvironment -Sid $sid
    }
    $runner = Join-Path $jobDir 'runner.ps1'
    if (-not (Test-Path -LiteralPath $runner -PathType Leaf)) {
        throw "the job files contain no runner.ps1"
    }

    # Register-JobTask starts the task; $registered is set first so a failed start still unregisters it.
    $registered = $true
    $task = Register-JobTask -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir -Runner $runner `
        -RunAs $RunAs -RunAsPassword $RunAsPassword -ExecutionTimeLimitSeconds $ExecutionTimeLimitSeconds
} catch {
    $failure = $_
    Undo-JobStart -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir -Registered $registered
    Remove-Item -LiteralPath $lockPath -Force -ErrorAction SilentlyContinue
    throw $failure
}

$Ansible.Changed = $true
$Ansible.Result = Get-JobStartResult -JobId $JobId -JobDir $jobDir -TaskPath $paths.task_path -TaskName $paths.task_name `
    -Task $task
