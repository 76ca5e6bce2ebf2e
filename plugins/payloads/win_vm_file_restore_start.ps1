# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_file_restore, step "start copy": write the copy job's folder (%ProgramData%\vaware.hyperv\file-restore\
# jobs\<job id>\: the runner and the mount payload as the controller sends them, job.json with what to copy)
# and start the runner as a one-shot scheduled task (SYSTEM), so the copy goes on when the connection drops.
# If anything fails, the task and the job folder are removed again.
param(
    [Parameter(Mandatory)][string]$JobId,
    [Parameter(Mandatory)][string]$Runner,
    [Parameter(Mandatory)][string]$Mount,
    [Parameter(Mandatory)][string]$Disk,
    [Parameter(Mandatory)][int]$PartitionNumber,
    [Parameter(Mandatory)][string]$RunId,
    [Parameter(Mandatory)][object[]]$Items,
    [int]$ExecutionTimeLimitSeconds = 0
)
#vaware:include vss_common
#vaware:include file_restore
#vaware:include job_task

$ErrorActionPreference = 'Stop'
$paths = Get-FileRestorePaths -JobId $JobId
Initialize-VawareRoot -Root $paths.root
$null = New-Item -ItemType Directory -Path $paths.jobs_root -Force
$jobDir = $paths.job_dir
$utf8 = New-Object Text.UTF8Encoding($false)
$registered = $false
try {
    if (Test-Path -LiteralPath $jobDir) { throw "job folder $jobDir already exists" }
    $null = New-Item -ItemType Directory -Path $jobDir
    $job = [ordered]@{
        disk = $Disk
        partition_number = $PartitionNumber
        run_id = $RunId
        items = @(foreach ($item in $Items) {
                [ordered]@{ source = [string]$item.source; type = [string]$item.type; destination = [string]$item.destination }
            })
    }
    [IO.File]::WriteAllText((Join-Path $jobDir 'job.json'), ($job | ConvertTo-Json -Depth 4 -Compress), $utf8)
    [IO.File]::WriteAllText((Join-Path $jobDir 'runner.ps1'), $Runner, (New-Object Text.UTF8Encoding($true)))
    [IO.File]::WriteAllText((Join-Path $jobDir 'mount.ps1'), $Mount, (New-Object Text.UTF8Encoding($true)))

    $registered = $true  # set first: a task that registered but failed to start is unregistered below
    $task = Register-JobTask -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir `
        -Runner (Join-Path $jobDir 'runner.ps1') -RunnerArguments ('-JobDir "' + $jobDir + '"') `
        -ExecutionTimeLimitSeconds $ExecutionTimeLimitSeconds
} catch {
    $failure = $_
    Undo-JobStart -TaskPath $paths.task_path -TaskName $paths.task_name -JobDir $jobDir -Registered $registered
    throw $failure
}

$Ansible.Changed = $true
$Ansible.Result = Get-JobStartResult -JobId $JobId -JobDir $jobDir -TaskPath $paths.task_path -TaskName $paths.task_name `
    -Task $task
