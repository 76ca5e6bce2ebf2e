# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore with a restic repository, the detached restore job: run by its scheduled task from the job
# folder win_vm_restore_restic_start wrote. It reads restic's environment from restic.env.json and deletes
# that file, runs `restic restore` with the command line of job.json (stdout and stderr into the job folder)
# and writes status.json (replaced atomically) for the controller to poll: state running, then finished
# with restic's exit code and the ends of its outputs (the controller decides what they mean), or failed
# when restic could not be run. restic.pass is deleted when the job ends, whatever happened.
param(
    [Parameter(Mandatory)][string]$JobDir
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$status = New-RunnerStatus
$passwordFile = Join-Path $JobDir 'restic.pass'
$environmentFile = Join-Path $JobDir 'restic.env.json'

function Write-Status {
    Write-FileAtomically -Path (Join-Path $JobDir 'status.json') -Text ($status | ConvertTo-Json -Depth 6 -Compress)
}

function Read-Tail {
    # The last -Bytes of a file restic wrote (its summary and errors come last).
    param([string]$Path, [long]$Bytes = 65536)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return '' }
    $stream = [IO.File]::Open($Path, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
    try {
        $null = $stream.Seek([Math]::Max([long]0, $stream.Length - $Bytes), [IO.SeekOrigin]::Begin)
        return (New-Object IO.StreamReader($stream)).ReadToEnd()
    } finally {
        $stream.Dispose()
    }
}

Write-Status
try {
    $job = [IO.File]::ReadAllText((Join-Path $JobDir 'job.json')) | ConvertFrom-Json
    $values = [IO.File]::ReadAllText($environmentFile) | ConvertFrom-Json
    Remove-Item -LiteralPath $environmentFile -Force
    foreach ($item in $values.PSObject.Properties) {
        [Environment]::SetEnvironmentVariable($item.Name, [string]$item.Value, 'Process')
    }
    [Environment]::SetEnvironmentVariable('RESTIC_PASSWORD_FILE', $passwordFile, 'Process')
    $null = [IO.Directory]::CreateDirectory([string]$job.target)
    $stdout = Join-Path $JobDir 'restic-restore.out'
    $stderr = Join-Path $JobDir 'restic-restore.err'
    $proc = Start-Process -FilePath ([string]$job.restic_path) -ArgumentList ([string]$job.command_line) `
        -WorkingDirectory $JobDir -RedirectStandardOutput $stdout -RedirectStandardError $stderr -NoNewWindow -PassThru
    $null = $proc.Handle  # keeps ExitCode readable after the process ends
    $proc.WaitForExit()
    $status.result = [ordered]@{
        exit_code = $proc.ExitCode
        stdout = (Read-Tail -Path $stdout)
        stderr = (Read-Tail -Path $stderr)
    }
    $status.state = 'finished'
} catch {
    $status.error = $_.Exception.Message
    $status.state = 'failed'
} finally {
    foreach ($secret in @($passwordFile, $environmentFile)) {
        try {
            if (Test-Path -LiteralPath $secret) { Remove-Item -LiteralPath $secret -Force }
        } catch {
            if (-not $status.error) { $status.error = "removing ${secret}: " + $_.Exception.Message }
        }
    }
}
$status.finished_at = [DateTime]::UtcNow.ToString('o')
Write-Status
