# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vss_backup, step "collect": return the files of a finished job that the controller asks for
# (status, result, diskshadow transcript, robocopy log tail, exit codes, the generation's file
# listing written by the runner) and the shadow copies that still exist. Read-only; parsing and
# every decision happen on the controller.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$JobId,
    # Each entry: @{ name = 'file in the job folder'; tail_bytes = 0 (whole file) or N (last N bytes);
    #               encoding = 'utf8' or 'utf16' (robocopy /UNILOG writes UTF-16LE) }
    [Parameter(Mandatory)][object[]]$Files
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
$jobDir = (Get-VawarePaths -JobId $JobId).job_dir

$found = [ordered]@{}
foreach ($entry in $Files) {
    $name = [string]$entry.name
    if ($name -notmatch '^[A-Za-z0-9_][A-Za-z0-9_.-]*$') {
        throw "invalid job file name '$name'"
    }
    $path = Join-Path $jobDir $name
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        $found[$name] = $null
        continue
    }
    $tail = [long]$entry.tail_bytes
    $stream = [IO.File]::Open($path, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
    try {
        $length = $stream.Length
        $start = 0
        $utf16 = ([string]$entry.encoding -eq 'utf16')
        if ($tail -gt 0 -and $length -gt $tail) { $start = $length - $tail }
        if ($utf16 -and ($start % 2) -eq 1) { $start += 1 }
        $null = $stream.Seek($start, [IO.SeekOrigin]::Begin)
        $buffer = New-Object byte[] ($length - $start)
        $read = 0
        while ($read -lt $buffer.Length) {
            $n = $stream.Read($buffer, $read, $buffer.Length - $read)
            if ($n -le 0) { break }
            $read += $n
        }
    } finally {
        $stream.Dispose()
    }
    $encoding = New-Object Text.UTF8Encoding($false)
    if ($utf16) { $encoding = New-Object Text.UnicodeEncoding($false, $false) }
    $found[$name] = [ordered]@{
        size = $length
        truncated = ($start -gt 0)
        text = $encoding.GetString($buffer, 0, $read)
    }
}

$shadows = @(Get-ShadowCopyList)

$Ansible.Changed = $false
$Ansible.Result = [ordered]@{
    job_id = $JobId
    job_dir_exists = (Test-Path -LiteralPath $jobDir -PathType Container)
    files = $found
    shadows = $shadows
} | ConvertTo-Json -Depth 6 -Compress
