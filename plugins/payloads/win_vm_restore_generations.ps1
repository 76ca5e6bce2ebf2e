# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# win_vm_restore, step "read generations": list the generation folders of one host under the backup
# destination with the text of each manifest.json, and the VMs registered on this host. Read-only;
# choosing the generation and every check happen on the controller (plugins/plugin_utils/_restore/options.py).
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$Destination,
    [string]$BackupHost = '',
    [long]$MaxManifestBytes = 67108864
)
#vaware:include vss_common

$ErrorActionPreference = 'Stop'
$WhatIfPreference = $false
if (-not $BackupHost) { $BackupHost = $env:COMPUTERNAME }
$hostPath = Join-Path $Destination $BackupHost
$result = [ordered]@{
    computer_name = $env:COMPUTERNAME
    backup_host = $BackupHost
    host_path = $hostPath
    destination_exists = [bool](Test-Path -LiteralPath $Destination -PathType Container)
    host_path_exists = [bool](Test-Path -LiteralPath $hostPath -PathType Container)
    hosts = @()
    generations = @()
    hyperv = $false
    hyperv_error = $null
    vms = @()
}

if ($result.destination_exists) {
    $result.hosts = @(Get-ChildItem -LiteralPath $Destination -Directory | ForEach-Object -Process { $_.Name })
}
if ($result.host_path_exists) {
    $result.generations = @(foreach ($folder in Get-ChildItem -LiteralPath $hostPath -Directory) {
            if ($folder.Name -notmatch '^[0-9]{8}T[0-9]{6}Z(-[0-9]{2})?$') { continue }
            $entry = [ordered]@{ name = $folder.Name; manifest = $null; error = $null }
            $path = Join-Path $folder.FullName 'manifest.json'
            if (Test-Path -LiteralPath $path -PathType Leaf) {
                try {
                    $size = (Get-Item -LiteralPath $path).Length
                    if ($size -gt $MaxManifestBytes) {
                        $entry.error = "manifest.json is $size bytes, more than the $MaxManifestBytes read"
                    } else {
                        $entry.manifest = [IO.File]::ReadAllText($path, [Text.Encoding]::UTF8)
                    }
                } catch {
                    $entry.error = $_.Exception.Message
                }
            }
            $entry
        })
}

Add-RegisteredVms -Result $result

$Ansible.Changed = $false
$Ansible.Result = $result | ConvertTo-Json -Depth 4 -Compress
