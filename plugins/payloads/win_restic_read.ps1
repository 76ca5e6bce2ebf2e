# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore and win_vm_restore_info with a restic repository, steps "read snapshots" and "list snapshot":
# run one read-only restic command (snapshots, ls) and return its exit code, stdout and stderr; with -ListVms
# also the VMs registered on this host, as win_vm_restore_generations lists them (without -CommandLine only
# those and the computer name). The controller built the
# command line (-CommandLine, arguments quoted for CreateProcess) and parses restic's output. The password
# and restic's environment (repository location, backend credentials) arrive only as sensitive parameters:
# the password goes into a file only this account may read, in a folder of its own that is deleted again
# whatever happens; the environment is set for this process (and so restic) alone.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$ResticPath,
    [string]$CommandLine = '',
    [securestring]$ResticPassword,
    [securestring]$ResticEnvironment,
    [switch]$ListVms,
    [long]$MaxOutputBytes = 67108864
)
#vaware:include vss_common
#vaware:include job_task

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$result = [ordered]@{
    computer_name = $env:COMPUTERNAME
    exit_code = $null
    stdout = ''
    stderr = ''
    hyperv = $false
    hyperv_error = $null
    vms = @()
    restic_found = [bool](Test-Path -LiteralPath $ResticPath -PathType Leaf)
}
if ($CommandLine) {
    if (-not $result.restic_found) {
        throw "restic was not found at '$ResticPath' (repository.restic_path); install it there or set restic_path"
    }
    $root = (Get-VawarePaths).root
    Initialize-VawareRoot -Root $root
    $folder = Join-Path (Join-Path $root 'restic-read') ([guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $folder -Force
    try {
        $me = [Security.Principal.WindowsIdentity]::GetCurrent().User
        $passwordFile = Join-Path $folder 'restic.pass'
        Write-SecretFile -Path $passwordFile -Secret $ResticPassword -Sid $me
        $plain = (New-Object System.Net.NetworkCredential('', $ResticEnvironment)).Password
        foreach ($item in ($plain | ConvertFrom-Json).PSObject.Properties) {
            [Environment]::SetEnvironmentVariable($item.Name, [string]$item.Value, 'Process')
        }
        $plain = $null
        # the controller names RESTIC_PASSWORD_FILE as a placeholder; the file is the one made here
        [Environment]::SetEnvironmentVariable('RESTIC_PASSWORD_FILE', $passwordFile, 'Process')
        $stdout = Join-Path $folder 'restic.out'
        $stderr = Join-Path $folder 'restic.err'
        $proc = Start-Process -FilePath $ResticPath -ArgumentList $CommandLine -WorkingDirectory $folder `
            -RedirectStandardOutput $stdout -RedirectStandardError $stderr -NoNewWindow -PassThru
        $null = $proc.Handle  # keeps ExitCode readable after the process ends
        $proc.WaitForExit()
        $result.exit_code = $proc.ExitCode
        foreach ($name in @('stdout', 'stderr')) {
            $path = Get-Variable -Name $name -ValueOnly
            if ((Get-Item -LiteralPath $path).Length -gt $MaxOutputBytes) {
                throw "restic printed more than $MaxOutputBytes bytes on $name"
            }
            $result[$name] = [IO.File]::ReadAllText($path, [Text.Encoding]::UTF8)
        }
    } finally {
        Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
    }
}

if ($ListVms) { Add-RegisteredVms -Result $result }

$Ansible.Changed = $false
$Ansible.Result = $result | ConvertTo-Json -Depth 4 -Compress
