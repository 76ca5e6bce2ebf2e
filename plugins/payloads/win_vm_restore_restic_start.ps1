# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore with a restic repository, step "start restic restore": write the restore job's folder
# (%ProgramData%\vaware.hyperv\file-restore\jobs\<job id>\, where the file-restore copy jobs live too, so
# win_vm_file_restore_status and _cleanup poll and remove it): the runner as the controller sends it, job.json
# (restic.exe, the command line the controller quoted, the target folder), the password (restic.pass) and
# restic's environment (restic.env.json), each in a file only the job account may read; then start the
# runner as a one-shot scheduled task (SYSTEM, or -RunAs), so the restore goes on when the connection drops.
# If anything fails, the task and the job folder are removed again.
param(
    [Parameter(Mandatory)][string]$JobId,
    [Parameter(Mandatory)][string]$Runner,
    [Parameter(Mandatory)][string]$ResticPath,
    [Parameter(Mandatory)][string]$CommandLine,
    [Parameter(Mandatory)][string]$Target,
    [Parameter(Mandatory)][securestring]$ResticPassword,
    [Parameter(Mandatory)][securestring]$ResticEnvironment,
    [string]$RunAs = '',
    [securestring]$RunAsPassword,
    [int]$ExecutionTimeLimitSeconds = 0
)
#vaware:include vss_common
#vaware:include file_restore
#vaware:include job_task

$ErrorActionPreference = 'Stop'
if (-not (Test-Path -LiteralPath $ResticPath -PathType Leaf)) {
    throw "restic was not found at '$ResticPath' (repository.restic_path); install it there or set restic_path"
}
$paths = Get-FileRestorePaths -JobId $JobId
Initialize-VawareRoot -Root $paths.root
$null = New-Item -ItemType Directory -Path $paths.jobs_root -Force
$jobDir = $paths.job_dir
$registered = $false
try {
    if (Test-Path -LiteralPath $jobDir) { throw "job folder $jobDir already exists" }
    $null = New-Item -ItemType Directory -Path $jobDir
    $job = [ordered]@{ restic_path = $ResticPath; command_line = $CommandLine; target = $Target }
    [IO.File]::WriteAllText((Join-Path $jobDir 'job.json'), ($job | ConvertTo-Json -Compress), (New-Object Text.UTF8Encoding($false)))
    [IO.File]::WriteAllText((Join-Path $jobDir 'runner.ps1'), $Runner, (New-Object Text.UTF8Encoding($true)))
    $sid = Get-JobAccountSid -RunAs $RunAs
    Write-SecretFile -Path (Join-Path $jobDir 'restic.pass') -Secret $ResticPassword -Sid $sid
    Write-SecretFile -Path (Join-Path $jobDir 'restic.env.json') -Secret $ResticEnvironment -Sid $sid
    $registered = $true  # set first: a task that registered but failed to start is unregistered below
    $task = Register-JobTask -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir `
        -Runner (Join-Path $jobDir 'runner.ps1') -RunnerArguments ('-JobDir "' + $jobDir + '"') `
        -RunAs $RunAs -RunAsPassword $RunAsPassword -ExecutionTimeLimitSeconds $ExecutionTimeLimitSeconds
} catch {
    $failure = $_
    Undo-JobStart -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir -Registered $registered
    throw $failure
}

$Ansible.Changed = $true
$Ansible.Result = Get-JobStartResult -JobId $JobId -JobDir $jobDir -TaskPath $paths.task_path -TaskName $paths.task_name `
    -Task $task
